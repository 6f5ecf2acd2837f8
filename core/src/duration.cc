#include "eventflow/core/duration.h"

#include <charconv>
#include <cmath>
#include <string>

namespace eventflow {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view setting) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(setting) + ": invalid duration \"" +
                                   std::string(text) + "\": " + std::string(why));
  };
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  if (unit_at == 0) return bad("expected a non-negative number followed by ms, s, m, h or d");
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
  if (ec != std::errc() || end != text.data() + unit_at) return bad("malformed number");
  const std::string_view unit = text.substr(unit_at);
  double factor = 0;
  if (unit.empty() || unit == "ms") {
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
    return bad("unknown unit \"" + std::string(unit) + "\" (use ms, s, m, h or d)");
  }
  const double ms = value * factor;
  if (!std::isfinite(ms) || ms > 9.2e15) return bad("too large");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace eventflow
