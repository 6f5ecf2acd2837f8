// Values of the tools' settings: environment fallbacks, numbers, sizes,
// choices and the log level, each checked with a message that names the
// setting as the user wrote it ("--threads: must be at least 1, got 0").
//
// Thread-safety: pure functions, except ApplyLogLevel (sets the process's log
// level) and Env (reads the environment).
#pragma once

#include <boost/program_options/variables_map.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::cli {

namespace po = boost::program_options;

//! Returns the value of environment variable `name`, or nullptr when it is
//! unset or empty.
const char* Env(const char* name);

//! Returns the string flag's value when given, else nullptr (for settings
//! whose absence means "look elsewhere").
const std::string* FlagIfGiven(const po::variables_map& values, const char* flag);

//! Returns the flag's value when given, else $`env` when set, else `fallback`
//! (the tools' order: flags override the environment).
std::string FlagOrEnv(const po::variables_map& values, const char* flag, const char* env,
                      std::string_view fallback);

//! The Kafka bootstrap servers of every tool: --bootstrap-servers, else
//! $KAFKA_BOOTSTRAP_SERVERS, else the local broker of scripts/kafka.
std::string BootstrapServers(const po::variables_map& values);

//! The default of --bootstrap-servers.
inline constexpr std::string_view kDefaultBootstrapServers = "127.0.0.1:19092";

//! OK when `value` >= `min`, else "<setting>: must be at least <min>, got <value>".
Status CheckAtLeast(std::string_view setting, int64_t value, int64_t min);

//! OK when `value` > 0, else "<setting>: must be positive, got <value>".
Status CheckPositive(std::string_view setting, int64_t value);

//! OK when `value` >= 0, else "<setting>: must not be negative, got <value>".
Status CheckNotNegative(std::string_view setting, int64_t value);

//! OK when `min` <= `value` <= `max`, else "<setting>: must be in <min>..<max>, got <value>".
Status CheckInRange(std::string_view setting, int64_t value, int64_t min, int64_t max);

//! OK when `value` is -1 (the broker's default.replication.factor) or
//! positive, else "<setting>: must be -1 (the broker's default) or positive,
//! got <value>".
Status CheckReplicationFactor(std::string_view setting, int64_t value);

//! OK when `value` is not empty, else "<setting>: must not be empty".
Status CheckNotEmpty(std::string_view setting, std::string_view value);

//! Parses a decimal integer >= 0 (no sign, no spaces), else InvalidArgument
//! "<setting>: expected a non-negative integer, got "<text>"".
Result<uint64_t> ParseUnsigned(std::string_view setting, std::string_view text);

//! Parses a byte size: "<number>[unit]" with unit B, k/KB/KiB, M/MB/MiB,
//! G/GB/GiB (powers of 1024; case-insensitive) or none (bytes); the number may
//! be fractional with a unit ("1.5GiB"). Negative values and zero are refused
//! as "<setting>: must be positive, got <text>"; anything else that does not
//! parse, or overflows, as "<setting>: invalid size "<text>" (...)".
Result<uint64_t> ParseByteSize(std::string_view setting, std::string_view text);

//! Parses a duration (core/duration.h) that must be positive: zero is
//! "<setting>: must be positive, got <text>".
Result<std::chrono::milliseconds> ParsePositiveDuration(std::string_view setting,
                                                        std::string_view text);

//! Returns the value paired with `text` among `choices`, else InvalidArgument
//! "<setting>: expected a, b or c, got "<text>"".
template <typename T>
Result<T> ParseChoice(std::string_view setting, std::string_view text,
                      std::initializer_list<std::pair<std::string_view, T>> choices);

//! Sets the process's log level from `text` (debug, info, warn, error, off),
//! else InvalidArgument "<setting>: unknown level "<text>"".
Status ApplyLogLevel(std::string_view setting, std::string_view text);

//! Sets the process's log level from --log-level when given, else from
//! $EVENTFLOW_LOG_LEVEL when set, else leaves it (info); InvalidArgument
//! naming whichever of the two held an unknown level.
Status ApplyLogLevel(const po::variables_map& values);

// ---------------------------------------------------------------------------

//! ParseChoice's error: "<setting>: expected a, b or c, got "<text>"".
Status ChoiceError(std::string_view setting, std::string_view text,
                   const std::vector<std::string_view>& names);

template <typename T>
Result<T> ParseChoice(std::string_view setting, std::string_view text,
                      std::initializer_list<std::pair<std::string_view, T>> choices) {
  std::vector<std::string_view> names;
  for (const auto& [name, value] : choices) {
    if (name == text) return value;
    names.push_back(name);
  }
  return ChoiceError(setting, text, names);
}

}  // namespace eventflow::cli
