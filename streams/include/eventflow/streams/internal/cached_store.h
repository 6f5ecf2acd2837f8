// StoreCache: a processor's write path through the task's record cache
// (state::RecordCache), Kafka Streams' caching store layer in the "emit on
// update" mode. Not for user code.
//
// An aggregation processor whose Materialized has caching on (the default)
// and whose task has a cache (TaskOptions::record_cache_bytes > 0) writes its
// updates into the cache instead of the store, and forwards nothing from
// Process(). The cache merges updates per key; when it flushes (before every
// commit, inside the transaction) or evicts, the processor's emit function
// receives each key's latest update once: it writes the store (which logs the
// change to the changelog) and forwards the record downstream. Downstream and
// the changelog therefore see one update per key per commit.
//
// Reads go through the cache first (Get), so the processor sees its own
// unflushed updates. With caching off (or no cache in the task), active() is
// false and the processor writes the store and forwards at once, as before.
//
// Errors: an emit function that throws (a downstream processor failing on a
// flushed update) is turned into a Status naming the store, which fails the
// flush and so the commit (the transaction is aborted and the task rewinds);
// a StateStoreError keeps the store's own status (IsStoreFailure), on which
// the stream thread stops instead. An eviction whose store write fails that
// way throws StateStoreError from Put.
//
// Lifecycle: Init() once from the processor's Init; the cache keeps the emit
// function, which must stay valid as long as the task (the task destroys the
// cache before its nodes). Thread-safety: the task's thread only.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/core/status.h"
#include "eventflow/state/record_cache.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

class StoreCache {
 public:
  //! Receives one merged update: write the store, forward downstream.
  using Emit = std::function<void(std::string_view key, std::optional<std::string_view> value,
                                  int64_t timestamp)>;

  //! Registers `store_name` with `cache` when `enabled` and `cache` is not
  //! nullptr; otherwise the instance stays inactive.
  void Init(state::RecordCache* cache, bool enabled, const std::string& store_name, Emit emit) {
    if (cache == nullptr || !enabled) return;
    cache_ = cache;
    id_ = cache->AddStore(store_name, [store_name, emit = std::move(emit)](
                                          std::string_view key,
                                          std::optional<std::string_view> value,
                                          int64_t timestamp) -> Status {
      try {
        emit(key, value, timestamp);
        return Status::OK();
      } catch (const StateStoreError& e) {
        return e.status();
      } catch (const std::exception& e) {
        return Status::Internal("store \"" + store_name + "\": emitting a cached update: " +
                                e.what());
      }
    });
  }

  //! True when updates go through the cache.
  bool active() const { return cache_ != nullptr; }

  //! The cached update of `key`, or nullopt when not cached (read the store).
  std::optional<state::RecordCache::CachedValue> Get(std::string_view key) {
    return cache_->Get(id_, key);
  }

  //! Emits the store's dirty entries now (through the emit function); throws
  //! as Put does when that fails.
  void Flush() {
    const Status s = cache_->Flush(id_);
    if (s.ok()) return;
    if (IsStoreFailure(s)) throw StateStoreError(s);
    throw std::runtime_error(s.ToString());
  }

  //! Records the latest value of `key`; throws when an eviction it caused
  //! failed: StateStoreError when a store failed (IsStoreFailure), else
  //! std::runtime_error (for the processing error policy).
  void Put(std::string_view key, std::string_view value, int64_t timestamp) {
    const Status s = cache_->Put(id_, key, value, timestamp);
    if (s.ok()) return;
    if (IsStoreFailure(s)) throw StateStoreError(s);
    throw std::runtime_error(s.ToString());
  }

 private:
  state::RecordCache* cache_ = nullptr;
  state::RecordCache::StoreId id_ = 0;
};

}  // namespace eventflow::streams::internal
