#include "eventflow/core/table_format.h"

#include <charconv>

#include "eventflow/core/time.h"
#include "json_text.h"

namespace eventflow {

void AppendContractTimestamp(int64_t epoch_ms, std::string* out) {
  AppendTimestamp(epoch_ms, out);
  // AppendTimestamp leaves out a zero millisecond part ("...:00Z"); the
  // contract always has it. With a millisecond part the text ends ".mmmZ".
  const size_t n = out->size();
  if (n < 5 || (*out)[n - 5] != '.') out->insert(n - 1, ".000");
}

void AppendContractDecimal(int64_t cents, std::string* out) {
  const uint64_t magnitude =
      cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  if (cents < 0) out->push_back('-');
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, magnitude / 100);
  out->append(buffer, end);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + magnitude % 100 / 10));
  out->push_back(static_cast<char>('0' + magnitude % 10));
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  codec_internal::AppendEscaped(text, out);
  out->push_back('"');
}

}  // namespace eventflow
