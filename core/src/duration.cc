#include "eventflow/core/duration.h"

#include <charconv>
#include <cmath>
#include <string>

namespace eventflow {
namespace {

// The duration `text` names, in milliseconds (fractional); `micros` admits
// the unit us.
Result<double> ParseMillis(std::string_view text, std::string_view setting, bool micros) {
  const char* units = micros ? "us, ms, s, m, h or d" : "ms, s, m, h or d";
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(setting) + ": invalid duration \"" +
                                   std::string(text) + "\": " + std::string(why));
  };
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  if (unit_at == 0) return bad(std::string("expected a non-negative number followed by ") + units);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
  if (ec != std::errc() || end != text.data() + unit_at) return bad("malformed number");
  const std::string_view unit = text.substr(unit_at);
  double factor = 0;
  if (micros && unit == "us") {
    factor = 1e-3;
  } else if (unit.empty() || unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1e3;
  } else if (unit == "m" || unit == "min") {
    factor = 60e3;
  } else if (unit == "h") {
    factor = 3600e3;
  } else if (unit == "d") {
    factor = 86400e3;
  } else {
    return bad("unknown unit \"" + std::string(unit) + "\" (use " + units + ")");
  }
  const double ms = value * factor;
  if (!std::isfinite(ms) || ms > (micros ? 9.2e12 : 9.2e15)) return bad("too large");
  return ms;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view setting) {
  auto ms = ParseMillis(text, setting, /*micros=*/false);
  if (!ms.ok()) return ms.status();
  return std::chrono::milliseconds(static_cast<int64_t>(*ms));
}

Result<std::chrono::microseconds> ParseDurationMicros(std::string_view text,
                                                      std::string_view setting) {
  auto ms = ParseMillis(text, setting, /*micros=*/true);
  if (!ms.ok()) return ms.status();
  return std::chrono::microseconds(std::llround(*ms * 1e3));
}

}  // namespace eventflow
