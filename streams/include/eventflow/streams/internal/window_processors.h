// The processor behind TimeWindowedKStream's aggregations, and the two
// functions that decide when a window is closed. Not for user code.
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
#include <utility>

#include "eventflow/core/log.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/internal/cached_store.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

//! Folds each record into the aggregate of every window of its key that
//! contains it, kept in a window store, and forwards per EmitStrategy:
//! - kOnWindowUpdate: each window's new aggregate, with the input record's
//!   timestamp — at once without caching; with caching (`caching` and a task
//!   record cache, see StoreCache) the updates of a (key, window) are merged
//!   in the cache and written to the store and forwarded once per commit
//!   (cache key = EncodeWindowKey(key bytes, start)).
//! - kOnWindowClose: nothing from Process(); a stream-time punctuator (every
//!   ms of stream time, so at each advance) forwards each window that has
//!   just closed, once, with its final aggregate and timestamp end - 1 (the
//!   store keeps no record timestamps). Windows closing at the same time are
//!   forwarded in the store's FetchAll order (segment, key, start).
//!
//! Late records: an update for a window that is closed (WindowClosed on the
//! LatenessClock: the window-close clock or the record's own partition's
//! stream time) is not applied, and counted in the task's dropped_late; the
//! first per task is logged. Other windows of the same (hopping) record are still updated.
//!
//! Expiry: the same punctuator then advances the store's stream time, so its
//! horizon is now - retention + 1; with retention = size + grace (what the
//! DSL declares) exactly the closed windows fall behind it and their
//! segments are dropped at the next commit.
//!
//! "Emitted up to": the windows with start <= emitted_to_ have been
//! forwarded. It lives in the processor, not the store, and starts at -1;
//! each scan starts at max(emitted_to_ + 1, the store's expiry horizon).
//! Because the horizon advances in the same punctuation as the emission and
//! is committed with the store (in the same transaction under exactly-once),
//! after a restart from local state the horizon is exactly the old
//! emitted_to_ + 1: no final result is lost or repeated. When the process
//! died between the Kafka commit and the store's commit, the horizon is one
//! commit behind; the task's restored watermark (from the committed offsets,
//! part of the Kafka transaction) then tells which windows were already
//! emitted, and the scan starts after them too. A store rebuilt from its
//! changelog alone with no committed offsets has neither, so windows still
//! in the changelog that had closed before the crash are forwarded once more
//! (duplicate final results, never missing ones).
//!
//! Store layout: key = the key serde's bytes, window start = the window's;
//! value = the aggregate serde's bytes; each applied update is one Put, hence
//! one changelog record. Null keys and values are skipped as in
//! KStreamAggregate.
template <typename K, typename V, typename VA>
class KStreamWindowAggregate final
    : public DslProcessor<K, V, Windowed<K>, std::optional<VA>> {
 public:
  using Adder = AggregateAdder<K, V, VA>;
  using Out = Record<Windowed<K>, std::optional<VA>>;

  KStreamWindowAggregate(std::string store_name, TimeWindows windows, EmitStrategy emit,
                         std::shared_ptr<const Adder> adder, SerdePtr<K> key_serde,
                         SerdePtr<VA> value_serde, bool caching = true)
      : store_name_(std::move(store_name)),
        windows_(windows),
        emit_(emit),
        adder_(std::move(adder)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        caching_(caching) {}

  void Init(ProcessorContext<Windowed<K>, std::optional<VA>>& context) override {
    DslProcessor<K, V, Windowed<K>, std::optional<VA>>::Init(context);
    store_ = RequireStore<state::WindowStore>(context, store_name_, "window");
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t) { OnStreamTime(WindowCloseClock(*this->context_, -1)); });
    // Final results are read from the store at close: only updates are cached.
    cache_.Init(context.record_cache(), caching_ && emit_ == EmitStrategy::kOnWindowUpdate,
                store_name_,
                [this](std::string_view key, std::optional<std::string_view> value,
                       int64_t timestamp) { EmitCached(key, value, timestamp); });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_) || null_value) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, null_value ? "value" : "key");
      return;
    }
    const int64_t now = LatenessClock(*this->context_, record.timestamp);
    const int64_t size = windows_.size_ms();
    const int64_t grace = windows_.grace_ms();
    windows_.ForEachWindow(record.timestamp, [&](int64_t start) {
      if (WindowClosed(start + size, grace, now)) {
        DropLate(record.timestamp, start, now);
        return;
      }
      if (cache_.active()) {
        state::EncodeWindowKey(key_bytes_, start, &cache_key_);
        Status got = Status::NotFound("not cached");
        if (auto cached = cache_.Get(cache_key_)) {
          if (cached->value) {
            value_bytes_.assign(*cached->value);
            got = Status::OK();
          }
        } else {
          got = store_->Fetch(key_bytes_, start, &value_bytes_);
        }
        ApplyAggregate(store_name_, got, *value_serde_, *adder_, record.key, record.value,
                       &value_bytes_);
        cache_.Put(cache_key_, value_bytes_, record.timestamp);
        return;
      }
      const Status got = store_->Fetch(key_bytes_, start, &value_bytes_);
      VA aggregate = ApplyAggregate(store_name_, got, *value_serde_, *adder_, record.key,
                                    record.value, &value_bytes_);
      Check(store_->Put(key_bytes_, start, value_bytes_, record.timestamp), "writing");
      if (emit_ == EmitStrategy::kOnWindowUpdate) {
        this->context_->Forward(Out{Windowed<K>{record.key, start, start + size},
                                    std::move(aggregate), record.timestamp, record.headers});
      }
    });
  }

 private:
  void Check(const Status& status, const char* doing) const {
    ThrowIfStoreError(store_name_, status, doing);
  }

  void DropLate(int64_t timestamp, int64_t start, int64_t now) {
    this->context_->CountDroppedLate();
    if (warned_late_) return;
    warned_late_ = true;
    Log(LogLevel::kWarn, "streams",
        "node \"" + this->context_->node_name() + "\" drops a record at " +
            std::to_string(timestamp) + " for window [" + std::to_string(start) + ", " +
            std::to_string(start + windows_.size_ms()) + "), closed since end + grace " +
            std::to_string(windows_.grace_ms()) + " <= " + std::to_string(now) +
            "; further late records in this task are only counted (dropped_late)");
  }

  // A merged window update leaving the cache: write the store, forward.
  void EmitCached(std::string_view cache_key, std::optional<std::string_view> value,
                  int64_t timestamp) {
    if (!value) return;  // this processor never caches deletions
    state::WindowKeyView at;
    Check(state::DecodeWindowKey(cache_key, /*with_sequence=*/false, &at), "decoding a cached key");
    Check(store_->Put(at.key, at.window_start, *value, timestamp), "writing");
    Windowed<K> key{K{}, at.window_start, at.window_start + windows_.size_ms()};
    Check(key_serde_->Deserialize(at.key, &key.key), "decoding a cached key");
    VA aggregate{};
    Check(value_serde_->Deserialize(*value, &aggregate), "decoding a cached aggregate");
    this->context_->Forward(Out{std::move(key), std::move(aggregate), timestamp, {}});
  }

  // Forwards the windows that closed up to `now` (kOnWindowClose), then moves
  // the store's expiry horizon (both modes).
  void OnStreamTime(int64_t now) {
    if (now < 0) return;
    if (emit_ == EmitStrategy::kOnWindowClose) {
      // Windows with start <= limit are closed: start + size + grace <= now.
      const int64_t limit = now - windows_.size_ms() - windows_.grace_ms();
      // Windows closed by the restored watermark went out before the last
      // commit, even if the store's commit (its horizon) did not follow.
      const int64_t restored = this->context_->restored_watermark();
      const int64_t emitted_before =
          restored >= 0 ? restored - windows_.size_ms() - windows_.grace_ms() : -1;
      const int64_t from =
          std::max({emitted_to_ + 1, store_->expiry_horizon(), emitted_before + 1});
      // Window starts are multiples of the advance: scan only when the limit
      // reaches the next one (once per advance of the watermark, not per ms).
      const int64_t advance = windows_.advance_ms();
      const int64_t first_start = from <= 0 ? 0 : (from + advance - 1) / advance * advance;
      if (limit >= first_start) {
        auto it = store_->FetchAll(first_start, limit);
        for (; it->Valid(); it->Next()) {
          Windowed<K> key{K{}, it->window_start(), it->window_start() + windows_.size_ms()};
          Check(key_serde_->Deserialize(it->key(), &key.key), "decoding a stored key");
          VA value{};
          Check(value_serde_->Deserialize(it->value(), &value), "decoding the stored aggregate");
          const int64_t timestamp = key.end - 1;
          this->context_->Forward(Out{std::move(key), std::move(value), timestamp, {}});
        }
        Check(it->status(), "scanning closed windows");
      }
      emitted_to_ = std::max(emitted_to_, limit);
    }
    Check(store_->AdvanceStreamTime(now), "advancing stream time");
  }

  std::string store_name_;
  TimeWindows windows_;
  EmitStrategy emit_;
  std::shared_ptr<const Adder> adder_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  bool caching_;
  StoreCache cache_;
  state::WindowStore* store_ = nullptr;
  int64_t emitted_to_ = -1;  // kOnWindowClose: windows with start <= this were forwarded
  std::string key_bytes_;
  std::string value_bytes_;
  std::string cache_key_;
  bool warned_null_ = false;
  bool warned_late_ = false;
};

}  // namespace eventflow::streams::internal
