// StoreReader and FindStores over stores written by eventflow::state: what
// the test writes (seeded random keys, values, windows, sessions, deletes,
// uncommitted writes, expiry) is kept in a model of its own, and every read
// is compared with that model. Also: integrity checks that catch damage the
// test does on purpose, and a reader that leaves the store's files untouched
// while the store is open for writing in the same process.
#include "eventflow/inspector/store_reader.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "eventflow/inspector/state_dir.h"
#include "eventflow/state/store_keys.h"
#include "test_stores.h"

namespace eventflow::inspector {
namespace {

namespace fs = std::filesystem;
using testing::Int64Bytes;
using testing::SnapshotFiles;
using testing::StoreOptionsFor;
using testing::TempDir;
using testing::Unwrap;

using KvModel = std::map<std::string, std::string>;
// (key, start, end or -1, sequence) -> value.
using WindowModel = std::map<std::tuple<std::string, int64_t, int64_t, uint32_t>, std::string>;

KvModel ReadAll(StoreReader& reader, const ScanRange& range = {}) {
  KvModel out;
  Status s = reader.Scan(range, [&](const StoreEntry& e) {
    EXPECT_TRUE(out.emplace(std::string(e.key), std::string(e.value)).second) << e.key;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

WindowModel ReadWindows(StoreReader& reader) {
  WindowModel out;
  Status s = reader.Scan({}, [&](const StoreEntry& e) {
    out[{std::string(e.key), e.start, e.end, e.sequence}] = std::string(e.value);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string RandomKey(std::mt19937_64& rng) {
  // Keys of varied length, including bytes that are not text.
  std::uniform_int_distribution<int> length(0, 6);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string key = "k";
  for (int i = length(rng); i > 0; --i) key.push_back(static_cast<char>(byte(rng)));
  return key;
}

TEST(FindStoresTest, FindsStoresAtEveryLevelOfTheLayoutInOrder) {
  TempDir dir;
  for (auto [task, name] : {std::pair{"0_10", "a"}, {"0_2", "b"}, {"1_0", "c"}, {"0_2", "a"}}) {
    Unwrap(state::OpenKeyValueStore(StoreOptionsFor(dir.path(), name, task, "string", "string")));
  }
  fs::create_directories(dir.path() / "app" / "not-a-task" / "x");
  fs::create_directories(dir.path() / "app" / "0_3" / "empty-dir");

  auto all = Unwrap(FindStores(dir.path()));
  std::vector<std::string> found;
  for (const auto& s : all) found.push_back(s.application_id + "/" + s.task_id + "/" + s.store);
  EXPECT_EQ(found, (std::vector<std::string>{"app/0_2/a", "app/0_2/b", "app/0_10/a", "app/1_0/c"}));
  EXPECT_EQ(Unwrap(FindStores(dir.path() / "app")).size(), 4u);
  auto task = Unwrap(FindStores(dir.path() / "app" / "0_2/"));
  ASSERT_EQ(task.size(), 2u);
  EXPECT_EQ(task[0].application_id, "app");
  EXPECT_EQ(task[0].task_id, "0_2");
  auto one = Unwrap(FindStores(dir.path() / "app" / "1_0" / "c"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].store, "c");
  EXPECT_EQ(one[0].task_id, "1_0");
  EXPECT_EQ(one[0].application_id, "app");
}

TEST(FindStoresTest, NamesThePathOfWhatIsNotAStateDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "some" / "thing");
  Status s = FindStores(dir.path()).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(dir.path().string()), std::string::npos);
  EXPECT_NE(s.message().find("not a state directory"), std::string::npos);
  s = FindStores(dir.path() / "missing").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no such file or directory"), std::string::npos);
  s = LocateStore(dir.path() / "some").status();
  EXPECT_NE(s.message().find("is not a store directory"), std::string::npos);
  s = StoreReader::Open(dir.path() / "some").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(StoreReaderTest, KeyValueStoreReadsExactlyTheLastCommit) {
  TempDir dir;
  const auto options = StoreOptionsFor(dir.path(), "kv", "0_1", "bytes", "string");
  std::mt19937_64 rng(42);
  KvModel model;
  {
    auto store = Unwrap(state::OpenKeyValueStore(options));
    for (int commit = 0; commit < 5; ++commit) {
      for (int i = 0; i < 200; ++i) {
        const std::string key = RandomKey(rng);
        if (rng() % 5 == 0) {
          ASSERT_TRUE(store->Delete(key, 0).ok());
          model.erase(key);
        } else {
          const std::string value = "v" + std::to_string(rng() % 1000);
          ASSERT_TRUE(store->Put(key, value, 0).ok());
          model[key] = value;
        }
      }
      ASSERT_TRUE(store->Commit(100 + commit).ok());
    }
    // Written but never committed: gone with the store, never visible.
    ASSERT_TRUE(store->Put("uncommitted", "x", 0).ok());
  }
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "0_1" / "kv"));
  const StoreInfo& info = reader->info();
  EXPECT_EQ(info.kind, StoreKind::kKeyValue);
  EXPECT_EQ(info.changelog_offset, 104);
  EXPECT_TRUE(info.offset_status.ok());
  EXPECT_EQ(info.key_serde, "bytes");
  EXPECT_EQ(info.value_serde, "string");
  EXPECT_EQ(info.changelog_topic, "app-kv-changelog");
  EXPECT_EQ(info.changelog_partition, 1);
  EXPECT_TRUE(info.committed_at_ms.has_value());
  EXPECT_GT(info.size_bytes, 0u);

  EXPECT_EQ(ReadAll(*reader), model);
  for (const auto& [key, value] : model) {
    std::string got;
    ASSERT_TRUE(reader->Get(key, &got).ok()) << key;
    EXPECT_EQ(got, value);
  }
  std::string got;
  EXPECT_TRUE(reader->Get("uncommitted", &got).IsNotFound());

  // Ranges are inclusive at both ends, as in Kafka's range(); limits count.
  std::vector<std::string> keys;
  for (const auto& [key, value] : model) keys.push_back(key);
  ASSERT_GT(keys.size(), 20u);
  const std::string from = keys[5], to = keys[15];
  KvModel expected(model.lower_bound(from), model.upper_bound(to));
  EXPECT_EQ(ReadAll(*reader, {from, to, 0}), expected);
  expected = KvModel(model.lower_bound(from), std::next(model.lower_bound(from), 4));
  EXPECT_EQ(ReadAll(*reader, {from, std::nullopt, 4}), expected);
  expected = KvModel(model.begin(), model.upper_bound(to));
  EXPECT_EQ(ReadAll(*reader, {std::nullopt, to, 0}), expected);
}

TEST(StoreReaderTest, WindowStoreHidesExpiredWindowsAndFetchesAKeysWindows) {
  TempDir dir;
  state::WindowStoreOptions window_options;
  window_options.retention = std::chrono::milliseconds(10000);
  window_options.segment_interval = std::chrono::milliseconds(5000);
  const int64_t size = 1000;
  auto options = StoreOptionsFor(dir.path(), "win", "2_3", "string", "int64", size);
  std::mt19937_64 rng(7);
  WindowModel model;  // every window written (committed)
  int64_t horizon = 0;
  {
    auto store = Unwrap(state::OpenWindowStore(options, window_options));
    for (int i = 0; i < 400; ++i) {
      const std::string key = "user-" + std::to_string(rng() % 12);
      const int64_t start = static_cast<int64_t>(rng() % 30) * size;
      const int64_t value = static_cast<int64_t>(rng() % 100000);
      ASSERT_TRUE(store->Put(key, start, Int64Bytes(value), start).ok());
      model[{key, start, start + size, 0}] = Int64Bytes(value);
    }
    ASSERT_TRUE(store->AdvanceStreamTime(22500).ok());  // horizon 22500 - 10000 + 1
    horizon = store->expiry_horizon();
    ASSERT_TRUE(store->Commit(9).ok());
  }
  ASSERT_EQ(horizon, 12501);
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "2_3" / "win"));
  const StoreInfo& info = reader->info();
  EXPECT_EQ(info.kind, StoreKind::kWindow);
  EXPECT_FALSE(info.retain_duplicates);
  EXPECT_EQ(info.window_size_ms, size);
  EXPECT_EQ(info.segment_interval_ms, 5000);
  EXPECT_EQ(info.expiry_horizon_ms, horizon);
  EXPECT_EQ(info.changelog_offset, 9);

  WindowModel live;
  for (const auto& [k, v] : model) {
    if (std::get<1>(k) >= horizon) live[k] = v;
  }
  EXPECT_EQ(ReadWindows(*reader), live);

  // One key's windows in a time range, oldest first.
  for (const std::string key : {"user-3", "user-7", "user-missing"}) {
    for (auto [from, to] :
         {std::pair<int64_t, int64_t>{0, 100000}, {14000, 20000}, {20001, 20999}}) {
      std::vector<std::pair<int64_t, std::string>> expected, got;
      for (const auto& [k, v] : live) {
        const int64_t start = std::get<1>(k);
        if (std::get<0>(k) == key && start >= from && start <= to) expected.push_back({start, v});
      }
      ASSERT_TRUE(reader
                      ->Windows(key, from, to,
                                [&](const StoreEntry& e) {
                                  EXPECT_EQ(e.key, key);
                                  EXPECT_EQ(e.end, e.start + size);
                                  got.push_back({e.start, std::string(e.value)});
                                  return true;
                                })
                      .ok());
      EXPECT_EQ(got, expected) << key << " [" << from << ", " << to << "]";
    }
  }

  // With include_expired: what is still on disk, i.e. the segments not
  // dropped (those from the horizon's segment on).
  ReaderOptions all;
  all.include_expired = true;
  auto everything = Unwrap(StoreReader::Open(dir.path() / "app" / "2_3" / "win", all));
  WindowModel on_disk;
  for (const auto& [k, v] : model) {
    if (std::get<1>(k) / 5000 >= horizon / 5000) on_disk[k] = v;
  }
  EXPECT_EQ(ReadWindows(*everything), on_disk);
  EXPECT_GT(on_disk.size(), live.size());
}

TEST(StoreReaderTest, DuplicatesKeepTheirArrivalOrder) {
  TempDir dir;
  state::WindowStoreOptions window_options;
  window_options.retain_duplicates = true;
  auto options = StoreOptionsFor(dir.path(), "join-store", "0_0", "string", "string");
  {
    auto store = Unwrap(state::OpenWindowStore(options, window_options));
    ASSERT_TRUE(store->Put("k", 5, "first", 5).ok());
    ASSERT_TRUE(store->Put("k", 5, "second", 5).ok());
    ASSERT_TRUE(store->Put("k", 3, "earlier", 3).ok());
    ASSERT_TRUE(store->Commit(1).ok());
  }
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "0_0" / "join-store"));
  EXPECT_TRUE(reader->info().retain_duplicates);
  std::vector<std::tuple<int64_t, uint32_t, std::string>> got;
  ASSERT_TRUE(reader
                  ->Windows("k", 0, 10,
                            [&](const StoreEntry& e) {
                              EXPECT_EQ(e.end, -1);  // no window size recorded
                              got.emplace_back(e.start, e.sequence, std::string(e.value));
                              return true;
                            })
                  .ok());
  EXPECT_EQ(got, (std::vector<std::tuple<int64_t, uint32_t, std::string>>{
                     {3, 2, "earlier"}, {5, 0, "first"}, {5, 1, "second"}}));
}

TEST(StoreReaderTest, SessionStoreFindsSessionsOverlappingARange) {
  TempDir dir;
  state::SessionStoreOptions session_options;
  session_options.retention = std::chrono::milliseconds(100000);
  session_options.segment_interval = std::chrono::milliseconds(60000);
  auto options = StoreOptionsFor(dir.path(), "sessions", "0_0", "string", "int64");
  std::mt19937_64 rng(3);
  std::map<std::tuple<std::string, int64_t, int64_t>, std::string> model;
  {
    auto store = Unwrap(state::OpenSessionStore(options, session_options));
    for (int i = 0; i < 300; ++i) {
      const std::string key = "s" + std::to_string(rng() % 5);
      const int64_t start = static_cast<int64_t>(rng() % 200000);
      const int64_t end = start + static_cast<int64_t>(rng() % 5000);
      ASSERT_TRUE(store->Put(key, start, end, Int64Bytes(i), end).ok());
      model[{key, start, end}] = Int64Bytes(i);
    }
    ASSERT_TRUE(store->Commit(3).ok());
  }
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "0_0" / "sessions"));
  EXPECT_EQ(reader->info().kind, StoreKind::kSession);
  for (auto [from, to] :
       {std::pair<int64_t, int64_t>{0, 1000000}, {50000, 70000}, {119000, 121000}}) {
    for (const std::string key : {"s0", "s4"}) {
      std::set<std::tuple<int64_t, int64_t, std::string>> expected, got;
      for (const auto& [k, v] : model) {
        const auto& [mkey, start, end] = k;
        if (mkey == key && end >= from && start <= to) expected.insert({start, end, v});
      }
      int64_t last_end = -1;
      ASSERT_TRUE(reader
                      ->Windows(key, from, to,
                                [&](const StoreEntry& e) {
                                  EXPECT_GE(e.end, last_end);  // by end
                                  last_end = e.end;
                                  got.insert({e.start, e.end, std::string(e.value)});
                                  return true;
                                })
                      .ok());
      EXPECT_EQ(got, expected) << key << " [" << from << ", " << to << "]";
    }
  }
}

TEST(StoreReaderTest, ReadsAStoreOpenForWritingAndLeavesItsFilesAlone) {
  TempDir dir, scratch;
  const auto options = StoreOptionsFor(dir.path(), "kv", "0_0", "string", "string");
  const fs::path path = dir.path() / "app" / "0_0" / "kv";
  auto store = Unwrap(state::OpenKeyValueStore(options));  // the primary: holds the LOCK
  ASSERT_TRUE(store->Put("a", "1", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  ASSERT_TRUE(store->Put("b", "pending", 0).ok());  // not committed

  const auto before = SnapshotFiles(path);
  fs::path used_scratch;
  {
    ReaderOptions reader_options;
    reader_options.scratch_dir = scratch.path();
    auto reader = Unwrap(StoreReader::Open(path, reader_options));
    used_scratch = reader->scratch_path();
    EXPECT_EQ(used_scratch.parent_path(), scratch.path());
    EXPECT_TRUE(fs::exists(used_scratch));
    EXPECT_EQ(ReadAll(*reader), (KvModel{{"a", "1"}}));
    EXPECT_EQ(reader->info().changelog_offset, 1);
    EXPECT_TRUE(reader->Verify().ok());
  }
  EXPECT_FALSE(fs::exists(used_scratch));  // removed with the reader
  EXPECT_EQ(SnapshotFiles(path), before);

  // The writer goes on; a new reader sees its next commit.
  ASSERT_TRUE(store->Commit(2).ok());
  auto reader = Unwrap(StoreReader::Open(path));
  EXPECT_EQ(ReadAll(*reader), (KvModel{{"a", "1"}, {"b", "pending"}}));
  EXPECT_EQ(reader->info().changelog_offset, 2);

  // The scratch directory may not be inside the store.
  ReaderOptions inside;
  inside.scratch_dir = path;
  EXPECT_EQ(StoreReader::Open(path, inside).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreReaderTest, TakesNoLockTheOwnerNeeds) {
  TempDir dir;
  const auto options = StoreOptionsFor(dir.path(), "kv", "0_0", "string", "string");
  {
    auto store = Unwrap(state::OpenKeyValueStore(options));
    ASSERT_TRUE(store->Put("a", "1", 0).ok());
    ASSERT_TRUE(store->Commit(1).ok());
  }
  // A reader of the closed store stays open while the owner opens it again
  // (RocksDB's LOCK: a second primary in this process would fail to open).
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "0_0" / "kv"));
  auto store = state::OpenKeyValueStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("b", "2", 0).ok());
  ASSERT_TRUE((*store)->Commit(2).ok());
  EXPECT_EQ(ReadAll(*reader), (KvModel{{"a", "1"}}));  // its view is fixed at Open
}

// Opens a (closed) store's database directly to damage it.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies({}, path.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open({}, path.string(), descriptors, &handles_, &db).ok());
    db_.reset(db);
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) { return by_name_.at(name); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

bool Mentions(const VerifyResult& result, std::string_view text) {
  for (const auto& e : result.errors) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(StoreReaderVerifyTest, AHealthyStorePasses) {
  TempDir dir;
  state::WindowStoreOptions window_options;
  window_options.retention = std::chrono::milliseconds(100000);
  window_options.segment_interval = std::chrono::milliseconds(10000);
  {
    auto store = Unwrap(state::OpenWindowStore(
        StoreOptionsFor(dir.path(), "w", "0_0", "string", "int64", 1000), window_options));
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store->Put("k" + std::to_string(i % 7), i * 1000, Int64Bytes(i), 0).ok());
    }
    ASSERT_TRUE(store->Commit(50).ok());
  }
  auto reader = Unwrap(StoreReader::Open(dir.path() / "app" / "0_0" / "w"));
  VerifyResult result = reader->Verify();
  EXPECT_TRUE(result.ok()) << ::testing::PrintToString(result.errors);
  EXPECT_EQ(result.entries_checked, 50u);
  EXPECT_TRUE(result.warnings.empty()) << ::testing::PrintToString(result.warnings);
}

TEST(StoreReaderVerifyTest, FindsAMissingOffsetAWindowInTheWrongSegmentAndNoSerdes) {
  TempDir dir;
  state::WindowStoreOptions window_options;
  window_options.retention = std::chrono::milliseconds(100000);
  window_options.segment_interval = std::chrono::milliseconds(10000);
  state::StoreOptions options = StoreOptionsFor(dir.path(), "w", "0_0", "", "");
  {
    auto store = Unwrap(state::OpenWindowStore(options, window_options));
    ASSERT_TRUE(store->Put("k", 1000, "v", 0).ok());
    ASSERT_TRUE(store->Put("k", 25000, "v", 0).ok());
    ASSERT_TRUE(store->Commit(5).ok());
  }
  const fs::path path = dir.path() / "app" / "0_0" / "w";
  {
    RawDb raw(path);
    ASSERT_TRUE(raw.db()
                    .Delete({}, raw.cf(std::string(state::kMetaColumnFamily)),
                            std::string(state::kMetaChangelogOffset))
                    .ok());
    std::string misplaced;
    state::EncodeWindowKey("k", 15000, &misplaced);  // belongs to segment.10000
    ASSERT_TRUE(raw.db().Put({}, raw.cf("segment.0"), misplaced, "v").ok());
  }
  auto reader = Unwrap(StoreReader::Open(path));
  VerifyResult result = reader->Verify();
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(Mentions(result, "no committed changelog offset"))
      << ::testing::PrintToString(result.errors);
  EXPECT_TRUE(Mentions(result, "lies outside the segment [0, 10000)"))
      << ::testing::PrintToString(result.errors);
  EXPECT_EQ(result.warnings.size(), 1u);  // no serdes recorded
  EXPECT_EQ(result.entries_checked, 3u);
}

TEST(StoreReaderVerifyTest, FindsADamagedTableFile) {
  TempDir dir;
  const fs::path path = dir.path() / "app" / "0_0" / "kv";
  {
    auto store = Unwrap(
        state::OpenKeyValueStore(StoreOptionsFor(dir.path(), "kv", "0_0", "string", "string")));
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(store->Put("key-" + std::to_string(i), std::string(100, 'a' + i % 26), 0).ok());
    }
    ASSERT_TRUE(store->Commit(1).ok());
  }
  {
    RawDb raw(path);  // flush the data into a table file
    ASSERT_TRUE(raw.db().Flush({}, raw.cf("default")).ok());
  }
  fs::path table;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.path().extension() == ".sst" && fs::file_size(entry.path()) > 10000) {
      table = entry.path();
    }
  }
  ASSERT_FALSE(table.empty());
  {
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(2000);
    const std::string garbage(64, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto reader = StoreReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  VerifyResult result = (*reader)->Verify();
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(Mentions(result, "checksum") || Mentions(result, "Corruption"))
      << ::testing::PrintToString(result.errors);
}

TEST(StoreReaderVerifyTest, ReportsAnUnknownFormat) {
  TempDir dir;
  const fs::path path = dir.path() / "app" / "0_0" / "kv";
  {
    Unwrap(state::OpenKeyValueStore(StoreOptionsFor(dir.path(), "kv", "0_0", "string", "string")));
  }
  {
    RawDb raw(path);
    ASSERT_TRUE(raw.db()
                    .Put({}, raw.cf(std::string(state::kMetaColumnFamily)),
                         std::string(state::kMetaStoreFormat), "someone.else.v9")
                    .ok());
  }
  auto reader = Unwrap(StoreReader::Open(path));
  EXPECT_EQ(reader->info().kind, StoreKind::kUnknown);
  EXPECT_TRUE(Mentions(reader->Verify(), "someone.else.v9"));
  Status scan = reader->Scan({}, [](const StoreEntry&) { return true; });
  EXPECT_EQ(scan.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(scan.message().find("someone.else.v9"), std::string::npos);
}

}  // namespace
}  // namespace eventflow::inspector
