// RocksDbEngine: StorageEngine on one RocksDB database (one store's directory).
//
// Column families: "default" (kDefaultPartition), "eventflow.meta" (metadata)
// and "segment.<id * segment_interval>" per segment partition (store_options.h).
// The pending layer is a WriteBatchWithIndex (overwrite_key = true): Get and
// iterators merge it over the database; Commit adds the metadata to it and
// writes it with one DB::Write (WAL on), which RocksDB applies atomically
// across column families. Restore writes a plain WriteBatch (no index).
//
// NewIterator reuses one database iterator per column family (the cache is
// emptied by every write to the database, segment drop, close and
// ReleaseCachedIterators()); the pending layer is merged over it per call.
//
// Committed readers read the database through a snapshot, without the
// WriteBatchWithIndex: what Commit or WriteDirect wrote, nothing pending.
// structure_mu_ guards the column-family handles and the database pointer
// against them: taken exclusively when a segment is created or dropped and
// around a wipe or close; the owner's own reads and writes never take it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "eventflow/core/shared_mutex.h"
#include "eventflow/state/store_options.h"
#include "storage_engine.h"

namespace eventflow::state::internal {

struct RocksDbEngineOptions {
  std::filesystem::path path;    // the store's directory
  std::string store_name;        // for messages and the config setter
  int64_t segment_interval = 0;  // ms; 0 = no segment partitions
  const StateMemoryBudget* memory_budget = nullptr;
  bool sync_commit = false;
  RocksDbConfigSetter config_setter;
};

class RocksDbEngine final : public StorageEngine {
 public:
  //! Opens or creates the database with every column family it has.
  static Result<std::unique_ptr<RocksDbEngine>> Open(const RocksDbEngineOptions& options);
  ~RocksDbEngine() override;

  Status Get(int64_t partition, std::string_view key, std::string* value) override;
  std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                std::optional<std::string_view> upper) override;
  Status Put(int64_t partition, std::string_view key, std::string_view value) override;
  Status Delete(int64_t partition, std::string_view key) override;
  bool HasPending() const override;
  void Abort() override;
  Status Commit(std::span<const MetaWrite> meta) override;
  Status WriteDirect(std::span<const EngineWrite> writes, std::span<const MetaWrite> meta) override;
  Status GetMeta(std::string_view name, std::string* value) override;
  void ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const override;
  size_t NumPartitions() const override { return segments_.size(); }
  Status DropPartitionsBefore(int64_t id) override;
  Status Wipe() override;
  uint64_t ApproximateNumEntries(int64_t partition) override;
  std::optional<uint64_t> GetIntProperty(std::string_view property) override;
  bool persistent() const override { return true; }
  std::unique_ptr<EngineReader> NewCommittedReader() override;
  void ReleaseCachedIterators() override;

 private:
  friend class RocksDbCommittedReader;

  explicit RocksDbEngine(const RocksDbEngineOptions& options);

  Status OpenDb();
  void CloseDb();
  // Returns the partition's column family, or nullptr when it does not exist.
  rocksdb::ColumnFamilyHandle* Handle(int64_t partition) const;
  // Returns the partition's column family, creating a segment's if needed.
  Result<rocksdb::ColumnFamilyHandle*> HandleForWrite(int64_t partition);
  std::string SegmentName(int64_t id) const;
  // Returns the cached database iterator of `partition` (column family
  // `cf`), creating it; a new uncached one when the cached one is in use.
  std::shared_ptr<rocksdb::Iterator> BaseIterator(int64_t partition,
                                                  rocksdb::ColumnFamilyHandle* cf);
  Status Error(const rocksdb::Status& status, std::string_view what) const;

  RocksDbEngineOptions engine_options_;
  std::string context_;  // "store '<name>' at <path>"
  rocksdb::Options options_;
  rocksdb::ReadOptions read_options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  std::map<int64_t, rocksdb::ColumnFamilyHandle*> segments_;
  std::vector<rocksdb::ColumnFamilyHandle*> other_cfs_;  // unknown names, kept open only
  std::unique_ptr<rocksdb::WriteBatchWithIndex> pending_;
  // Database iterators (latest state, no bounds) reused by NewIterator, per
  // partition; see BaseIterator. Declared after db_: destroyed before it.
  rocksdb::ReadOptions base_read_options_;
  std::map<int64_t, std::shared_ptr<rocksdb::Iterator>> base_iterators_;
  // Shared by committed readers; exclusive where handles or db_ change (see top).
  mutable WriterPriorityMutex structure_mu_;
};

}  // namespace eventflow::state::internal
