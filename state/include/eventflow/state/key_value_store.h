// KeyValueStore: a transactional, changelogged map from byte keys to byte values.
//
// What Kafka Streams' KeyValueStore<Bytes, byte[]> is, plus transactions (see
// StateStore in state_store.h for commit, abort, restore and the lifecycle).
// Keys and values are bytes; typed serdes live in streams/. Reads see pending
// writes (read-your-writes); "not found" is a normal result (IsNotFound()).
// Scans return keys in byte (memcmp) order.
//
// Implementations: RocksDB (StoreBackend::kRocksDb; data in the "default"
// column family, one entry per key: store key -> store value) and in-memory
// (std::map), chosen by StoreOptions::backend. Both behave identically except
// for persistence.
//
// Changelog format: key = store key, value = store value, tombstone on Delete.
//
// ON-DISK LAYOUT: <state_dir>/<application_id>/<task_id>/<store_name>/, see
// store_options.h.
//
// Thread-safety and ownership: see state_store.h (one task thread; the caller
// owns the store).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/state/key_value_iterator.h"
#include "eventflow/state/state_store.h"
#include "eventflow/state/store_options.h"

namespace eventflow::state {

//! A read-only view of a key-value store's committed state, for another
//! thread (interactive queries); see "THREAD-SAFETY" in state_store.h.
//! Iterators must not outlive the view.
class KeyValueStoreView {
 public:
  virtual ~KeyValueStoreView() = default;
  //! As KeyValueStore::Get, on the committed state.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  //! As KeyValueStore::Range, on the committed state; `to` nullopt: no upper bound.
  virtual std::unique_ptr<KeyValueIterator> Range(std::string_view from,
                                                  std::optional<std::string_view> to) = 0;
  //! As KeyValueStore::All, on the committed state.
  virtual std::unique_ptr<KeyValueIterator> All() = 0;
};

//! A byte-keyed transactional map (see file comment).
class KeyValueStore : public StateStore {
 public:
  //! Copies the value of `key` into *value (reusing its capacity). Returns OK,
  //! NotFound when the key is absent or deleted, or an IOError.
  virtual Status Get(std::string_view key, std::string* value) = 0;

  //! Sets `key` to `value` in the pending layer after logging it to the
  //! changelog with `timestamp` (ms, the event time of the change). Returns the
  //! changelog writer's error, if any, without applying the write.
  virtual Status Put(std::string_view key, std::string_view value, int64_t timestamp) = 0;

  //! Deletes `key` (a tombstone in the pending layer and the changelog).
  //! Deleting an absent key is OK and still logged.
  virtual Status Delete(std::string_view key, int64_t timestamp) = 0;

  //! Returns an iterator over keys in [from, to) in byte order (empty when
  //! from >= to). Never null.
  virtual std::unique_ptr<KeyValueIterator> Range(std::string_view from, std::string_view to) = 0;

  //! Returns an iterator over all keys in byte order. Never null.
  virtual std::unique_ptr<KeyValueIterator> All() = 0;

  //! Returns an estimate of the number of committed keys (RocksDB's
  //! "rocksdb.estimate-num-keys"; exact for the in-memory store). Pending
  //! writes are not counted.
  virtual uint64_t ApproximateNumEntries() = 0;

  //! Returns a view of the committed state as of now; may be called from any
  //! thread while the store is alive (see state_store.h). Never null.
  virtual std::unique_ptr<KeyValueStoreView> NewCommittedView() = 0;
};

//! Opens (creating if needed) a key-value store. Returns InvalidArgument for a
//! bad option or a directory holding another kind of store, IOError or
//! Corruption from RocksDB, each naming the store.
Result<std::unique_ptr<KeyValueStore>> OpenKeyValueStore(const StoreOptions& options);

}  // namespace eventflow::state
