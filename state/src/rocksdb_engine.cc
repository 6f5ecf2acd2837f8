#include "rocksdb_engine.h"

#include <rocksdb/comparator.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <system_error>
#include <utility>

#include "eventflow/core/log.h"
#include "eventflow/state/memory_budget.h"
#include "rocksdb_status.h"

namespace eventflow::state::internal {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

std::unique_ptr<rocksdb::WriteBatchWithIndex> NewPendingBatch() {
  return std::make_unique<rocksdb::WriteBatchWithIndex>(rocksdb::BytewiseComparator(),
                                                        /*reserved_bytes=*/0,
                                                        /*overwrite_key=*/true);
}

// A database iterator shared with RocksDbEngine's cache, presented as one
// the caller owns (WriteBatchWithIndex::NewIteratorWithBase takes ownership).
class SharedIterator final : public rocksdb::Iterator {
 public:
  explicit SharedIterator(std::shared_ptr<rocksdb::Iterator> base) : base_(std::move(base)) {}
  bool Valid() const override { return base_->Valid(); }
  void SeekToFirst() override { base_->SeekToFirst(); }
  void SeekToLast() override { base_->SeekToLast(); }
  void Seek(const rocksdb::Slice& target) override { base_->Seek(target); }
  void SeekForPrev(const rocksdb::Slice& target) override { base_->SeekForPrev(target); }
  void Next() override { base_->Next(); }
  void Prev() override { base_->Prev(); }
  rocksdb::Slice key() const override { return base_->key(); }
  rocksdb::Slice value() const override { return base_->value(); }
  rocksdb::Status status() const override { return base_->status(); }

 private:
  std::shared_ptr<rocksdb::Iterator> base_;
};

// Pending writes (nullptr for a committed reader) merged over the database
// within [lower, upper). The database side is either a new iterator read at
// `snapshot` (nullptr: the latest) with the bounds, or `base`, a reused one
// without bounds (RocksDbEngine::BaseIterator): Valid() checks the upper
// bound, and every iteration starts with a Seek to the lower one. The bounds
// are owned here because RocksDB keeps pointers to them.
class RocksDbIterator final : public KeyValueIterator {
 public:
  RocksDbIterator(rocksdb::DB* db, rocksdb::WriteBatchWithIndex* pending,
                  const rocksdb::Snapshot* snapshot, rocksdb::ColumnFamilyHandle* cf,
                  std::string_view lower, std::optional<std::string_view> upper,
                  const std::string& context)
      : lower_(lower), upper_(upper.value_or("")), bounded_(upper.has_value()), context_(context) {
    SetBounds();
    read_options_.snapshot = snapshot;
    Start(db->NewIterator(read_options_, cf), pending, cf);
  }
  RocksDbIterator(std::shared_ptr<rocksdb::Iterator> base, rocksdb::WriteBatchWithIndex* pending,
                  rocksdb::ColumnFamilyHandle* cf, std::string_view lower,
                  std::optional<std::string_view> upper, const std::string& context)
      : lower_(lower), upper_(upper.value_or("")), bounded_(upper.has_value()), context_(context) {
    SetBounds();
    Start(new SharedIterator(std::move(base)), pending, cf);
  }

  bool Valid() const override {
    // The delta (pending) side is not limited by iterate_upper_bound: check here.
    return iter_->Valid() && (!bounded_ || iter_->key().compare(upper_slice_) < 0);
  }
  void Next() override { iter_->Next(); }
  std::string_view key() const override { return ToView(iter_->key()); }
  std::string_view value() const override { return ToView(iter_->value()); }
  Status status() const override { return FromRocksDb(iter_->status(), context_); }

 private:
  void SetBounds() {
    lower_slice_ = rocksdb::Slice(lower_);
    upper_slice_ = rocksdb::Slice(upper_);
    read_options_.iterate_lower_bound = &lower_slice_;
    if (bounded_) read_options_.iterate_upper_bound = &upper_slice_;
  }
  // Takes `base`, merges the pending writes over it when there are any, seeks.
  void Start(rocksdb::Iterator* base, rocksdb::WriteBatchWithIndex* pending,
             rocksdb::ColumnFamilyHandle* cf) {
    if (pending == nullptr || pending->GetWriteBatch()->Count() == 0) {
      iter_.reset(base);  // nothing pending: the plain (faster) database iterator
    } else {
      iter_.reset(pending->NewIteratorWithBase(cf, base, &read_options_));
    }
    iter_->Seek(lower_slice_);
  }

  std::string lower_;
  std::string upper_;
  bool bounded_;
  const std::string& context_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  rocksdb::ReadOptions read_options_;
  std::unique_ptr<rocksdb::Iterator> iter_;
};

// RocksDB's own messages, warnings and errors only, go to the process log
// naming the store — not to an info LOG file in the store's directory. On a
// full disk that file is a hazard: after one failed write to it, RocksDB 7.8's
// file logger aborts the process on its next message (an assertion in
// WritableFileWriter, compiled into Debian's package), so a full state
// directory was a SIGABRT instead of the store's clean error. Warnings and
// errors are rare (background errors, recovery): no cost on the write path.
class ProcessLogger final : public rocksdb::Logger {
 public:
  explicit ProcessLogger(std::string context)
      : Logger(rocksdb::InfoLogLevel::WARN_LEVEL), context_(std::move(context)) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char text[1024];
    std::vsnprintf(text, sizeof text, format, ap);
    ::eventflow::Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError
                                                                 : LogLevel::kWarn,
                     "rocksdb", context_ + ": " + text);
  }

 private:
  std::string context_;
};

}  // namespace

// The committed state as of its creation (a snapshot), for another thread.
// Holds structure_mu_ shared, so the handles it looks up stay valid.
class RocksDbCommittedReader final : public EngineReader {
 public:
  explicit RocksDbCommittedReader(const RocksDbEngine& engine)
      : lock_(engine.structure_mu_), engine_(engine) {
    if (engine_.db_) {
      snapshot_ = engine_.db_->GetSnapshot();
      read_options_.snapshot = snapshot_;
    }
  }
  ~RocksDbCommittedReader() override {
    if (snapshot_ != nullptr) engine_.db_->ReleaseSnapshot(snapshot_);
  }

  Status Get(int64_t partition, std::string_view key, std::string* value) override {
    rocksdb::ColumnFamilyHandle* cf = engine_.db_ ? engine_.Handle(partition) : nullptr;
    if (cf == nullptr) return Status::NotFound("");
    rocksdb::Status s = engine_.db_->Get(read_options_, cf, ToSlice(key), value);
    if (s.IsNotFound()) return Status::NotFound("");
    return s.ok() ? Status::OK() : engine_.Error(s, "read committed");
  }

  std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                std::optional<std::string_view> upper) override {
    rocksdb::ColumnFamilyHandle* cf = engine_.db_ ? engine_.Handle(partition) : nullptr;
    if (cf == nullptr || (upper && *upper <= lower)) return NewEmptyIterator();
    return std::make_unique<RocksDbIterator>(engine_.db_.get(), nullptr, snapshot_, cf, lower,
                                             upper, engine_.context_);
  }

  Status GetMeta(std::string_view name, std::string* value) override {
    if (!engine_.db_) return Status::NotFound("");
    rocksdb::Status s = engine_.db_->Get(read_options_, engine_.meta_cf_, ToSlice(name), value);
    if (s.IsNotFound()) return Status::NotFound("");
    return s.ok() ? Status::OK() : engine_.Error(s, "read committed metadata");
  }

  void ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const override {
    engine_.ListPartitions(from, to, out);
  }

 private:
  std::shared_lock<WriterPriorityMutex> lock_;
  const RocksDbEngine& engine_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions read_options_;
};

std::unique_ptr<EngineReader> RocksDbEngine::NewCommittedReader() {
  return std::make_unique<RocksDbCommittedReader>(*this);
}

RocksDbEngine::RocksDbEngine(const RocksDbEngineOptions& options)
    : engine_options_(options), pending_(NewPendingBatch()) {
  context_ = "store '" + options.store_name + "' at " + options.path.string();
  options_.create_if_missing = true;
  options_.create_missing_column_families = true;
  options_.info_log = std::make_shared<ProcessLogger>(context_);  // see ProcessLogger
  // No preallocation: RocksDB fallocates each write-ahead log ahead in blocks
  // of 1.1 x write_buffer_size (70 MB with the default memtable), per store —
  // twelve partitions of the pipeline's seven stores took 6 GB of disk per
  // instance before holding anything. Files grow as they are written instead.
  options_.allow_fallocate = false;
  if (options.memory_budget != nullptr) options.memory_budget->ApplyTo(options_);
  if (options.config_setter) options.config_setter(options.store_name, options_);
  write_options_.disableWAL = false;  // the WAL makes Commit durable and atomic
  write_options_.sync = options.sync_commit;
}

RocksDbEngine::~RocksDbEngine() {
  std::unique_lock<WriterPriorityMutex> lock(structure_mu_);
  CloseDb();
}

Result<std::unique_ptr<RocksDbEngine>> RocksDbEngine::Open(const RocksDbEngineOptions& options) {
  std::unique_ptr<RocksDbEngine> engine(new RocksDbEngine(options));
  EVENTFLOW_RETURN_IF_ERROR(engine->OpenDb());
  return engine;
}

Status RocksDbEngine::Error(const rocksdb::Status& status, std::string_view what) const {
  std::string context = context_;
  context.append(": ").append(what);
  return FromRocksDb(status, context);
}

std::string RocksDbEngine::SegmentName(int64_t id) const {
  std::string name(kSegmentColumnFamilyPrefix);
  name.append(std::to_string(id * engine_options_.segment_interval));
  return name;
}

Status RocksDbEngine::OpenDb() {
  const std::string path = engine_options_.path.string();
  std::error_code ec;
  std::filesystem::create_directories(engine_options_.path, ec);
  if (ec) return Status::IOError(context_ + ": cannot create directory: " + ec.message());

  std::vector<std::string> names;
  if (std::filesystem::exists(engine_options_.path / "CURRENT", ec)) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options_, path, &names);
    if (!s.ok()) return Error(s, "list column families");
  }

  const rocksdb::ColumnFamilyOptions cf_options(options_);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  descriptors.emplace_back(std::string(kMetaColumnFamily), cf_options);
  // Per descriptor index >= 2: the segment id, or -1 for an unknown family.
  std::vector<int64_t> ids;
  for (const std::string& name : names) {
    if (name == rocksdb::kDefaultColumnFamilyName || name == kMetaColumnFamily) continue;
    int64_t id = -1;
    if (engine_options_.segment_interval > 0 && name.starts_with(kSegmentColumnFamilyPrefix)) {
      const char* first = name.data() + kSegmentColumnFamilyPrefix.size();
      const char* last = name.data() + name.size();
      int64_t start = 0;
      auto [ptr, err] = std::from_chars(first, last, start);
      if (err != std::errc() || ptr != last || start < 0) {
        return Status::Corruption(context_ + ": bad segment column family name '" + name + "'");
      }
      if (start % engine_options_.segment_interval != 0) {
        return Status::InvalidArgument(
            context_ + ": segment '" + name + "' does not match segment_interval " +
            std::to_string(engine_options_.segment_interval) + " ms (the interval changed?)");
      }
      id = start / engine_options_.segment_interval;
    }
    ids.push_back(id);
    descriptors.emplace_back(name, cf_options);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::DBOptions(options_), path, descriptors, &handles, &raw);
  if (!s.ok()) return Error(s, "open");
  db_.reset(raw);
  default_cf_ = handles[0];
  meta_cf_ = handles[1];
  for (size_t i = 2; i < handles.size(); ++i) {
    if (ids[i - 2] >= 0) {
      segments_.emplace(ids[i - 2], handles[i]);
    } else {
      other_cfs_.push_back(handles[i]);
    }
  }
  return Status::OK();
}

void RocksDbEngine::CloseDb() {
  if (!db_) return;
  ReleaseCachedIterators();
  pending_ = NewPendingBatch();
  for (auto& [id, handle] : segments_) db_->DestroyColumnFamilyHandle(handle);
  for (auto* handle : other_cfs_) db_->DestroyColumnFamilyHandle(handle);
  db_->DestroyColumnFamilyHandle(meta_cf_);
  db_->DestroyColumnFamilyHandle(default_cf_);
  segments_.clear();
  other_cfs_.clear();
  meta_cf_ = default_cf_ = nullptr;
  db_->Close().PermitUncheckedError();
  db_.reset();
}

rocksdb::ColumnFamilyHandle* RocksDbEngine::Handle(int64_t partition) const {
  if (partition == kDefaultPartition) return default_cf_;
  auto it = segments_.find(partition);
  return it == segments_.end() ? nullptr : it->second;
}

Result<rocksdb::ColumnFamilyHandle*> RocksDbEngine::HandleForWrite(int64_t partition) {
  if (rocksdb::ColumnFamilyHandle* handle = Handle(partition)) return handle;
  if (partition < 0 || engine_options_.segment_interval <= 0) {
    return Status::Internal(context_ + ": no partition " + std::to_string(partition));
  }
  // Creating an (empty) column family outside the transaction is harmless: an
  // aborted or crashed transaction leaves at most an empty segment behind.
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  const std::string name = SegmentName(partition);
  rocksdb::Status s =
      db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(options_), name, &handle);
  if (!s.ok()) return Error(s, "create column family " + name);
  std::unique_lock<WriterPriorityMutex> lock(structure_mu_);  // once per new segment
  segments_.emplace(partition, handle);
  return handle;
}

Status RocksDbEngine::Get(int64_t partition, std::string_view key, std::string* value) {
  rocksdb::ColumnFamilyHandle* cf = Handle(partition);
  if (cf == nullptr) return Status::NotFound("");
  rocksdb::Status s =
      pending_->GetFromBatchAndDB(db_.get(), read_options_, cf, ToSlice(key), value);
  if (s.IsNotFound()) return Status::NotFound("");
  if (!s.ok()) return Error(s, "get");
  return Status::OK();
}

std::unique_ptr<KeyValueIterator> RocksDbEngine::NewIterator(
    int64_t partition, std::string_view lower, std::optional<std::string_view> upper) {
  rocksdb::ColumnFamilyHandle* cf = Handle(partition);
  if (cf == nullptr || (upper && *upper <= lower)) return NewEmptyIterator();
  return std::make_unique<RocksDbIterator>(BaseIterator(partition, cf), pending_.get(), cf, lower,
                                           upper, context_);
}

std::shared_ptr<rocksdb::Iterator> RocksDbEngine::BaseIterator(int64_t partition,
                                                               rocksdb::ColumnFamilyHandle* cf) {
  // Creating a database iterator (a super-version reference, an arena, a
  // merging iterator over every memtable and level) cost more than the rest
  // of a stream-join lookup, which makes one per segment per record. The
  // database changes only through this engine's own writes, each of which
  // empties the cache (ReleaseCachedIterators), so an iterator kept since
  // reads exactly what a new one would.
  std::shared_ptr<rocksdb::Iterator>& cached = base_iterators_[partition];
  if (!cached) {
    cached.reset(db_->NewIterator(base_read_options_, cf));
    return cached;
  }
  // In use by an iterator still open (two at once on one partition): a new one.
  if (cached.use_count() > 1) {
    return std::shared_ptr<rocksdb::Iterator>(db_->NewIterator(base_read_options_, cf));
  }
  return cached;
}

void RocksDbEngine::ReleaseCachedIterators() { base_iterators_.clear(); }

Status RocksDbEngine::Put(int64_t partition, std::string_view key, std::string_view value) {
  Result<rocksdb::ColumnFamilyHandle*> cf = HandleForWrite(partition);
  if (!cf.ok()) return cf.status();
  rocksdb::Status s = pending_->Put(*cf, ToSlice(key), ToSlice(value));
  return s.ok() ? Status::OK() : Error(s, "put");
}

Status RocksDbEngine::Delete(int64_t partition, std::string_view key) {
  rocksdb::ColumnFamilyHandle* cf = Handle(partition);
  if (cf == nullptr) return Status::OK();  // nothing can exist there
  rocksdb::Status s = pending_->Delete(cf, ToSlice(key));
  return s.ok() ? Status::OK() : Error(s, "delete");
}

bool RocksDbEngine::HasPending() const { return pending_->GetWriteBatch()->Count() > 0; }

void RocksDbEngine::Abort() { pending_->Clear(); }

Status RocksDbEngine::Commit(std::span<const MetaWrite> meta) {
  for (const MetaWrite& m : meta) {
    rocksdb::Status s = pending_->Put(meta_cf_, ToSlice(m.name), ToSlice(m.value));
    if (!s.ok()) return Error(s, "commit");
  }
  ReleaseCachedIterators();  // they would not see the write
  rocksdb::Status s = db_->Write(write_options_, pending_->GetWriteBatch());
  if (!s.ok()) return Error(s, "commit");
  pending_->Clear();
  return Status::OK();
}

Status RocksDbEngine::WriteDirect(std::span<const EngineWrite> writes,
                                  std::span<const MetaWrite> meta) {
  rocksdb::WriteBatch batch;
  for (const EngineWrite& w : writes) {
    rocksdb::Status s;
    if (w.value) {
      Result<rocksdb::ColumnFamilyHandle*> cf = HandleForWrite(w.partition);
      if (!cf.ok()) return cf.status();
      s = batch.Put(*cf, ToSlice(w.key), ToSlice(*w.value));
    } else if (rocksdb::ColumnFamilyHandle* cf = Handle(w.partition)) {
      s = batch.Delete(cf, ToSlice(w.key));
    }
    if (!s.ok()) return Error(s, "restore");
  }
  for (const MetaWrite& m : meta) {
    rocksdb::Status s = batch.Put(meta_cf_, ToSlice(m.name), ToSlice(m.value));
    if (!s.ok()) return Error(s, "restore");
  }
  ReleaseCachedIterators();  // they would not see the write
  rocksdb::Status s = db_->Write(write_options_, &batch);
  return s.ok() ? Status::OK() : Error(s, "restore");
}

Status RocksDbEngine::GetMeta(std::string_view name, std::string* value) {
  rocksdb::Status s = db_->Get(read_options_, meta_cf_, ToSlice(name), value);
  if (s.IsNotFound()) return Status::NotFound("");
  return s.ok() ? Status::OK() : Error(s, "read metadata " + std::string(name));
}

void RocksDbEngine::ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const {
  for (auto it = segments_.lower_bound(from); it != segments_.end() && it->first <= to; ++it) {
    out->push_back(it->first);
  }
}

Status RocksDbEngine::DropPartitionsBefore(int64_t id) {
  if (segments_.empty() || segments_.begin()->first >= id) return Status::OK();
  std::unique_lock<WriterPriorityMutex> lock(structure_mu_);  // readers may hold a handle
  while (!segments_.empty() && segments_.begin()->first < id) {
    auto it = segments_.begin();
    base_iterators_.erase(it->first);
    rocksdb::Status s = db_->DropColumnFamily(it->second);
    if (!s.ok()) return Error(s, "drop column family " + SegmentName(it->first));
    db_->DestroyColumnFamilyHandle(it->second);
    segments_.erase(it);
  }
  return Status::OK();
}

Status RocksDbEngine::Wipe() {
  std::unique_lock<WriterPriorityMutex> lock(structure_mu_);
  CloseDb();
  rocksdb::Status s = rocksdb::DestroyDB(engine_options_.path.string(), options_);
  if (!s.ok()) return Error(s, "wipe");
  std::error_code ec;
  std::filesystem::remove_all(engine_options_.path, ec);
  if (ec) return Status::IOError(context_ + ": wipe: " + ec.message());
  return OpenDb();
}

uint64_t RocksDbEngine::ApproximateNumEntries(int64_t partition) {
  rocksdb::ColumnFamilyHandle* cf = Handle(partition);
  uint64_t value = 0;
  if (cf == nullptr || !db_->GetIntProperty(cf, "rocksdb.estimate-num-keys", &value)) return 0;
  return value;
}

std::optional<uint64_t> RocksDbEngine::GetIntProperty(std::string_view property) {
  uint64_t value = 0;
  bool ok;
  if (property.starts_with("rocksdb.block-cache")) {
    ok = db_->GetIntProperty(ToSlice(property), &value);  // one cache for the whole database
  } else {
    ok = db_->GetAggregatedIntProperty(ToSlice(property), &value);
  }
  if (!ok) return std::nullopt;
  return value;
}

}  // namespace eventflow::state::internal
