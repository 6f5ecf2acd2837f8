// KTable–KTable joins (inner, left, outer; plain and windowed tables),
// StreamsBuilder::Table and KStream–KTable joins, through TopologyTestDriver.
// Every expected output is computed by a few lines of plain code over the
// input (the models below): tables as std::map, a join result as "the join of
// both current values", emitted when it exists and as a tombstone when it
// existed before the update and no longer does.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <random>
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
using OptS = std::optional<S>;
// (key, value or tombstone, timestamp): one output record.
using Out = std::tuple<S, OptS, int64_t>;

enum class Kind { kInner, kLeft, kOuter };

S Show(const OptS& v) { return v ? *v : S("null"); }

// A table update: side (left/right table), key, value (nullopt: tombstone).
struct Update {
  bool left;
  S key;
  OptS value;
  int64_t ts;
};

// The join of two current values, or nullopt when the join has no result.
OptS JoinOf(Kind kind, const OptS& l, const OptS& r) {
  const bool exists = kind == Kind::kInner  ? (l && r)
                      : kind == Kind::kLeft ? l.has_value()
                                            : (l || r);
  if (!exists) return std::nullopt;
  return Show(l) + "+" + Show(r);
}

// Reference model of a table-table join over source tables.
struct TableModel {
  Kind kind;
  std::map<S, S> left, right;

  std::vector<Out> Apply(const Update& u) {
    std::map<S, S>& table = u.left ? left : right;
    auto get = [](const std::map<S, S>& t, const S& k) -> OptS {
      auto it = t.find(k);
      return it == t.end() ? OptS() : OptS(it->second);
    };
    const OptS before = JoinOf(kind, get(left, u.key), get(right, u.key));
    const bool had = table.count(u.key) > 0;
    if (u.value) {
      table[u.key] = *u.value;
    } else {
      table.erase(u.key);
      if (!had) return {};  // a tombstone for an absent key changes nothing
    }
    const OptS after = JoinOf(kind, get(left, u.key), get(right, u.key));
    if (after) return {{u.key, after, u.ts}};
    if (before) return {{u.key, std::nullopt, u.ts}};
    return {};
  }
};

std::vector<Out> ReadAll(TestOutputTopic<S, OptS>& out) {
  std::vector<Out> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (auto& r : *records) rows.emplace_back(r.key, r.value, r.timestamp);
  return rows;
}

Topology BuildTableJoin(Kind kind) {
  StreamsBuilder builder;
  auto left = builder.Table<S, S>("left", {}, Materialized<S, S>::As("left-store"));
  auto right = builder.Table<S, S>("right", {}, Materialized<S, S>::As("right-store"));
  auto joined = [&] {
    switch (kind) {
      case Kind::kInner:
        return left.Join(right, [](const S& l, const S& r) { return l + "+" + r; });
      case Kind::kLeft:
        return left.LeftJoin(right, [](const S& l, const OptS& r) { return l + "+" + Show(r); });
      case Kind::kOuter:
        break;
    }
    return left.OuterJoin(right,
                          [](const OptS& l, const OptS& r) { return Show(l) + "+" + Show(r); });
  }();
  joined.ToStream().To("out");
  return builder.Build();
}

std::vector<Update> RandomUpdates(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  std::vector<Update> out;
  for (int i = 0; i < count; ++i) {
    const bool left = rng() % 2 == 0;
    OptS value;
    if (rng() % 4 != 0) value = (left ? "l" : "r") + std::to_string(i);  // 1 in 4: tombstone
    out.push_back({left, S(1, static_cast<char>('a' + rng() % 4)), value, int64_t{i}});
  }
  return out;
}

class TableJoinTest : public ::testing::TestWithParam<Kind> {};

TEST_P(TableJoinTest, UpdatesAndTombstonesMatchTheModel) {
  const Kind kind = GetParam();
  TopologyTestDriver driver(BuildTableJoin(kind));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto left = driver.CreateInputTopic("left", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto right =
      driver.CreateInputTopic("right", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::String()));
  TableModel model{kind, {}, {}};
  size_t tombstones = 0;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (const Update& u : RandomUpdates(seed, 200)) {
      ASSERT_TRUE((u.left ? left : right).PipeInput(u.key, u.value, u.ts).ok());
      const std::vector<Out> expected = model.Apply(u);
      ASSERT_EQ(ReadAll(out), expected)
          << (u.left ? "left " : "right ") << u.key << " = " << Show(u.value) << " at " << u.ts;
      for (const Out& o : expected) tombstones += !std::get<1>(o).has_value();
    }
  }
  EXPECT_GT(tombstones, 0u) << "the input must make results disappear";
  // The source tables' stores hold exactly the model's tables.
  for (const auto& [store, table] :
       {std::pair{S("left-store"), model.left}, std::pair{S("right-store"), model.right}}) {
    auto* kv = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore(store));
    ASSERT_NE(kv, nullptr) << store;
    std::map<S, S> got;
    for (auto it = kv->All(); it->Valid(); it->Next()) got.emplace(it->key(), it->value());
    EXPECT_EQ(got, table) << store;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, TableJoinTest,
                         ::testing::Values(Kind::kInner, Kind::kLeft, Kind::kOuter),
                         [](const ::testing::TestParamInfo<Kind>& param_info) {
                           return param_info.param == Kind::kInner  ? S("Inner")
                                  : param_info.param == Kind::kLeft ? S("Left")
                                                                    : S("Outer");
                         });

// The conversion funnel: the full outer join of two windowed count tables
// (views and orders per user per tumbling window, with grace). Every
// (user, window) present on either side gets a result; late records change
// nothing and are counted.
TEST(WindowedTableJoinTest, OuterJoinOfWindowedCountsGivesEveryWindowOfEitherSide) {
  constexpr int64_t kSize = 10;
  constexpr int64_t kGrace = 5;
  const TimeWindows windows =
      TimeWindows::OfSizeAndGrace(milliseconds(kSize), milliseconds(kGrace));
  StreamsBuilder builder;
  auto views = builder.Stream<S, S>("views").GroupByKey().WindowedBy(windows).Count(
      Materialized<S, int64_t>::As("views-per-window"));
  auto orders = builder.Stream<S, S>("orders").GroupByKey().WindowedBy(windows).Count(
      Materialized<S, int64_t>::As("orders-per-window"));
  views
      .OuterJoin(
          orders,
          [](const std::optional<int64_t>& v, const std::optional<int64_t>& o) {
            return "v=" + (v ? std::to_string(*v) : S("null")) +
                   ",o=" + (o ? std::to_string(*o) : S("null"));
          },
          Named::As("funnel"))
      .ToStream()
      .To("out");
  Topology topology = builder.Build();
  const S description = topology.Describe();
  for (const char* node : {"Processor: funnel-join-this", "Processor: funnel-join-other",
                           "Processor: funnel (stores: [])"}) {
    EXPECT_NE(description.find(node), S::npos) << node << "\n" << description;
  }
  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_views = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  auto in_orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic(
      "out", SerdePtr<Windowed<S>>(std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), kSize)),
      Serdes::Nullable(Serdes::String()));

  // The model: counts per (user, window start) per side; a record is late
  // when its window end + grace <= its own topic's largest time (a window
  // closed on the watermark, the smaller of both, is never later).
  std::map<std::pair<S, int64_t>, int64_t> view_counts, order_counts;
  int64_t views_max = -1, orders_max = -1;
  uint64_t dropped = 0;
  std::mt19937 rng(7);
  int64_t t = 0;
  size_t outputs = 0;
  for (int i = 0; i < 400; ++i) {
    t += static_cast<int64_t>(rng() % 3);
    const int64_t ts = std::max<int64_t>(0, t - static_cast<int64_t>(rng() % 12));
    const bool is_view = rng() % 3 != 0;
    const S user = "u" + std::to_string(rng() % 3);
    ASSERT_TRUE((is_view ? in_views : in_orders).PipeInput(user, "e" + std::to_string(i), ts).ok());
    int64_t& side_max = is_view ? views_max : orders_max;
    side_max = std::max(side_max, ts);
    const int64_t now = side_max;
    const int64_t start = ts / kSize * kSize;
    std::vector<std::tuple<S, int64_t, OptS>> expected;
    if (start + kSize + kGrace <= now) {
      ++dropped;
    } else {
      auto& counts = is_view ? view_counts : order_counts;
      ++counts[{user, start}];
      auto count = [&](const std::map<std::pair<S, int64_t>, int64_t>& c) {
        auto it = c.find({user, start});
        return it == c.end() ? S("null") : std::to_string(it->second);
      };
      expected.emplace_back(user, start, "v=" + count(view_counts) + ",o=" + count(order_counts));
    }
    auto records = out.ReadRecordsToList();
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    std::vector<std::tuple<S, int64_t, OptS>> got;
    for (const auto& r : *records) got.emplace_back(r.key.key, r.key.start, r.value);
    ASSERT_EQ(got, expected) << "input " << i << ": " << (is_view ? "view " : "order ") << user
                             << " at " << ts;
    outputs += got.size();
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(outputs, 100u);
  EXPECT_EQ(driver.Counters(0).dropped_late, dropped);
}

// Both windowed counts emit on close (final results only): each side's final
// result looks up the other side's window after it closed, so the stores keep
// closed windows (Materialized::WithRetention) for retention - (size + grace)
// of watermark progress. The last joined result per (user, window) equals both
// sides' final counts.
TEST(WindowedTableJoinTest, OuterJoinOfEmitOnCloseCountsWithRetentionGivesFinalPairs) {
  constexpr int64_t kSize = 10;
  constexpr int64_t kGrace = 5;
  const TimeWindows windows =
      TimeWindows::OfSizeAndGrace(milliseconds(kSize), milliseconds(kGrace));
  StreamsBuilder builder;
  const auto keep = milliseconds(3 * (kSize + kGrace));
  auto views = builder.Stream<S, S>("views")
                   .GroupByKey()
                   .WindowedBy(windows)
                   .WithEmitStrategy(EmitStrategy::kOnWindowClose)
                   .Count(Materialized<S, int64_t>::As("views-final").WithRetention(keep));
  auto orders = builder.Stream<S, S>("orders")
                    .GroupByKey()
                    .WindowedBy(windows)
                    .WithEmitStrategy(EmitStrategy::kOnWindowClose)
                    .Count(Materialized<S, int64_t>::As("orders-final").WithRetention(keep));
  views
      .OuterJoin(orders,
                 [](const std::optional<int64_t>& v, const std::optional<int64_t>& o) {
                   return "v=" + (v ? std::to_string(*v) : S("null")) +
                          ",o=" + (o ? std::to_string(*o) : S("null"));
                 })
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_views = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  auto in_orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  std::map<std::pair<S, int64_t>, int64_t> view_counts, order_counts;
  std::mt19937 rng(11);
  int64_t t = 0;
  for (int i = 0; i < 300; ++i) {
    t += static_cast<int64_t>(rng() % 3);
    const int64_t ts = std::max<int64_t>(0, t - static_cast<int64_t>(rng() % 4));  // < grace
    const bool is_view = rng() % 3 != 0;
    const S user = "u" + std::to_string(rng() % 3);
    ASSERT_TRUE((is_view ? in_views : in_orders).PipeInput(user, "e", ts).ok());
    ++(is_view ? view_counts : order_counts)[{user, ts / kSize * kSize}];
  }
  // Both topics move on in steps smaller than retention - (size + grace), so
  // a window closed by one step is still readable by the other side's final
  // result; every window above closes.
  for (int64_t z = t + 5; z <= t + 60; z += 5) {
    ASSERT_TRUE(in_views.PipeInput("z", "e", z).ok());
    ASSERT_TRUE(in_orders.PipeInput("z", "e", z).ok());
  }
  auto out = driver.CreateOutputTopic(
      "out", SerdePtr<Windowed<S>>(std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), kSize)),
      Serdes::Nullable(Serdes::String()));
  auto records = out.ReadRecordsToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::map<std::pair<S, int64_t>, OptS> last;
  for (const auto& r : *records) {
    if (r.key.key != "z") last[{r.key.key, r.key.start}] = r.value;
  }
  std::map<std::pair<S, int64_t>, OptS> expected;
  std::set<std::pair<S, int64_t>> keys;
  for (const auto& [k, n] : view_counts) keys.insert(k);
  for (const auto& [k, n] : order_counts) keys.insert(k);
  for (const auto& k : keys) {
    auto v = view_counts.find(k);
    auto o = order_counts.find(k);
    expected[k] = "v=" + (v == view_counts.end() ? S("null") : std::to_string(v->second)) +
                  ",o=" + (o == order_counts.end() ? S("null") : std::to_string(o->second));
  }
  EXPECT_GT(expected.size(), 40u);
  EXPECT_EQ(last, expected);
  EXPECT_EQ(driver.Counters(0).dropped_late, 0u);

  // A retention shorter than size + grace is a topology error naming it.
  StreamsBuilder bad;
  bad.Stream<S, S>("in").GroupByKey().WindowedBy(windows).Count(
      Materialized<S, int64_t>::As("short").WithRetention(milliseconds(kSize)));
  const Status status = bad.Build().Validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("retention 10 ms is shorter than window size + grace 15 ms"),
            S::npos)
      << status.ToString();
}

// StreamsBuilder::Table: Kafka's names, tombstones delete, a tombstone for an
// absent key forwards nothing, and the changelog carries every change.
TEST(SourceTableTest, MaterializesTheTopicWithTombstones) {
  StreamsBuilder builder;
  builder.Table<S, S>("users").ToStream().To("out");
  Topology topology = builder.Build();
  const S description = topology.Describe();
  for (const char* expected : {"Source: KSTREAM-SOURCE-0000000001 (topics: [users])",
                               "Processor: KTABLE-SOURCE-0000000002 (stores: "
                               "[users-STATE-STORE-0000000000])"}) {
    EXPECT_NE(description.find(expected), S::npos) << expected << "\n" << description;
  }
  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("users", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::String()));
  ASSERT_TRUE(in.PipeInput("a", S("1"), 1).ok());
  ASSERT_TRUE(in.PipeInput("b", S("2"), 2).ok());
  ASSERT_TRUE(in.PipeInput("a", std::nullopt, 3).ok());
  ASSERT_TRUE(in.PipeInput("c", std::nullopt, 4).ok());  // absent: nothing
  ASSERT_TRUE(in.PipeInput("b", S("3"), 5).ok());
  EXPECT_EQ(ReadAll(out),
            (std::vector<Out>{
                {"a", S("1"), 1}, {"b", S("2"), 2}, {"a", std::nullopt, 3}, {"b", S("3"), 5}}));
  auto* kv =
      dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("users-STATE-STORE-0000000000"));
  ASSERT_NE(kv, nullptr);
  std::map<S, S> got;
  for (auto it = kv->All(); it->Valid(); it->Next()) got.emplace(it->key(), it->value());
  EXPECT_EQ(got, (std::map<S, S>{{"b", "3"}}));
  const auto& changelog = driver.OutputQueue("test-app-users-STATE-STORE-0000000000-changelog");
  ASSERT_EQ(changelog.size(), 4u);
  EXPECT_FALSE(changelog[2].value.has_value());  // the delete of "a"
}

// KStream–KTable: inner drops records without a match, left passes nullopt;
// the table may be a MapValues of a source table (read through its getter);
// a re-keyed stream is repartitioned first.
TEST(StreamTableJoinTest, JoinsEachRecordWithTheTablesCurrentValue) {
  for (bool left_join : {false, true}) {
    SCOPED_TRACE(left_join ? "left join" : "inner join");
    StreamsBuilder builder;
    auto users = builder.Table<S, S>("users", {}, Materialized<S, S>::As("users"))
                     .MapValues([](const S& name) { return name + "!"; });
    auto clicks = builder.Stream<S, S>("clicks").SelectKey(
        [](const S&, const S& v) { return v.substr(0, v.find(':')); });
    KStream<S, S> joined =
        left_join ? clicks.LeftJoin(
                        users, [](const S& c, const OptS& u) { return c + "@" + Show(u); },
                        Joined<S, S, S>::As("enrich"))
                  : clicks.Join(
                        users, [](const S& c, const S& u) { return c + "@" + u; },
                        Joined<S, S, S>::As("enrich"));
    joined.To("out");
    Topology topology = builder.Build();
    EXPECT_NE(topology.Describe().find("enrich-repartition"), S::npos) << topology.Describe();
    TopologyTestDriver driver(topology);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in_users =
        driver.CreateInputTopic("users", Serdes::String(), Serdes::Nullable(Serdes::String()));
    auto in_clicks = driver.CreateInputTopic("clicks", Serdes::String(), Serdes::String());
    auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());

    std::map<S, S> table;  // the model
    std::vector<std::pair<S, S>> expected;
    std::mt19937 rng(11);
    for (int i = 0; i < 200; ++i) {
      const S user = "u" + std::to_string(rng() % 4);
      if (rng() % 3 == 0) {
        OptS name;
        if (rng() % 3 != 0) name = "n" + std::to_string(i);
        ASSERT_TRUE(in_users.PipeInput(user, name, i).ok());
        if (name) {
          table[user] = *name;
        } else {
          table.erase(user);
        }
      } else {
        const S click = user + ":c" + std::to_string(i);
        ASSERT_TRUE(in_clicks.PipeInput("any", click, i).ok());
        auto it = table.find(user);
        if (it != table.end()) {
          expected.emplace_back(user, click + "@" + it->second + "!");
        } else if (left_join) {
          expected.emplace_back(user, click + "@null");
        }
      }
    }
    auto got = out.ReadKeyValuesToList();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, expected);
    EXPECT_GT(expected.size(), 50u);
  }
}

// KTable–KTable join of a filtered table (no store: read through the
// filter's getter) with a source table.
TEST(TableJoinGetterTest, FilteredTableIsReadThroughItsParent) {
  StreamsBuilder builder;
  auto left = builder.Table<S, S>("left").Filter(
      [](const S&, const S& v) { return v.rfind("keep", 0) == 0; });
  auto right = builder.Table<S, S>("right");
  right.Join(left, [](const S& r, const S& l) { return r + "+" + l; }).ToStream().To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_left =
      driver.CreateInputTopic("left", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto in_right =
      driver.CreateInputTopic("right", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::String()));
  ASSERT_TRUE(in_left.PipeInput("a", S("keep1"), 1).ok());
  ASSERT_TRUE(in_left.PipeInput("b", S("drop1"), 2).ok());
  ASSERT_TRUE(in_right.PipeInput("a", S("r1"), 3).ok());    // left "a" passes the filter
  ASSERT_TRUE(in_right.PipeInput("b", S("r2"), 4).ok());    // left "b" does not: no result
  ASSERT_TRUE(in_left.PipeInput("a", S("drop2"), 5).ok());  // the result disappears
  EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"a", S("r1+keep1"), 3}, {"a", std::nullopt, 5}}));
}

TEST(TableJoinGetterTest, DescribeUsesKafkaNames) {
  const S description = BuildTableJoin(Kind::kOuter).Describe();
  // Two sources and table sources (0-3), then merge, this, other as Kafka
  // Streams draws them.
  for (const char* node : {"Processor: KTABLE-JOINTHIS-0000000005 (stores: [])",
                           "Processor: KTABLE-JOINOTHER-0000000006 (stores: [])",
                           "Processor: KTABLE-MERGE-0000000004 (stores: [])"}) {
    EXPECT_NE(description.find(node), S::npos) << node << "\n" << description;
  }
}

}  // namespace
}  // namespace eventflow::streams
