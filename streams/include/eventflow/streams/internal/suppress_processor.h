// The processor behind KTable::Suppress (Kafka's KTableSuppressProcessor and
// its time-ordered buffer). Not for user code; semantics in suppressed.h.
//
// The processor has a typed half, KTableSuppress (serdes, the due time of a
// key, forwarding), and a byte-level half, SuppressBuffer, compiled once in
// streams/src/suppress_buffer.cc.
//
// Thread-safety: processor instances belong to one task.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/internal/table_value_getters.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/suppressed.h"

namespace eventflow::streams::internal {

//! A suppression as the DSL resolved it.
struct SuppressSpec {
  Suppressed::Until until = Suppressed::Until::kWindowCloses;
  //! kTimeLimit: added to the first buffered update's time.
  int64_t wait_ms = 0;
  //! kWindowCloses: added to a key's window end (WindowedTableInfo).
  int64_t close_after_end_ms = 0;
  BufferConfig buffer;
};

//! The byte-level half of KTableSuppress: the buffer, a key-value store
//! holding every key's latest update until it is due, ordered by due time.
//!
//! Store layout (every entry is also a changelog record, the store's own
//! format: key = store key, value = store value, tombstone on removal):
//!   'D' + due (8 bytes big-endian) + key bytes  →  timestamp (8 bytes BE)
//!        + 1 byte (1: a value follows, 0: a tombstone) + value bytes
//!   'K' + key bytes  →  due (8 bytes BE)        (kTimeLimit only: a buffered
//!        key's due time, which later updates keep)
//! so a scan of 'D' entries up to 'D' + (now + 1) yields exactly the due
//! entries, in due order and then key bytes (Kafka's buffer order). Due
//! times are never negative (record times are not).
//!
//! An entry leaves the buffer only when it is forwarded (or, for a final
//! result, replaced by a tombstone): its removal and the forwarded record
//! are in the same transaction, so after a crash the buffer holds exactly
//! the updates not yet forwarded, and a restored buffer (changelog replay)
//! too.
class SuppressBuffer {
 public:
  //! Receives an entry to forward: key bytes, value bytes (nullopt: a
  //! tombstone) and the buffered update's timestamp.
  using EmitFn = std::function<void(std::string_view key, std::optional<std::string_view> value,
                                    int64_t timestamp)>;

  //! Finds the key-value store `store_name` (`store` from the task; throws
  //! naming `node` when missing). `emitted_to`: the window-close clock the
  //! task resumes from (ProcessorContext::restored_watermark(); -1: none):
  //! entries due by it were forwarded before. `emit` must stay valid as long
  //! as the task.
  void Init(state::StateStore* store, const std::string& node, std::string store_name,
            SuppressSpec spec, int64_t emitted_to, EmitFn emit);

  //! Buffers the update of `key` (value nullopt: a tombstone) with record
  //! time `timestamp`, due at `due` (kTimeLimit: unless the key is buffered
  //! already, when it keeps its due time). Returns false, logging the first
  //! per task, when a final result (kWindowCloses) is due by a time already
  //! emitted: its window closed and went out, the update is late. An update
  //! due by then under kTimeLimit is forwarded at once. A full buffer emits
  //! early or throws StateStoreError, per the BufferConfig.
  bool Put(std::string_view key, int64_t due, std::optional<std::string_view> value,
           int64_t timestamp);

  //! Forwards and removes every entry due at `now` (a WindowCloseClock
  //! value), in due order, then key bytes; tombstones of final results are
  //! removed without being forwarded.
  void EmitDue(int64_t now);

 private:
  // One buffered entry, copied out of the store (collect first, then write).
  struct Entry {
    std::string data_key;  // 'D' + due + key
    std::string value;     // the store value
  };

  // Appends 'D' + due + key to *out (cleared first).
  static void DataKey(int64_t due, std::string_view key, std::string* out);
  // Forwards and removes the entries with due <= limit, at most `max` of them.
  void EmitUpTo(int64_t limit, size_t max);
  // Forwards and removes one collected entry.
  void EmitEntry(const Entry& entry);
  // Counts the buffer (bounded buffers), once.
  void CountOnce();
  // Emits early or throws while the buffer is over its bounds.
  void EnforceBounds();
  // Sets next_due_ to the smallest due time in the buffer.
  void FindNextDue();
  void Check(const Status& status, const char* doing) const;

  std::string node_;
  std::string store_name_;
  SuppressSpec spec_;
  EmitFn emit_;
  state::KeyValueStore* store_ = nullptr;
  bool bounded_ = false;
  int64_t emitted_to_ = -1;  // EmitDue ran up to this clock
  // The smallest due time in the buffer (a lower bound), kUnknownDue after
  // Init, kNoDue when empty: EmitDue scans only when it is due.
  int64_t next_due_;
  bool counted_ = false;  // records_ and bytes_ hold the buffer's size
  int64_t records_ = 0;
  int64_t bytes_ = 0;
  std::string data_key_;
  std::string index_key_;
  std::string value_;
  std::string scratch_;
  std::vector<Entry> due_;  // one EmitDue's entries, reused
  bool warned_late_ = false;
};

//! Holds back a table's updates (KTable::Suppress, see suppressed.h) in a
//! SuppressBuffer and forwards each key's latest when it is due: by the
//! stream-time punctuator (every ms of the window-close clock, so at each
//! advance of the task's watermark), with the buffered update's timestamp
//! and no headers.
//!
//! Due time: kWindowCloses, the key's window end + close_after_end_ms
//! (WindowedTableInfo: the windowed aggregations upstream); kTimeLimit, the
//! first buffered update's time + wait. Upstream caching aggregations flush
//! their cache when a window closes (CacheFlushOnClose) before this
//! processor's punctuator runs (punctuators run in topological order), so a
//! final result is emitted after the window's last update arrived.
//!
//! Null keys are skipped (the first per task logged); a value the serde
//! writes as null counts as a tombstone. An update of a final result whose
//! window was already emitted is late: dropped and counted (dropped_late).
template <typename K, typename V>
class KTableSuppress final : public DslProcessor<K, std::optional<V>, K, std::optional<V>> {
 public:
  KTableSuppress(std::string store_name, SuppressSpec spec, SerdePtr<K> key_serde,
                 SerdePtr<V> value_serde)
      : store_name_(std::move(store_name)),
        spec_(std::move(spec)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Init(ProcessorContext<K, std::optional<V>>& context) override {
    DslProcessor<K, std::optional<V>, K, std::optional<V>>::Init(context);
    buffer_.Init(FindStore(context, store_name_), context.node_name(), store_name_, spec_,
                 context.restored_watermark(),
                 [this](std::string_view key, std::optional<std::string_view> value,
                        int64_t timestamp) { Emit(key, value, timestamp); });
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t) { buffer_.EmitDue(WindowCloseClock(*this->context_, -1)); });
  }

  void Process(Record<K, std::optional<V>> record) override {
    key_bytes_.clear();
    if (!key_serde_->Serialize(record.key, &key_bytes_)) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, "key");
      return;
    }
    value_bytes_.clear();
    std::optional<std::string_view> value;
    if (record.value && value_serde_->Serialize(*record.value, &value_bytes_)) {
      value = value_bytes_;
    }
    if (!buffer_.Put(key_bytes_, Due(record), value, record.timestamp)) {
      this->context_->CountDroppedLate();
    }
  }

 private:
  int64_t Due(const Record<K, std::optional<V>>& record) const {
    if constexpr (WindowedKey<K>::value) {
      if (spec_.until == Suppressed::Until::kWindowCloses) {
        return record.key.end + spec_.close_after_end_ms;
      }
    }
    return record.timestamp + spec_.wait_ms;
  }

  void Emit(std::string_view key_bytes, std::optional<std::string_view> value_bytes,
            int64_t timestamp) {
    K key{};
    ThrowIfStoreError(store_name_, key_serde_->Deserialize(key_bytes, &key),
                      "decoding a buffered key");
    std::optional<V> value;
    if (value_bytes) {
      value.emplace();
      ThrowIfStoreError(store_name_, value_serde_->Deserialize(*value_bytes, &*value),
                        "decoding a buffered value");
    }
    this->context_->Forward(
        Record<K, std::optional<V>>{std::move(key), std::move(value), timestamp, {}});
  }

  std::string store_name_;
  SuppressSpec spec_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  SuppressBuffer buffer_;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
};

}  // namespace eventflow::streams::internal
