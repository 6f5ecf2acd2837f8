// StorageEngine: the transactional sorted key-value layer every store is built
// on, with a RocksDB and an in-memory implementation. The stores (key-value,
// window, session) are written once over this interface; the backend only
// decides where bytes live.
//
// Keys live in PARTITIONS, groups dropped as a whole: kDefaultPartition (the
// key-value store) and non-negative segment ids (window/session stores; RocksDB
// column family "segment.<id * segment_interval>"). Writes go to a pending layer
// (RocksDB: a WriteBatchWithIndex, the approach of Kafka's KIP-892) that reads
// merge over the committed data; Commit applies it together with metadata
// writes (offset, horizon) atomically; WriteDirect bypasses it (restore).
// Metadata is a small string map committed with the data.
//
// COMMITTED READERS (interactive queries). NewCommittedReader() gives another
// thread a reader of the committed data and metadata only — never the pending
// layer — as of one consistent moment: a RocksDB snapshot; in memory, commits
// wait while a reader exists. The reader holds the engine's structure lock
// shared; the owning thread takes it exclusively only where the set of
// partitions or the database itself changes (a new segment, dropped segments,
// a wipe, a commit or restore in memory), never per record. Readers are for
// one query: the owner waits for them at those points.
//
// Thread-safety: one owning thread calls everything but NewCommittedReader(),
// which any thread may call while the engine is alive; a committed reader is
// used by one thread and destroyed before the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/state/key_value_iterator.h"

namespace eventflow::state::internal {

//! The partition of a key-value store's data.
inline constexpr int64_t kDefaultPartition = -1;

//! One write of a direct (restore) batch; value nullopt = delete.
struct EngineWrite {
  int64_t partition;
  std::string_view key;
  std::optional<std::string_view> value;
};

//! One metadata write.
struct MetaWrite {
  std::string_view name;
  std::string_view value;
};

//! The read side of an engine: what the stores' read code runs on. The
//! engine itself reads pending over committed; a committed reader
//! (StorageEngine::NewCommittedReader) reads committed data only.
class EngineReader {
 public:
  virtual ~EngineReader() = default;

  //! Reads key. OK, NotFound, or an I/O error.
  virtual Status Get(int64_t partition, std::string_view key, std::string* value) = 0;

  //! Iterates keys in [lower, upper) (upper nullopt: unbounded). A missing
  //! partition yields an empty iterator. The iterator must not outlive the reader.
  virtual std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                        std::optional<std::string_view> upper) = 0;

  //! Reads metadata. OK or NotFound.
  virtual Status GetMeta(std::string_view name, std::string* value) = 0;

  //! Appends the existing segment partition ids in [from, to] in ascending order.
  virtual void ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const = 0;
};

class StorageEngine : public EngineReader {
 public:
  //! Reads pending over committed data (see EngineReader::Get).
  Status Get(int64_t partition, std::string_view key, std::string* value) override = 0;

  //! Iterates pending merged over committed data (see EngineReader::NewIterator).
  std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                std::optional<std::string_view> upper) override = 0;

  //! Returns a reader of the committed data only, for another thread (see
  //! the file comment). Safe to call from any thread while the engine lives.
  virtual std::unique_ptr<EngineReader> NewCommittedReader() = 0;

  //! Pending writes; Put creates the partition if needed.
  virtual Status Put(int64_t partition, std::string_view key, std::string_view value) = 0;
  virtual Status Delete(int64_t partition, std::string_view key) = 0;

  //! True when there are pending writes.
  virtual bool HasPending() const = 0;
  //! Drops the pending writes (partitions created meanwhile stay, empty).
  virtual void Abort() = 0;
  //! Applies pending writes and `meta` atomically and durably (WAL).
  virtual Status Commit(std::span<const MetaWrite> meta) = 0;
  //! Applies `writes` and `meta` atomically, bypassing the pending layer.
  virtual Status WriteDirect(std::span<const EngineWrite> writes,
                             std::span<const MetaWrite> meta) = 0;

  //! Returns the number of existing segment partitions.
  virtual size_t NumPartitions() const = 0;
  //! Drops every segment partition with id < `id` now (not transactional).
  //! Only call with no pending writes.
  virtual Status DropPartitionsBefore(int64_t id) = 0;

  //! Deletes everything (data, partitions, metadata, pending); stays open.
  virtual Status Wipe() = 0;

  //! Number of committed keys in a partition (estimate for RocksDB).
  virtual uint64_t ApproximateNumEntries(int64_t partition) = 0;
  //! A RocksDB integer property; nullopt in memory.
  virtual std::optional<uint64_t> GetIntProperty(std::string_view property) = 0;
  //! True when data survives the process.
  virtual bool persistent() const = 0;
  //! Releases what the engine keeps for reads between writes (RocksDB: the
  //! database iterators NewIterator reuses), so that an idle store pins no
  //! memtable or file. The owner calls it at every commit point.
  virtual void ReleaseCachedIterators() {}
};

//! An iterator with no entries (and an optional error).
std::unique_ptr<KeyValueIterator> NewEmptyIterator(Status status = Status::OK());

//! Returns the smallest string greater than every string starting with
//! `prefix`, or nullopt when there is none (prefix empty or all 0xff).
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

//! Encodes `value` as 8 bytes big-endian into *out (replacing it).
void EncodeInt64(int64_t value, std::string* out);
//! Decodes 8 bytes big-endian; false when the size is not 8.
bool DecodeInt64(std::string_view bytes, int64_t* value);

}  // namespace eventflow::state::internal
