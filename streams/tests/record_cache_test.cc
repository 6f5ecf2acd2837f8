// The record cache in the DSL ("emit on update", DESIGN.md): between two
// commits, the updates of a key (or of a (key, window)) are merged, so the
// changelog and downstream receive one update per key per commit, with the
// latest value. Driven through TopologyTestDriver with commit_every_input =
// false and explicit Commit() calls; every expected output is computed in the
// test by plain loops over the input.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;

// Keys piped in batches; a Commit() follows each batch.
const std::vector<std::vector<S>> kBatches = {
    {"a", "b", "a", "a", "c"},
    {"b", "b"},
    {"a", "d", "c", "a", "d", "d"},
};

Topology CountTopology() {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .Count(Materialized<S, int64_t>::As("counts"))
      .ToStream()
      .To("out");
  return builder.Build();
}

TestDriverOptions ManualCommit(size_t cache_bytes) {
  TestDriverOptions options;
  options.commit_every_input = false;
  options.record_cache_bytes = cache_bytes;
  return options;
}

TEST(RecordCacheTest, OneUpdatePerKeyPerCommitDownstreamAndInTheChangelog) {
  TopologyTestDriver driver(CountTopology(), ManualCommit(size_t{1} << 20));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  auto changelog =
      driver.CreateOutputTopic("test-app-counts-changelog", Serdes::String(), Serdes::Int64());

  std::map<S, int64_t> counts;
  int64_t ts = 1000;
  for (const auto& batch : kBatches) {
    // Expected: per key touched in the batch, its count after the batch, with
    // the timestamp of its last record, in the order of the keys' last writes.
    std::map<S, int64_t> last_ts;
    std::vector<S> order;
    for (const S& key : batch) {
      ASSERT_TRUE(in.PipeInput(key, "v", ts).ok());
      ++counts[key];
      last_ts[key] = ts++;
      std::erase(order, key);
      order.push_back(key);
    }
    EXPECT_TRUE(out.IsEmpty()) << "nothing leaves the cache before the commit";
    ASSERT_TRUE(driver.Commit().ok());
    std::vector<std::tuple<S, int64_t, int64_t>> expected;
    for (const S& key : order) expected.emplace_back(key, counts[key], last_ts[key]);
    // Downstream gets the last record's event time; the changelog the wall
    // clock of the flush (its retention counts from the write).
    for (auto* topic : {&out, &changelog}) {
      auto got = topic->ReadRecordsToList();
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      std::vector<std::tuple<S, int64_t, int64_t>> rows;
      for (const auto& r : *got) rows.emplace_back(r.key, r.value, r.timestamp);
      auto want = expected;
      if (topic == &changelog) {
        for (auto& row : want) std::get<2>(row) = driver.wall_clock_ms();
      }
      EXPECT_EQ(rows, want);
    }
  }
  // The store holds the final counts.
  auto* kv = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("counts"));
  ASSERT_NE(kv, nullptr);
  for (const auto& [key, count] : counts) {
    std::string bytes;
    ASSERT_TRUE(kv->Get(key, &bytes).ok()) << key;
    int64_t stored = 0;
    ASSERT_TRUE(Serdes::Int64()->Deserialize(bytes, &stored).ok());
    EXPECT_EQ(stored, count) << key;
  }
}

TEST(RecordCacheTest, WithoutACacheEveryUpdateIsForwardedAtOnce) {
  TopologyTestDriver driver(CountTopology(), ManualCommit(0));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  std::map<S, int64_t> counts;
  std::vector<std::pair<S, int64_t>> expected;
  for (const auto& batch : kBatches) {
    for (const S& key : batch) {
      ASSERT_TRUE(in.PipeInput(key, "v", 5).ok());
      expected.emplace_back(key, ++counts[key]);
    }
  }
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, expected);
}

TEST(RecordCacheTest, MaterializedWithCachingDisabledForwardsEveryUpdate) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .Count(Materialized<S, int64_t>::As("counts").WithCachingDisabled())
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build(), ManualCommit(size_t{1} << 20));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  std::map<S, int64_t> counts;
  std::vector<std::pair<S, int64_t>> expected;
  for (const S& key : kBatches[0]) {
    ASSERT_TRUE(in.PipeInput(key, "v", 5).ok());
    expected.emplace_back(key, ++counts[key]);
  }
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, expected) << "forwarded before any commit, one per record";
}

TEST(RecordCacheTest, EvictionFromATinyCacheKeepsPerKeyOrderAndLosesNothing) {
  // Room for two or three entries: most updates leave by eviction.
  TopologyTestDriver driver(CountTopology(), ManualCommit(400));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  std::map<S, int64_t> counts;
  for (int i = 0; i < 200; ++i) {
    const S key = "k" + std::to_string((i / 4) % 7);  // runs of 4: merged
    ASSERT_TRUE(in.PipeInput(key, "v", i).ok());
    ++counts[key];
  }
  ASSERT_TRUE(driver.Commit().ok());
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok());
  // Per key the forwarded counts strictly increase and end at the true count.
  std::map<S, int64_t> last;
  for (const auto& [key, count] : *got) {
    EXPECT_GT(count, last[key]) << key;
    last[key] = count;
  }
  EXPECT_EQ(last, counts);
  EXPECT_LT(got->size(), 200u) << "some updates were merged";
}

TEST(RecordCacheTest, WindowedUpdatesAreMergedPerKeyAndWindow) {
  StreamsBuilder builder;
  const auto windows = TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(100));
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(windows)
      .Count(Materialized<S, int64_t>::As("wc"))
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build(), ManualCommit(size_t{1} << 20));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  SerdePtr<Windowed<S>> key_serde = std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), 10);
  auto out =
      driver.CreateOutputTopic("out", key_serde, Serdes::Nullable<int64_t>(Serdes::Int64()));
  const std::vector<std::pair<S, int64_t>> input = {{"a", 1}, {"a", 5},  {"b", 3}, {"a", 12},
                                                    {"a", 9}, {"b", 14}, {"b", 2}, {"a", 15}};
  std::map<std::pair<S, int64_t>, int64_t> counts;  // (key, window start) → count
  for (const auto& [key, t] : input) {
    ASSERT_TRUE(in.PipeInput(key, "v", t).ok());
    ++counts[{key, t - t % 10}];
  }
  EXPECT_TRUE(out.IsEmpty());
  ASSERT_TRUE(driver.Commit().ok());
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::map<std::pair<S, int64_t>, int64_t> forwarded;
  for (const auto& [key, value] : *got) {
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(key.end, key.start + 10);
    EXPECT_TRUE(forwarded.emplace(std::make_pair(key.key, key.start), *value).second)
        << "one update per (key, window) per commit: " << key.key << "@" << key.start;
  }
  EXPECT_EQ(forwarded, counts);
}

// A table-table join of two cached tables: the join's lookups read the other
// table through the cache, so every result forwarded in a commit pairs the
// values current at that point — after the commit, each one equals the join
// of the two tables' final values (a stale store read would forward a
// (left, none) result for a key whose right side was only cached).
TEST(RecordCacheTest, TableJoinLookupsReadTheOtherTableThroughTheCache) {
  StreamsBuilder builder;
  auto left = builder.Stream<S, S>("left").GroupByKey().Count(
      Materialized<S, int64_t>::As("left-counts"));
  auto right = builder.Stream<S, S>("right").GroupByKey().Count(
      Materialized<S, int64_t>::As("right-counts"));
  left.LeftJoin(right,
                [](const int64_t& l, const std::optional<int64_t>& r) {
                  return std::to_string(l) + ":" + (r ? std::to_string(*r) : S("none"));
                })
      .ToStream()
      .To("joined");
  TopologyTestDriver driver(builder.Build(), ManualCommit(size_t{1} << 20));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_left = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
  auto in_right = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("joined", Serdes::String(),
                                      Serdes::Nullable<S>(Serdes::String()));
  const std::vector<std::pair<bool, S>> batch = {
      {true, "a"}, {false, "a"}, {true, "b"}, {false, "a"}, {true, "a"}, {false, "c"}};
  std::map<S, int64_t> l, r;
  int64_t ts = 10;
  for (const auto& [is_left, key] : batch) {
    ASSERT_TRUE((is_left ? in_left : in_right).PipeInput(key, "v", ts++).ok());
    ++(is_left ? l : r)[key];
  }
  ASSERT_TRUE(driver.Commit().ok());
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::set<S> seen;
  for (const auto& [key, value] : *got) {
    ASSERT_TRUE(l.count(key)) << "a left join forwards only keys of the left table: " << key;
    const S expected = std::to_string(l[key]) + ":" + (r.count(key) ? std::to_string(r[key]) : "none");
    EXPECT_EQ(value, expected) << key;
    seen.insert(key);
  }
  EXPECT_EQ(seen, (std::set<S>{"a", "b"}));
}

// A windowed-table join of cached counts: the orders count of a window is
// cached (not late: the window is open when the order is processed), then,
// before the commit, the watermark passes the window's close, and the views
// store expires it. At the commit the cached orders update reaches the join,
// whose lookup must still find the views count of that window (found in the
// pipeline's funnel after a task moved: a backlog crossed a window's close in
// one commit interval).
TEST(RecordCacheTest, WindowedJoinFlushAfterTheOtherSideClosedTheWindowStillPairsBoth) {
  const auto windows = TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5));
  StreamsBuilder builder;
  auto views = builder.Stream<S, S>("views").GroupByKey().WindowedBy(windows).Count(
      Materialized<S, int64_t>::As("views-per-window"));
  auto orders = builder.Stream<S, S>("orders").GroupByKey().WindowedBy(windows).Count(
      Materialized<S, int64_t>::As("orders-per-window"));
  views
      .OuterJoin(orders,
                 [](const std::optional<int64_t>& v, const std::optional<int64_t>& o) {
                   return (v ? std::to_string(*v) : S("0")) + "/" + (o ? std::to_string(*o) : S("0"));
                 })
      .ToStream()
      .To("out");
  // A cache of a few entries: views u@[0,10) leaves it (as after a restore,
  // when the cache is empty), so the join's lookup reads the store.
  TopologyTestDriver driver(builder.Build(), ManualCommit(700));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_views = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  auto in_orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in_views.PipeInput("u", "v", 3).ok());
  ASSERT_TRUE(in_orders.PipeInput("x", "o", 3).ok());
  ASSERT_TRUE(driver.Commit().ok());  // views u@[0,10) = 1 in the store
  for (const char* other : {"a", "b", "c", "d", "e", "f"}) {
    ASSERT_TRUE(in_views.PipeInput(other, "v", 5).ok());
  }
  ASSERT_TRUE(in_orders.PipeInput("u", "o", 4).ok());   // cached: orders u@[0,10) = 1
  ASSERT_TRUE(in_views.PipeInput("y", "v", 100).ok());  // the watermark passes 15:
  ASSERT_TRUE(in_orders.PipeInput("y", "o", 100).ok()); // [0,10) closes and expires
  ASSERT_TRUE(driver.Commit().ok());
  SerdePtr<Windowed<S>> key_serde = std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), 10);
  auto out = driver.CreateOutputTopic("out", key_serde, Serdes::Nullable<S>(Serdes::String()));
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::map<std::pair<S, int64_t>, std::optional<S>> last;
  for (const auto& [key, value] : *got) last[{key.key, key.start}] = value;
  EXPECT_EQ(last[std::make_pair(S("u"), int64_t{0})], std::optional<S>("1/1"));
  EXPECT_EQ(driver.Counters(0).dropped_late, 0u);
}

}  // namespace
}  // namespace eventflow::streams
