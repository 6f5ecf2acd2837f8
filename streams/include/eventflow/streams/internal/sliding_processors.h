// The processor behind SlidingWindowedKStream's aggregations. Not for user
// code.
//
// Thread-safety: processor instances belong to one task; the shared user
// functions are called from every task and stream thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

//! Kafka's KStreamSlidingWindowAggregate: windows [s, s + d] (d = the time
//! difference, both ends inclusive) that exist only where records are, kept
//! in a window store by start.
//!
//! A record at t (d <= t) updates every existing window of its key that
//! contains it, creates its LEFT window [t - d, t] (from the aggregate of
//! the window ending just before t when the previous record falls in it),
//! creates the RIGHT window [p + 1, p + 1 + d] of the previous record p when
//! t falls in it and it does not exist, and creates its own right window
//! [t + 1, t + 1 + d] (copying the aggregate of the later records) when
//! records after t fall in it. A record at t < d goes, as in Kafka, into the
//! single window [0, d] instead of a left window with a negative start.
//! Windows are found with one Fetch of [t - 2d, t + 1] per record.
//!
//! Closing: window [s, s + d] is closed when WindowClosed(s + d + 1, grace,
//! WindowCloseClock()). A record whose every window is closed (t + d + 1 +
//! grace <= clock) is dropped; otherwise each closed window it would update
//! or create is skipped. Each skip counts once in the task's dropped_late
//! (the first per task is logged).
//!
//! Forwarding per EmitStrategy, timestamps = the window's largest record
//! time (Kafka's ValueAndTimestamp):
//! - kOnWindowUpdate: each updated or created window at once.
//! - kOnWindowClose: a stream-time punctuator forwards each window that has
//!   just closed, once, in the store's FetchAll order. Emitted-up-to is kept
//!   in the processor and, after a restart, recomputed from the store's
//!   expiry horizon (advanced in the same punctuation, committed with the
//!   store): nothing is lost or repeated after a restart from local state,
//!   except that windows closed within the first retention ms of event time
//!   may be repeated (the horizon has not moved yet).
//!
//! Expiry: the punctuator advances the store's stream time. The DSL declares
//! retention = 3d + grace + 1: a record that is not dropped reads windows
//! back to t - 2d, which must still be there.
//!
//! Store layout: key = the key serde's bytes, window start = the window's;
//! value = the window's largest record time (8 bytes big-endian) followed by
//! the aggregate serde's bytes (Kafka's timestamped store layout). Null keys
//! and values are skipped as in KStreamAggregate. Buffers are reused.
template <typename K, typename V, typename VA>
class KStreamSlidingWindowAggregate final
    : public DslProcessor<K, V, Windowed<K>, std::optional<VA>> {
 public:
  using Adder = AggregateAdder<K, V, VA>;
  using Out = Record<Windowed<K>, std::optional<VA>>;

  KStreamSlidingWindowAggregate(std::string store_name, SlidingWindows windows, EmitStrategy emit,
                                std::shared_ptr<const Adder> adder, SerdePtr<K> key_serde,
                                SerdePtr<VA> value_serde, bool /*caching: not applied yet*/ = false,
                                bool /*flush_on_close: nothing cached*/ = false)
      : store_name_(std::move(store_name)),
        windows_(windows),
        emit_(emit),
        adder_(std::move(adder)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Init(ProcessorContext<Windowed<K>, std::optional<VA>>& context) override {
    DslProcessor<K, V, Windowed<K>, std::optional<VA>>::Init(context);
    store_ = RequireStore<state::WindowStore>(context, store_name_, "window");
    // The windows emitted before a restart: those closed at the stream time
    // the horizon was last advanced to (horizon + retention - 1).
    const int64_t horizon = store_->expiry_horizon();
    if (horizon > 0) emitted_to_ = LastClosedStart(horizon + store_->retention() - 1);
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t) { OnStreamTime(WindowCloseClock(*this->context_, -1)); });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_) || null_value) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, null_value ? "value" : "key");
      return;
    }
    const int64_t t = record.timestamp;
    const int64_t d = windows_.time_difference_ms();
    now_ = WindowCloseClock(*this->context_, t);
    if (Closed(t, now_)) {  // its latest window, [t, t + d], is closed
      DropLate(t, t, now_);
      return;
    }
    Collect(std::max<int64_t>(0, t - 2 * d), t + 1);
    if (t < d) {
      ProcessEarly(record);
    } else {
      ProcessRegular(record);
    }
  }

 private:
  // A window found for the current record, with its value before the record.
  struct Found {
    int64_t start = 0;
    int64_t max_time = 0;    // the largest record time in it
    std::string aggregate;   // the aggregate serde's bytes
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Kafka's processInOrder: one pass over the windows from t - 2d up.
  void ProcessRegular(Record<K, V>& record) {
    const int64_t t = record.timestamp;
    const int64_t d = windows_.time_difference_ms();
    size_t left_base = kNone;   // the latest window ending before t
    size_t right_base = kNone;  // the latest window starting <= t, ending after t
    bool left_exists = false;
    bool right_exists = false;
    std::optional<int64_t> previous;  // the latest record time before t
    for (size_t i = 0; i < num_found_; ++i) {
      const Found& w = found_[i];
      const int64_t end = w.start + d;
      if (end < t) {
        left_base = i;
        previous = w.max_time;
      } else if (end == t) {
        left_exists = true;
        if (w.max_time < t) previous = w.max_time;
        Update(record, w.start, &w);
      } else if (w.start <= t) {
        right_base = i;
        Update(record, w.start, &w);
      } else if (w.start == t + 1) {
        right_exists = true;
      } else {
        Unexpected(w.start, t);
      }
    }
    if (previous && !HasStart(*previous + 1) && *previous + 1 + d >= t) {
      Update(record, *previous + 1, nullptr);  // the previous record's right window
      // When t = previous + 1 + d it is also t's left window (Kafka would
      // write and forward it twice).
      if (*previous + 1 == t - d) left_exists = true;
    }
    if (!left_exists) {
      const bool left_holds_previous = previous && t - d <= *previous;
      Update(record, t - d, left_holds_previous ? &found_[left_base] : nullptr);
    }
    if (!right_exists && right_base != kNone && found_[right_base].max_time > t) {
      CreateRightWindow(record, found_[right_base]);
    }
  }

  // Kafka's processEarly: t < d; every record before d lives in [0, d].
  void ProcessEarly(Record<K, V>& record) {
    const int64_t t = record.timestamp;
    size_t combined = kNone;  // the window [0, d]
    size_t right_base = kNone;
    bool right_exists = false;
    std::optional<int64_t> previous;
    for (size_t i = 0; i < num_found_; ++i) {
      const Found& w = found_[i];
      if (w.start == 0) {
        combined = i;
        if (w.max_time < t) previous = w.max_time;
      } else if (w.start <= t) {
        right_base = i;
        Update(record, w.start, &w);
      } else if (w.start == t + 1) {
        right_exists = true;
      } else {
        Unexpected(w.start, t);
      }
    }
    // With no right window found, [0, d] holds only records after t when
    // its largest time is after t (else an earlier record's right window
    // would have been found).
    if (right_base == kNone && combined != kNone && found_[combined].max_time > t) {
      right_base = combined;
    }
    if (!right_exists && right_base != kNone && found_[right_base].max_time > t) {
      CreateRightWindow(record, found_[right_base]);
    }
    if (previous && !HasStart(*previous + 1)) Update(record, *previous + 1, nullptr);
    Update(record, 0, combined == kNone ? nullptr : &found_[combined]);
  }

  // Reads key's windows with start in [from, to] into found_ (before any write).
  void Collect(int64_t from, int64_t to) {
    num_found_ = 0;
    auto it = store_->Fetch(key_bytes_, from, to);
    for (; it->Valid(); it->Next()) {
      if (num_found_ == found_.size()) found_.emplace_back();
      Found& f = found_[num_found_++];
      f.start = it->window_start();
      const std::string_view value = it->value();
      if (value.size() < 8) {
        throw std::runtime_error("store \"" + store_name_ + "\": a stored window value has " +
                                 std::to_string(value.size()) +
                                 " bytes, fewer than its 8-byte record time");
      }
      uint64_t u = 0;
      for (unsigned char c : value.substr(0, 8)) u = (u << 8) | c;
      f.max_time = static_cast<int64_t>(u);
      f.aggregate.assign(value.substr(8));
    }
    Check(it->status(), "fetching windows");
  }

  bool HasStart(int64_t start) const {
    for (size_t i = 0; i < num_found_; ++i) {
      if (found_[i].start == start) return true;
    }
    return false;
  }

  // Folds the record into window [start, start + d] whose value before it is
  // *base (nullptr: a new window, from the initializer), stores and forwards
  // it; a closed window is skipped and counted instead.
  void Update(Record<K, V>& record, int64_t start, const Found* base) {
    const int64_t t = record.timestamp;
    if (Closed(start, now_)) {
      DropLate(t, start, now_);
      return;
    }
    std::optional<VA> old;
    int64_t max_time = t;
    if (base != nullptr) {
      VA previous{};
      Check(value_serde_->Deserialize(base->aggregate, &previous), "decoding a stored aggregate");
      old = std::move(previous);
      max_time = std::max(t, base->max_time);
    }
    VA aggregate = (*adder_)(record.key, record.value, std::move(old));
    value_bytes_.clear();
    AppendTime(max_time, &value_bytes_);
    if (!value_serde_->Serialize(aggregate, &value_bytes_)) {
      throw std::runtime_error("store \"" + store_name_ +
                               "\": the aggregate serializes to null; aggregates must have a value");
    }
    Check(store_->Put(key_bytes_, start, value_bytes_, t), "writing");
    Forward(record, start, std::move(aggregate), max_time);
  }

  // Creates the record's right window [t + 1, t + 1 + d] holding what `base`
  // holds (the records after t), without the record.
  void CreateRightWindow(Record<K, V>& record, const Found& base) {
    const int64_t start = record.timestamp + 1;
    value_bytes_.clear();
    AppendTime(base.max_time, &value_bytes_);
    value_bytes_.append(base.aggregate);
    Check(store_->Put(key_bytes_, start, value_bytes_, record.timestamp), "writing");
    if (emit_ != EmitStrategy::kOnWindowUpdate) return;
    VA aggregate{};
    Check(value_serde_->Deserialize(base.aggregate, &aggregate), "decoding a stored aggregate");
    Forward(record, start, std::move(aggregate), base.max_time);
  }

  void Forward(const Record<K, V>& record, int64_t start, VA aggregate, int64_t timestamp) {
    if (emit_ != EmitStrategy::kOnWindowUpdate) return;
    this->context_->Forward(Out{Windowed<K>{record.key, start, start + windows_.time_difference_ms()},
                                std::move(aggregate), timestamp, record.headers});
  }

  static void AppendTime(int64_t time, std::string* out) {
    uint64_t u = static_cast<uint64_t>(time);
    char buf[8];
    for (int i = 7; i >= 0; --i, u >>= 8) buf[i] = static_cast<char>(u & 0xff);
    out->append(buf, 8);
  }

  bool Closed(int64_t start, int64_t now) const {
    return WindowClosed(start + windows_.time_difference_ms() + 1, windows_.grace_ms(), now);
  }
  // The largest window start that is closed at `now`.
  int64_t LastClosedStart(int64_t now) const {
    return now - windows_.time_difference_ms() - 1 - windows_.grace_ms();
  }

  [[noreturn]] void Unexpected(int64_t start, int64_t t) const {
    throw std::logic_error("store \"" + store_name_ + "\": unexpected sliding window starting at " +
                           std::to_string(start) + " for a record at " + std::to_string(t));
  }

  void Check(const Status& status, const char* doing) const {
    ThrowIfStoreError(store_name_, status, doing);
  }

  void DropLate(int64_t timestamp, int64_t start, int64_t now) {
    this->context_->CountDroppedLate();
    if (warned_late_) return;
    warned_late_ = true;
    Log(LogLevel::kWarn, "streams",
        "node \"" + this->context_->node_name() + "\" drops a record at " +
            std::to_string(timestamp) + " for sliding window [" + std::to_string(start) + ", " +
            std::to_string(start + windows_.time_difference_ms()) + "], closed since end + 1 + grace " +
            std::to_string(windows_.grace_ms()) + " <= " + std::to_string(now) +
            "; further late records in this task are only counted (dropped_late)");
  }

  // Forwards the windows that closed up to `now` (kOnWindowClose), then moves
  // the store's expiry horizon (both modes).
  void OnStreamTime(int64_t now) {
    if (now < 0) return;
    if (emit_ == EmitStrategy::kOnWindowClose) {
      const int64_t limit = LastClosedStart(now);
      // Windows closed by the restored watermark went out before the last
      // commit, even if the store's commit (its horizon) did not follow.
      const int64_t restored = this->context_->restored_watermark();
      const int64_t emitted_before = restored >= 0 ? LastClosedStart(restored) : -1;
      const int64_t from =
          std::max({emitted_to_ + 1, store_->expiry_horizon(), emitted_before + 1});
      if (limit >= from) {
        auto it = store_->FetchAll(from, limit);
        for (; it->Valid(); it->Next()) {
          Windowed<K> key{K{}, it->window_start(),
                          it->window_start() + windows_.time_difference_ms()};
          Check(key_serde_->Deserialize(it->key(), &key.key), "decoding a stored key");
          const std::string_view value = it->value();
          if (value.size() < 8) Check(Status::Corruption("short window value"), "scanning");
          uint64_t u = 0;
          for (unsigned char c : value.substr(0, 8)) u = (u << 8) | c;
          VA aggregate{};
          Check(value_serde_->Deserialize(value.substr(8), &aggregate),
                "decoding the stored aggregate");
          this->context_->Forward(
              Out{std::move(key), std::move(aggregate), static_cast<int64_t>(u), {}});
        }
        Check(it->status(), "scanning closed windows");
        emitted_to_ = limit;
      }
    }
    Check(store_->AdvanceStreamTime(now), "advancing stream time");
  }

  std::string store_name_;
  SlidingWindows windows_;
  EmitStrategy emit_;
  std::shared_ptr<const Adder> adder_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  state::WindowStore* store_ = nullptr;
  int64_t emitted_to_ = -1;  // kOnWindowClose: windows with start <= this were forwarded
  int64_t now_ = -1;         // the close clock of the record being processed
  std::vector<Found> found_;  // grows to the most windows one record fetched
  size_t num_found_ = 0;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
  bool warned_late_ = false;
};

}  // namespace eventflow::streams::internal
