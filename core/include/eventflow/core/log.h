// Process-wide logging: one line per call, written with a single write(2) so
// lines from several threads never interleave.
//
// Logging is for lifecycle events (start, rebalance, commit failure, restore
// progress), never per record. The level is set once at start-up
// (SetLogLevel) and read with a relaxed atomic load, so a disabled level costs
// one comparison. Messages must never contain secrets: callers pass
// configuration through the redacting helpers of the module that owns it.
#pragma once

#include <string_view>

namespace eventflow {

//! Severity of a log line; lines below the process level are discarded.
enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

//! Sets the minimum level written (default kInfo; $EVENTFLOW_LOG_LEVEL read by tools).
void SetLogLevel(LogLevel level);

//! Returns the current minimum level.
LogLevel GetLogLevel();

//! Parses "debug", "info", "warn", "error" or "off"; returns false when unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);

//! Returns true when a line of `level` would be written.
bool LogEnabled(LogLevel level);

//! Writes "<UTC time> <LEVEL> [<component>] <message>\n" to stderr when enabled.
void Log(LogLevel level, std::string_view component, std::string_view message);

}  // namespace eventflow
