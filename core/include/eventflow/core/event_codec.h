// JSON encoding and decoding of the pipeline's events (the record values of the
// user-events, product-view and orders topics), exactly as in the data
// contract:
//
//   {"eventType":"LOGIN","userId":"u123","country":"DE","device":"mobile",
//    "timestamp":"2025-11-30T11:15:32Z"}
//   {"eventType":"VIEW","userId":"u123","productId":"p10","category":"electronics",
//    "timestamp":"2025-11-30T11:16:10Z"}
//   {"eventType":"ORDER","orderId":"o777","userId":"u123","productId":"p10","price":59.99,
//    "currency":"EUR","timestamp":"2025-11-30T11:17:00Z"}
//
// Encoding writes the fields in that order, prices with exactly two decimals and
// timestamps as by AppendTimestamp. Decoding makes one pass over the object's
// fields, accepts them in any order (keys may use escapes), ignores unknown
// fields of any JSON type (and fields that belong to other event types), and
// rejects everything else with an InvalidArgument status whose message names the
// field, the problem and the byte offset in the input, e.g.
//   field "price" at byte 57: expected a number, got string
// Rules enforced by the decoder (the reasons a record goes to the dead-letter topic):
//   - the input is one JSON object in valid UTF-8, with nothing after it; values of
//     unknown fields must be valid JSON too, nested at most kMaxUnknownNestingDepth deep;
//   - every field of the record's eventType is present exactly once, with its JSON type;
//   - orderId, userId, productId: non-empty strings; those and country and device are at
//     most kMaxIdBytes bytes and contain no NUL (PostgreSQL text cannot hold one);
//   - category and currency: one of the contract's names (case-sensitive);
//   - price: a plain JSON decimal (no exponent), not negative, at most two non-zero
//     decimals, at most 9999999999.99 (numeric(12,2));
//   - timestamp: a string accepted by ParseTimestampMillis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventflow/core/event.h"
#include "eventflow/core/status.h"

namespace eventflow {

//! Longest accepted orderId, userId, productId, country and device, in bytes of UTF-8.
inline constexpr size_t kMaxIdBytes = 256;
//! Deepest accepted nesting of arrays and objects inside an unknown field's value.
inline constexpr int kMaxUnknownNestingDepth = 64;
//! Largest accepted price in hundredths (numeric(12,2)): 9999999999.99.
inline constexpr int64_t kMaxPriceCents = 999'999'999'999;

//! Appends the contract's JSON for `event` to `*out`; allocates only to grow `*out`.
//! Strings must be valid UTF-8 (they are passed through; quotes, backslashes and
//! control characters are escaped). Timestamps must satisfy AppendTimestamp's precondition.
void AppendJson(const UserEvent& event, std::string* out);
//! Appends the contract's JSON for `event` to `*out`.
void AppendJson(const ProductView& event, std::string* out);
//! Appends the contract's JSON for `event` to `*out`; the price with exactly two decimals.
void AppendJson(const Order& event, std::string* out);
//! Appends the contract's JSON for whichever event `event` holds to `*out`.
void AppendJson(const Event& event, std::string* out);

//! Appends `price_cents` hundredths as a decimal with exactly two decimals ("0.50", "1200.00").
void AppendPrice(int64_t price_cents, std::string* out);

// Decodes and validates JSON records of the pipeline's topics.
//
// Lifecycle: create one per thread and reuse it for every record; it keeps a
// simdjson parser and a padded copy of the input that grow to the largest record
// seen, so that decoding a record allocates nothing but the result's strings
// (short ids fit in std::string's inline buffer). Results own their strings and
// never refer into the decoder. Movable, not copyable; a moved-from decoder may
// only be destroyed or assigned to.
//
// Thread-safety: not thread-safe; one decoder must not be used by two threads
// at once.
class EventDecoder {
 public:
  EventDecoder();
  ~EventDecoder();
  EventDecoder(EventDecoder&&) noexcept;
  EventDecoder& operator=(EventDecoder&&) noexcept;
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  //! Returns the UserEvent in `json` (eventType LOGIN, LOGOUT or SIGNUP), or why it is invalid.
  Result<UserEvent> DecodeUserEvent(std::string_view json);
  //! Returns the ProductView in `json` (eventType VIEW), or why it is invalid.
  Result<ProductView> DecodeProductView(std::string_view json);
  //! Returns the Order in `json` (eventType ORDER), or why it is invalid.
  Result<Order> DecodeOrder(std::string_view json);
  //! Returns the event in `json` of whichever type its eventType names, or why it is invalid.
  Result<Event> Decode(std::string_view json);
  //! Returns the event in `json` if its eventType belongs on `topic`, or why it is invalid.
  Result<Event> DecodeFromTopic(EventTopic topic, std::string_view json);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventflow
