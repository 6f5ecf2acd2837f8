// KeyValueStore, both backends through one parameterised suite: get/put/delete,
// range and full scans in byte order, read-your-writes over the pending layer,
// Abort, the changelog hook, restore, wipe — and a randomised run checked
// against a plain std::map model (committed map + pending overlay).
#include "eventflow/state/key_value_store.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace eventflow::state {
namespace {

using testing::MakeOptions;
using testing::RecordingChangelogWriter;
using testing::TempDir;
using testing::Unwrap;
using Map = std::map<std::string, std::string>;

Map Scan(KeyValueIterator& it) {
  Map out;
  std::string previous;
  bool first = true;
  for (; it.Valid(); it.Next()) {
    std::string key(it.key());
    if (!first) {
      EXPECT_LT(previous, key) << "keys not in strictly increasing byte order";
    }
    first = false;
    previous = key;
    out.emplace(std::move(key), std::string(it.value()));
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

Map ModelRange(const Map& model, const std::string& from, const std::string& to) {
  Map out;
  if (from >= to) return out;
  for (auto it = model.lower_bound(from); it != model.end() && it->first < to; ++it) {
    out.insert(*it);
  }
  return out;
}

std::optional<std::string> GetOrNullopt(KeyValueStore& store, std::string_view key) {
  std::string value;
  Status s = store.Get(key, &value);
  if (s.IsNotFound()) return std::nullopt;
  EXPECT_TRUE(s.ok()) << s.ToString();
  return value;
}

class KeyValueStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  StoreOptions Options(std::string name = "kv") {
    StoreOptions options = MakeOptions(dir_, std::move(name), GetParam());
    options.changelog_writer = &changelog_;
    return options;
  }
  std::unique_ptr<KeyValueStore> Open() { return Unwrap(OpenKeyValueStore(Options())); }

  TempDir dir_;
  RecordingChangelogWriter changelog_;
};

TEST_P(KeyValueStoreTest, PutGetDeleteAndNotFound) {
  auto store = Open();
  EXPECT_EQ(store->persistent(), GetParam() == StoreBackend::kRocksDb);
  std::string value = "stale";
  EXPECT_TRUE(store->Get("missing", &value).IsNotFound());
  ASSERT_TRUE(store->Put("k1", "v1", 10).ok());
  ASSERT_TRUE(store->Put("k2", "v2", 11).ok());
  ASSERT_TRUE(store->Put("k1", "v1b", 12).ok());
  EXPECT_EQ(GetOrNullopt(*store, "k1"), "v1b");
  ASSERT_TRUE(store->Delete("k2", 13).ok());
  EXPECT_EQ(GetOrNullopt(*store, "k2"), std::nullopt);
  ASSERT_TRUE(store->Delete("never-there", 14).ok());
  // Empty key and empty value are ordinary bytes.
  ASSERT_TRUE(store->Put("", "", 15).ok());
  EXPECT_EQ(GetOrNullopt(*store, ""), "");
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(GetOrNullopt(*store, "k1"), "v1b");
  EXPECT_EQ(GetOrNullopt(*store, ""), "");
  EXPECT_EQ(GetOrNullopt(*store, "k2"), std::nullopt);
}

TEST_P(KeyValueStoreTest, ScansAreInByteOrderAndRangeIsHalfOpen) {
  auto store = Open();
  const std::vector<std::string> keys = {
      "b", "a", std::string("a\0", 2), "\xff", "ab", std::string(1, '\0'), "aa", "a\xff"};
  for (const std::string& k : keys) ASSERT_TRUE(store->Put(k, "v" + k, 0).ok());
  Map expected;
  for (const std::string& k : keys) expected[k] = "v" + k;
  // Half committed, half pending: scans merge both layers.
  ASSERT_TRUE(store->Commit(3).ok());
  ASSERT_TRUE(store->Put("ac", "vac", 0).ok());
  ASSERT_TRUE(store->Delete("b", 0).ok());
  expected["ac"] = "vac";
  expected.erase("b");
  EXPECT_EQ(Scan(*store->All()), expected);
  EXPECT_EQ(Scan(*store->Range("a", "ab")), ModelRange(expected, "a", "ab"));
  // By hand: "a" < "a\0" < "aa" < "ab" < "ac" < "a\xff" in byte order.
  EXPECT_EQ(Scan(*store->Range("a", "ab")),
            (Map{{"a", "va"}, {std::string("a\0", 2), std::string("va\0", 3)}, {"aa", "vaa"}}));
  EXPECT_EQ(Scan(*store->Range("", "\xff")), ModelRange(expected, "", "\xff"));
  EXPECT_TRUE(Scan(*store->Range("b", "a")).empty());
  EXPECT_TRUE(Scan(*store->Range("a", "a")).empty());
}

TEST_P(KeyValueStoreTest, ReadsSeePendingWritesAndAbortDropsThem) {
  auto store = Open();
  ASSERT_TRUE(store->Put("keep", "1", 0).ok());
  ASSERT_TRUE(store->Put("gone", "1", 0).ok());
  ASSERT_TRUE(store->Commit(5).ok());
  EXPECT_FALSE(store->HasPendingWrites());

  ASSERT_TRUE(store->Put("keep", "2", 0).ok());
  ASSERT_TRUE(store->Delete("gone", 0).ok());
  ASSERT_TRUE(store->Put("new", "3", 0).ok());
  EXPECT_TRUE(store->HasPendingWrites());
  EXPECT_EQ(GetOrNullopt(*store, "keep"), "2");
  EXPECT_EQ(GetOrNullopt(*store, "gone"), std::nullopt);  // tombstone hides the committed value
  EXPECT_EQ(Scan(*store->All()), (Map{{"keep", "2"}, {"new", "3"}}));

  store->Abort();
  EXPECT_FALSE(store->HasPendingWrites());
  EXPECT_EQ(Scan(*store->All()), (Map{{"gone", "1"}, {"keep", "1"}}));
  EXPECT_EQ(store->CommittedOffset(), 5);
}

TEST_P(KeyValueStoreTest, EveryMutationIsLoggedFirstAndARefusedOneIsNotApplied) {
  auto store = Open();
  ASSERT_TRUE(store->Put("k", "v", 100).ok());
  ASSERT_TRUE(store->Delete("k", 101).ok());
  ASSERT_EQ(changelog_.changes.size(), 2u);
  EXPECT_EQ(changelog_.changes[0].key, "k");
  EXPECT_EQ(changelog_.changes[0].value, "v");
  EXPECT_EQ(changelog_.changes[0].timestamp, 100);
  EXPECT_EQ(changelog_.changes[1].value, std::nullopt);
  EXPECT_EQ(changelog_.changes[1].timestamp, 101);

  changelog_.fail = true;
  Status s = store->Put("x", "y", 102);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(GetOrNullopt(*store, "x"), std::nullopt);
  changelog_.fail = false;

  store->SetChangelogWriter(nullptr);  // e.g. a standby: no logging
  ASSERT_TRUE(store->Put("quiet", "1", 0).ok());
  EXPECT_EQ(changelog_.changes.size(), 2u);
}

TEST_P(KeyValueStoreTest, RestoreBatchAppliesRecordsAndOffsetWithoutLogging) {
  auto store = Open();
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_TRUE(store->OffsetStatus().IsNotFound());
  const std::string a = "a", b = "b", v1 = "1", v2 = "2";
  std::vector<ChangelogRecord> records = {{a, v1}, {b, v1}, {a, v2}, {b, std::nullopt}};
  ASSERT_TRUE(store->RestoreBatch(records, 4).ok());
  EXPECT_EQ(store->CommittedOffset(), 4);
  EXPECT_TRUE(store->OffsetStatus().ok());
  EXPECT_FALSE(store->HasPendingWrites());
  EXPECT_EQ(Scan(*store->All()), (Map{{"a", "2"}}));
  EXPECT_TRUE(changelog_.changes.empty());

  // Restoring over pending writes would mix two histories: refused.
  ASSERT_TRUE(store->Put("p", "1", 0).ok());
  EXPECT_TRUE(store->RestoreBatch(records, 8).IsInvalidArgument());
  EXPECT_TRUE(store->Commit(-1).IsInvalidArgument());
}

TEST_P(KeyValueStoreTest, WipeLeavesAnEmptyStoreWithoutOffset) {
  auto store = Open();
  ASSERT_TRUE(store->Put("a", "1", 0).ok());
  ASSERT_TRUE(store->Commit(7).ok());
  ASSERT_TRUE(store->Put("b", "1", 0).ok());
  ASSERT_TRUE(store->Wipe().ok());
  EXPECT_TRUE(Scan(*store->All()).empty());
  EXPECT_FALSE(store->HasPendingWrites());
  EXPECT_EQ(store->CommittedOffset(), std::nullopt);
  EXPECT_TRUE(store->OffsetStatus().IsNotFound());
  ASSERT_TRUE(store->Put("c", "1", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(Scan(*store->All()), (Map{{"c", "1"}}));
}

TEST_P(KeyValueStoreTest, ApproximateNumEntriesCountsCommittedKeys) {
  auto store = Open();
  EXPECT_EQ(store->ApproximateNumEntries(), 0u);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->Put("k" + std::to_string(i), "v", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(store->ApproximateNumEntries(), 100u);
}

TEST_P(KeyValueStoreTest, RejectsBadNames) {
  StoreOptions options = Options("a/b");
  EXPECT_TRUE(OpenKeyValueStore(options).status().IsInvalidArgument());
  options = Options("");
  EXPECT_TRUE(OpenKeyValueStore(options).status().IsInvalidArgument());
  options = Options("..");
  EXPECT_TRUE(OpenKeyValueStore(options).status().IsInvalidArgument());
}

// Random operations against a model: committed map + pending overlay. Keys
// come from a tiny alphabet with NUL and 0xff so that prefixes abound; RocksDB
// stores are also closed and reopened (pending writes are lost, like a crash).
TEST_P(KeyValueStoreTest, RandomOperationsMatchAMapModel) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    StoreOptions options = MakeOptions(dir, "random", GetParam());
    std::mt19937 rng(seed);
    auto random_key = [&] {
      static const char kAlphabet[] = {'\0', 'a', 'b', '\xff'};
      std::string key(rng() % 4, ' ');
      for (char& c : key) c = kAlphabet[rng() % 4];
      return key;
    };
    auto store = Unwrap(OpenKeyValueStore(options));
    Map committed;
    std::map<std::string, std::optional<std::string>> pending;
    auto view = [&] {
      Map v = committed;
      for (const auto& [k, val] : pending) {
        if (val) {
          v[k] = *val;
        } else {
          v.erase(k);
        }
      }
      return v;
    };
    int64_t offset = 0;
    std::optional<int64_t> committed_offset;
    for (int op = 0; op < 3000; ++op) {
      const uint32_t dice = rng() % 100;
      if (dice < 40) {
        std::string k = random_key(), v = std::to_string(rng() % 1000);
        ASSERT_TRUE(store->Put(k, v, op).ok());
        pending[k] = v;
      } else if (dice < 55) {
        std::string k = random_key();
        ASSERT_TRUE(store->Delete(k, op).ok());
        pending[k] = std::nullopt;
      } else if (dice < 70) {
        std::string k = random_key();
        Map v = view();
        auto it = v.find(k);
        ASSERT_EQ(GetOrNullopt(*store, k),
                  it == v.end() ? std::nullopt : std::optional<std::string>(it->second));
      } else if (dice < 80) {
        std::string from = random_key(), to = random_key();
        ASSERT_EQ(Scan(*store->Range(from, to)), ModelRange(view(), from, to));
      } else if (dice < 88) {
        offset += 1 + rng() % 10;
        ASSERT_TRUE(store->Commit(offset).ok());
        committed = view();
        pending.clear();
        committed_offset = offset;
      } else if (dice < 92) {
        store->Abort();
        pending.clear();
      } else if (dice < 95 && GetParam() == StoreBackend::kRocksDb) {
        store.reset();  // no Commit: like kill -9 for the pending writes
        store = Unwrap(OpenKeyValueStore(options));
        pending.clear();
        ASSERT_EQ(store->CommittedOffset(), committed_offset);
      } else {
        ASSERT_EQ(Scan(*store->All()), view());
      }
    }
    ASSERT_EQ(Scan(*store->All()), view());
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyValueStoreTest,
                         ::testing::Values(StoreBackend::kRocksDb, StoreBackend::kInMemory),
                         [](const auto& param_info) {
                           return testing::BackendName(param_info.param);
                         });

}  // namespace
}  // namespace eventflow::state
