// Sliding windows: KGroupedStream::WindowedBy(SlidingWindows) →
// SlidingWindowedKStream Count/Reduce/Aggregate → KTable<Windowed<K>, VA>,
// through TopologyTestDriver. Inputs are a table (early records before the
// time difference, in order, out of order within grace, partly and wholly
// late); every expected output is computed by the Model below, which derives
// the windows from their definition by brute force, independently of the
// library's incremental algorithm.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
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
// (key, start, end, aggregate, timestamp = the window's largest record time).
using Row = std::tuple<S, int64_t, int64_t, int64_t, int64_t>;

struct Input {
  S key;
  int64_t ts;
};

// Time difference 10, grace 5: window [s, s + 10] closes when s + 16 <= stream time.
const SlidingWindows kWindows =
    SlidingWindows::OfTimeDifferenceAndGrace(milliseconds(10), milliseconds(5));
const std::vector<Input> kInput = {
    {"a", 3},  {"a", 8},               // early: both in [0, 10]
    {"a", 15}, {"a", 12},              // 12 out of order
    {"b", 30}, {"a", 26}, {"a", 20},   // 20 out of order within grace
    {"a", 40},                         // closes a's windows starting <= 24
    {"a", 28},                         // partly late: its windows from 18 to 24 are closed
    {"a", 10},                         // wholly late: 10 + 16 <= 40
    {"b", 35}, {"b", 31}, {"a", 41}, {"a", 41},  // a duplicate time
    {"a", 60}, {"a", 45},              // 45 partly late
    {"c", 5},  {"c", 9}, {"c", 2},     // early, out of order
    {"c", 100}, {"a", 70}};

// The reference model. Windows by definition: for every accepted record at r
// its left window [max(0, r - d), max(0, r - d) + d] and, when an accepted
// record q has r < q <= r + 1 + d, its right window [r + 1, r + 1 + d]. A
// record updates every window containing it and creates the new ones, except
// closed windows (s + d + 1 + grace <= stream time), which are skipped and
// counted; a record all of whose windows are closed is dropped (counted once).
struct Model {
  int64_t d = kWindows.time_difference_ms();
  int64_t grace = kWindows.grace_ms();
  int64_t now = -1;
  uint64_t dropped = 0;
  std::map<S, std::vector<std::pair<int64_t, int64_t>>> accepted;  // (time, value)
  std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> windows;  // → (agg, max time)
  std::set<std::pair<S, int64_t>> emitted;

  bool Closed(int64_t start) const { return start + d + 1 + grace <= now; }

  // Applies a record of `value` (sum; Count passes 1); returns the windows it
  // updated or created, sorted.
  std::vector<Row> Add(const S& key, int64_t t, int64_t value) {
    now = std::max(now, t);
    if (t + d + 1 + grace <= now) {
      ++dropped;
      return {};
    }
    auto& records = accepted[key];
    records.emplace_back(t, value);
    std::set<int64_t> starts;
    for (const auto& [r, v] : records) {
      starts.insert(std::max<int64_t>(0, r - d));
      for (const auto& [q, w] : records) {
        if (r < q && q <= r + 1 + d) starts.insert(r + 1);
      }
    }
    std::vector<Row> rows;
    for (int64_t s : starts) {
      const bool contains = s <= t && t <= s + d;
      if (!contains && windows.count({key, s})) continue;
      if (Closed(s)) {
        if (contains) ++dropped;
        continue;
      }
      int64_t agg = 0, max_time = -1;
      for (const auto& [r, v] : records) {
        if (s <= r && r <= s + d) {
          agg += v;
          max_time = std::max(max_time, r);
        }
      }
      windows[{key, s}] = {agg, max_time};
      rows.emplace_back(key, s, s + d, agg, max_time);
    }
    return rows;
  }
  // Windows closed by now and not emitted before, sorted.
  std::vector<Row> Close() {
    std::vector<Row> out;
    for (const auto& [window, value] : windows) {
      if (Closed(window.second) && emitted.insert(window).second) {
        out.emplace_back(window.first, window.second, window.second + d, value.first,
                         value.second);
      }
    }
    return out;
  }
  // The windows the store still holds: retention 3d + grace + 1.
  std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> Retained() const {
    std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> out;
    for (const auto& [window, value] : windows) {
      if (window.second >= now - 3 * d - grace) out.emplace(window, value);
    }
    return out;
  }
};

std::vector<Row> ReadRows(TestOutputTopic<Windowed<S>, std::optional<int64_t>>& out) {
  std::vector<Row> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (const auto& r : *records) {
    EXPECT_TRUE(r.value.has_value());
    rows.emplace_back(r.key.key, r.key.start, r.key.end, r.value.value_or(-1), r.timestamp);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Decodes a stored value: 8-byte big-endian largest record time, then the aggregate.
std::pair<int64_t, int64_t> DecodeValue(std::string_view bytes) {
  EXPECT_GE(bytes.size(), 8u);
  if (bytes.size() < 8) return {-1, -1};
  uint64_t u = 0;
  for (unsigned char c : bytes.substr(0, 8)) u = (u << 8) | c;
  int64_t agg = 0;
  EXPECT_TRUE(Serdes::Int64()->Deserialize(bytes.substr(8), &agg).ok());
  return {agg, static_cast<int64_t>(u)};
}

std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> StoreContents(
    TopologyTestDriver& driver, const S& store) {
  std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> out;
  auto* ws = dynamic_cast<state::WindowStore*>(driver.GetStateStore(store));
  EXPECT_NE(ws, nullptr) << store;
  if (ws == nullptr) return out;
  auto it = ws->FetchAll(0, int64_t{1} << 40);
  for (; it->Valid(); it->Next()) {
    out.emplace(std::make_pair(S(it->key()), it->window_start()), DecodeValue(it->value()));
  }
  EXPECT_TRUE(it->status().ok());
  return out;
}

Topology Build(EmitStrategy emit, bool reduce, const S& store) {
  StreamsBuilder builder;
  auto windowed = builder.Stream<S, int64_t>("in", Consumed<S, int64_t>::With(Serdes::String(),
                                                                              Serdes::Int64()))
                      .GroupByKey()
                      .WindowedBy(kWindows)
                      .WithEmitStrategy(emit);
  auto table = reduce ? windowed.Reduce([](int64_t a, int64_t b) { return a + b; },
                                        Materialized<S, int64_t>::As(store))
                      : windowed.Count(Materialized<S, int64_t>::As(store));
  table.ToStream().To("out");
  return builder.Build();
}

SerdePtr<Windowed<S>> KeySerde() {
  return std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), kWindows.time_difference_ms());
}

class SlidingWindowTest : public ::testing::TestWithParam<bool /*reduce*/> {};

// Every update, late windows skipped and counted, store contents, changelog.
TEST_P(SlidingWindowTest, EmitsEveryUpdateAndSkipsClosedWindows) {
  const bool reduce = GetParam();
  TopologyTestDriver driver(Build(EmitStrategy::kOnWindowUpdate, reduce, "w"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", KeySerde(), Serdes::Nullable(Serdes::Int64()));
  Model model;
  std::vector<Row> expected;
  for (size_t i = 0; i < kInput.size(); ++i) {
    const int64_t value = reduce ? int64_t(i) + 1 : 1;
    ASSERT_TRUE(in.PipeInput(kInput[i].key, value, kInput[i].ts).ok());
    std::vector<Row> rows = model.Add(kInput[i].key, kInput[i].ts, value);
    EXPECT_EQ(ReadRows(out), rows) << "after input " << i << " at " << kInput[i].ts;
    for (Row& r : rows) expected.push_back(std::move(r));
  }
  EXPECT_GE(model.dropped, 3u);
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  EXPECT_EQ(StoreContents(driver, "w"), model.Retained());

  // One changelog record per update: EncodeWindowKey, value = time + aggregate.
  auto& changelog = driver.OutputQueue("test-app-w-changelog");
  std::vector<Row> logged;
  for (const auto& record : changelog) {
    EXPECT_TRUE(record.key && record.value);
    if (!record.key || !record.value) continue;
    state::WindowKeyView key;
    EXPECT_TRUE(state::DecodeWindowKey(*record.key, false, &key).ok());
    const auto [agg, time] = DecodeValue(*record.value);
    logged.emplace_back(S(key.key), key.window_start, key.window_start + 10, agg, time);
  }
  std::sort(logged.begin(), logged.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(logged, expected);
}

// Exactly one final result per window, when it closes.
TEST_P(SlidingWindowTest, EmitsEachWindowOnceWhenItCloses) {
  const bool reduce = GetParam();
  TopologyTestDriver driver(Build(EmitStrategy::kOnWindowClose, reduce, "final"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", KeySerde(), Serdes::Nullable(Serdes::Int64()));
  Model model;
  size_t total = 0;
  for (size_t i = 0; i < kInput.size(); ++i) {
    const int64_t value = reduce ? int64_t(i) + 1 : 1;
    ASSERT_TRUE(in.PipeInput(kInput[i].key, value, kInput[i].ts).ok());
    model.Add(kInput[i].key, kInput[i].ts, value);
    const std::vector<Row> closed = model.Close();
    EXPECT_EQ(ReadRows(out), closed) << "after input " << i << " at " << kInput[i].ts;
    total += closed.size();
  }
  EXPECT_GE(total, 10u);
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  ASSERT_TRUE(in.PipeInput("z", 1, 1000).ok());
  model.Add("z", 1000, 1);
  EXPECT_EQ(ReadRows(out), model.Close());
  for (const auto& [window, value] : model.windows) {
    EXPECT_EQ(model.emitted.count(window), window.first == "z" ? 0u : 1u) << window.first;
  }
  EXPECT_EQ(StoreContents(driver, "final"), model.Retained());
}

INSTANTIATE_TEST_SUITE_P(Aggregations, SlidingWindowTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return std::string(param_info.param ? "SumReduce" : "Count");
                         });

// After a restart from local state, the emitted-up-to point is recomputed
// from the store's expiry horizon: no final result is repeated or lost.
TEST(SlidingWindowTest, EmitOnCloseAfterARestartNeitherRepeatsNorLosesWindows) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("eventflow-sliding-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TestDriverOptions options;
  options.state_dir = dir;
  Model model;
  std::vector<Row> got;
  auto run = [&](const std::vector<Input>& inputs) {
    TopologyTestDriver driver(Build(EmitStrategy::kOnWindowClose, false, "final"), options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
    auto out = driver.CreateOutputTopic("out", KeySerde(), Serdes::Nullable(Serdes::Int64()));
    for (const Input& input : inputs) {
      ASSERT_TRUE(in.PipeInput(input.key, 1, input.ts).ok());
      model.Add(input.key, input.ts, 1);
    }
    for (Row& r : ReadRows(out)) got.push_back(std::move(r));
  };
  run({{"a", 3}, {"a", 8}, {"a", 15}, {"b", 20}, {"a", 40}});  // horizon 5: emitted to 24
  run({{"a", 45}, {"b", 60}, {"c", 200}});
  std::filesystem::remove_all(dir);
  std::sort(got.begin(), got.end());
  const std::vector<Row> expected = model.Close();
  EXPECT_GE(expected.size(), 8u);
  EXPECT_EQ(got, expected);
}

// Aggregate with an initializer; a worked example of Kafka's windows.
TEST(SlidingWindowTest, AggregateBuildsLeftAndRightWindows) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(SlidingWindows::OfTimeDifferenceWithNoGrace(milliseconds(10)))
      .Aggregate([] { return S("<"); },
                 [](const S&, const S& v, const S& agg) { return agg + v; },
                 Materialized<S, S>::As("concat"))
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("k", "x", 100).ok());
  ASSERT_TRUE(in.PipeInput("k", "y", 105).ok());
  auto out = driver.CreateOutputTopic("out", KeySerde(), Serdes::Nullable(Serdes::String()));
  auto records = out.ReadKeyValuesToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  using KV = std::pair<Windowed<S>, std::optional<S>>;
  EXPECT_EQ(*records, (std::vector<KV>{{{"k", 90, 100}, "<x"},       // x's left window
                                       {{"k", 101, 111}, "<y"},      // x's right window
                                       {{"k", 95, 105}, "<xy"}}));   // y's left window
}

TEST(SlidingWindowTest, InvalidWindowsAreATopologyError) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(SlidingWindows::OfTimeDifferenceAndGrace(milliseconds(5), milliseconds(-1)))
      .Count();
  const Status status = builder.Build().Validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("grace"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace eventflow::streams
