// RecordCache: one update per key per flush, emission in write order, LRU
// eviction that emits dirty entries (with their store's older writes), clean
// entries evicted silently, listeners writing downstream stores, errors, and a
// randomised run checking the invariants against a model of the writes.
#include "eventflow/state/record_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace eventflow::state {
namespace {

struct Emitted {
  std::string key;
  std::optional<std::string> value;
  int64_t timestamp;
  friend bool operator==(const Emitted&, const Emitted&) = default;
};

std::ostream& operator<<(std::ostream& os, const Emitted& e) {
  return os << "{" << e.key << "=" << (e.value ? *e.value : "<deleted>") << "@" << e.timestamp
            << "}";
}

// Collects what a store's listener receives.
struct Sink {
  RecordCache::FlushListener Listener() {
    return [this](std::string_view key, std::optional<std::string_view> value, int64_t ts) {
      emitted.push_back(
          {std::string(key), value ? std::optional<std::string>(*value) : std::nullopt, ts});
      return Status::OK();
    };
  }
  std::vector<Emitted> Take() { return std::exchange(emitted, {}); }
  std::vector<Emitted> emitted;
};

// Bytes charged for an entry.
constexpr size_t Cost(size_t key, size_t value) {
  return key + value + RecordCache::kEntryOverheadBytes;
}

TEST(RecordCacheTest, MergesUpdatesPerKeyAndFlushesInWriteOrder) {
  RecordCache cache(1 << 20);
  Sink sink;
  auto store = cache.AddStore("counts", sink.Listener());
  ASSERT_TRUE(cache.Put(store, "a", "1", 10).ok());
  ASSERT_TRUE(cache.Put(store, "b", "1", 11).ok());
  ASSERT_TRUE(cache.Put(store, "a", "2", 12).ok());
  ASSERT_TRUE(cache.Put(store, "c", "1", 13).ok());
  ASSERT_TRUE(cache.Put(store, "c", std::nullopt, 14).ok());  // deleted before the flush
  EXPECT_EQ(cache.num_entries(), 3u);
  EXPECT_EQ(cache.num_dirty(), 3u);
  EXPECT_EQ(cache.size_bytes(), Cost(1, 1) * 2 + Cost(1, 0));
  EXPECT_TRUE(sink.emitted.empty());

  ASSERT_TRUE(cache.Flush(store).ok());
  EXPECT_EQ(sink.Take(),
            (std::vector<Emitted>{{"b", "1", 11}, {"a", "2", 12}, {"c", std::nullopt, 14}}));
  EXPECT_EQ(cache.num_dirty(), 0u);
  EXPECT_EQ(cache.num_entries(), 3u);  // kept, clean, for reads
  ASSERT_TRUE(cache.Flush(store).ok());
  EXPECT_TRUE(sink.emitted.empty());  // nothing new: nothing emitted
}

TEST(RecordCacheTest, GetServesCachedValuesAndTombstones) {
  RecordCache cache(1 << 20);
  Sink sink;
  auto store = cache.AddStore("s", sink.Listener());
  auto other = cache.AddStore("t", sink.Listener());
  EXPECT_EQ(cache.Get(store, "a"), std::nullopt);
  ASSERT_TRUE(cache.Put(store, "a", "1", 5).ok());
  ASSERT_TRUE(cache.Put(store, "gone", std::nullopt, 6).ok());
  auto a = cache.Get(store, "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->value, "1");
  EXPECT_EQ(a->timestamp, 5);
  EXPECT_TRUE(a->dirty);
  auto gone = cache.Get(store, "gone");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->value, std::nullopt);
  EXPECT_EQ(cache.Get(other, "a"), std::nullopt);  // stores are separate namespaces
  ASSERT_TRUE(cache.FlushAll().ok());
  EXPECT_FALSE(cache.Get(store, "a")->dirty);
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.misses(), 2u);
  // PutClean never overrides what is cached and is never emitted.
  ASSERT_TRUE(cache.PutClean(store, "a", "stale", 1).ok());
  EXPECT_EQ(cache.Get(store, "a")->value, "1");
  ASSERT_TRUE(cache.PutClean(store, "read", "r", 1).ok());
  sink.Take();
  ASSERT_TRUE(cache.FlushAll().ok());
  EXPECT_TRUE(sink.emitted.empty());
}

TEST(RecordCacheTest, EvictsLeastRecentlyUsedAndEmitsItsStoresOlderWritesFirst) {
  // Room for exactly three one-byte entries.
  RecordCache cache(3 * Cost(1, 1));
  Sink sink;
  auto store = cache.AddStore("s", sink.Listener());
  ASSERT_TRUE(cache.Put(store, "a", "1", 1).ok());
  ASSERT_TRUE(cache.Put(store, "b", "1", 2).ok());
  ASSERT_TRUE(cache.Put(store, "c", "1", 3).ok());
  EXPECT_TRUE(sink.emitted.empty());
  // Reading "a" makes "b" the least recently used entry. Inserting "d"
  // evicts "b"; "a" was written before "b", so it is emitted first (write
  // order) but stays cached, now clean.
  ASSERT_TRUE(cache.Get(store, "a").has_value());
  ASSERT_TRUE(cache.Put(store, "d", "1", 4).ok());
  EXPECT_EQ(sink.Take(), (std::vector<Emitted>{{"a", "1", 1}, {"b", "1", 2}}));
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_EQ(cache.Get(store, "b"), std::nullopt);
  EXPECT_FALSE(cache.Get(store, "a")->dirty);
  EXPECT_EQ(cache.num_entries(), 3u);
  EXPECT_LE(cache.size_bytes(), cache.max_bytes());

  // The Get above touched "a" again: LRU order is c, d, a. Inserting "e"
  // evicts "c" (dirty; alone, since a and b were emitted already).
  ASSERT_TRUE(cache.Put(store, "e", "1", 5).ok());
  EXPECT_EQ(sink.Take(), (std::vector<Emitted>{{"c", "1", 3}}));
  // d, a, e: "f" evicts the dirty "d".
  ASSERT_TRUE(cache.Put(store, "f", "1", 6).ok());
  EXPECT_EQ(sink.Take(), (std::vector<Emitted>{{"d", "1", 4}}));
  // a, e, f: the clean "a" is evicted silently.
  ASSERT_TRUE(cache.Put(store, "g", "1", 7).ok());
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(cache.evictions(), 4u);
  EXPECT_EQ(cache.Get(store, "a"), std::nullopt);
  ASSERT_TRUE(cache.FlushAll().ok());
  EXPECT_EQ(sink.Take(), (std::vector<Emitted>{{"e", "1", 5}, {"f", "1", 6}, {"g", "1", 7}}));
}

TEST(RecordCacheTest, AnEntryLargerThanTheCacheIsEmittedAtOnce) {
  RecordCache cache(Cost(1, 1));
  Sink sink;
  auto store = cache.AddStore("s", sink.Listener());
  ASSERT_TRUE(cache.Put(store, "big", std::string(100, 'x'), 1).ok());
  ASSERT_EQ(sink.emitted.size(), 1u);
  EXPECT_EQ(cache.num_entries(), 0u);
  EXPECT_EQ(cache.size_bytes(), 0u);
}

TEST(RecordCacheTest, ResizeAndClear) {
  RecordCache cache(1 << 20);
  Sink sink;
  auto store = cache.AddStore("s", sink.Listener());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache.Put(store, "k" + std::to_string(i), "v", i).ok());
  ASSERT_TRUE(cache.Resize(5 * Cost(2, 1)).ok());
  EXPECT_EQ(sink.Take().size(), 5u);  // the five oldest
  EXPECT_EQ(cache.num_entries(), 5u);
  cache.Clear();  // e.g. after an aborted transaction: nothing is emitted
  EXPECT_EQ(cache.num_entries(), 0u);
  EXPECT_EQ(cache.num_dirty(), 0u);
  EXPECT_EQ(cache.size_bytes(), 0u);
  ASSERT_TRUE(cache.FlushAll().ok());
  EXPECT_TRUE(sink.emitted.empty());
  ASSERT_TRUE(cache.Put(store, "k0", "again", 0).ok());  // recycled entry, fresh content
  EXPECT_EQ(cache.Get(store, "k0")->value, "again");
}

TEST(RecordCacheTest, ListenersMayWriteDownstreamStores) {
  RecordCache cache(1 << 20);
  Sink downstream_sink;
  RecordCache::StoreId downstream = 0;
  // Upstream's listener forwards every flushed update, doubled, downstream.
  auto upstream = cache.AddStore(
      "upstream", [&](std::string_view key, std::optional<std::string_view> value, int64_t ts) {
        return cache.Put(downstream, key,
                         value ? std::optional<std::string_view>("x2") : std::nullopt, ts);
      });
  downstream = cache.AddStore("downstream", downstream_sink.Listener());
  ASSERT_TRUE(cache.Put(upstream, "a", "1", 1).ok());
  ASSERT_TRUE(cache.Put(upstream, "b", "1", 2).ok());
  ASSERT_TRUE(cache.FlushAll().ok());
  EXPECT_EQ(downstream_sink.Take(), (std::vector<Emitted>{{"a", "x2", 1}, {"b", "x2", 2}}));
  EXPECT_EQ(cache.num_dirty(), 0u);
}

TEST(RecordCacheTest, ListenerErrorsAreReturned) {
  RecordCache cache(1 << 20);
  auto store = cache.AddStore("failing", [](std::string_view, std::optional<std::string_view>,
                                            int64_t) { return Status::IOError("disk full"); });
  ASSERT_TRUE(cache.Put(store, "a", "1", 1).ok());
  Status s = cache.FlushAll();
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("failing"), std::string::npos);
  ASSERT_TRUE(cache.Resize(0).ok());  // "a" is clean now: evicted silently
  s = cache.Put(store, "b", "1", 1);  // evicting a dirty entry fails through Put
  EXPECT_EQ(s.code(), StatusCode::kIOError);
}

// Random writes to two stores under a tight budget. Invariants: the bound
// holds between calls; per store, emitted writes leave in write order (their
// write sequence numbers increase); each emission carries the value of that
// key's latest write at that moment; after FlushAll the last emission of every
// key is its last write.
TEST(RecordCacheTest, RandomWritesKeepTheInvariants) {
  std::mt19937 rng(5);
  RecordCache cache(12 * Cost(2, 3));
  struct Write {
    std::optional<std::string> value;
    int64_t sequence;
  };
  std::map<std::string, Write> latest[2];
  std::map<std::string, std::optional<std::string>> last_emitted[2];
  int64_t last_sequence_emitted[2] = {-1, -1};
  int64_t sequence = 0;
  std::vector<RecordCache::StoreId> ids;
  for (int s = 0; s < 2; ++s) {
    ids.push_back(cache.AddStore(
        "s" + std::to_string(s),
        [&, s](std::string_view key, std::optional<std::string_view> value, int64_t ts) {
          const Write& w = latest[s].at(std::string(key));
          EXPECT_EQ(ts, w.sequence);
          EXPECT_EQ(value ? std::optional<std::string>(*value) : std::nullopt, w.value);
          EXPECT_GT(w.sequence, last_sequence_emitted[s]) << "emitted out of write order";
          last_sequence_emitted[s] = w.sequence;
          last_emitted[s][std::string(key)] = w.value;
          return Status::OK();
        }));
  }
  for (int op = 0; op < 20000; ++op) {
    const int s = static_cast<int>(rng() % 2);
    const std::string key = "k" + std::to_string(rng() % 30);
    const uint32_t dice = rng() % 100;
    if (dice < 70) {
      std::optional<std::string> value;
      if (rng() % 8 != 0) value = std::to_string(100 + rng() % 900);
      ++sequence;
      latest[s][key] = {value, sequence};
      ASSERT_TRUE(cache.Put(ids[s], key, value, sequence).ok());
    } else if (dice < 95) {
      auto cached = cache.Get(ids[s], key);
      if (cached) {
        // What the cache holds is the latest write of the key.
        ASSERT_EQ(cached->value ? std::optional<std::string>(*cached->value) : std::nullopt,
                  latest[s].at(key).value);
      }
    } else {
      ASSERT_TRUE(cache.FlushAll().ok());
      ASSERT_EQ(cache.num_dirty(), 0u);
    }
    ASSERT_LE(cache.size_bytes(), cache.max_bytes());
  }
  ASSERT_TRUE(cache.FlushAll().ok());
  for (int s = 0; s < 2; ++s) {
    for (const auto& [key, w] : latest[s]) EXPECT_EQ(last_emitted[s].at(key), w.value) << key;
  }
  EXPECT_GT(cache.evictions(), 0u);
}

}  // namespace
}  // namespace eventflow::state
