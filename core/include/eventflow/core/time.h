// Event time: RFC 3339 timestamps in UTC to and from milliseconds since the
// Unix epoch (1970-01-01T00:00:00Z).
//
// The pipeline's records carry `"timestamp":"2025-11-30T11:17:00Z"`; event time
// has millisecond precision and, like a Kafka record timestamp, is never
// negative. The conversion is plain calendar arithmetic (proleptic Gregorian,
// no leap seconds): no libc time functions, no locale, no time zone database,
// and parsing never allocates unless it fails.
//
// Accepted by ParseTimestampMillis, and nothing else:
//
//   YYYY-MM-DD ('T' | 't') hh:mm:ss [ '.' 1-9 digits ] ('Z' | 'z')
//
// with 1970 <= YYYY <= 9999, a real calendar date, hh <= 23, mm <= 59 and
// ss <= 59. Fractions finer than a millisecond are truncated. Numeric offsets
// (even "+00:00"), a missing zone, leap seconds (":60"), spaces and trailing
// characters are rejected. Whether a time is implausibly far in the future is
// for the runtime to decide, not this parser.
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow {

//! The latest representable event time, 9999-12-31T23:59:59.999Z, in epoch milliseconds.
inline constexpr int64_t kMaxTimestampMillis = 253'402'300'799'999;

//! Returns the epoch milliseconds of an RFC 3339 UTC timestamp (grammar above), or
//! InvalidArgument whose message names the problem and its character offset in `text`.
Result<int64_t> ParseTimestampMillis(std::string_view text);

//! Appends `epoch_ms` to `*out` as "YYYY-MM-DDThh:mm:ssZ", or "YYYY-MM-DDThh:mm:ss.mmmZ"
//! when it has a millisecond part. Precondition: 0 <= epoch_ms <= kMaxTimestampMillis
//! (asserted; out-of-range values are clamped in release builds).
void AppendTimestamp(int64_t epoch_ms, std::string* out);

//! Returns `epoch_ms` formatted as by AppendTimestamp.
std::string FormatTimestamp(int64_t epoch_ms);

}  // namespace eventflow
