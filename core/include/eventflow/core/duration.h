// Parsing of durations as written in flags and environment variables.
#pragma once

#include <chrono>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow {

//! Parses "<number>[unit]" with unit ms, s, m, h or d ("250ms", "1.5s", "5m");
//! a bare number is milliseconds, as in Kafka's "*.ms" settings. Returns
//! InvalidArgument naming `setting` for empty, negative, malformed or
//! overflowing input; the result is truncated to whole milliseconds.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view setting);

//! ParseDuration for finer settings: also accepts unit us ("500us", "0.25ms");
//! the result is rounded to the nearest microsecond.
Result<std::chrono::microseconds> ParseDurationMicros(std::string_view text,
                                                      std::string_view setting);

}  // namespace eventflow
