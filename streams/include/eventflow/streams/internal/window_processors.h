// The processor behind TimeWindowedKStream's aggregations. Not for user code.
//
// The processor has a typed half (here: serdes, the user's function,
// forwarding) and a byte-level half, WindowAggregateStore, compiled once in
// streams/src/aggregate_stores.cc (the window store, the record cache,
// lateness, emission on close, expiry).
//
// Thread-safety: processor instances belong to one task; the shared user
// functions are called from every task and stream thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/cached_store.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

//! The byte-level half of KStreamWindowAggregate (see there for the
//! semantics): reads and writes the window store, through the task's record
//! cache when caching, decides lateness, and at each stream-time punctuation
//! forwards the windows that closed (kOnWindowClose), flushes the cache when
//! a window closes (flush_on_close, for a Suppress downstream) and moves the
//! store's horizon.
class WindowAggregateStore {
 public:
  //! Receives a window's aggregate to forward: the key's bytes, the window
  //! start, the aggregate's bytes and the record timestamp.
  using ForwardFn = std::function<void(std::string_view key, int64_t start,
                                       std::string_view value, int64_t timestamp)>;

  //! Finds the window store `store_name` (`store` from the task; throws naming
  //! `node` when missing) and registers with `cache` when caching applies
  //! (`caching`, a cache, kOnWindowUpdate). `forward` receives the windows
  //! leaving the cache and, with kOnWindowClose, the closed windows; it must
  //! stay valid as long as the task.
  void Init(state::StateStore* store, state::RecordCache* cache, const std::string& node,
            std::string store_name, TimeWindows windows, EmitStrategy emit, bool caching,
            bool flush_on_close, ForwardFn forward);
  //! True when updates go through the record cache.
  bool caching() const { return cache_.active(); }
  //! Returns true, counting nothing but logging the first per task, when the
  //! window at `start` of a record at `timestamp` is closed at `now` (a
  //! LatenessClock value).
  bool Late(int64_t timestamp, int64_t start, int64_t now);
  //! Reads the aggregate of (key, start) into *value (through the cache);
  //! returns false when there is none. Throws, naming the store, on an error.
  bool Read(std::string_view key, int64_t start, std::string* value);
  //! Writes the new aggregate of the window last Read: into the cache, or
  //! into the store. Returns true when the caller forwards it now
  //! (kOnWindowUpdate without cache).
  bool Write(std::string_view key, int64_t start, std::string_view value, int64_t timestamp);
  //! The stream-time punctuation at `now` (a WindowCloseClock value;
  //! nothing while negative); `restored_watermark` as the task gives it.
  void OnStreamTime(int64_t now, int64_t restored_watermark);

 private:
  void Check(const Status& status, const char* doing) const;
  // A merged window update leaving the cache: write the store, forward.
  void EmitCached(std::string_view cache_key, std::optional<std::string_view> value,
                  int64_t timestamp);

  std::string node_;
  std::string store_name_;
  TimeWindows windows_ = TimeWindows::OfSizeWithNoGrace(std::chrono::milliseconds(1));
  EmitStrategy emit_ = EmitStrategy::kOnWindowUpdate;
  bool flush_on_close_ = false;
  ForwardFn forward_;
  StoreCache cache_;
  state::WindowStore* store_ = nullptr;
  int64_t emitted_to_ = -1;  // kOnWindowClose: windows with start <= this were forwarded
  int64_t flushed_to_ = -1;  // flush_on_close: windows with start <= this were flushed
  std::string cache_key_;
  bool warned_late_ = false;
};

//! Folds each record into the aggregate of every window of its key that
//! contains it, kept in a window store, and forwards per EmitStrategy:
//! - kOnWindowUpdate: each window's new aggregate, with the input record's
//!   timestamp — at once without caching; with caching (`caching` and a task
//!   record cache, see StoreCache) the updates of a (key, window) are merged
//!   in the cache and written to the store and forwarded once per commit
//!   (cache key = EncodeWindowKey(key bytes, start)). With `flush_on_close`
//!   (a Suppress(UntilWindowCloses) downstream) the cache is also flushed
//!   at the punctuation where a window closes, before the downstream
//!   punctuators run: every update of a closed window has then gone out.
//! - kOnWindowClose: nothing from Process(); a stream-time punctuator (every
//!   ms of stream time, so at each advance) forwards each window that has
//!   just closed, once, with its final aggregate and timestamp end - 1 (the
//!   store keeps no record timestamps). Windows closing at the same time are
//!   forwarded in the store's FetchAll order (segment, key, start).
//!
//! Late records: an update for a window that is closed (WindowClosed on the
//! LatenessClock: the window-close clock or the record's own partition's
//! stream time) is not applied, and counted in the task's dropped_late; the
//! first per task is logged. Other windows of the same (hopping) record are
//! still updated.
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
                         SerdePtr<VA> value_serde, bool caching = true,
                         bool flush_on_close = false)
      : store_name_(std::move(store_name)),
        windows_(windows),
        emit_(emit),
        adder_(std::move(adder)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        caching_(caching),
        flush_on_close_(flush_on_close) {}

  void Init(ProcessorContext<Windowed<K>, std::optional<VA>>& context) override {
    DslProcessor<K, V, Windowed<K>, std::optional<VA>>::Init(context);
    store_.Init(FindStore(context, store_name_), context.record_cache(), context.node_name(),
                store_name_, windows_, emit_, caching_, flush_on_close_,
                [this](std::string_view key, int64_t start, std::string_view value,
                       int64_t timestamp) { ForwardStored(key, start, value, timestamp); });
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime, [this](int64_t) {
      store_.OnStreamTime(WindowCloseClock(*this->context_, -1),
                          this->context_->restored_watermark());
    });
    // Where the committed watermark puts the expiry horizon: the store's own
    // is that of its last commit, which may be older (nothing emits: every
    // window closed by the restored watermark was emitted before it).
    context.OnResume([this](int64_t watermark) {
      store_.OnStreamTime(watermark, this->context_->restored_watermark());
    });
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
    windows_.ForEachWindow(record.timestamp, [&](int64_t start) {
      if (store_.Late(record.timestamp, start, now)) {
        this->context_->CountDroppedLate();
        return;
      }
      const bool found = store_.Read(key_bytes_, start, &value_bytes_);
      VA aggregate = ApplyAggregate(store_name_, found, *value_serde_, *adder_, record.key,
                                    record.value, &value_bytes_);
      if (store_.Write(key_bytes_, start, value_bytes_, record.timestamp)) {
        this->context_->Forward(Out{Windowed<K>{record.key, start, start + size},
                                    std::move(aggregate), record.timestamp, record.headers});
      }
    });
  }

 private:
  // A window's aggregate from the cache or the store (closed): decode, forward.
  void ForwardStored(std::string_view key_bytes, int64_t start, std::string_view value,
                     int64_t timestamp) {
    Windowed<K> key{K{}, start, start + windows_.size_ms()};
    ThrowIfStoreError(store_name_, key_serde_->Deserialize(key_bytes, &key.key),
                      "decoding a stored key");
    VA aggregate{};
    ThrowIfStoreError(store_name_, value_serde_->Deserialize(value, &aggregate),
                      "decoding the stored aggregate");
    this->context_->Forward(Out{std::move(key), std::move(aggregate), timestamp, {}});
  }

  std::string store_name_;
  TimeWindows windows_;
  EmitStrategy emit_;
  std::shared_ptr<const Adder> adder_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  bool caching_;
  bool flush_on_close_;
  WindowAggregateStore store_;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
};

}  // namespace eventflow::streams::internal
