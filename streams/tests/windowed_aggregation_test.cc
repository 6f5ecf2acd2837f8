// Windowed aggregations: KGroupedStream::WindowedBy(TimeWindows) →
// TimeWindowedKStream Count/Reduce/Aggregate → KTable<Windowed<K>, VA>, with
// grace, late records, both emit strategies, the window store and its
// changelog, all through TopologyTestDriver. Inputs are tables (in order, out
// of order within grace, late beyond grace); every expected output is
// computed in the test by a few lines of plain code (the Model below),
// independently of the library.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/store_keys.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;
// (key, window start, window end, value): one forwarded windowed result.
using Row = std::tuple<S, int64_t, int64_t, int64_t>;

struct Input {
  S key;
  int64_t ts;
  int64_t value = 1;
};

// Tumbling windows of 10 ms, grace 5: in order, out of order within grace,
// and late beyond it (marked).
const std::vector<Input> kTumblingInput = {
    {"a", 1},  {"b", 3},  {"a", 7},  {"a", 12}, {"b", 9},   // 9: out of order, window open
    {"a", 16}, {"b", 4},                                    // 4: [0,10) closes at 15 → late
    {"a", 14}, {"c", 25}, {"a", 19}, {"b", 11},             // 19, 11: within grace (< 25)
    {"a", 8},                                               // late ([0,10) closed)
    {"c", 31}, {"a", 20}, {"b", 45}, {"c", 29},             // 29 late: [20,30) closed at 45
    {"a", 41}, {"b", 40}};

// The reference model: Kafka's windowed aggregation written as plainly as
// possible. Windows [s, s + size) with s a multiple of advance containing t;
// a window is closed when s + size + grace <= the largest time seen.
struct Model {
  explicit Model(const TimeWindows& w)
      : size(w.size_ms()), advance(w.advance_ms()), grace(w.grace_ms()) {}
  int64_t size, advance, grace;
  int64_t stream_time = -1;
  uint64_t dropped = 0;
  std::map<std::pair<S, int64_t>, int64_t> agg;  // (key, start) → aggregate
  std::set<std::pair<S, int64_t>> emitted;       // windows whose final result went out

  // Applies one record with `combine`; returns the updates (on update).
  template <typename F>
  std::vector<Row> Add(const Input& in, F combine) {
    stream_time = std::max(stream_time, in.ts);
    std::vector<Row> updates;
    for (int64_t s = 0; s <= in.ts; s += advance) {
      if (in.ts >= s + size) continue;
      if (s + size + grace <= stream_time) {
        ++dropped;
        continue;
      }
      auto [it, fresh] = agg.try_emplace({in.key, s}, in.value);
      if (!fresh) it->second = combine(it->second, in.value);
      updates.emplace_back(in.key, s, s + size, it->second);
    }
    return updates;
  }
  // The windows closed by now and not emitted before (emit on close), sorted.
  std::vector<Row> Close() {
    std::vector<Row> out;
    for (const auto& [window, value] : agg) {
      if (window.second + size + grace <= stream_time && emitted.insert(window).second) {
        out.emplace_back(window.first, window.second, window.second + size, value);
      }
    }
    return out;
  }
  // Windows still open (the store keeps exactly these: retention = size + grace).
  std::map<std::pair<S, int64_t>, int64_t> Open() const {
    std::map<std::pair<S, int64_t>, int64_t> out;
    for (const auto& [window, value] : agg) {
      if (window.second + size + grace > stream_time) out.emplace(window, value);
    }
    return out;
  }
};

int64_t Count(int64_t a, int64_t) { return a + 1; }
int64_t Sum(int64_t a, int64_t b) { return a + b; }

SerdePtr<Windowed<S>> WindowedString(int64_t size) {
  return std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), size);
}

// Reads every record of `out` as rows.
std::vector<Row> ReadRows(TestOutputTopic<Windowed<S>, std::optional<int64_t>>& out) {
  std::vector<Row> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (const auto& r : *records) {
    EXPECT_TRUE(r.value.has_value());
    rows.emplace_back(r.key.key, r.key.start, r.key.end, r.value.value_or(-1));
  }
  return rows;
}

// Every window of the window store `store`, decoded as int64 aggregates.
std::map<std::pair<S, int64_t>, int64_t> StoreContents(TopologyTestDriver& driver,
                                                       const S& store) {
  std::map<std::pair<S, int64_t>, int64_t> out;
  auto* ws = dynamic_cast<state::WindowStore*>(driver.GetStateStore(store));
  EXPECT_NE(ws, nullptr) << store;
  if (ws == nullptr) return out;
  auto it = ws->FetchAll(0, int64_t{1} << 40);
  for (; it->Valid(); it->Next()) {
    int64_t v = 0;
    EXPECT_TRUE(Serdes::Int64()->Deserialize(it->value(), &v).ok());
    out.emplace(std::make_pair(S(it->key()), it->window_start()), v);
  }
  EXPECT_TRUE(it->status().ok());
  return out;
}

// Builds in → GroupByKey → WindowedBy(windows) → Count or sum-Reduce → out.
Topology Build(const TimeWindows& windows, EmitStrategy emit, bool reduce, const S& store) {
  StreamsBuilder builder;
  auto windowed = builder.Stream<S, int64_t>("in", Consumed<S, int64_t>::With(Serdes::String(),
                                                                              Serdes::Int64()))
                      .GroupByKey()
                      .WindowedBy(windows)
                      .WithEmitStrategy(emit);
  auto table = reduce ? windowed.Reduce([](int64_t a, int64_t b) { return a + b; },
                                        Materialized<S, int64_t>::As(store))
                      : windowed.Count(Materialized<S, int64_t>::As(store));
  table.ToStream().To("out");
  return builder.Build();
}

struct Case {
  const char* name;
  TimeWindows windows;
  bool reduce;
};

class WindowedAggregationTest : public ::testing::TestWithParam<Case> {};

// Every update, late updates dropped and counted, store contents, changelog.
TEST_P(WindowedAggregationTest, EmitsEveryUpdateDropsLateOnesAndKeepsOpenWindows) {
  const Case& c = GetParam();
  TopologyTestDriver driver(Build(c.windows, EmitStrategy::kOnWindowUpdate, c.reduce, "w"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", WindowedString(c.windows.size_ms()),
                                      Serdes::Nullable(Serdes::Int64()));
  Model model(c.windows);
  std::vector<Row> expected;
  for (size_t i = 0; i < kTumblingInput.size(); ++i) {
    Input input = kTumblingInput[i];
    input.value = c.reduce ? int64_t(i) + 1 : 1;  // Count starts at 1, as the model does
    ASSERT_TRUE(in.PipeInput(input.key, input.value, input.ts).ok());
    for (Row& r : model.Add(input, c.reduce ? Sum : Count)) expected.push_back(std::move(r));
  }
  EXPECT_EQ(ReadRows(out), expected);
  EXPECT_GT(model.dropped, 0u);
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  EXPECT_EQ(StoreContents(driver, "w"), model.Open());

  // One changelog record per applied update, keyed by EncodeWindowKey.
  auto& changelog = driver.OutputQueue("test-app-w-changelog");
  ASSERT_EQ(changelog.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_TRUE(changelog[i].key && changelog[i].value);
    state::WindowKeyView key;
    ASSERT_TRUE(state::DecodeWindowKey(*changelog[i].key, false, &key).ok());
    EXPECT_EQ(S(key.key), std::get<0>(expected[i]));
    EXPECT_EQ(key.window_start, std::get<1>(expected[i]));
    int64_t v = 0;
    ASSERT_TRUE(Serdes::Int64()->Deserialize(*changelog[i].value, &v).ok());
    EXPECT_EQ(v, std::get<3>(expected[i]));
  }
}

// Exactly one final result per window, when it closes; none for late records.
TEST_P(WindowedAggregationTest, EmitsOnWindowCloseOnceAndNeverForLateRecords) {
  const Case& c = GetParam();
  TopologyTestDriver driver(Build(c.windows, EmitStrategy::kOnWindowClose, c.reduce, "final"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", WindowedString(c.windows.size_ms()),
                                      Serdes::Nullable(Serdes::Int64()));
  Model model(c.windows);
  size_t total = 0;
  for (size_t i = 0; i < kTumblingInput.size(); ++i) {
    Input input = kTumblingInput[i];
    input.value = c.reduce ? int64_t(i) + 1 : 1;  // Count starts at 1, as the model does
    ASSERT_TRUE(in.PipeInput(input.key, input.value, input.ts).ok());
    model.Add(input, c.reduce ? Sum : Count);
    std::vector<Row> closed = model.Close();
    std::vector<Row> got = ReadRows(out);
    std::sort(got.begin(), got.end());  // the order among windows closing together is the store's
    EXPECT_EQ(got, closed) << "after input " << i << " at " << input.ts;
    total += closed.size();
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  // A record far ahead closes every window; each is emitted exactly once.
  ASSERT_TRUE(in.PipeInput("z", 1, 1000).ok());
  model.Add({"z", 1000, 1}, Count);
  std::vector<Row> got = ReadRows(out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, model.Close());
  for (const auto& [window, value] : model.agg) {
    EXPECT_EQ(model.emitted.count(window), window.first == "z" ? 0u : 1u) << window.first;
  }
  EXPECT_EQ(StoreContents(driver, "final"), model.Open());
}

INSTANTIATE_TEST_SUITE_P(
    Windows, WindowedAggregationTest,
    ::testing::Values(
        Case{"TumblingCountWithGrace", TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5)),
             false},
        Case{"TumblingCountNoGrace", TimeWindows::OfSizeWithNoGrace(milliseconds(10)), false},
        Case{"HoppingCount",
             TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(3)).AdvanceBy(milliseconds(5)),
             false},
        Case{"TumblingSumReduce", TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5)),
             true},
        Case{"HoppingSumReduce",
             TimeWindows::OfSizeAndGrace(milliseconds(20), milliseconds(2)).AdvanceBy(milliseconds(7)),
             true}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return std::string(param_info.param.name);
    });

// After a restart from local state, the store's expiry horizon (committed
// with the emission) tells which windows were emitted: none is repeated or lost.
TEST(WindowedAggregationTest, EmitOnCloseAfterARestartNeitherRepeatsNorLosesWindows) {
  const auto windows = TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5));
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("eventflow-windowed-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TestDriverOptions options;
  options.state_dir = dir;
  Model model(windows);
  std::vector<Row> got;
  auto run = [&](const std::vector<Input>& inputs) {
    TopologyTestDriver driver(Build(windows, EmitStrategy::kOnWindowClose, false, "final"),
                              options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
    auto out = driver.CreateOutputTopic("out", WindowedString(10),
                                        Serdes::Nullable(Serdes::Int64()));
    for (const Input& input : inputs) {
      ASSERT_TRUE(in.PipeInput(input.key, 1, input.ts).ok());
      model.Add(input, Count);
    }
    for (Row& r : ReadRows(out)) got.push_back(std::move(r));
  };
  run({{"a", 1}, {"b", 5}, {"a", 12}, {"a", 27}});  // closes [0,10) at 15
  run({{"b", 28}, {"a", 41}, {"c", 100}});          // closes [10,20), [20,30)
  std::filesystem::remove_all(dir);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, model.Close());
}

TEST(WindowedAggregationTest, TimeWindowsAreAlignedToTheEpochAsInKafka) {
  auto starts = [](const TimeWindows& w, int64_t t) {
    std::vector<int64_t> out;
    w.ForEachWindow(t, [&](int64_t s) { out.push_back(s); });
    return out;
  };
  const auto tumbling = TimeWindows::OfSizeWithNoGrace(milliseconds(10));
  EXPECT_EQ(starts(tumbling, 0), (std::vector<int64_t>{0}));
  EXPECT_EQ(starts(tumbling, 19), (std::vector<int64_t>{10}));
  const auto hopping = tumbling.AdvanceBy(milliseconds(4));
  EXPECT_EQ(starts(hopping, 3), (std::vector<int64_t>{0}));
  EXPECT_EQ(starts(hopping, 13), (std::vector<int64_t>{4, 8, 12}));
  EXPECT_EQ(starts(hopping, 12), (std::vector<int64_t>{4, 8, 12}));
  EXPECT_EQ(starts(hopping, 11), (std::vector<int64_t>{4, 8}));
}

TEST(WindowedAggregationTest, AggregateWithInitializerAndWindowedSerdeLayout) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeWithNoGrace(milliseconds(100)))
      .Aggregate([] { return S("<"); },
                 [](const S&, const S& v, const S& agg) { return agg + v; },
                 Materialized<S, S>::As("concat"))
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("k", "x", 150).ok());
  ASSERT_TRUE(in.PipeInput("k", "y", 199).ok());
  ASSERT_TRUE(in.PipeInput("k", "z", 200).ok());
  // Kafka's TimeWindowedSerde layout: key bytes, then the start as 8 bytes BE.
  auto& raw = driver.OutputQueue("out");
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_EQ(*raw[0].key, S("k") + S("\0\0\0\0\0\0\0\x64", 8));
  auto out = driver.CreateOutputTopic("out", WindowedString(100),
                                      Serdes::Nullable(Serdes::String()));
  auto records = out.ReadKeyValuesToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  using KV = std::pair<Windowed<S>, std::optional<S>>;
  EXPECT_EQ(*records, (std::vector<KV>{{{"k", 100, 200}, "<x"},
                                       {{"k", 100, 200}, "<xy"},
                                       {{"k", 200, 300}, "<z"}}));
}

TEST(WindowedAggregationTest, InvalidWindowsAreATopologyError) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeWithNoGrace(milliseconds(10)).AdvanceBy(milliseconds(11)))
      .Count();
  const Status status = builder.Build().Validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("advance"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace eventflow::streams
