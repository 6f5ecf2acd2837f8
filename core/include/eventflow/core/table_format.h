// Encoders of the output-topic contract's column forms (see
// eventflow/sinks/table_contract.h for the whole contract): the producers of
// the result tables (topologies) and their consumer (the PostgreSQL sink)
// share these, so both sides write exactly the same text.
//
//   AppendContractTimestamp  "2025-11-30T11:15:00.000Z"  RFC 3339 UTC, always with ms
//   AppendContractDecimal    "59.99", "0.50", "-3.00"    exact hundredths, two decimals
//   AppendJsonString         "\"u\\\"1\""                a quoted, escaped JSON string
//
// Each appends to a caller-owned buffer and allocates only to grow it, so a
// serializer that reuses its buffer allocates nothing per record.
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eventflow {

//! Appends `epoch_ms` as "YYYY-MM-DDThh:mm:ss.mmmZ" (always with milliseconds).
//! Precondition as AppendTimestamp (eventflow/core/time.h): 0 <= epoch_ms <=
//! kMaxTimestampMillis.
void AppendContractTimestamp(int64_t epoch_ms, std::string* out);

//! Appends `cents` hundredths as a decimal with exactly two decimals, an
//! optional '-' and no leading zeros ("59.99", "0.50", "-3.00").
void AppendContractDecimal(int64_t cents, std::string* out);

//! Appends `text` as a JSON string: in double quotes, with quotes, backslashes
//! and control characters escaped; other bytes (UTF-8) pass through unchanged.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace eventflow
