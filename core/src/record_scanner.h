// The decoder's first step: one pass with simdjson on-demand over a record's
// top-level object that notes where each field of the contract is and checks
// that everything else is valid JSON. It knows JSON, not event types: which
// fields an eventType needs and their rules are the second step's
// (event_decoder.cc), so fields may come in any order and fields of other event
// types are skipped like unknown ones. Private to eventflow::core.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::codec_internal {

//! The fields of the contract, over all event types; bit positions in ScannedRecord.
enum FieldId : uint8_t {
  kEventTypeField,
  kUserIdField,
  kCountryField,
  kDeviceField,
  kProductIdField,
  kCategoryField,
  kOrderIdField,
  kPriceField,
  kCurrencyField,
  kTimestampField,
  kFieldCount,
};

//! The JSON key of each FieldId.
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames{
    "eventType", "userId",  "country", "device",   "productId",
    "category",  "orderId", "price",   "currency", "timestamp"};

// Where a field of the contract is in the scanned record, and its value.
struct FieldSlot {
  std::string_view text;            // unescaped string value, or the trimmed raw token otherwise
  bool escaped = false;             // the string had escapes (only then can it hold a NUL)
  size_t key_offset = 0;            // byte offset of the key's opening quote
  size_t value_offset = 0;          // byte offset of the value's first byte
  size_t duplicate_key_offset = 0;  // the key's second occurrence, when duplicated
  simdjson::ondemand::json_type type = simdjson::ondemand::json_type::null;
};

// The contract's fields of one record, as found by RecordScanner::Scan.
struct ScannedRecord {
  std::array<FieldSlot, kFieldCount> fields;
  uint32_t present = 0;     // bit per FieldId
  uint32_t duplicated = 0;  // bit per FieldId
};

// Scans records into a ScannedRecord, reusing its memory.
//
// Lifecycle: one per EventDecoder. It keeps a simdjson parser and a padded copy of
// the input that grow to the largest record seen; scanning allocates nothing once
// they have. Strings in record() point into that copy or into the parser, so they
// stay valid until the next Scan. Not thread-safe.
class RecordScanner {
 public:
  //! Scans `json` into record(); returns OK when it is one JSON object whose values
  //! are all valid JSON, or why it is not.
  Status Scan(std::string_view json);

  //! Returns what the last successful Scan found.
  const ScannedRecord& record() const { return record_; }

 private:
  simdjson::ondemand::parser parser_;
  std::unique_ptr<char[]> buffer_;  // capacity_ + SIMDJSON_PADDING bytes
  size_t capacity_ = 0;
  ScannedRecord record_;
};

}  // namespace eventflow::codec_internal
