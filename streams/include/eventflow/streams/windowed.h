// Time windows for windowed aggregations: TimeWindows (tumbling and hopping,
// with grace), EmitStrategy, the Windowed<K> key of a windowed KTable and its
// serde TimeWindowedSerde.
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
// that, records for it are dropped as late.
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

//! The key of a windowed aggregate: the record key and its window
//! [start, end) in epoch ms (Kafka's Windowed<K>).
template <typename K>
struct Windowed {
  K key{};             //!< the grouping key
  int64_t start = 0;   //!< window start, inclusive (ms)
  int64_t end = 0;     //!< window end, exclusive (ms)

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

}  // namespace eventflow::streams
