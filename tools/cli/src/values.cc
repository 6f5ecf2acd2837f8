#include "eventflow/cli/values.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "eventflow/core/duration.h"
#include "eventflow/core/log.h"

namespace eventflow::cli {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

const std::string* FlagIfGiven(const po::variables_map& values, const char* flag) {
  return values.count(flag) ? &values[flag].as<std::string>() : nullptr;
}

std::string FlagOrEnv(const po::variables_map& values, const char* flag, const char* env,
                      std::string_view fallback) {
  if (const std::string* given = FlagIfGiven(values, flag)) return *given;
  if (const char* v = Env(env)) return v;
  return std::string(fallback);
}

std::string BootstrapServers(const po::variables_map& values) {
  return FlagOrEnv(values, "bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS",
                   kDefaultBootstrapServers);
}

Status CheckAtLeast(std::string_view setting, int64_t value, int64_t min) {
  if (value >= min) return Status::OK();
  return Status::InvalidArgument(std::string(setting) + ": must be at least " +
                                 std::to_string(min) + ", got " + std::to_string(value));
}

Status CheckPositive(std::string_view setting, int64_t value) {
  if (value > 0) return Status::OK();
  return Status::InvalidArgument(std::string(setting) + ": must be positive, got " +
                                 std::to_string(value));
}

Status CheckNotNegative(std::string_view setting, int64_t value) {
  if (value >= 0) return Status::OK();
  return Status::InvalidArgument(std::string(setting) + ": must not be negative, got " +
                                 std::to_string(value));
}

Status CheckInRange(std::string_view setting, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return Status::OK();
  return Status::InvalidArgument(std::string(setting) + ": must be in " + std::to_string(min) +
                                 ".." + std::to_string(max) + ", got " + std::to_string(value));
}

Status CheckReplicationFactor(std::string_view setting, int64_t value) {
  if (value == -1 || value > 0) return Status::OK();
  return Status::InvalidArgument(std::string(setting) +
                                 ": must be -1 (the broker's default) or positive, got " +
                                 std::to_string(value));
}

Status CheckNotEmpty(std::string_view setting, std::string_view value) {
  if (!value.empty()) return Status::OK();
  return Status::InvalidArgument(std::string(setting) + ": must not be empty");
}

Result<uint64_t> ParseUnsigned(std::string_view setting, std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(setting) +
                                   ": expected a non-negative integer, got \"" +
                                   std::string(text) + "\"");
  }
  return value;
}

Result<uint64_t> ParseByteSize(std::string_view setting, std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(setting) + ": invalid size \"" + std::string(text) +
                                   "\" (" + std::string(why) + ")");
  };
  if (text.starts_with("-")) {
    return Status::InvalidArgument(std::string(setting) + ": must be positive, got " +
                                   std::string(text));
  }
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  if (unit_at == 0) return bad("expected a number of bytes, e.g. 536870912, 512MiB or 1.5G");
  const std::string unit = Lower(text.substr(unit_at));
  uint64_t factor = 0;
  if (unit.empty() || unit == "b") {
    factor = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    factor = uint64_t{1} << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    factor = uint64_t{1} << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    factor = uint64_t{1} << 30;
  } else {
    return bad("unknown unit \"" + std::string(text.substr(unit_at)) +
               "\": use B, KiB, MiB or GiB, or none for bytes");
  }
  const std::string_view number = text.substr(0, unit_at);
  uint64_t bytes = 0;
  if (number.find('.') == std::string_view::npos) {
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc() || end != number.data() + number.size()) return bad("malformed number");
    if (n > UINT64_MAX / factor) return bad("too large");
    bytes = n * factor;
  } else {
    if (factor == 1) return bad("a number of bytes is a whole number");
    double n = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc() || end != number.data() + number.size()) return bad("malformed number");
    const double value = n * static_cast<double>(factor);
    if (!std::isfinite(value) || value >= 1.8e19) return bad("too large");
    bytes = static_cast<uint64_t>(value);
  }
  if (bytes == 0) {
    return Status::InvalidArgument(std::string(setting) + ": must be positive, got " +
                                   std::string(text));
  }
  return bytes;
}

Result<std::chrono::milliseconds> ParsePositiveDuration(std::string_view setting,
                                                        std::string_view text) {
  auto duration = ParseDuration(text, setting);
  if (!duration.ok()) return duration.status();
  if (duration->count() <= 0) {
    return Status::InvalidArgument(std::string(setting) + ": must be positive, got " +
                                   std::string(text));
  }
  return *duration;
}

Status ChoiceError(std::string_view setting, std::string_view text,
                   const std::vector<std::string_view>& names) {
  std::string list;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) list += i + 1 == names.size() ? " or " : ", ";
    list += names[i];
  }
  return Status::InvalidArgument(std::string(setting) + ": expected " + list + ", got \"" +
                                 std::string(text) + "\"");
}

Status ApplyLogLevel(std::string_view setting, std::string_view text) {
  LogLevel level;
  if (!ParseLogLevel(text, &level)) {
    return Status::InvalidArgument(std::string(setting) + ": unknown level \"" +
                                   std::string(text) + "\"");
  }
  SetLogLevel(level);
  return Status::OK();
}

Status ApplyLogLevel(const po::variables_map& values) {
  if (values.count("log-level") && !values["log-level"].defaulted()) {
    return ApplyLogLevel("--log-level", values["log-level"].as<std::string>());
  }
  if (const char* env = Env("EVENTFLOW_LOG_LEVEL")) {
    return ApplyLogLevel("EVENTFLOW_LOG_LEVEL", env);
  }
  if (values.count("log-level")) {
    return ApplyLogLevel("--log-level", values["log-level"].as<std::string>());
  }
  return Status::OK();
}

}  // namespace eventflow::cli
