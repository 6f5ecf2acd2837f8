// The transactional contract of RocksDB stores (DESIGN.md "Transactional state
// stores"): a commit writes data and changelog offset in ONE write-ahead-log
// record; a store destroyed without Commit (a crash) reopens exactly as of its
// last commit; a missing or corrupt offset is reported and Wipe recovers;
// restores persist; layout and store-kind checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/memory_budget.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"
#include "test_util.h"

namespace eventflow::state {
namespace {

using testing::MakeOptions;
using testing::TempDir;
using testing::Unwrap;
using Map = std::map<std::string, std::string>;

Map ReadAll(KeyValueStore& store) {
  Map out;
  auto it = store.All();
  for (; it->Valid(); it->Next()) out.emplace(std::string(it->key()), std::string(it->value()));
  EXPECT_TRUE(it->status().ok());
  return out;
}

// Opens a store's database directly, with all its column families, to inspect
// or damage what the store wrote.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    std::vector<std::string> names;
    rocksdb::Options options;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, path.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.emplace_back(name, options);
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path.string(), descriptors, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* cf(std::string_view name) { return by_name_.at(std::string(name)); }
  std::set<std::string> column_families() const {
    std::set<std::string> out;
    for (const auto& [name, h] : by_name_) out.insert(name);
    return out;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

class TransactionalStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() { return MakeOptions(dir_, "counts"); }
  std::filesystem::path Path() { return Unwrap(StoreDirectory(Options())); }
  std::unique_ptr<KeyValueStore> Open() { return Unwrap(OpenKeyValueStore(Options())); }

  TempDir dir_;
};

TEST_F(TransactionalStoreTest, LayoutIsStateDirApplicationTaskStore) {
  auto store = Open();
  EXPECT_EQ(Path(), dir_.path() / "app" / "0_1" / "counts");
  EXPECT_TRUE(std::filesystem::exists(Path() / "CURRENT"));
  store.reset();
  RawDb raw(Path());
  EXPECT_EQ(raw.column_families(), (std::set<std::string>{"default", "eventflow.meta"}));
  std::string format;
  ASSERT_TRUE(raw.db().Get({}, raw.cf(kMetaColumnFamily), kMetaStoreFormat, &format).ok());
  EXPECT_EQ(format, "eventflow.kv.v1");
}

// 8-byte big-endian integer metadata, as the stores write it.
int64_t BigEndian(const std::string& bytes) {
  EXPECT_EQ(bytes.size(), 8u);
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return static_cast<int64_t>(u);
}

TEST_F(TransactionalStoreTest, DescriptionIsRecordedAtOpenAndRewrittenOnlyWhenItChanges) {
  StoreOptions options = Options();
  options.description.key_serde = "string";
  options.description.value_serde = "int64";
  options.description.window_size_ms = 300000;
  options.description.changelog_topic = "app-counts-changelog";
  options.description.changelog_partition = 1;
  { Unwrap(OpenKeyValueStore(options)); }
  uint64_t sequence = 0;
  {
    RawDb raw(Path());
    auto meta = [&](std::string_view key) {
      std::string value;
      EXPECT_TRUE(raw.db().Get({}, raw.cf(kMetaColumnFamily), key, &value).ok()) << key;
      return value;
    };
    EXPECT_EQ(meta(kMetaKeySerde), "string");
    EXPECT_EQ(meta(kMetaValueSerde), "int64");
    EXPECT_EQ(BigEndian(meta(kMetaWindowSize)), 300000);
    EXPECT_EQ(meta(kMetaChangelogTopic), "app-counts-changelog");
    EXPECT_EQ(BigEndian(meta(kMetaChangelogPartition)), 1);
    sequence = raw.db().GetLatestSequenceNumber();
  }
  // The same description again: nothing is written.
  { Unwrap(OpenKeyValueStore(options)); }
  {
    RawDb raw(Path());
    EXPECT_EQ(raw.db().GetLatestSequenceNumber(), sequence);
  }
  // A changed one is rewritten.
  options.description.value_serde = "json";
  { Unwrap(OpenKeyValueStore(options)); }
  RawDb raw(Path());
  std::string value;
  ASSERT_TRUE(raw.db().Get({}, raw.cf(kMetaColumnFamily), kMetaValueSerde, &value).ok());
  EXPECT_EQ(value, "json");
  EXPECT_GT(raw.db().GetLatestSequenceNumber(), sequence);
}

TEST_F(TransactionalStoreTest, CommitAndRestoreRecordTheirWallClockTime) {
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto committed_at = [&] {
    RawDb raw(Path());
    std::string value;
    EXPECT_TRUE(raw.db().Get({}, raw.cf(kMetaColumnFamily), kMetaCommittedAt, &value).ok());
    return BigEndian(value);
  };
  int64_t before = 0, after = 0;
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    before = now_ms();
    ASSERT_TRUE(store->Commit(5).ok());
    after = now_ms();
  }
  const int64_t first = committed_at();
  EXPECT_GE(first, before);
  EXPECT_LE(first, after);
  {
    // A commit that changes nothing keeps the time of the last one that did.
    auto store = Open();
    ASSERT_TRUE(store->Commit(5).ok());
  }
  EXPECT_EQ(committed_at(), first);
  {
    auto store = Open();
    const std::string key = "b", value = "2";
    std::vector<ChangelogRecord> records = {{key, value}};
    before = now_ms();
    ASSERT_TRUE(store->RestoreBatch(records, 6).ok());
    after = now_ms();
  }
  const int64_t restored = committed_at();
  EXPECT_GE(restored, before);
  EXPECT_LE(restored, after);
}

TEST_F(TransactionalStoreTest, ANewStoreHasNoOffset) {
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_TRUE(store->OffsetStatus().IsNotFound());
  EXPECT_NE(store->OffsetStatus().message().find("counts"), std::string::npos);
}

TEST_F(TransactionalStoreTest, ReopenAfterCommitSeesDataAndOffset) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Put("b", "2", 0).ok());
    ASSERT_TRUE(store->Commit(42).ok());
  }
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), 42);
  EXPECT_TRUE(store->OffsetStatus().ok());
  EXPECT_EQ(ReadAll(*store), (Map{{"a", "1"}, {"b", "2"}}));
}

TEST_F(TransactionalStoreTest, ReopenAfterUncommittedWritesSeesExactlyTheLastCommit) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Put("b", "1", 0).ok());
    ASSERT_TRUE(store->Commit(10).ok());
    // The next transaction never commits: the process "dies" with it pending.
    ASSERT_TRUE(store->Put("a", "2", 0).ok());
    ASSERT_TRUE(store->Delete("b", 0).ok());
    ASSERT_TRUE(store->Put("c", "2", 0).ok());
  }
  {
    auto store = Open();
    EXPECT_EQ(store->CommittedOffset(), 10);
    EXPECT_EQ(ReadAll(*store), (Map{{"a", "1"}, {"b", "1"}}));
    // A store that never committed at all reopens empty and without offset.
  }
  TempDir other;
  StoreOptions options = MakeOptions(other, "never-committed");
  {
    auto store = Unwrap(OpenKeyValueStore(options));
    ASSERT_TRUE(store->Put("x", "1", 0).ok());
  }
  auto store = Unwrap(OpenKeyValueStore(options));
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_TRUE(ReadAll(*store).empty());
}

// Records every write-ahead-log record replayed when a database opens.
class RecordingWalFilter : public rocksdb::WalFilter {
 public:
  struct LoggedPut {
    uint32_t cf;
    std::string key;
  };
  void ColumnFamilyLogNumberMap(const std::map<uint32_t, uint64_t>&,
                                const std::map<std::string, uint32_t>& name_to_id) override {
    cf_ids = name_to_id;
  }
  WalProcessingOption LogRecordFound(unsigned long long, const std::string&,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*,
                                     bool*) override {
    struct Collector : rocksdb::WriteBatch::Handler {
      std::vector<LoggedPut> puts;
      rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                            const rocksdb::Slice&) override {
        puts.push_back({cf, key.ToString()});
        return rocksdb::Status::OK();
      }
    } collector;
    EXPECT_TRUE(batch.Iterate(&collector).ok());
    records.push_back(std::move(collector.puts));
    return WalProcessingOption::kContinueProcessing;
  }
  const char* Name() const override { return "RecordingWalFilter"; }

  std::map<std::string, uint32_t> cf_ids;
  std::vector<std::vector<LoggedPut>> records;
};

TEST_F(TransactionalStoreTest, CommitWritesDataAndOffsetInOneWalRecord) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("k1", "v1", 0).ok());
    ASSERT_TRUE(store->Put("k2", "v2", 0).ok());
    ASSERT_TRUE(store->Commit(77).ok());
  }
  RecordingWalFilter filter;
  StoreOptions options = Options();
  options.rocksdb_config_setter = [&](std::string_view, rocksdb::Options& o) {
    o.wal_filter = &filter;
  };
  auto store = Unwrap(OpenKeyValueStore(options));
  ASSERT_TRUE(filter.cf_ids.count("eventflow.meta"));
  const uint32_t meta = filter.cf_ids["eventflow.meta"];
  const uint32_t data = filter.cf_ids["default"];
  int records_with_data = 0;
  for (const auto& record : filter.records) {
    std::set<std::pair<uint32_t, std::string>> puts;
    for (const auto& p : record) puts.insert({p.cf, p.key});
    if (puts.count({data, "k1"}) == 0) continue;
    ++records_with_data;
    EXPECT_TRUE(puts.count({data, "k2"}));
    EXPECT_TRUE(puts.count({meta, "changelog_offset"})) << "offset not in the data's WAL record";
  }
  EXPECT_EQ(records_with_data, 1);
  EXPECT_EQ(store->CommittedOffset(), 77);
}

TEST_F(TransactionalStoreTest, CorruptOffsetIsReportedAndWipeRestartsClean) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Commit(5).ok());
  }
  {
    RawDb raw(Path());
    ASSERT_TRUE(raw.db().Put({}, raw.cf(kMetaColumnFamily), kMetaChangelogOffset, "xyz").ok());
  }
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_EQ(store->OffsetStatus().code(), StatusCode::kCorruption);
  EXPECT_NE(store->OffsetStatus().message().find("counts"), std::string::npos);
  // The runtime's answer: wipe, then restore the changelog in full.
  ASSERT_TRUE(store->Wipe().ok());
  EXPECT_TRUE(ReadAll(*store).empty());
  EXPECT_TRUE(store->OffsetStatus().IsNotFound());
  const std::string key = "a", value = "restored";
  std::vector<ChangelogRecord> records = {{key, value}};
  ASSERT_TRUE(store->RestoreBatch(records, 6).ok());
  store.reset();
  store = Open();
  EXPECT_EQ(store->CommittedOffset(), 6);
  EXPECT_EQ(ReadAll(*store), (Map{{"a", "restored"}}));
}

TEST_F(TransactionalStoreTest, NegativeStoredOffsetIsCorrupt) {
  { Open(); }
  {
    RawDb raw(Path());
    ASSERT_TRUE(
        raw.db()
            .Put({}, raw.cf(kMetaColumnFamily), kMetaChangelogOffset, std::string(8, '\xff'))
            .ok());
  }
  EXPECT_EQ(Open()->OffsetStatus().code(), StatusCode::kCorruption);
}

TEST_F(TransactionalStoreTest, MissingOffsetIsReported) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Commit(5).ok());
  }
  {
    RawDb raw(Path());
    ASSERT_TRUE(raw.db().Delete({}, raw.cf(kMetaColumnFamily), kMetaChangelogOffset).ok());
  }
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_TRUE(store->OffsetStatus().IsNotFound());
}

TEST_F(TransactionalStoreTest, CommitWithoutChangesStillMovesTheOffset) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Commit(3).ok());
    ASSERT_TRUE(store->Commit(3).ok());
    ASSERT_TRUE(store->Commit(9).ok());
  }
  EXPECT_EQ(Open()->CommittedOffset(), 9);
}

// A store holding little takes little disk: RocksDB would otherwise
// fallocate each write-ahead log ahead in blocks of 1.1 x write_buffer_size
// (70 MB with the default 64 MB memtable), which made twelve partitions of the
// pipeline's seven stores take 6 GB per instance before holding anything.
TEST_F(TransactionalStoreTest, AStoreHoldingLittleOccupiesLittleDisk) {
  auto store = Open();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store->Put("key" + std::to_string(i), std::string(100, 'v'), 0).ok());
  }
  ASSERT_TRUE(store->Commit(1).ok());
  uintmax_t allocated = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Path())) {
    struct stat st {};
    if (entry.is_regular_file() && ::stat(entry.path().c_str(), &st) == 0) {
      allocated += static_cast<uintmax_t>(st.st_blocks) * 512;  // what the disk gives it
    }
  }
  EXPECT_LT(allocated, 4u << 20) << "bytes allocated on disk for a store of 100 keys";
}

TEST_F(TransactionalStoreTest, SyncCommitAlsoPersists) {
  StoreOptions options = Options();
  options.sync_commit = true;
  {
    auto store = Unwrap(OpenKeyValueStore(options));
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Commit(1).ok());
  }
  EXPECT_EQ(ReadAll(*Open()), (Map{{"a", "1"}}));
}

TEST_F(TransactionalStoreTest, ADirectoryOpensOnlyAsTheKindOfStoreItHolds) {
  { Open(); }
  Status s = OpenWindowStore(Options(), WindowStoreOptions{}).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("eventflow.kv.v1"), std::string::npos);
  StoreOptions window = MakeOptions(dir_, "windows");
  { Unwrap(OpenWindowStore(window, WindowStoreOptions{})); }
  EXPECT_TRUE(OpenSessionStore(window, SessionStoreOptions{}).status().IsInvalidArgument());
  WindowStoreOptions duplicates;
  duplicates.retain_duplicates = true;
  EXPECT_TRUE(OpenWindowStore(window, duplicates).status().IsInvalidArgument());
  EXPECT_TRUE(OpenKeyValueStore(window).status().IsInvalidArgument());
}

TEST_F(TransactionalStoreTest, ConfigSetterRunsLastWithTheStoreName) {
  auto budget = Unwrap(StateMemoryBudget::Create({}));
  StoreOptions options = Options();
  options.memory_budget = budget.get();
  int calls = 0;
  options.rocksdb_config_setter = [&](std::string_view name, rocksdb::Options& o) {
    ++calls;
    EXPECT_EQ(name, "counts");
    EXPECT_EQ(o.write_buffer_manager, budget->write_buffer_manager());  // budget applied first
    o.max_write_buffer_number = 5;
  };
  auto store = Unwrap(OpenKeyValueStore(options));
  EXPECT_EQ(calls, 1);
}

TEST_F(TransactionalStoreTest, DestroyStoreRemovesTheDirectory) {
  { Open(); }
  ASSERT_TRUE(std::filesystem::exists(Path()));
  ASSERT_TRUE(DestroyStore(Options()).ok());
  EXPECT_FALSE(std::filesystem::exists(Path()));
  EXPECT_TRUE(DestroyStore(Options()).ok());  // already gone: fine
}

// A file system whose writes fail with ENOSPC while `full` is set, as a small
// tmpfs that filled up: new files cannot be created, appends fail.
class FillableFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FillableFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FillableFileSystem"; }
  std::atomic<bool> full{false};

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (full) return rocksdb::IOStatus::NoSpace(name, "No space left on device");
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), this);
    return s;
  }

 private:
  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& file, FillableFileSystem* fs)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->full) return rocksdb::IOStatus::NoSpace("append", "No space left on device");
      return target()->Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->full) return rocksdb::IOStatus::NoSpace("append", "No space left on device");
      return target()->Append(data, options, info, dbg);
    }

   private:
    FillableFileSystem* fs_;
  };
};

// A full disk at commit (the commit comes after the Kafka transaction's): the
// commit fails with an IOError naming the store, its path and the cause, and
// the store reopens (once there is space) exactly as of its last commit, so
// the runtime's tail replay from that offset re-applies what is missing.
TEST_F(TransactionalStoreTest, CommitOnAFullDiskFailsNamingTheStoreAndKeepsTheLastCommit) {
  auto fs = std::make_shared<FillableFileSystem>();
  std::shared_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  StoreOptions options = Options();
  options.rocksdb_config_setter = [env](std::string_view, rocksdb::Options& o) {
    o.env = env.get();
  };
  {
    auto store = Unwrap(OpenKeyValueStore(options));
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Commit(10).ok());
    ASSERT_TRUE(store->Put("a", "2", 0).ok());
    ASSERT_TRUE(store->Put("b", "2", 0).ok());
    fs->full = true;
    const Status s = store->Commit(20);
    EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
    EXPECT_NE(s.message().find("store 'counts' at " + Path().string()), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
    EXPECT_EQ(store->CommittedOffset(), 10);
  }
  fs->full = false;
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), 10);
  EXPECT_EQ(ReadAll(*store), (Map{{"a", "1"}}));
  ASSERT_TRUE(store->Put("b", "3", 0).ok());
  EXPECT_TRUE(store->Commit(30).ok());
}

// A window store needs a new column family for a new time segment, which a
// full disk refuses while the task processes (not only at commit): the write
// fails with an IOError naming the store (the runtime stops the thread).
TEST_F(TransactionalStoreTest, NewSegmentOnAFullDiskFailsNamingTheStore) {
  auto fs = std::make_shared<FillableFileSystem>();
  std::shared_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  StoreOptions options = Options();
  options.rocksdb_config_setter = [env](std::string_view, rocksdb::Options& o) {
    o.env = env.get();
  };
  WindowStoreOptions window;
  window.retention = std::chrono::milliseconds(120'000);
  auto store = Unwrap(OpenWindowStore(options, window));
  ASSERT_TRUE(store->Put("k", 0, "1", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  fs->full = true;
  const Status s = store->Put("k", 3'600'000, "1", 3'600'000);  // a segment an hour later
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("store 'counts' at " + Path().string()), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace eventflow::state
