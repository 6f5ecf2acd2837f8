// InMemoryEngine: StorageEngine on std::map, for StoreBackend::kInMemory.
// Committed data and the pending layer are separate ordered maps per partition;
// a pending nullopt is a tombstone. Nothing survives the object.
//
// Committed readers read the committed maps and metadata under mu_ shared
// for their whole life (a consistent state without copying); the owner takes
// mu_ exclusively where committed data or the set of partitions changes
// (Commit, WriteDirect, a new or dropped partition, Wipe), never per record.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "eventflow/core/shared_mutex.h"
#include "storage_engine.h"

namespace eventflow::state::internal {

class InMemoryEngine final : public StorageEngine {
 public:
  InMemoryEngine() = default;

  Status Get(int64_t partition, std::string_view key, std::string* value) override;
  std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                std::optional<std::string_view> upper) override;
  Status Put(int64_t partition, std::string_view key, std::string_view value) override;
  Status Delete(int64_t partition, std::string_view key) override;
  bool HasPending() const override { return has_pending_; }
  void Abort() override;
  Status Commit(std::span<const MetaWrite> meta) override;
  Status WriteDirect(std::span<const EngineWrite> writes, std::span<const MetaWrite> meta) override;
  Status GetMeta(std::string_view name, std::string* value) override;
  void ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const override;
  size_t NumPartitions() const override;
  Status DropPartitionsBefore(int64_t id) override;
  Status Wipe() override;
  uint64_t ApproximateNumEntries(int64_t partition) override;
  std::optional<uint64_t> GetIntProperty(std::string_view) override { return std::nullopt; }
  bool persistent() const override { return false; }
  std::unique_ptr<EngineReader> NewCommittedReader() override;

  using Committed = std::map<std::string, std::string, std::less<>>;
  using Pending = std::map<std::string, std::optional<std::string>, std::less<>>;

 private:
  friend class InMemoryCommittedReader;
  struct Partition {
    Committed committed;
    Pending pending;
  };

  Partition* Find(int64_t partition);
  const Partition* Find(int64_t partition) const;
  // Returns the partition, creating it (under mu_) when new.
  Partition& FindOrCreate(int64_t partition);
  static void Apply(Committed& committed, std::string_view key,
                    const std::optional<std::string_view>& value);

  std::map<int64_t, Partition> partitions_;
  std::map<std::string, std::string, std::less<>> meta_;
  bool has_pending_ = false;
  mutable WriterPriorityMutex mu_;  // see the file comment
};

}  // namespace eventflow::state::internal
