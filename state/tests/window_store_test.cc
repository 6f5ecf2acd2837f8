// WindowStore, both backends: point and range fetches, FetchAll order, edge
// keys and times, retention by whole segments (RocksDB: column families really
// dropped, no per-key deletes), Abort undoing expiry, duplicates for joins,
// restore from the changelog, and a randomised run against a std::map model.
#include "eventflow/state/window_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/store_keys.h"
#include "test_util.h"

namespace eventflow::state {
namespace {

using std::chrono::milliseconds;
using testing::MakeOptions;
using testing::RecordingChangelogWriter;
using testing::TempDir;
using testing::Unwrap;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Window {
  std::string key;
  int64_t start;
  std::string value;
  friend bool operator==(const Window&, const Window&) = default;
};

std::ostream& operator<<(std::ostream& os, const Window& w) {
  return os << "{key size " << w.key.size() << " '" << w.key << "', " << w.start << ", " << w.value
            << "}";
}

std::vector<Window> Drain(WindowIterator& it) {
  std::vector<Window> out;
  for (; it.Valid(); it.Next()) {
    out.push_back({std::string(it.key()), it.window_start(), std::string(it.value())});
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

std::optional<std::string> FetchOne(WindowStore& store, std::string_view key, int64_t start) {
  std::string value;
  Status s = store.Fetch(key, start, &value);
  if (s.IsNotFound()) return std::nullopt;
  EXPECT_TRUE(s.ok()) << s.ToString();
  return value;
}

class WindowStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  std::unique_ptr<WindowStore> Open(WindowStoreOptions window_options, std::string name = "w") {
    StoreOptions options = MakeOptions(dir_, std::move(name), GetParam());
    options.changelog_writer = &changelog_;
    return Unwrap(OpenWindowStore(options, window_options));
  }
  static WindowStoreOptions Retention(int64_t retention_ms, int64_t segment_ms) {
    WindowStoreOptions o;
    o.retention = milliseconds(retention_ms);
    o.segment_interval = milliseconds(segment_ms);
    return o;
  }

  TempDir dir_;
  RecordingChangelogWriter changelog_;
};

TEST_P(WindowStoreTest, PutFetchAndRangesAreInclusiveAndTimeOrdered) {
  auto store = Open(Retention(100'000, 1'000));
  for (int64_t t : {5000, 0, 3000, 1000, 2000}) {
    ASSERT_TRUE(store->Put("user", t, "v" + std::to_string(t), t).ok());
  }
  ASSERT_TRUE(store->Put("other", 2000, "o", 0).ok());
  EXPECT_EQ(FetchOne(*store, "user", 3000), "v3000");
  EXPECT_EQ(FetchOne(*store, "user", 3001), std::nullopt);
  EXPECT_EQ(FetchOne(*store, "nobody", 3000), std::nullopt);
  EXPECT_EQ(Drain(*store->Fetch("user", 1000, 3000)),
            (std::vector<Window>{
                {"user", 1000, "v1000"}, {"user", 2000, "v2000"}, {"user", 3000, "v3000"}}));
  EXPECT_EQ(Drain(*store->Fetch("user", 0, kMax)).size(), 5u);
  EXPECT_TRUE(Drain(*store->Fetch("user", 3001, 3999)).empty());
  EXPECT_TRUE(Drain(*store->Fetch("user", 3000, 2000)).empty());
  ASSERT_TRUE(store->Delete("user", 2000, 0).ok());
  EXPECT_EQ(Drain(*store->Fetch("user", 1000, 3000)).size(), 2u);
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(Drain(*store->FetchAll(2000, 2000)), (std::vector<Window>{{"other", 2000, "o"}}));
  EXPECT_TRUE(store->Put("user", -1, "x", 0).IsInvalidArgument());
  std::string v;
  EXPECT_TRUE(store->Fetch("user", -1, &v).IsInvalidArgument());
}

TEST_P(WindowStoreTest, KeysThatArePrefixesOrBinaryDoNotMix) {
  auto store = Open(Retention(kMax / 2, 1'000'000));
  const std::vector<std::string> keys = {"",
                                         "a",
                                         std::string("a\0", 2),
                                         std::string("a\0\0\0\0\0\0\0\0", 9),
                                         "a\xff",
                                         "a\xff\xff\xff\xff\xff\xff\xff\xff",
                                         std::string(1, '\0'),
                                         "\xff"};
  const std::vector<int64_t> times = {0, 1, 999'999, 1'000'000, kMax - 1, kMax};
  for (const auto& k : keys) {
    for (int64_t t : times) ASSERT_TRUE(store->Put(k, t, k + "@" + std::to_string(t), 0).ok());
  }
  for (bool committed : {false, true}) {
    if (committed) {
      ASSERT_TRUE(store->Commit(1).ok());
    }
    for (const auto& k : keys) {
      std::vector<Window> expected;
      for (int64_t t : times) expected.push_back({k, t, k + "@" + std::to_string(t)});
      EXPECT_EQ(Drain(*store->Fetch(k, 0, kMax)), expected) << "key size " << k.size();
      EXPECT_EQ(FetchOne(*store, k, kMax), k + "@" + std::to_string(kMax));
      EXPECT_EQ(FetchOne(*store, k, 0), k + "@0");
      EXPECT_EQ(Drain(*store->Fetch(k, kMax, kMax)).size(), 1u);
      EXPECT_EQ(Drain(*store->Fetch(k, 1, kMax - 1)).size(), 4u);
    }
    EXPECT_EQ(Drain(*store->FetchAll(0, kMax)).size(), keys.size() * times.size());
  }
}

TEST_P(WindowStoreTest, FetchAllIsOrderedBySegmentThenKeyThenStart) {
  auto store = Open(Retention(1'000'000, 100));
  ASSERT_TRUE(store->Put("bb", 150, "1", 0).ok());
  ASSERT_TRUE(store->Put("a", 120, "2", 0).ok());
  ASSERT_TRUE(store->Put("a", 110, "3", 0).ok());
  ASSERT_TRUE(store->Put("zz", 10, "4", 0).ok());
  ASSERT_TRUE(store->Put("b", 199, "5", 0).ok());
  // Segment 0: zz@10. Segment 1: by (length, bytes): a@110, a@120, b@199, bb@150.
  EXPECT_EQ(
      Drain(*store->FetchAll(0, 1000)),
      (std::vector<Window>{
          {"zz", 10, "4"}, {"a", 110, "3"}, {"a", 120, "2"}, {"b", 199, "5"}, {"bb", 150, "1"}}));
  EXPECT_EQ(Drain(*store->FetchAll(111, 150)),
            (std::vector<Window>{{"a", 120, "2"}, {"bb", 150, "1"}}));
}

TEST_P(WindowStoreTest, ExpiryHidesAtOnceDropsSegmentsAtCommitAndAbortUndoesIt) {
  auto store = Open(Retention(300, 100));
  for (int64_t t = 0; t < 500; t += 50) ASSERT_TRUE(store->Put("k", t, "v", t).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(store->num_segments(), 5u);
  EXPECT_EQ(store->expiry_horizon(), 0);

  // Stream time 550: horizon 550 - 300 + 1 = 251; segments 0 and 1 are entirely older.
  ASSERT_TRUE(store->AdvanceStreamTime(550).ok());
  EXPECT_EQ(store->expiry_horizon(), 251);
  EXPECT_TRUE(store->HasPendingWrites());
  std::vector<int64_t> starts;
  for (const Window& w : Drain(*store->Fetch("k", 0, kMax))) starts.push_back(w.start);
  EXPECT_EQ(starts,
            (std::vector<int64_t>{300, 350, 400, 450}));  // 250 is in a live segment but expired
  EXPECT_EQ(FetchOne(*store, "k", 250), std::nullopt);
  EXPECT_EQ(store->num_segments(), 5u);  // dropped only at commit

  store->Abort();  // the transaction that advanced stream time is rolled back
  EXPECT_EQ(store->expiry_horizon(), 0);
  EXPECT_EQ(Drain(*store->Fetch("k", 0, kMax)).size(), 10u);

  ASSERT_TRUE(store->AdvanceStreamTime(550).ok());
  ASSERT_TRUE(store->Commit(2).ok());
  EXPECT_EQ(store->num_segments(), 3u);
  EXPECT_EQ(Drain(*store->FetchAll(0, kMax)).size(), 4u);

  // Writes before the horizon are logged (the changelog holds every write the
  // task made) but not stored, and counted.
  const size_t logged = changelog_.changes.size();
  ASSERT_TRUE(store->Put("k", 100, "late", 0).ok());
  EXPECT_EQ(store->expired_records_skipped(), 1u);
  ASSERT_EQ(changelog_.changes.size(), logged + 1);
  EXPECT_EQ(changelog_.changes.back().value, std::optional<std::string>("late"));
  EXPECT_EQ(FetchOne(*store, "k", 100), std::nullopt);

  // ExpireBefore moves the horizon to exactly the given time; never backwards.
  ASSERT_TRUE(store->ExpireBefore(400).ok());
  ASSERT_TRUE(store->ExpireBefore(10).ok());
  ASSERT_TRUE(store->AdvanceStreamTime(20).ok());
  EXPECT_EQ(store->expiry_horizon(), 400);
  ASSERT_TRUE(store->Commit(3).ok());
  EXPECT_EQ(store->num_segments(), 1u);
}

TEST_P(WindowStoreTest, DuplicatesAreKeptInArrivalOrder) {
  WindowStoreOptions options = Retention(10'000, 1'000);
  options.retain_duplicates = true;
  auto store = Open(options);
  EXPECT_TRUE(store->retain_duplicates());
  ASSERT_TRUE(store->Put("k", 10, "a", 0).ok());
  ASSERT_TRUE(store->Put("k", 10, "b", 0).ok());
  ASSERT_TRUE(store->Put("k", 20, "c", 0).ok());
  ASSERT_TRUE(store->Put("k", 10, "d", 0).ok());
  ASSERT_TRUE(store->Put("k2", 10, "x", 0).ok());
  const std::vector<Window> expected = {
      {"k", 10, "a"}, {"k", 10, "b"}, {"k", 10, "d"}, {"k", 20, "c"}};
  EXPECT_EQ(Drain(*store->Fetch("k", 0, 100)), expected);
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(Drain(*store->Fetch("k", 0, 100)), expected);
  EXPECT_EQ(Drain(*store->Fetch("k", 10, 10)).size(), 3u);
  std::string v;
  EXPECT_TRUE(store->Fetch("k", 10, &v).IsInvalidArgument());
  EXPECT_TRUE(store->Delete("k", 10, 0).IsInvalidArgument());
  // Changelog keys carry the sequence, so restore keeps every duplicate.
  ASSERT_EQ(changelog_.changes.size(), 5u);
  WindowKeyView view;
  ASSERT_TRUE(DecodeWindowKey(changelog_.changes[3].key, true, &view).ok());
  EXPECT_EQ(view.key, "k");
  EXPECT_EQ(view.window_start, 10);
  EXPECT_EQ(view.sequence, 3u);
}

// FetchRetained still reads a window behind the horizon until its segment is
// dropped at the next commit; Fetch hides it at once.
TEST_P(WindowStoreTest, FetchRetainedReadsExpiredWindowsUntilTheCommit) {
  auto store = Open(Retention(100, 50));
  ASSERT_TRUE(store->Put("k", 10, "v", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  ASSERT_TRUE(store->AdvanceStreamTime(400).ok());  // horizon 301
  std::string value;
  EXPECT_TRUE(store->Fetch("k", 10, &value).IsNotFound());
  ASSERT_TRUE(store->FetchRetained("k", 10, &value).ok());
  EXPECT_EQ(value, "v");
  EXPECT_TRUE(store->FetchRetained("k", 20, &value).IsNotFound());
  ASSERT_TRUE(store->Commit(2).ok());  // drops the segment
  EXPECT_TRUE(store->FetchRetained("k", 10, &value).IsNotFound());
}

// The runtime's full restore: a store without a committed offset is wiped,
// then restored in batches, then read and written by the task.
TEST_P(WindowStoreTest, FullRestoreAfterWipeIsReadable) {
  TempDir dir;
  WindowStoreOptions window_options = Retention(900'000, 0);  // default segment interval
  RecordingChangelogWriter changelog;
  StoreOptions source_options = MakeOptions(dir, "source", GetParam());
  source_options.changelog_writer = &changelog;
  auto source = Unwrap(OpenWindowStore(source_options, window_options));
  const int64_t base = 1'795'651'800'000;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(source->Put("u" + std::to_string(i % 17), base + (i % 5) * 300'000,
                            std::to_string(i), 0)
                    .ok());
  }
  ASSERT_TRUE(source->Commit(200).ok());
  auto target = Unwrap(OpenWindowStore(MakeOptions(dir, "target", GetParam()), window_options));
  EXPECT_FALSE(target->OffsetStatus().ok());
  ASSERT_TRUE(target->Wipe().ok());
  std::vector<ChangelogRecord> records = changelog.Records();
  ASSERT_TRUE(target->RestoreBatch(records, 200).ok());
  EXPECT_EQ(Drain(*target->FetchAll(0, kMax)), Drain(*source->FetchAll(0, kMax)));
  for (int k = 0; k < 17; ++k) {
    for (int w = 0; w < 5; ++w) {
      EXPECT_EQ(FetchOne(*target, "u" + std::to_string(k), base + w * 300'000),
                FetchOne(*source, "u" + std::to_string(k), base + w * 300'000))
          << k << "@" << w;
    }
  }
  // The task then advances stream time and writes.
  ASSERT_TRUE(target->AdvanceStreamTime(base + 600'000).ok());
  EXPECT_EQ(FetchOne(*target, "u3", base + 300'000), FetchOne(*source, "u3", base + 300'000));
}

TEST_P(WindowStoreTest, RestoreFromTheChangelogRebuildsTheStore) {
  for (bool duplicates : {false, true}) {
    SCOPED_TRACE(duplicates ? "duplicates" : "plain");
    TempDir dir;
    WindowStoreOptions window_options = Retention(1'000, 100);
    window_options.retain_duplicates = duplicates;
    RecordingChangelogWriter changelog;
    StoreOptions source_options = MakeOptions(dir, "source", GetParam());
    source_options.changelog_writer = &changelog;
    auto source = Unwrap(OpenWindowStore(source_options, window_options));
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
      const std::string key = "k" + std::to_string(rng() % 7);
      const int64_t t = rng() % 1000;
      if (!duplicates && rng() % 5 == 0) {
        ASSERT_TRUE(source->Delete(key, t, 0).ok());
      } else {
        ASSERT_TRUE(source->Put(key, t, std::to_string(i), 0).ok());
      }
    }
    ASSERT_TRUE(source->Commit(500).ok());

    auto target = Unwrap(OpenWindowStore(MakeOptions(dir, "target", GetParam()), window_options));
    std::vector<ChangelogRecord> records = changelog.Records();
    const size_t half = records.size() / 2;  // in two batches, as a restore consumer would
    ASSERT_TRUE(target->RestoreBatch(std::span(records).first(half), 250).ok());
    ASSERT_TRUE(target->RestoreBatch(std::span(records).subspan(half), 500).ok());
    EXPECT_EQ(target->CommittedOffset(), 500);
    EXPECT_EQ(Drain(*target->FetchAll(0, kMax)), Drain(*source->FetchAll(0, kMax)));
    if (duplicates) {
      // The sequence continues after the restored ones: nothing is overwritten.
      ASSERT_TRUE(target->Put("k1", 5, "new", 0).ok());
      ASSERT_TRUE(source->Put("k1", 5, "new", 0).ok());
      EXPECT_EQ(Drain(*target->Fetch("k1", 0, 10)), Drain(*source->Fetch("k1", 0, 10)));
    }
    // Records before the horizon are not restored.
    auto expired = Unwrap(OpenWindowStore(MakeOptions(dir, "expired", GetParam()), window_options));
    ASSERT_TRUE(expired->ExpireBefore(500).ok());
    ASSERT_TRUE(expired->Commit(0).ok());
    ASSERT_TRUE(expired->RestoreBatch(records, 500).ok());
    EXPECT_EQ(Drain(*expired->FetchAll(0, kMax)), Drain(*source->FetchAll(500, kMax)));
    EXPECT_EQ(expired->num_segments(), 5u);
  }
}

TEST_P(WindowStoreTest, SegmentIntervalDefaultsLikeKafka) {
  EXPECT_EQ(DefaultSegmentInterval(std::chrono::hours(24)), std::chrono::hours(12));
  EXPECT_EQ(DefaultSegmentInterval(std::chrono::minutes(1)), std::chrono::seconds(60));
  EXPECT_EQ(DefaultSegmentInterval(std::chrono::seconds(10)), std::chrono::seconds(60));
  auto store = Open(WindowStoreOptions{});
  EXPECT_EQ(store->retention(), 24 * 3600 * 1000);
  EXPECT_EQ(store->segment_interval(), 12 * 3600 * 1000);
  EXPECT_TRUE(OpenWindowStore(MakeOptions(dir_, "bad", GetParam()), Retention(0, 0))
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(OpenWindowStore(MakeOptions(dir_, "bad", GetParam()), Retention(10, -1))
                  .status()
                  .IsInvalidArgument());
}

// The model: committed and pending maps of (key, start) -> value plus the
// horizon, and the set of segments that exist.
TEST_P(WindowStoreTest, RandomOperationsMatchAMapModel) {
  constexpr int64_t kRetention = 500;
  constexpr int64_t kInterval = 100;
  using WKey = std::pair<std::string, int64_t>;
  for (uint32_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    StoreOptions options = MakeOptions(dir, "random", GetParam());
    auto open = [&] { return Unwrap(OpenWindowStore(options, Retention(kRetention, kInterval))); };
    auto store = open();
    std::mt19937 rng(seed);
    const std::vector<std::string> keys = {"", "a", std::string("a\0", 2), "ab", "\xff", "b"};
    std::map<WKey, std::string> committed;
    std::map<WKey, std::optional<std::string>> pending;
    int64_t horizon = 0, committed_horizon = 0, stream_time = 0, offset = 0;
    std::set<int64_t> segments;  // every segment created and not yet dropped
    auto view = [&] {
      std::map<WKey, std::string> v = committed;
      for (const auto& [k, val] : pending) {
        if (val) {
          v[k] = *val;
        } else {
          v.erase(k);
        }
      }
      std::erase_if(v, [&](const auto& e) { return e.first.second < horizon; });
      return v;
    };
    auto model_fetch = [&](const std::string& key, int64_t from, int64_t to) {
      std::vector<Window> out;
      for (const auto& [k, val] : view()) {
        if (k.first == key && k.second >= from && k.second <= to)
          out.push_back({key, k.second, val});
      }
      return out;
    };
    auto model_fetch_all = [&](int64_t from, int64_t to) {
      std::vector<Window> out;
      for (const auto& [k, val] : view()) {
        if (k.second >= from && k.second <= to) out.push_back({k.first, k.second, val});
      }
      // Segment, then (length, bytes), then start.
      std::sort(out.begin(), out.end(), [](const Window& a, const Window& b) {
        return std::make_tuple(a.start / kInterval, a.key.size(), a.key, a.start) <
               std::make_tuple(b.start / kInterval, b.key.size(), b.key, b.start);
      });
      return out;
    };
    for (int op = 0; op < 3000; ++op) {
      const uint32_t dice = rng() % 100;
      const std::string& key = keys[rng() % keys.size()];
      const int64_t t = std::max<int64_t>(0, stream_time - 700 + static_cast<int64_t>(rng() % 800));
      if (dice < 40) {
        const std::string v = std::to_string(op);
        ASSERT_TRUE(store->Put(key, t, v, t).ok());
        if (t >= horizon) {
          pending[{key, t}] = v;
          segments.insert(t / kInterval);
        }
      } else if (dice < 50) {
        ASSERT_TRUE(store->Delete(key, t, t).ok());
        pending[{key, t}] = std::nullopt;
      } else if (dice < 60) {
        auto v = view();
        auto it = v.find({key, t});
        ASSERT_EQ(FetchOne(*store, key, t),
                  it == v.end() ? std::nullopt : std::optional<std::string>(it->second));
      } else if (dice < 70) {
        const int64_t to = t + static_cast<int64_t>(rng() % 400);
        ASSERT_EQ(Drain(*store->Fetch(key, t, to)), model_fetch(key, t, to));
      } else if (dice < 75) {
        const int64_t to = t + static_cast<int64_t>(rng() % 400);
        ASSERT_EQ(Drain(*store->FetchAll(t, to)), model_fetch_all(t, to));
      } else if (dice < 83) {
        stream_time += rng() % 60;
        ASSERT_TRUE(store->AdvanceStreamTime(stream_time).ok());
        horizon = std::max(horizon, stream_time - kRetention + 1);
      } else if (dice < 91) {
        offset += 1 + rng() % 5;
        ASSERT_TRUE(store->Commit(offset).ok());
        for (const auto& [k, val] : pending) {
          if (val) {
            committed[k] = *val;
          } else {
            committed.erase(k);
          }
        }
        pending.clear();
        committed_horizon = horizon;
        std::erase_if(committed, [&](const auto& e) { return e.first.second < horizon; });
        std::erase_if(segments, [&](int64_t s) { return s < horizon / kInterval; });
        ASSERT_EQ(store->num_segments(), segments.size());
      } else if (dice < 95) {
        store->Abort();
        pending.clear();
        horizon = committed_horizon;
        ASSERT_EQ(store->expiry_horizon(), horizon);
        ASSERT_EQ(store->num_segments(), segments.size());
      } else if (dice < 98 && GetParam() == StoreBackend::kRocksDb) {
        store.reset();  // no Commit: the pending writes and expiry are lost
        store = open();
        pending.clear();
        horizon = committed_horizon;
        ASSERT_EQ(store->expiry_horizon(), horizon);
        ASSERT_EQ(store->CommittedOffset(), offset == 0 ? std::nullopt : std::optional(offset));
        // Segments are created outside transactions, so even aborted ones remain (empty).
        ASSERT_EQ(store->num_segments(), segments.size());
      } else {
        ASSERT_EQ(Drain(*store->FetchAll(0, kMax)), model_fetch_all(0, kMax));
      }
    }
  }
}

TEST_P(WindowStoreTest, OverlappingFetchesOfOneSegmentAreIndependentAndSeeEachCommit) {
  // The RocksDB engine reuses one database iterator per segment between
  // writes: two fetches open at once on a segment must not share a position,
  // and a fetch after a commit must see what it wrote.
  auto store = Open(Retention(1000, 1000));
  for (int64_t t : {10, 20, 30}) {
    ASSERT_TRUE(store->Put("a", t, "a" + std::to_string(t), t).ok());
    ASSERT_TRUE(store->Put("b", t, "b" + std::to_string(t), t).ok());
  }
  ASSERT_TRUE(store->Commit(1).ok());
  auto first = store->Fetch("a", 0, 999);
  ASSERT_TRUE(first->Valid());
  EXPECT_EQ(first->window_start(), 10);
  first->Next();
  {
    auto second = store->Fetch("b", 0, 999);  // while `first` is open on the same segment
    EXPECT_EQ(Drain(*second), (std::vector<Window>{{"b", 10, "b10"}, {"b", 20, "b20"},
                                                   {"b", 30, "b30"}}));
  }
  EXPECT_EQ(Drain(*first), (std::vector<Window>{{"a", 20, "a20"}, {"a", 30, "a30"}}));
  first.reset();
  EXPECT_EQ(Drain(*store->Fetch("a", 15, 25)), (std::vector<Window>{{"a", 20, "a20"}}));
  // A pending write, then the same after its commit, then after a delete.
  ASSERT_TRUE(store->Put("a", 25, "a25", 25).ok());
  EXPECT_EQ(Drain(*store->Fetch("a", 15, 25)),
            (std::vector<Window>{{"a", 20, "a20"}, {"a", 25, "a25"}}));
  ASSERT_TRUE(store->Commit(2).ok());
  EXPECT_EQ(Drain(*store->Fetch("a", 15, 25)),
            (std::vector<Window>{{"a", 20, "a20"}, {"a", 25, "a25"}}));
  ASSERT_TRUE(store->Delete("a", 20, 30).ok());
  ASSERT_TRUE(store->Commit(3).ok());
  EXPECT_EQ(Drain(*store->Fetch("a", 15, 25)), (std::vector<Window>{{"a", 25, "a25"}}));
  EXPECT_EQ(Drain(*store->Fetch("b", 15, 25)), (std::vector<Window>{{"b", 20, "b20"}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, WindowStoreTest,
                         ::testing::Values(StoreBackend::kRocksDb, StoreBackend::kInMemory),
                         [](const auto& param_info) {
                           return testing::BackendName(param_info.param);
                         });

// RocksDB only: the segments are column families, and expiry drops them.
class RocksDbWindowSegmentsTest : public ::testing::Test {
 protected:
  std::set<std::string> ColumnFamilies(const StoreOptions& options) {
    std::vector<std::string> names;
    rocksdb::Options o;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(o, Unwrap(StoreDirectory(options)).string(), &names).ok());
    return {names.begin(), names.end()};
  }
  TempDir dir_;
};

TEST_F(RocksDbWindowSegmentsTest, ExpiryDropsColumnFamiliesWithoutDeletingKeys) {
  StoreOptions options = MakeOptions(dir_, "w");
  WindowStoreOptions window_options;
  window_options.retention = milliseconds(300);
  window_options.segment_interval = milliseconds(100);
  {
    auto store = Unwrap(OpenWindowStore(options, window_options));
    for (int64_t t = 0; t < 500; t += 10) {
      for (int k = 0; k < 20; ++k) ASSERT_TRUE(store->Put("k" + std::to_string(k), t, "v", t).ok());
    }
    ASSERT_TRUE(store->Commit(1).ok());
  }
  EXPECT_EQ(ColumnFamilies(options),
            (std::set<std::string>{"default", "eventflow.meta", "segment.0", "segment.100",
                                   "segment.200", "segment.300", "segment.400"}));
  {
    auto store = Unwrap(OpenWindowStore(options, window_options));
    const uint64_t deletes_before = *store->GetIntProperty("rocksdb.num-deletes-active-mem-table");
    ASSERT_TRUE(store->AdvanceStreamTime(650).ok());  // horizon 351: segments 0..2 go
    ASSERT_TRUE(store->Commit(2).ok());
    EXPECT_EQ(store->num_segments(), 2u);
    EXPECT_EQ(*store->GetIntProperty("rocksdb.num-deletes-active-mem-table"), deletes_before);
    EXPECT_EQ(deletes_before, 0u);
    EXPECT_EQ(Drain(*store->FetchAll(0, kMax)).size(), 14u * 20u);  // 360..490
  }
  EXPECT_EQ(ColumnFamilies(options),
            (std::set<std::string>{"default", "eventflow.meta", "segment.300", "segment.400"}));
  {
    // The horizon was committed with the data.
    auto store = Unwrap(OpenWindowStore(options, window_options));
    EXPECT_EQ(store->expiry_horizon(), 351);
    EXPECT_EQ(FetchOne(*store, "k0", 340), std::nullopt);
    EXPECT_EQ(FetchOne(*store, "k0", 360), "v");
  }
  // Reopening with another segment interval would misread the segments.
  window_options.segment_interval = milliseconds(50);
  Status s = OpenWindowStore(options, window_options).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST_F(RocksDbWindowSegmentsTest, ReopenWithoutCommitSeesTheLastCommit) {
  StoreOptions options = MakeOptions(dir_, "w");
  WindowStoreOptions window_options;
  window_options.retention = milliseconds(1000);
  window_options.segment_interval = milliseconds(100);
  {
    auto store = Unwrap(OpenWindowStore(options, window_options));
    ASSERT_TRUE(store->Put("a", 10, "1", 0).ok());
    ASSERT_TRUE(store->Commit(4).ok());
    ASSERT_TRUE(store->Put("a", 10, "2", 0).ok());
    ASSERT_TRUE(store->Put("b", 510, "2", 0).ok());
    ASSERT_TRUE(store->AdvanceStreamTime(1500).ok());
  }
  auto store = Unwrap(OpenWindowStore(options, window_options));
  EXPECT_EQ(store->CommittedOffset(), 4);
  EXPECT_EQ(store->expiry_horizon(), 0);
  EXPECT_EQ(Drain(*store->FetchAll(0, kMax)), (std::vector<Window>{{"a", 10, "1"}}));
}

}  // namespace
}  // namespace eventflow::state
