// Windows for windowed aggregations: TimeWindows (tumbling and hopping, with
// grace), SessionWindows (per-key activity separated by an inactivity gap),
// SlidingWindows (one window per record, by time difference), EmitStrategy,
// the Windowed<K> key of a windowed KTable and its serdes TimeWindowedSerde
// and SessionWindowedSerde (Kafka's byte layouts).
//
//   KTable<Windowed<std::string>, int64_t> per_minute =
//       builder.Stream<std::string, std::string>("clicks")
//           .GroupByKey()
//           .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(1),
//                                                   std::chrono::seconds(10)))
//           .Count(Materialized<std::string, int64_t>::As("clicks-per-minute"));
//
// Windows are aligned to the epoch, as in Kafka Streams: a record at time t
// belongs to every window [start, start + size) with start a multiple of the
// advance (the size, for tumbling windows) and start <= t < start + size.
// A window CLOSES when the time windows close by (today the task's stream
// time, see internal/window_processors.h) reaches window end + grace; after
// that, records for it are dropped as late. Session and sliding windows
// close by the same rule, with the window end they define (see
// SessionWindows and SlidingWindows).
//
// Thread-safety: plain values; the serde is immutable and shareable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/core/status.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams {

//! The key of a windowed aggregate: the record key and its window in epoch
//! ms (Kafka's Windowed<K>). As in Kafka, a time window is [start, end); a
//! session window and a sliding window are [start, end], both ends
//! inclusive.
template <typename K>
struct Windowed {
  K key{};             //!< the grouping key
  int64_t start = 0;   //!< window start, inclusive (ms)
  int64_t end = 0;     //!< window end: exclusive for TimeWindows, else inclusive (ms)

  //! Equal when key, start and end are.
  friend bool operator==(const Windowed&, const Windowed&) = default;
};

//! When a windowed aggregation forwards its results (Kafka's EmitStrategy).
enum class EmitStrategy {
  //! Every update of a window is forwarded at once (the default).
  kOnWindowUpdate,
  //! Each window's final result is forwarded once, when the window closes
  //! (window end + grace <= stream time); nothing before, nothing after.
  kOnWindowClose,
};

//! Fixed-size windows aligned to the epoch: tumbling (advance = size) or
//! hopping (advance < size), with a grace period for out-of-order records
//! (Kafka's TimeWindows). Built with the factories; checked by Validate()
//! when the DSL uses it (a bad value is a topology error naming it).
class TimeWindows {
 public:
  //! Returns tumbling windows of `size` that close at their end (no grace).
  static TimeWindows OfSizeWithNoGrace(std::chrono::milliseconds size) {
    return TimeWindows(size, size, std::chrono::milliseconds(0));
  }
  //! Returns tumbling windows of `size` that accept records `grace` after
  //! their end.
  static TimeWindows OfSizeAndGrace(std::chrono::milliseconds size,
                                    std::chrono::milliseconds grace) {
    return TimeWindows(size, size, grace);
  }
  //! Returns a copy whose windows start every `advance` (hopping windows;
  //! 0 < advance <= size).
  TimeWindows AdvanceBy(std::chrono::milliseconds advance) const {
    return TimeWindows(std::chrono::milliseconds(size_), advance,
                       std::chrono::milliseconds(grace_));
  }

  //! Returns the window size in ms.
  int64_t size_ms() const { return size_; }
  //! Returns the advance in ms (the size for tumbling windows).
  int64_t advance_ms() const { return advance_; }
  //! Returns the grace period in ms.
  int64_t grace_ms() const { return grace_; }

  //! Returns OK, or InvalidArgument naming the bad value: size must be > 0,
  //! advance in (0, size], grace >= 0.
  Status Validate() const {
    if (size_ <= 0) {
      return Status::InvalidArgument("TimeWindows: the window size must be positive, got " +
                                     std::to_string(size_) + " ms");
    }
    if (advance_ <= 0 || advance_ > size_) {
      return Status::InvalidArgument("TimeWindows: the advance must be in (0, size = " +
                                     std::to_string(size_) + " ms], got " +
                                     std::to_string(advance_) + " ms");
    }
    if (grace_ < 0) {
      return Status::InvalidArgument("TimeWindows: the grace period must not be negative, got " +
                                     std::to_string(grace_) + " ms");
    }
    return Status::OK();
  }

  //! Calls fn(start) for each window containing `timestamp`, oldest first
  //! (none for a negative timestamp). Requires Validate().ok().
  template <typename F>
  void ForEachWindow(int64_t timestamp, F&& fn) const {
    int64_t start = timestamp - size_ + advance_;
    start = start < 0 ? 0 : start / advance_ * advance_;
    for (; start <= timestamp; start += advance_) fn(start);
  }

 private:
  TimeWindows(std::chrono::milliseconds size, std::chrono::milliseconds advance,
              std::chrono::milliseconds grace)
      : size_(size.count()), advance_(advance.count()), grace_(grace.count()) {}

  int64_t size_;
  int64_t advance_;
  int64_t grace_;
};

//! Windowed<K> as bytes, in Kafka's TimeWindowedSerde layout so that Kafka
//! consumers read our windowed topics: the inner key serde's bytes followed
//! by the window start as 8 bytes big-endian. The end is not written; the
//! deserializer computes it as start + the window size given here.
template <typename K>
class TimeWindowedSerde final : public Serde<Windowed<K>> {
 public:
  //! Wraps `inner` (the key's serde) for windows of `window_size_ms`.
  TimeWindowedSerde(SerdePtr<K> inner, int64_t window_size_ms)
      : inner_(std::move(inner)),
        window_size_(window_size_ms),
        name_("windowed<" + std::string(inner_->Name()) + ">") {}

  bool Serialize(const Windowed<K>& v, std::string* out) const override {
    if (!inner_->Serialize(v.key, out)) return false;  // a null key stays null
    uint64_t u = static_cast<uint64_t>(v.start);
    char buf[8];
    for (int i = 7; i >= 0; --i, u >>= 8) buf[i] = static_cast<char>(u & 0xff);
    out->append(buf, 8);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, Windowed<K>* out) const override {
    if (!data) return internal::NullError(name_);
    if (data->size() < 8) {
      return Status::InvalidArgument(name_ + " serde needs at least 8 bytes, got " +
                                     std::to_string(data->size()));
    }
    const size_t key_size = data->size() - 8;
    EVENTFLOW_RETURN_IF_ERROR(inner_->Deserialize(data->substr(0, key_size), &out->key));
    uint64_t u = 0;
    for (unsigned char c : data->substr(key_size)) u = (u << 8) | c;
    out->start = static_cast<int64_t>(u);
    out->end = out->start + window_size_;
    return Status::OK();
  }
  std::string_view Name() const override { return name_; }

 private:
  SerdePtr<K> inner_;
  int64_t window_size_;
  std::string name_;
};

//! Session windows (Kafka's SessionWindows): a key's records whose times are
//! at most the inactivity GAP apart form one session [first time, last time];
//! a record within the gap of two sessions merges them. Built with the
//! factories; checked by Validate() when the DSL uses it.
//!
//! Closing: a record at t can still extend a session [start, end] while
//! t <= end + gap, so a session closes as a window whose exclusive end is
//! end + gap + 1, i.e. when end + gap + 1 + grace <= the close clock (Kafka:
//! end + gap + grace < stream time); see CloseEnd().
class SessionWindows {
 public:
  //! Returns sessions split by `gap` of inactivity that accept records
  //! `grace` after they close.
  static SessionWindows OfInactivityGapAndGrace(std::chrono::milliseconds gap,
                                                std::chrono::milliseconds grace) {
    return SessionWindows(gap, grace);
  }
  //! Returns sessions split by `gap` of inactivity, with no grace.
  static SessionWindows OfInactivityGapWithNoGrace(std::chrono::milliseconds gap) {
    return SessionWindows(gap, std::chrono::milliseconds(0));
  }

  //! Returns the inactivity gap in ms.
  int64_t inactivity_gap_ms() const { return gap_; }
  //! Returns the grace period in ms.
  int64_t grace_ms() const { return grace_; }
  //! Returns the exclusive end, for WindowClosed(), of session [.., end]: the
  //! first time at which no record can extend it any more (end + gap + 1).
  int64_t CloseEnd(int64_t end) const { return end + gap_ + 1; }

  //! Returns OK, or InvalidArgument naming the bad value: gap must be > 0,
  //! grace >= 0.
  Status Validate() const {
    if (gap_ <= 0) {
      return Status::InvalidArgument(
          "SessionWindows: the inactivity gap must be positive, got " + std::to_string(gap_) +
          " ms");
    }
    if (grace_ < 0) {
      return Status::InvalidArgument(
          "SessionWindows: the grace period must not be negative, got " +
          std::to_string(grace_) + " ms");
    }
    return Status::OK();
  }

 private:
  SessionWindows(std::chrono::milliseconds gap, std::chrono::milliseconds grace)
      : gap_(gap.count()), grace_(grace.count()) {}

  int64_t gap_;
  int64_t grace_;
};

//! Sliding windows (Kafka's SlidingWindows): windows [t - d, t] of the
//! maximum time DIFFERENCE d, both ends inclusive, defined by the records
//! rather than the epoch: for each record at t its left window [t - d, t]
//! (or [0, d] when t < d) and, when later records fall within d + 1 of it,
//! its right window [t + 1, t + 1 + d]. Only windows holding records exist.
//! A window [start, end] closes when end + 1 + grace <= the close clock.
class SlidingWindows {
 public:
  //! Returns sliding windows of `time_difference` that accept records
  //! `grace` after they close.
  static SlidingWindows OfTimeDifferenceAndGrace(std::chrono::milliseconds time_difference,
                                                 std::chrono::milliseconds grace) {
    return SlidingWindows(time_difference, grace);
  }
  //! Returns sliding windows of `time_difference`, with no grace.
  static SlidingWindows OfTimeDifferenceWithNoGrace(std::chrono::milliseconds time_difference) {
    return SlidingWindows(time_difference, std::chrono::milliseconds(0));
  }

  //! Returns the maximum time difference in ms (window end - window start).
  int64_t time_difference_ms() const { return difference_; }
  //! Returns the grace period in ms.
  int64_t grace_ms() const { return grace_; }

  //! Returns OK, or InvalidArgument naming the bad value: the time difference
  //! must be > 0, grace >= 0.
  Status Validate() const {
    if (difference_ <= 0) {
      return Status::InvalidArgument(
          "SlidingWindows: the time difference must be positive, got " +
          std::to_string(difference_) + " ms");
    }
    if (grace_ < 0) {
      return Status::InvalidArgument(
          "SlidingWindows: the grace period must not be negative, got " +
          std::to_string(grace_) + " ms");
    }
    return Status::OK();
  }

 private:
  SlidingWindows(std::chrono::milliseconds difference, std::chrono::milliseconds grace)
      : difference_(difference.count()), grace_(grace.count()) {}

  int64_t difference_;
  int64_t grace_;
};

//! Windowed<K> of a session as bytes, in Kafka's SessionWindowedSerde layout
//! (SessionKeySchema): the inner key serde's bytes, then the session end and
//! the session start, each 8 bytes big-endian.
template <typename K>
class SessionWindowedSerde final : public Serde<Windowed<K>> {
 public:
  //! Wraps `inner`, the key's serde.
  explicit SessionWindowedSerde(SerdePtr<K> inner)
      : inner_(std::move(inner)), name_("session-windowed<" + std::string(inner_->Name()) + ">") {}

  bool Serialize(const Windowed<K>& v, std::string* out) const override {
    if (!inner_->Serialize(v.key, out)) return false;  // a null key stays null
    char buf[16];
    uint64_t end = static_cast<uint64_t>(v.end);
    uint64_t start = static_cast<uint64_t>(v.start);
    for (int i = 7; i >= 0; --i, end >>= 8, start >>= 8) {
      buf[i] = static_cast<char>(end & 0xff);
      buf[8 + i] = static_cast<char>(start & 0xff);
    }
    out->append(buf, 16);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, Windowed<K>* out) const override {
    if (!data) return internal::NullError(name_);
    if (data->size() < 16) {
      return Status::InvalidArgument(name_ + " serde needs at least 16 bytes, got " +
                                     std::to_string(data->size()));
    }
    const size_t key_size = data->size() - 16;
    EVENTFLOW_RETURN_IF_ERROR(inner_->Deserialize(data->substr(0, key_size), &out->key));
    uint64_t end = 0;
    uint64_t start = 0;
    for (unsigned char c : data->substr(key_size, 8)) end = (end << 8) | c;
    for (unsigned char c : data->substr(key_size + 8)) start = (start << 8) | c;
    out->start = static_cast<int64_t>(start);
    out->end = static_cast<int64_t>(end);
    return Status::OK();
  }
  std::string_view Name() const override { return name_; }

 private:
  SerdePtr<K> inner_;
  std::string name_;
};

}  // namespace eventflow::streams
