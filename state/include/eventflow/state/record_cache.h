// RecordCache: per-task, byte-bounded cache that merges updates per (store, key)
// between commits, so downstream and the changelog see one update per key.
//
// Kafka Streams' ThreadCache/NamedCache in the "emit on update" mode. Each store
// registers once (AddStore) with a flush listener. Put records the latest value
// (or tombstone) and timestamp of a key as DIRTY; a later Put of the same key
// replaces it (the merge). The listener receives each dirty key once, with its
// latest value:
//
//   - on Flush(store) / FlushAll() (the runtime calls FlushAll before commit),
//     in the order of the keys' last writes; the entries stay cached, clean;
//   - on eviction: when the cache holds more than max_bytes, the least recently
//     used entry (Put, Get and a PutClean that inserts count as use) is evicted; if it is
//     dirty, it and every dirty entry of the same store written before it are
//     emitted first, so a store's updates always leave in write order.
//
// The listener typically writes the store (StateStore Put, which also logs the
// change) and forwards the record downstream. It may Put into OTHER stores of
// the same cache (downstream caching stores): evictions wait until the
// outermost listener returns. It must not write the store being flushed.
// Get serves reads of cached keys (including tombstones: "deleted").
//
// Size accounting: an entry costs key size + value size + kEntryOverheadBytes.
//
// Lifecycle: one cache per task, created with the task's share of
// StateMemoryBudget::record_cache_bytes(); Clear() on abort (cached entries may
// reflect rolled-back writes); Resize() when the number of tasks changes.
// Thread-safety: not thread-safe; the task's thread only. Ownership: the cache
// owns copies of keys and values and the listeners.
// Per-operation cost: updating a cached key allocates nothing (buffers are
// reused); a new key allocates its hash-index node (entries are recycled).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::state {

//! The merge-per-key write cache of one task (see file comment).
class RecordCache {
 public:
  //! Index of a registered store, from AddStore().
  using StoreId = uint32_t;

  //! Receives one dirty key: value nullopt = deleted. A non-OK status stops the
  //! flush and is returned by the Put/Flush that triggered it; the entry is then
  //! already clean (the caller aborts the transaction and calls Clear()).
  using FlushListener = std::function<Status(
      std::string_view key, std::optional<std::string_view> value, int64_t timestamp)>;

  //! A cached value as Get returns it; views valid until the next call that
  //! changes the cache.
  struct CachedValue {
    std::optional<std::string_view> value;  //!< nullopt = deleted (tombstone)
    int64_t timestamp;                      //!< timestamp of the last write
    bool dirty;                             //!< not yet emitted
  };

  //! Bytes charged per entry on top of its key and value.
  static constexpr size_t kEntryOverheadBytes = 128;

  //! An empty cache that holds at most `max_bytes` (0: every Put is emitted at once).
  explicit RecordCache(size_t max_bytes);
  //! Drops every entry without emitting (flush first to keep dirty ones).
  ~RecordCache();
  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  //! Registers a store; returns its id (0, 1, ... in registration order,
  //! which is also FlushAll's order: register upstream stores first).
  StoreId AddStore(std::string name, FlushListener listener);

  //! Returns the id of the store registered as `name`, or nullopt (readers of
  //! another processor's store use it to read through the cache).
  std::optional<StoreId> FindStore(std::string_view name) const;

  //! Records the latest value (nullopt: deletion) of key in store, dirty.
  //! Returns the listener's error if the Put caused an eviction that failed.
  Status Put(StoreId store, std::string_view key, std::optional<std::string_view> value,
             int64_t timestamp);

  //! Caches a value read from the store (clean: never emitted). Does nothing if
  //! the key is already cached. Returns the error of a triggered eviction.
  Status PutClean(StoreId store, std::string_view key, std::optional<std::string_view> value,
                  int64_t timestamp);

  //! Returns the cached value of key, or nullopt when the key is not cached
  //! (then read the store). Marks the entry recently used.
  std::optional<CachedValue> Get(StoreId store, std::string_view key);

  //! Emits the store's dirty entries in write order and marks them clean.
  Status Flush(StoreId store);

  //! Flushes every store in registration order, repeating while listeners made
  //! earlier stores dirty again. Returns the first listener error.
  Status FlushAll();

  //! Drops every entry without emitting anything (after an abort).
  void Clear();

  //! Changes the bound; evicts (emitting dirty entries) down to it.
  Status Resize(size_t max_bytes);

  //! Returns the bound in bytes.
  size_t max_bytes() const { return max_bytes_; }
  //! Returns the bytes charged now.
  size_t size_bytes() const { return size_bytes_; }
  //! Returns the number of cached entries (clean and dirty).
  size_t num_entries() const { return num_entries_; }
  //! Returns the number of dirty entries.
  size_t num_dirty() const { return num_dirty_; }
  //! Returns the number of entries evicted so far.
  uint64_t evictions() const { return evictions_; }
  //! Returns the number of Get calls that found the key.
  uint64_t hits() const { return hits_; }
  //! Returns the number of Get calls that did not find the key.
  uint64_t misses() const { return misses_; }

 private:
  struct Entry;
  struct StoreState;

  Status Insert(StoreId store, std::string_view key, std::optional<std::string_view> value,
                int64_t timestamp, bool dirty);
  Status EmitThrough(StoreState& store, Entry* last);
  Status MaybeEvict();
  void Remove(Entry* entry);
  void LinkLru(Entry* entry);
  void UnlinkLru(Entry* entry);
  void LinkDirty(StoreState& store, Entry* entry);
  void UnlinkDirty(StoreState& store, Entry* entry);
  static size_t Charge(const Entry& entry);

  size_t max_bytes_;
  size_t size_bytes_ = 0;
  size_t num_entries_ = 0;
  size_t num_dirty_ = 0;
  uint64_t evictions_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  int listener_depth_ = 0;     // > 0 while a listener runs: evictions wait
  Entry* lru_head_ = nullptr;  // least recently used
  Entry* lru_tail_ = nullptr;  // most recently used
  std::vector<std::unique_ptr<StoreState>> stores_;
  std::vector<std::unique_ptr<Entry>> free_entries_;  // recycled, buffers kept
};

}  // namespace eventflow::state
