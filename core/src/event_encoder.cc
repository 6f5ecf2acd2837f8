#include <charconv>
#include <cstdint>
#include <string>
#include <variant>

#include "eventflow/core/event_codec.h"
#include "eventflow/core/time.h"
#include "json_text.h"

namespace eventflow {

using codec_internal::AppendEscaped;

void AppendPrice(int64_t price_cents, std::string* out) {
  uint64_t magnitude = static_cast<uint64_t>(price_cents);
  if (price_cents < 0) {
    out->push_back('-');
    magnitude = 0 - magnitude;
  }
  char buf[24];
  char* p = std::to_chars(buf, buf + sizeof(buf), magnitude / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + magnitude % 100 / 10);
  *p++ = static_cast<char>('0' + magnitude % 10);
  out->append(buf, p);
}

void AppendJson(const UserEvent& event, std::string* out) {
  out->append(R"({"eventType":")");
  out->append(Name(event.type));
  out->append(R"(","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","country":")");
  AppendEscaped(event.country, out);
  out->append(R"(","device":")");
  AppendEscaped(event.device, out);
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const ProductView& event, std::string* out) {
  out->append(R"({"eventType":"VIEW","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","productId":")");
  AppendEscaped(event.product_id, out);
  out->append(R"(","category":")");
  out->append(Name(event.category));
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const Order& event, std::string* out) {
  out->append(R"({"eventType":"ORDER","orderId":")");
  AppendEscaped(event.order_id, out);
  out->append(R"(","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","productId":")");
  AppendEscaped(event.product_id, out);
  out->append(R"(","price":)");
  AppendPrice(event.price_cents, out);
  out->append(R"(,"currency":")");
  out->append(Name(event.currency));
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const Event& event, std::string* out) {
  std::visit([out](const auto& e) { AppendJson(e, out); }, event);
}

}  // namespace eventflow
