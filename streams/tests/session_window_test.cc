// Session windows: KGroupedStream::WindowedBy(SessionWindows) →
// SessionWindowedKStream Count/Reduce/Aggregate → KTable<Windowed<K>, VA>,
// through TopologyTestDriver. Inputs are a table (in order, out of order
// within grace, late beyond grace, merges, a record bridging two sessions, a
// record near a closed session); every expected output is computed by the
// Model below, a few lines of plain code independent of the library.
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

#include "eventflow/state/session_store.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;
// (key, start, end, value or nullopt for a tombstone): one forwarded result.
using Row = std::tuple<S, int64_t, int64_t, std::optional<int64_t>>;

struct Input {
  S key;
  int64_t ts;
};

// Gap 5, grace 3: a session [s, e] closes when e + 5 + 1 + 3 <= stream time.
const SessionWindows kWindows =
    SessionWindows::OfInactivityGapAndGrace(milliseconds(5), milliseconds(3));
const std::vector<Input> kInput = {
    {"a", 1},  {"a", 4},            // in order: [1,1] grows to [1,4]
    {"b", 2},                       // out of order within grace
    {"a", 12},                      // a new session (12 - 4 > gap)
    {"a", 8},                       // bridges [1,4] and [12,12] into [1,12]
    {"a", 10},                      // inside [1,12]: same window, no tombstone
    {"c", 11}, {"b", 20},           // stream time 20 closes b [2,2] and c [11,11]
    {"a", 9},                       // late on its own, but joins the open [1,12]
    {"b", 5},                       // late: its session would be closed
    {"c", 15},                      // within the gap of the closed c [11,11]: a new session
    {"a", 22},                      // closes a [1,12]; new [22,22]
    {"a", 17},                      // near the closed [1,12], joins [22,22] → [17,22]
    {"c", 40},                      // closes almost everything
    {"a", 30},                      // late: a [17,22] closed
    {"b", 38}, {"b", 41}};

// The reference model: sessions per key, a record joins every open session
// whose [start - gap, end + gap] contains it; closed sessions are final.
struct Model {
  int64_t gap = kWindows.inactivity_gap_ms();
  int64_t grace = kWindows.grace_ms();
  int64_t now = -1;
  uint64_t dropped = 0;
  std::map<S, std::map<std::pair<int64_t, int64_t>, int64_t>> sessions;  // (end, start) → agg
  std::set<std::tuple<S, int64_t, int64_t>> emitted;

  bool Closed(int64_t end) const { return end + gap + 1 + grace <= now; }

  // Applies a record of `value` (sum; Count passes 1); returns the rows
  // forwarded on update: tombstones of the merged-away sessions, then the
  // merged session.
  std::vector<Row> Add(const S& key, int64_t ts, int64_t value) {
    now = std::max(now, ts);
    auto& mine = sessions[key];
    std::vector<std::pair<int64_t, int64_t>> joined;  // (end, start), ascending
    int64_t start = ts, end = ts, agg = value;
    for (const auto& [window, v] : mine) {
      const auto [e, s] = window;
      if (Closed(e) || ts < s - gap || ts > e + gap) continue;
      joined.push_back(window);
      start = std::min(start, s);
      end = std::max(end, e);
      agg += v;
    }
    if (Closed(end)) {
      ++dropped;
      return {};
    }
    std::vector<Row> rows;
    for (const auto& window : joined) {
      mine.erase(window);
      if (window != std::make_pair(end, start)) {
        rows.emplace_back(key, window.second, window.first, std::nullopt);
      }
    }
    mine[{end, start}] = agg;
    rows.emplace_back(key, start, end, agg);
    return rows;
  }
  // Sessions closed by now and not emitted before, sorted.
  std::vector<Row> Close() {
    std::vector<Row> out;
    for (const auto& [key, mine] : sessions) {
      for (const auto& [window, v] : mine) {
        if (Closed(window.first) && emitted.emplace(key, window.second, window.first).second) {
          out.emplace_back(key, window.second, window.first, v);
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Open sessions (the store keeps exactly these), as (key, start, end) → agg.
  std::map<std::tuple<S, int64_t, int64_t>, int64_t> Open() const {
    std::map<std::tuple<S, int64_t, int64_t>, int64_t> out;
    for (const auto& [key, mine] : sessions) {
      for (const auto& [window, v] : mine) {
        if (!Closed(window.first)) out.emplace(std::make_tuple(key, window.second, window.first), v);
      }
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
    EXPECT_EQ(r.timestamp, r.key.end) << "session results carry the session end as timestamp";
    rows.emplace_back(r.key.key, r.key.start, r.key.end, r.value);
  }
  return rows;
}

// Every session of `keys` in the session store `store`, as int64 aggregates.
std::map<std::tuple<S, int64_t, int64_t>, int64_t> StoreContents(TopologyTestDriver& driver,
                                                                 const S& store,
                                                                 const std::set<S>& keys) {
  std::map<std::tuple<S, int64_t, int64_t>, int64_t> out;
  auto* ss = dynamic_cast<state::SessionStore*>(driver.GetStateStore(store));
  EXPECT_NE(ss, nullptr) << store;
  if (ss == nullptr) return out;
  for (const S& key : keys) {
    auto it = ss->FetchAll(key);
    for (; it->Valid(); it->Next()) {
      int64_t v = 0;
      EXPECT_TRUE(Serdes::Int64()->Deserialize(it->value(), &v).ok());
      out.emplace(std::make_tuple(S(it->key()), it->start(), it->end()), v);
    }
    EXPECT_TRUE(it->status().ok());
  }
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

SerdePtr<Windowed<S>> SessionKeySerde() {
  return std::make_shared<SessionWindowedSerde<S>>(Serdes::String());
}

class SessionWindowTest : public ::testing::TestWithParam<bool /*reduce*/> {};

// Every update (tombstones for merged-away sessions), late records dropped
// and counted, store contents and the changelog.
TEST_P(SessionWindowTest, EmitsEveryUpdateMergesSessionsAndDropsLateRecords) {
  const bool reduce = GetParam();
  TopologyTestDriver driver(Build(EmitStrategy::kOnWindowUpdate, reduce, "s"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", SessionKeySerde(), Serdes::Nullable(Serdes::Int64()));
  Model model;
  std::vector<Row> expected;
  std::set<S> keys;
  for (size_t i = 0; i < kInput.size(); ++i) {
    const int64_t value = reduce ? int64_t(i) + 1 : 1;
    ASSERT_TRUE(in.PipeInput(kInput[i].key, value, kInput[i].ts).ok());
    std::vector<Row> rows = model.Add(kInput[i].key, kInput[i].ts, value);
    EXPECT_EQ(ReadRows(out), rows) << "after input " << i << " at " << kInput[i].ts;
    for (Row& r : rows) expected.push_back(std::move(r));
    keys.insert(kInput[i].key);
  }
  EXPECT_EQ(model.dropped, 2u);  // the table has two late records
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  EXPECT_EQ(StoreContents(driver, "s", keys), model.Open());
  EXPECT_FALSE(model.Open().empty());

  // The changelog mirrors the updates: a tombstone per removed session, the
  // merged session's aggregate, keyed by EncodeSessionKey.
  auto& changelog = driver.OutputQueue("test-app-s-changelog");
  ASSERT_EQ(changelog.size(), expected.size());
  size_t tombstones = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_TRUE(changelog[i].key);
    state::SessionKeyView key;
    ASSERT_TRUE(state::DecodeSessionKey(*changelog[i].key, &key).ok());
    EXPECT_EQ(S(key.key), std::get<0>(expected[i]));
    EXPECT_EQ(key.start, std::get<1>(expected[i]));
    EXPECT_EQ(key.end, std::get<2>(expected[i]));
    ASSERT_EQ(changelog[i].value.has_value(), std::get<3>(expected[i]).has_value()) << i;
    if (!changelog[i].value) {
      ++tombstones;
      continue;
    }
    int64_t v = 0;
    ASSERT_TRUE(Serdes::Int64()->Deserialize(*changelog[i].value, &v).ok());
    EXPECT_EQ(v, *std::get<3>(expected[i]));
  }
  EXPECT_GE(tombstones, 3u);  // [1,1], the bridged [1,4] and [12,12], ...
}

// Exactly one final result per session, when it closes; none for late
// records or sessions merged away before closing.
TEST_P(SessionWindowTest, EmitsEachSessionOnceWhenItCloses) {
  const bool reduce = GetParam();
  TopologyTestDriver driver(Build(EmitStrategy::kOnWindowClose, reduce, "final"));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", SessionKeySerde(), Serdes::Nullable(Serdes::Int64()));
  Model model;
  size_t total = 0;
  std::set<S> keys;
  for (size_t i = 0; i < kInput.size(); ++i) {
    const int64_t value = reduce ? int64_t(i) + 1 : 1;
    ASSERT_TRUE(in.PipeInput(kInput[i].key, value, kInput[i].ts).ok());
    model.Add(kInput[i].key, kInput[i].ts, value);
    keys.insert(kInput[i].key);
    std::vector<Row> got = ReadRows(out);
    std::sort(got.begin(), got.end());
    const std::vector<Row> closed = model.Close();
    EXPECT_EQ(got, closed) << "after input " << i << " at " << kInput[i].ts;
    total += closed.size();
  }
  EXPECT_GE(total, 4u);
  EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  EXPECT_EQ(StoreContents(driver, "final", keys), model.Open());
  // A record far ahead closes every session; each is emitted exactly once.
  ASSERT_TRUE(in.PipeInput("z", 1, 1000).ok());
  model.Add("z", 1000, 1);
  std::vector<Row> got = ReadRows(out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, model.Close());
  size_t sessions = 0;
  for (const auto& [key, mine] : model.sessions) {
    for (const auto& [window, v] : mine) {
      ++sessions;
      EXPECT_EQ(model.emitted.count({key, window.second, window.first}), key == "z" ? 0u : 1u);
    }
  }
  EXPECT_EQ(model.emitted.size(), sessions - 1);
  keys.insert("z");
  EXPECT_EQ(StoreContents(driver, "final", keys), model.Open());
}

// After a restart from local state, sessions closing later are found by a
// scan of the store (not an in-memory index): a session open at the restart
// and never touched again is still emitted, and nothing is emitted twice.
TEST(SessionWindowRestartTest, EmitOnCloseAfterARestartNeitherRepeatsNorLosesSessions) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("eventflow-session-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TestDriverOptions options;
  options.state_dir = dir;
  Model model;
  std::vector<Row> got;
  auto run = [&](const std::vector<Input>& inputs) {
    TopologyTestDriver driver(Build(EmitStrategy::kOnWindowClose, false, "final"), options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
    auto out =
        driver.CreateOutputTopic("out", SessionKeySerde(), Serdes::Nullable(Serdes::Int64()));
    for (const Input& input : inputs) {
      ASSERT_TRUE(in.PipeInput(input.key, 1, input.ts).ok());
      model.Add(input.key, input.ts, 1);
    }
    for (Row& r : ReadRows(out)) got.push_back(std::move(r));
  };
  // "b" [3,5] and "c" [6,6] are open at the restart; "c" is never touched again.
  run({{"a", 1}, {"b", 3}, {"b", 5}, {"c", 6}, {"a", 30}});  // closes a [1,1] only
  run({{"b", 7}, {"a", 33}, {"d", 100}});
  std::filesystem::remove_all(dir);
  std::sort(got.begin(), got.end());
  std::vector<Row> expected = model.Close();
  std::sort(expected.begin(), expected.end());
  EXPECT_GE(expected.size(), 4u);
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Aggregations, SessionWindowTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return std::string(param_info.param ? "SumReduce" : "Count");
                         });

// Aggregate: initializer, aggregator and merger in Kafka's order — a record
// joining sessions starts from initializer() merged with each session (by
// end), then the aggregator. Without grace, a session closed before the
// bridging record arrives is final and is not merged.
TEST(SessionWindowTest, AggregateMergesOpenSessionsWithTheMergerInStoreOrder) {
  using KV = std::pair<Windowed<S>, std::optional<S>>;
  auto run = [](milliseconds grace) {
    StreamsBuilder builder;
    builder.Stream<S, S>("in")
        .GroupByKey()
        .WindowedBy(SessionWindows::OfInactivityGapAndGrace(milliseconds(10), grace))
        .Aggregate([] { return S("<"); },
                   [](const S&, const S& v, const S& agg) { return agg + v; },
                   [](const S&, const S& a, const S& b) { return a + "|" + b; },
                   Materialized<S, S>::As("concat"))
        .ToStream()
        .To("out");
    TopologyTestDriver driver(builder.Build());
    EXPECT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
    EXPECT_TRUE(in.PipeInput("k", "x", 100).ok());
    EXPECT_TRUE(in.PipeInput("k", "y", 118).ok());
    EXPECT_TRUE(in.PipeInput("k", "z", 109).ok());  // within the gap of both
    auto out =
        driver.CreateOutputTopic("out", SessionKeySerde(), Serdes::Nullable(Serdes::String()));
    auto records = out.ReadKeyValuesToList();
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    return records.ok() ? *records : std::vector<KV>{};
  };
  // Grace 20: [100,100] is open (it closes at 100 + 10 + 1 + 20); z bridges.
  EXPECT_EQ(run(milliseconds(20)), (std::vector<KV>{{{"k", 100, 100}, "<x"},
                                                    {{"k", 118, 118}, "<y"},
                                                    {{"k", 100, 100}, std::nullopt},
                                                    {{"k", 118, 118}, std::nullopt},
                                                    {{"k", 100, 118}, "<|<x|<yz"}}));
  // No grace: [100,100] closed at 111 <= 118; z only joins [118,118].
  EXPECT_EQ(run(milliseconds(0)), (std::vector<KV>{{{"k", 100, 100}, "<x"},
                                                   {{"k", 118, 118}, "<y"},
                                                   {{"k", 118, 118}, std::nullopt},
                                                   {{"k", 109, 118}, "<|<yz"}}));
}

// Kafka's SessionWindowedSerde layout: key bytes, end, start (8 bytes BE each).
TEST(SessionWindowTest, SessionWindowedSerdeUsesKafkasLayout) {
  SessionWindowedSerde<S> serde(Serdes::String());
  S bytes;
  ASSERT_TRUE(serde.Serialize(Windowed<S>{"k", 0x0102, 0x0a0b0c}, &bytes));
  EXPECT_EQ(bytes, S("k") + S("\0\0\0\0\0\x0a\x0b\x0c", 8) + S("\0\0\0\0\0\0\x01\x02", 8));
  Windowed<S> back;
  ASSERT_TRUE(serde.Deserialize(bytes, &back).ok());
  EXPECT_EQ(back, (Windowed<S>{"k", 0x0102, 0x0a0b0c}));
  EXPECT_FALSE(serde.Deserialize(std::string_view("short"), &back).ok());
}

TEST(SessionWindowTest, InvalidWindowsAreATopologyError) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(SessionWindows::OfInactivityGapAndGrace(milliseconds(0), milliseconds(1)))
      .Count();
  const Status status = builder.Build().Validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("inactivity gap"), std::string::npos) << status.ToString();
}

// The store is a session store whose retention lets a session expire
// exactly when it closes: gap + grace + 1.
TEST(SessionWindowTest, DeclaresASessionStoreWithGapPlusGraceRetention) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in").GroupByKey().WindowedBy(kWindows).Count(
      Materialized<S, int64_t>::As("sessions"));
  Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok());
  TopologyTestDriver driver(std::move(topology));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto* store = dynamic_cast<state::SessionStore*>(driver.GetStateStore("sessions"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->retention(), 5 + 3 + 1);
}

}  // namespace
}  // namespace eventflow::streams
