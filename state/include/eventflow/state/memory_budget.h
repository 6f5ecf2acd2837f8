// StateMemoryBudget: one bound on the state memory of a whole instance.
//
// DESIGN.md "Memory budget": a single setting bounds RocksDB memory for every
// store of every task of the instance, and the record caches. The budget splits
// `total_bytes` into
//
//   record_cache_bytes() = total * record_cache_ratio   (RecordCaches, divided
//                                                        among tasks by the runtime)
//   rocksdb_bytes()      = the rest                     (one shared LRU block cache)
//
// and charges RocksDB memtables to that same block cache through one shared
// rocksdb::WriteBufferManager (write_buffer_bytes() = rocksdb_bytes() *
// write_buffer_ratio): blocks + index/filter blocks + memtables of all stores
// together stay within rocksdb_bytes() (RocksDB's "cost memtables to the block
// cache" setup). Every RocksDB store opened with StoreOptions::memory_budget
// pointing here gets these objects through ApplyTo(); the user's
// RocksDbConfigSetter runs after it.
//
// Lifecycle: created once per instance before any store, destroyed after the
// last store closed (RocksDB keeps its own references to the cache and write
// buffer manager, so a late destruction order is safe, just not useful).
// Thread-safety: immutable after Create(); the RocksDB objects are thread-safe.
// Ownership: the budget owns its references; stores hold a non-owning pointer.
#pragma once

#include <cstddef>
#include <memory>

#include "eventflow/core/status.h"

namespace rocksdb {
class Cache;
class WriteBufferManager;
struct Options;
}  // namespace rocksdb

namespace eventflow::state {

//! Settings of the instance's state memory; plain values.
struct StateMemoryBudgetOptions {
  //! All state memory of the instance in bytes. Default 512 MiB.
  size_t total_bytes = size_t{512} << 20;
  //! Share of total_bytes for record caches, in [0, 1). Default 0.1.
  double record_cache_ratio = 0.1;
  //! Share of the RocksDB part that memtables may use, in (0, 1]. Default 0.5.
  double write_buffer_ratio = 0.5;
  //! Make the block cache refuse inserts beyond capacity (reads then fail with
  //! an error instead of overshooting). Default false: RocksDB may overshoot
  //! briefly; flushes bring it back.
  bool strict_capacity_limit = false;
  //! Stall writes while memtables exceed write_buffer_bytes() until flushes
  //! catch up (a hard bound at the price of latency). Default false.
  bool stall_writes_at_limit = false;
  //! Block cache shards = 2^num_shard_bits; -1 lets RocksDB choose. Default -1.
  int num_shard_bits = -1;
};

//! The instance's shared block cache and write buffer manager (see file comment).
class StateMemoryBudget {
 public:
  //! Builds the budget. Returns InvalidArgument naming the option when
  //! total_bytes is 0 or a ratio is out of range.
  static Result<std::unique_ptr<StateMemoryBudget>> Create(const StateMemoryBudgetOptions& options);

  //! Releases the budget's references; open stores keep theirs.
  ~StateMemoryBudget();
  StateMemoryBudget(const StateMemoryBudget&) = delete;
  StateMemoryBudget& operator=(const StateMemoryBudget&) = delete;

  //! Returns the options the budget was built with.
  const StateMemoryBudgetOptions& options() const { return options_; }
  //! Returns the bytes for all record caches of the instance.
  size_t record_cache_bytes() const { return record_cache_bytes_; }
  //! Returns the bytes for RocksDB (the block cache capacity).
  size_t rocksdb_bytes() const { return rocksdb_bytes_; }
  //! Returns the memtable limit, charged to the block cache.
  size_t write_buffer_bytes() const { return write_buffer_bytes_; }
  //! Returns the shared block cache.
  const std::shared_ptr<rocksdb::Cache>& block_cache() const { return block_cache_; }
  //! Returns the shared write buffer manager.
  const std::shared_ptr<rocksdb::WriteBufferManager>& write_buffer_manager() const {
    return write_buffer_manager_;
  }
  //! Returns the bytes the block cache holds now (blocks and memtable charges).
  size_t RocksDbUsageBytes() const;

  //! Points `options` at the shared cache (block-based table with index and
  //! filter blocks in the cache, bloom filters) and write buffer manager.
  void ApplyTo(rocksdb::Options& options) const;

 private:
  explicit StateMemoryBudget(const StateMemoryBudgetOptions& options);

  StateMemoryBudgetOptions options_;
  size_t record_cache_bytes_ = 0;
  size_t rocksdb_bytes_ = 0;
  size_t write_buffer_bytes_ = 0;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager_;
};

}  // namespace eventflow::state
