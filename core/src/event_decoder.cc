#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "event_decode_errors.h"
#include "eventflow/core/event_codec.h"
#include "eventflow/core/time.h"
#include "json_text.h"
#include "record_scanner.h"

namespace eventflow {
namespace codec_internal {
namespace {

namespace od = simdjson::ondemand;

// The eventType values of the contract.
enum class Kind : uint8_t { kLogin, kLogout, kSignup, kView, kOrder };
// The user-events kinds convert to and from UserEventType by value.
static_assert(static_cast<int>(Kind::kLogin) == static_cast<int>(UserEventType::kLogin));
static_assert(static_cast<int>(Kind::kLogout) == static_cast<int>(UserEventType::kLogout));
static_assert(static_cast<int>(Kind::kSignup) == static_cast<int>(UserEventType::kSignup));

EventTopic TopicOfKind(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return EventTopic::kProductView;
    case Kind::kOrder:
      return EventTopic::kOrders;
    default:
      return EventTopic::kUserEvents;
  }
}

// Validates the fields of a scanned record for one event type and converts them.
// Its steps return false after storing the reason, which error() hands out; the
// success path builds no Status. Views into the scanned record stay valid until
// the decoder's next record.
class RecordReader {
 public:
  RecordReader(const ScannedRecord& record, std::string_view json) : record_(record), json_(json) {}

  //! The reason for the last step that returned false.
  Status error() { return std::move(error_); }

  bool EventKind(Kind* kind) {
    std::string_view name;
    if (!String(kEventTypeField, &name)) return false;
    if (auto type = ParseUserEventType(name)) {
      *kind = static_cast<Kind>(*type);
    } else if (name == kViewEventType) {
      *kind = Kind::kView;
    } else if (name == kOrderEventType) {
      *kind = Kind::kOrder;
    } else {
      return Fail(kEventTypeField, "unknown eventType " + Quoted(name) + "; expected one of " +
                                       NameList(kAllUserEventTypes) + ", " +
                                       std::string(kViewEventType) + ", " +
                                       std::string(kOrderEventType));
    }
    kind_name_ = name;
    return true;
  }

  bool RequireTopic(Kind kind, EventTopic topic) {
    if (TopicOfKind(kind) == topic) return true;
    return Fail(kEventTypeField, "eventType " + Quoted(kind_name_) + " does not belong on topic " +
                                     std::string(TopicName(topic)));
  }

  bool Read(Kind kind, UserEvent* event) {
    event->type = static_cast<UserEventType>(kind);
    return Id(kUserIdField, &event->user_id) && Text(kCountryField, &event->country) &&
           Text(kDeviceField, &event->device) && Timestamp(&event->timestamp_ms);
  }

  bool Read(ProductView* event) {
    return Id(kUserIdField, &event->user_id) && Id(kProductIdField, &event->product_id) &&
           ReadCategory(&event->category) && Timestamp(&event->timestamp_ms);
  }

  bool Read(Order* event) {
    return Id(kOrderIdField, &event->order_id) && Id(kUserIdField, &event->user_id) &&
           Id(kProductIdField, &event->product_id) && Price(&event->price_cents) &&
           ReadCurrency(&event->currency) && Timestamp(&event->timestamp_ms);
  }

 private:
  bool Fail(FieldId id, std::string_view problem) {
    error_ = FieldError(kFieldNames[id], record_.fields[id].value_offset, problem);
    return false;
  }

  // The slot of a required field that is present exactly once.
  const FieldSlot* Slot(FieldId id) {
    const uint32_t bit = uint32_t{1} << id;
    const FieldSlot& found = record_.fields[id];
    if ((record_.present & bit) != 0 && (record_.duplicated & bit) == 0) return &found;
    std::string msg;
    if ((record_.present & bit) == 0) {
      msg = "missing required field ";
      AppendQuoted(kFieldNames[id], &msg);
      if (!kind_name_.empty()) msg.append(" for eventType ").append(Quoted(kind_name_));
      size_t end = json_.size();
      while (end > 0 && IsJsonSpace(json_[end - 1])) --end;
      msg.append(" in the object ending at byte ").append(std::to_string(end == 0 ? 0 : end - 1));
    } else {
      msg = "field ";
      AppendQuoted(kFieldNames[id], &msg);
      msg.append(" appears twice (keys at byte ")
          .append(std::to_string(found.key_offset))
          .append(" and byte ")
          .append(std::to_string(found.duplicate_key_offset))
          .append(")");
    }
    error_ = InputError(std::move(msg));
    return nullptr;
  }

  bool String(FieldId id, std::string_view* value, const FieldSlot** slot_out = nullptr) {
    const FieldSlot* slot = Slot(id);
    if (slot == nullptr) return false;
    if (slot->type != od::json_type::string) {
      return Fail(id, "expected a string, got " + std::string(JsonTypeName(slot->type)));
    }
    *value = slot->text;
    if (slot_out != nullptr) *slot_out = slot;
    return true;
  }

  // orderId, userId, productId: non-empty.
  bool Id(FieldId id, std::string* out) { return Text(id, out, /*allow_empty=*/false); }

  // country, device: may be empty.
  bool Text(FieldId id, std::string* out, bool allow_empty = true) {
    std::string_view value;
    const FieldSlot* slot = nullptr;
    if (!String(id, &value, &slot)) return false;
    if (value.empty() && !allow_empty) return Fail(id, "must not be empty");
    if (value.size() > kMaxIdBytes) {
      return Fail(id, "string of " + std::to_string(value.size()) +
                          " bytes is longer than the limit of " + std::to_string(kMaxIdBytes) +
                          " bytes");
    }
    // Raw NUL bytes are invalid JSON; only the escape \u0000 can put one here.
    if (slot->escaped && value.find('\0') != kNpos) {
      return Fail(id,
                  "string contains a NUL character (\\u0000), which PostgreSQL text "
                  "cannot store");
    }
    out->assign(value);
    return true;
  }

  bool ReadCategory(eventflow::Category* out) {
    std::string_view name;
    if (!String(kCategoryField, &name)) return false;
    const auto category = ParseCategory(name);
    if (!category) {
      return Fail(kCategoryField, "unknown category " + Quoted(name) + "; expected one of " +
                                      NameList(kAllCategories));
    }
    *out = *category;
    return true;
  }

  bool ReadCurrency(eventflow::Currency* out) {
    std::string_view name;
    if (!String(kCurrencyField, &name)) return false;
    const auto currency = ParseCurrency(name);
    if (!currency) {
      return Fail(kCurrencyField, "unknown currency " + Quoted(name) + "; expected one of " +
                                      NameList(kAllCurrencies));
    }
    *out = *currency;
    return true;
  }

  bool Timestamp(int64_t* epoch_ms) {
    std::string_view text;
    if (!String(kTimestampField, &text)) return false;
    Result<int64_t> parsed = ParseTimestampMillis(text);
    if (!parsed.ok()) {
      return Fail(kTimestampField,
                  "invalid timestamp " + Quoted(text) + ": " + parsed.status().message());
    }
    *epoch_ms = *parsed;
    return true;
  }

  bool Price(int64_t* cents) {
    const FieldSlot* slot = Slot(kPriceField);
    if (slot == nullptr) return false;
    if (slot->type != od::json_type::number) {
      return Fail(kPriceField, "expected a number, got " + std::string(JsonTypeName(slot->type)));
    }
    // The token is a valid JSON number (checked while scanning); read it exactly.
    const std::string_view token = slot->text;
    const bool negative = token.front() == '-';
    const std::string_view rest = token.substr(negative ? 1 : 0);
    size_t i = 0;
    while (i < rest.size() && IsDigit(rest[i])) ++i;
    const std::string_view integer = rest.substr(0, i);
    std::string_view fraction;
    if (i < rest.size() && rest[i] == '.') {
      const size_t first = ++i;
      while (i < rest.size() && IsDigit(rest[i])) ++i;
      fraction = rest.substr(first, i - first);
    }
    const bool has_exponent = i < rest.size();
    const bool is_zero =
        integer.find_first_not_of('0') == kNpos && fraction.find_first_not_of('0') == kNpos;
    if (negative && !is_zero) return Fail(kPriceField, "price " + Shown(token) + " is negative");
    if (has_exponent) {
      if (!is_zero && ExceedsMaxPrice(integer, fraction, rest.substr(i + 1))) {
        return Fail(kPriceField, "price " + Shown(token) + " exceeds 9999999999.99");
      }
      return Fail(kPriceField, "price " + Shown(token) +
                                   " is in exponent notation; write it as a plain decimal with "
                                   "at most 2 decimal places, e.g. 59.99");
    }
    // JSON forbids leading zeros, so more than 10 integer digits means >= 10^10.
    static_assert(kMaxPriceCents == 999'999'999'999, "the checks below assume numeric(12,2)");
    if (integer.size() > 10) {
      return Fail(kPriceField, "price " + Shown(token) + " exceeds 9999999999.99");
    }
    if (fraction.size() > 2 && fraction.find_first_not_of('0', 2) != kNpos) {
      return Fail(kPriceField, "price " + Shown(token) + " has more than 2 decimal places");
    }
    int64_t value = 0;
    for (char c : integer) value = value * 10 + (c - '0');
    for (size_t k = 0; k < 2; ++k) {
      value = value * 10 + (k < fraction.size() ? fraction[k] - '0' : 0);
    }
    *cents = value;
    return true;
  }

  // A number token for a message, cut after 40 bytes.
  static std::string Shown(std::string_view token) {
    constexpr size_t kMaxShownBytes = 40;
    if (token.size() <= kMaxShownBytes) return std::string(token);
    return std::string(token.substr(0, kMaxShownBytes)) + "...";
  }

  // Whether the non-zero number `integer`.`fraction` e`exponent` is >= 10^10.
  static bool ExceedsMaxPrice(std::string_view integer, std::string_view fraction,
                              std::string_view exponent) {
    bool exponent_negative = false;
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
      exponent_negative = exponent[0] == '-';
      exponent.remove_prefix(1);
    }
    int64_t e = 0;
    for (char c : exponent) e = std::min<int64_t>(e * 10 + (c - '0'), 1'000'000);
    if (exponent_negative) e = -e;
    // The number of digits before the decimal point once the exponent is applied.
    const size_t first_significant = integer.find_first_not_of('0');
    int64_t integer_digits;
    if (first_significant != kNpos) {
      integer_digits = static_cast<int64_t>(integer.size() - first_significant) + e;
    } else {  // 0.000ddd: the first significant digit is worth 10^-(leading zeros + 1)
      integer_digits = e - static_cast<int64_t>(fraction.find_first_not_of('0'));
    }
    return integer_digits > 10;
  }

  const ScannedRecord& record_;
  std::string_view json_;
  std::string_view kind_name_;
  Status error_;
};

}  // namespace
}  // namespace codec_internal

using codec_internal::Kind;
using codec_internal::RecordReader;
using codec_internal::TopicOfKind;

// Decoding is two steps: the scanner's one pass over the JSON (record_scanner.h),
// then a RecordReader's checks of the contract's rules for the record's eventType.
struct EventDecoder::Impl {
  codec_internal::RecordScanner scanner;
};

EventDecoder::EventDecoder() : impl_(std::make_unique<Impl>()) {}
EventDecoder::~EventDecoder() = default;
EventDecoder::EventDecoder(EventDecoder&&) noexcept = default;
EventDecoder& EventDecoder::operator=(EventDecoder&&) noexcept = default;

Result<UserEvent> EventDecoder::DecodeUserEvent(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->scanner.Scan(json));
  RecordReader reader(impl_->scanner.record(), json);
  Kind kind = Kind::kLogin;
  UserEvent event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kUserEvents) ||
      !reader.Read(kind, &event)) {
    return reader.error();
  }
  return event;
}

Result<ProductView> EventDecoder::DecodeProductView(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->scanner.Scan(json));
  RecordReader reader(impl_->scanner.record(), json);
  Kind kind = Kind::kView;
  ProductView event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kProductView) ||
      !reader.Read(&event)) {
    return reader.error();
  }
  return event;
}

Result<Order> EventDecoder::DecodeOrder(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->scanner.Scan(json));
  RecordReader reader(impl_->scanner.record(), json);
  Kind kind = Kind::kOrder;
  Order event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kOrders) ||
      !reader.Read(&event)) {
    return reader.error();
  }
  return event;
}

Result<Event> EventDecoder::Decode(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->scanner.Scan(json));
  RecordReader reader(impl_->scanner.record(), json);
  Kind kind = Kind::kLogin;
  if (!reader.EventKind(&kind)) return reader.error();
  switch (TopicOfKind(kind)) {
    case EventTopic::kUserEvents: {
      UserEvent event;
      if (!reader.Read(kind, &event)) return reader.error();
      return Event(std::move(event));
    }
    case EventTopic::kProductView: {
      ProductView event;
      if (!reader.Read(&event)) return reader.error();
      return Event(std::move(event));
    }
    case EventTopic::kOrders: {
      Order event;
      if (!reader.Read(&event)) return reader.error();
      return Event(std::move(event));
    }
  }
  return Status::Internal("unreachable event kind");
}

Result<Event> EventDecoder::DecodeFromTopic(EventTopic topic, std::string_view json) {
  switch (topic) {
    case EventTopic::kUserEvents: {
      Result<UserEvent> event = DecodeUserEvent(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
    case EventTopic::kProductView: {
      Result<ProductView> event = DecodeProductView(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
    case EventTopic::kOrders: {
      Result<Order> event = DecodeOrder(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
  }
  return Status::InvalidArgument("unknown EventTopic value");
}

}  // namespace eventflow
