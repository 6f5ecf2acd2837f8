// KTable::Suppress through TopologyTestDriver: final results of windowed
// tables (UntilWindowCloses) and time-limited updates (UntilTimeLimit), with
// and without the record cache upstream, tombstones, bounded buffers,
// restarts from local state and restores from the changelogs alone. Every
// expected output is computed in the test by a few lines of plain code over
// the input (the models below), independently of the library: one task,
// one input partition, so the window-close clock is the largest time seen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;

constexpr int64_t kSize = 10;
constexpr int64_t kGrace = 5;

// (key, window start, window end, value): one forwarded windowed result.
using Row = std::tuple<S, int64_t, int64_t, int64_t>;

struct Input {
  S key;
  int64_t ts;
};

// Seeded input: times mostly increasing, some out of order within grace,
// some late beyond it.
std::vector<Input> MakeInput(uint32_t seed, size_t n, int64_t start = 0) {
  std::mt19937 rng(seed);
  const std::vector<S> keys = {"a", "b", "c", "d", "ab"};
  std::vector<Input> out;
  int64_t now = start;
  for (size_t i = 0; i < n; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 4)(rng);
    int64_t ts = now;
    const int r = std::uniform_int_distribution<int>(0, 9)(rng);
    if (r == 0) ts = std::max<int64_t>(start, now - 25);  // late
    if (r == 1 || r == 2) ts = std::max<int64_t>(start, now - 4);  // out of order
    out.push_back({keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)], ts});
  }
  return out;
}

// The reference model of Count per tumbling window + Suppress(UntilWindowCloses):
// a window [s, s + size) takes records until s + size + grace <= the largest
// time seen; it is forwarded once, with its final count, when that happens;
// windows closing together in order of key (the buffer's key bytes order).
// `cap`: the table goes through Filter(count < cap) first, so a window whose
// final count reaches cap has a tombstone as latest update: nothing forwarded.
struct FinalModel {
  int64_t cap = INT64_MAX;
  int64_t stream_time = -1;
  uint64_t dropped = 0;
  std::map<std::pair<S, int64_t>, int64_t> count;  // (key, start) → count
  std::set<std::pair<S, int64_t>> closed;

  void Add(const Input& in) {
    stream_time = std::max(stream_time, in.ts);
    const int64_t s = in.ts - in.ts % kSize;
    if (s + kSize + kGrace <= stream_time) {
      ++dropped;
      return;
    }
    ++count[{in.key, s}];
  }
  // The windows closed by now and not before, in emission order.
  std::vector<Row> Close() {
    std::vector<std::pair<std::tuple<int64_t, S, int64_t>, Row>> out;
    for (const auto& [window, n] : count) {
      const auto& [key, s] = window;
      if (s + kSize + kGrace > stream_time || !closed.insert(window).second) continue;
      if (n >= cap) continue;  // the latest update was a tombstone
      out.push_back({{s + kSize + kGrace, key, s}, Row{key, s, s + kSize, n}});
    }
    std::sort(out.begin(), out.end());
    std::vector<Row> rows;
    for (auto& [order, row] : out) rows.push_back(std::move(row));
    return rows;
  }
};

SerdePtr<Windowed<S>> WindowedString() {
  return std::make_shared<TimeWindowedSerde<S>>(Serdes::String(), kSize);
}

std::vector<Row> ReadRows(TestOutputTopic<Windowed<S>, std::optional<int64_t>>& out) {
  std::vector<Row> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (const auto& r : *records) {
    EXPECT_TRUE(r.value.has_value()) << "a final result is never a tombstone";
    rows.emplace_back(r.key.key, r.key.start, r.key.end, r.value.value_or(-1));
  }
  return rows;
}

// in → GroupByKey → 10 ms tumbling windows, 5 ms grace → Count ("counts",
// caching as given) [→ Filter(count < cap)] → Suppress(UntilWindowCloses) → out.
Topology BuildFinal(bool caching, int64_t cap = INT64_MAX,
                    BufferConfig buffer = BufferConfig::Unbounded()) {
  StreamsBuilder builder;
  auto materialized = Materialized<S, int64_t>::As("counts");
  if (!caching) materialized = materialized.WithCachingDisabled();
  auto counts = builder.Stream<S, int64_t>("in")
                    .GroupByKey()
                    .WindowedBy(TimeWindows::OfSizeAndGrace(milliseconds(kSize),
                                                            milliseconds(kGrace)))
                    .Count(materialized);
  if (cap != INT64_MAX) {
    counts = counts.Filter([cap](const Windowed<S>&, const int64_t& n) { return n < cap; });
  }
  counts.Suppress(Suppressed::UntilWindowCloses(buffer).WithName("final"))
      .ToStream()
      .To("out");
  return builder.Build();
}

struct FinalCase {
  const char* name;
  bool caching;          // the counts go through the record cache
  bool commit_every;     // the driver commits (flushes the cache) after every input
  int64_t cap;           // Filter(count < cap) before the suppression
};

class SuppressFinalTest : public ::testing::TestWithParam<FinalCase> {};

// Each window's final count, once, right after the record that closed it —
// also when the counts' updates wait in the record cache until a commit
// (the cache is flushed as windows close), and with tombstones.
TEST_P(SuppressFinalTest, ForwardsEachWindowsFinalResultOnceWhenItCloses) {
  const FinalCase& c = GetParam();
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TestDriverOptions options;
    options.commit_every_input = c.commit_every;
    TopologyTestDriver driver(BuildFinal(c.caching, c.cap), options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
    auto out =
        driver.CreateOutputTopic("out", WindowedString(), Serdes::Nullable(Serdes::Int64()));
    FinalModel model;
    model.cap = c.cap;
    const std::vector<Input> input = MakeInput(seed, 300);
    size_t total = 0;
    for (size_t i = 0; i < input.size(); ++i) {
      ASSERT_TRUE(in.PipeInput(input[i].key, 1, input[i].ts).ok());
      model.Add(input[i]);
      const std::vector<Row> expected = model.Close();
      ASSERT_EQ(ReadRows(out), expected) << "after input " << i << " at " << input[i].ts;
      total += expected.size();
      if (!c.commit_every && i % 7 == 6) {
        ASSERT_TRUE(driver.Commit().ok());
      }
    }
    EXPECT_GT(total, 20u);
    EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
    EXPECT_GT(model.dropped, 0u);
    // Nothing more at a commit; a record far ahead closes every window left.
    ASSERT_TRUE(driver.Commit().ok());
    EXPECT_TRUE(ReadRows(out).empty());
    ASSERT_TRUE(in.PipeInput("z", 1, 100000).ok());
    model.Add({"z", 100000});
    EXPECT_EQ(ReadRows(out), model.Close());
    // The buffer holds only the open window of "z" (once the cache flushed).
    ASSERT_TRUE(driver.Commit().ok());
    EXPECT_TRUE(ReadRows(out).empty());
    auto* buffer = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("final-store"));
    ASSERT_NE(buffer, nullptr);
    size_t entries = 0;
    for (auto it = buffer->All(); it->Valid(); it->Next()) ++entries;
    EXPECT_EQ(entries, 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Upstream, SuppressFinalTest,
    ::testing::Values(FinalCase{"NoCache", false, true, INT64_MAX},
                      FinalCase{"CacheFlushedEveryInput", true, true, INT64_MAX},
                      FinalCase{"CacheFlushedEverySevenInputs", true, false, INT64_MAX},
                      FinalCase{"TombstonesNoCache", false, true, 3},
                      FinalCase{"TombstonesCache", true, false, 3}),
    [](const ::testing::TestParamInfo<FinalCase>& param) { return std::string(param.param.name); });

// The reference model of Suppress(UntilTimeLimit(wait)) over a source table:
// the table forwards every value and the tombstones of keys it holds; a key's
// update waits until the largest time seen reaches the time of its first
// buffered update + wait (later updates replace the value, not the time),
// then its latest value (or tombstone) is forwarded; due together: by key.
// `max_records`: a full buffer forwards the entries due first early.
struct TimeLimitModel {
  int64_t wait = 0;
  std::optional<size_t> max_records;
  int64_t stream_time = -1;
  std::map<S, int64_t> table;
  struct Buffered {
    int64_t due;
    std::optional<int64_t> value;
    int64_t ts;
  };
  std::map<S, Buffered> buffer;

  using Out = std::tuple<S, std::optional<int64_t>, int64_t>;  // key, value, timestamp

  std::vector<Out> Add(const S& key, std::optional<int64_t> value, int64_t ts) {
    stream_time = std::max(stream_time, ts);
    std::vector<Out> out;
    if (!value && !table.count(key)) return Evict(out);  // nothing disappears
    if (value) {
      table[key] = *value;
    } else {
      table.erase(key);
    }
    auto it = buffer.find(key);
    if (it == buffer.end()) {
      buffer.emplace(key, Buffered{ts + wait, value, ts});
    } else {
      it->second.value = value;
      it->second.ts = ts;
    }
    while (max_records && buffer.size() > *max_records) EmitFirst(&out);
    return Evict(out);
  }
  std::vector<Out>& Evict(std::vector<Out>& out) {
    while (!buffer.empty() && First()->second.due <= stream_time) EmitFirst(&out);
    return out;
  }
  std::map<S, Buffered>::iterator First() {
    return std::min_element(buffer.begin(), buffer.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second.due, a.first) < std::tie(b.second.due, b.first);
    });
  }
  void EmitFirst(std::vector<Out>* out) {
    auto it = First();
    out->emplace_back(it->first, it->second.value, it->second.ts);
    buffer.erase(it);
  }
};

struct TableInput {
  S key;
  std::optional<int64_t> value;  // nullopt: a tombstone
  int64_t ts;
};

std::vector<TableInput> MakeTableInput(uint32_t seed, size_t n, int64_t start) {
  std::mt19937 rng(seed);
  const std::vector<S> keys = {"a", "b", "c", "d", "e"};
  std::vector<TableInput> out;
  int64_t now = start;
  for (size_t i = 0; i < n; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 3)(rng);
    int64_t ts = now - std::uniform_int_distribution<int64_t>(0, 2)(rng) * 3;
    ts = std::max(ts, start);
    std::optional<int64_t> value;
    if (std::uniform_int_distribution<int>(0, 5)(rng) != 0) value = int64_t(i);
    out.push_back({keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)], value, ts});
  }
  return out;
}

Topology BuildTimeLimit(int64_t wait, BufferConfig buffer) {
  StreamsBuilder builder;
  builder.Table<S, int64_t>("in", {}, Materialized<S, int64_t>::As("table"))
      .Suppress(Suppressed::UntilTimeLimit(milliseconds(wait), buffer).WithName("limited"))
      .ToStream()
      .To("out");
  return builder.Build();
}

std::vector<TimeLimitModel::Out> ReadOut(TestOutputTopic<S, std::optional<int64_t>>& out) {
  std::vector<TimeLimitModel::Out> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (const auto& r : *records) rows.emplace_back(r.key, r.value, r.timestamp);
  return rows;
}

Status Pipe(TestInputTopic<S, int64_t>& in, const TableInput& input) {
  return input.value ? in.PipeInput(input.key, *input.value, input.ts)
                     : in.PipeTombstone(input.key, input.ts);
}

// Each key's latest update (tombstones too) once the time limit since its
// first buffered update passed; with a bounded buffer, early when full.
TEST(SuppressTimeLimitTest, ForwardsTheLatestUpdateOnceTheTimeLimitPassed) {
  for (const std::optional<size_t> max_records : {std::optional<size_t>(), std::optional<size_t>(2)}) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed) +
                   (max_records ? ", at most 2 records" : ", unbounded"));
      const int64_t wait = 7;
      BufferConfig buffer = max_records ? BufferConfig::MaxRecords(2) : BufferConfig::Unbounded();
      TopologyTestDriver driver(BuildTimeLimit(wait, buffer));
      ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
      auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
      auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::Int64()));
      TimeLimitModel model;
      model.wait = wait;
      model.max_records = max_records;
      size_t tombstones = 0;
      size_t total = 0;
      for (const TableInput& input : MakeTableInput(seed, 200, 0)) {
        ASSERT_TRUE(Pipe(in, input).ok());
        const auto expected = model.Add(input.key, input.value, input.ts);
        ASSERT_EQ(ReadOut(out), expected) << input.key << " at " << input.ts;
        for (const auto& e : expected) tombstones += !std::get<1>(e).has_value();
        total += expected.size();
      }
      EXPECT_GT(total, 30u);
      EXPECT_GT(tombstones, 0u);
    }
  }
}

TEST(SuppressTimeLimitTest, AFullBufferThatShutsDownStopsTheTaskNamingTheNode) {
  TestDriverOptions options;
  options.processing_errors = ErrorPolicy::kDeadLetter;  // a full buffer stops the task anyway
  TopologyTestDriver driver(
      BuildTimeLimit(1000, BufferConfig::MaxRecords(2).ShutDownWhenFull()), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  ASSERT_TRUE(in.PipeInput("a", 1, 10).ok());
  ASSERT_TRUE(in.PipeInput("b", 1, 11).ok());
  ASSERT_TRUE(in.PipeInput("a", 2, 12).ok());  // replaces a's update: still 2 keys
  const Status full = in.PipeInput("c", 1, 13);
  EXPECT_FALSE(full.ok());
  EXPECT_NE(full.ToString().find("\"limited\""), std::string::npos) << full.ToString();
  EXPECT_NE(full.ToString().find("is full"), std::string::npos) << full.ToString();
}

// The changelogs of a topology's stores, as a restore consumer would read them.
std::map<S, std::vector<TestRecord>> Changelogs(TopologyTestDriver& driver, const Topology& t) {
  std::map<S, std::vector<TestRecord>> out;
  for (const StoreSpec& store : t.stores()) {
    auto& queue = driver.OutputQueue(ChangelogTopic("test-app", store.name));
    out[store.name].assign(queue.begin(), queue.end());
  }
  return out;
}

// Rebuilds every store of `t` (task 0_0) under `dir` from `changelogs` only.
void RestoreAll(const Topology& t, const std::map<S, std::vector<TestRecord>>& changelogs,
                const std::filesystem::path& dir) {
  for (const StoreSpec& spec : t.stores()) {
    state::StoreOptions options;
    options.name = spec.name;
    options.state_dir = dir;
    options.application_id = "test-app";
    options.task_id = "0_0";
    std::unique_ptr<state::StateStore> store;
    if (spec.kind == StoreSpec::Kind::kKeyValue) {
      auto opened = state::OpenKeyValueStore(options);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      store = std::move(*opened);
    } else {
      state::WindowStoreOptions window;
      window.retention = spec.retention;
      auto opened = state::OpenWindowStore(options, window);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      store = std::move(*opened);
    }
    std::vector<state::ChangelogRecord> records;
    for (const TestRecord& r : changelogs.at(spec.name)) {
      records.push_back({*r.key, r.value ? std::optional<std::string_view>(*r.value)
                                         : std::nullopt});
    }
    ASSERT_TRUE(store->RestoreBatch(records, static_cast<int64_t>(records.size())).ok());
  }
}

std::filesystem::path TempDir(const char* what) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("eventflow-suppress-" + S(what) + "-" +
                                     std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Buffered updates survive a restart from local state and a restore from the
// changelogs alone: the output across the restart is the model's.
TEST(SuppressRestartTest, BufferedFinalResultsSurviveARestartAndARestore) {
  for (const bool restore : {false, true}) {
    SCOPED_TRACE(restore ? "restored from the changelogs" : "restarted from local state");
    const std::filesystem::path dir = TempDir(restore ? "final-restore" : "final-restart");
    const std::filesystem::path restored = TempDir("final-restored");
    const Topology topology = BuildFinal(/*caching=*/true);
    FinalModel model;
    std::vector<Row> got, expected;
    auto run = [&](const std::vector<Input>& input, const std::filesystem::path& state,
                   std::map<S, std::vector<TestRecord>>* changelogs) {
      TestDriverOptions options;
      options.state_dir = state;
      TopologyTestDriver driver(topology, options);
      ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
      auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
      auto out =
          driver.CreateOutputTopic("out", WindowedString(), Serdes::Nullable(Serdes::Int64()));
      for (const Input& i : input) {
        ASSERT_TRUE(in.PipeInput(i.key, 1, i.ts).ok());
        model.Add(i);
        for (Row& r : model.Close()) expected.push_back(std::move(r));
      }
      for (Row& r : ReadRows(out)) got.push_back(std::move(r));
      if (changelogs != nullptr) *changelogs = Changelogs(driver, topology);
    };
    // Phase 2 starts at the largest time of phase 1: the driver keeps no
    // stream time across a restart (the runtime does, in its offsets).
    const std::vector<Input> first = MakeInput(7, 150);
    int64_t max_time = 0;
    for (const Input& i : first) max_time = std::max(max_time, i.ts);
    std::map<S, std::vector<TestRecord>> changelogs;
    run(first, dir, &changelogs);
    ASSERT_FALSE(got.empty());
    if (restore) RestoreAll(topology, changelogs, restored);
    run(MakeInput(8, 150, max_time), restore ? restored : dir, nullptr);
    EXPECT_EQ(got, expected);
    std::filesystem::remove_all(dir);
    std::filesystem::remove_all(restored);
  }
}

TEST(SuppressRestartTest, TimeLimitedUpdatesSurviveARestoreFromTheChangelogs) {
  const std::filesystem::path dir = TempDir("limit-restore");
  const std::filesystem::path restored = TempDir("limit-restored");
  const Topology topology = BuildTimeLimit(9, BufferConfig::Unbounded());
  TimeLimitModel model;
  model.wait = 9;
  std::vector<TimeLimitModel::Out> got, expected;
  std::map<S, std::vector<TestRecord>> changelogs;
  auto run = [&](const std::vector<TableInput>& input, const std::filesystem::path& state,
                 bool keep_changelogs) {
    TestDriverOptions options;
    options.state_dir = state;
    TopologyTestDriver driver(topology, options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
    auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::Int64()));
    for (const TableInput& i : input) {
      ASSERT_TRUE(Pipe(in, i).ok());
      for (auto& e : model.Add(i.key, i.value, i.ts)) expected.push_back(std::move(e));
    }
    for (auto& e : ReadOut(out)) got.push_back(std::move(e));
    if (keep_changelogs) changelogs = Changelogs(driver, topology);
  };
  const auto first = MakeTableInput(3, 120, 0);
  int64_t max_time = 0;
  for (const TableInput& i : first) max_time = std::max(max_time, i.ts);
  run(first, dir, true);
  ASSERT_FALSE(model.buffer.empty()) << "the restore must carry buffered updates";
  RestoreAll(topology, changelogs, restored);
  run(MakeTableInput(4, 120, max_time), restored, false);
  EXPECT_EQ(got, expected);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(restored);
}

// Final results of a table joined from two windowed tables: the suppression
// waits for the later of both sides' closes (here both 10 ms + 5 ms grace).
TEST(SuppressFinalTest, JoinedWindowedTablesGetFinalResults) {
  StreamsBuilder builder;
  auto windowed = [&](const char* topic, const char* store) {
    return builder.Stream<S, int64_t>(topic)
        .GroupByKey()
        .WindowedBy(TimeWindows::OfSizeAndGrace(milliseconds(kSize), milliseconds(kGrace)))
        .Count(Materialized<S, int64_t>::As(store));
  };
  auto left = windowed("left", "left-counts");
  auto right = windowed("right", "right-counts");
  left.OuterJoin(right,
                 [](const std::optional<int64_t>& l, const std::optional<int64_t>& r) {
                   return l.value_or(0) * 1000 + r.value_or(0);
                 })
      .Suppress(Suppressed::UntilWindowCloses(BufferConfig::Unbounded()), nullptr,
                Serdes::Int64())
      .ToStream()
      .To("out", Produced<Windowed<S>, std::optional<int64_t>>::With(
                     WindowedString(), Serdes::Nullable(Serdes::Int64())));
  TestDriverOptions options;
  options.commit_every_input = false;
  TopologyTestDriver driver(builder.Build(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto left_in = driver.CreateInputTopic("left", Serdes::String(), Serdes::Int64());
  auto right_in = driver.CreateInputTopic("right", Serdes::String(), Serdes::Int64());
  auto out = driver.CreateOutputTopic("out", WindowedString(), Serdes::Nullable(Serdes::Int64()));
  // Model: both topics feed one task; the window-close clock is the smaller
  // of both topics' largest times (the watermark).
  std::mt19937 rng(11);
  int64_t left_time = -1, right_time = -1;
  std::map<std::pair<S, int64_t>, std::pair<int64_t, int64_t>> counts;
  std::set<std::pair<S, int64_t>> closed;
  std::vector<Row> got, expected;
  int64_t now = 0;
  for (int i = 0; i < 400; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 3)(rng);
    const bool is_left = std::uniform_int_distribution<int>(0, 1)(rng) == 0;
    const S key(1, static_cast<char>('a' + std::uniform_int_distribution<int>(0, 3)(rng)));
    int64_t& own = is_left ? left_time : right_time;
    own = std::max(own, now);
    const int64_t watermark = std::min(left_time, right_time);
    const int64_t s = now - now % kSize;
    // Never late here: the record is its partition's newest.
    auto& c = counts[{key, s}];
    (is_left ? c.first : c.second) += 1;
    ASSERT_TRUE((is_left ? left_in : right_in).PipeInput(key, 1, now).ok());
    if (i % 5 == 4) {
      ASSERT_TRUE(driver.Commit().ok());
    }
    std::vector<std::pair<std::tuple<int64_t, S>, Row>> due;
    for (const auto& [window, lr] : counts) {
      if (window.second + kSize + kGrace > watermark || !closed.insert(window).second) continue;
      due.push_back({{window.second, window.first},
                     Row{window.first, window.second, window.second + kSize,
                         lr.first * 1000 + lr.second}});
    }
    std::sort(due.begin(), due.end());
    for (auto& [order, row] : due) expected.push_back(std::move(row));
    for (Row& r : ReadRows(out)) got.push_back(std::move(r));
    ASSERT_EQ(got, expected) << "after input " << i;
  }
  EXPECT_GT(expected.size(), 20u);
}

TEST(SuppressDslTest, NamesAndStoresAsKafkaStreams) {
  StreamsBuilder builder;
  auto counts = builder.Stream<S, S>("in")
                    .GroupByKey()
                    .WindowedBy(TimeWindows::OfSizeWithNoGrace(milliseconds(10)))
                    .Count();
  counts.Suppress(Suppressed::UntilWindowCloses(BufferConfig::Unbounded())).ToStream().To("a");
  counts.Suppress(Suppressed::UntilTimeLimit(milliseconds(5), BufferConfig::MaxBytes(1000))
                      .WithName("limited"))
      .ToStream()
      .To("b");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  const std::string described = topology.Describe();
  // Source 0, store 1, aggregate 2, then the suppression's node and store.
  EXPECT_NE(described.find("Processor: KTABLE-SUPPRESS-0000000003 (stores: "
                           "[KTABLE-SUPPRESS-STATE-STORE-0000000004])"),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("Processor: limited (stores: [limited-store])"), std::string::npos)
      << described;
  const StoreSpec* store = topology.FindStore("limited-store");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->kind, StoreSpec::Kind::kKeyValue);
  EXPECT_TRUE(store->logging);
}

TEST(SuppressDslTest, InvalidSuppressionsAreTopologyErrors) {
  auto error_of = [](auto build) {
    StreamsBuilder builder;
    build(builder);
    return builder.Build().Validate().ToString();
  };
  // Final results of a table that is not windowed.
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Table<S, S>("t")
                  .Suppress(Suppressed::UntilWindowCloses(BufferConfig::Unbounded()))
                  .ToStream()
                  .To("out");
            }).find("KTable::Suppress: Suppressed::UntilWindowCloses needs a windowed table"),
            std::string::npos);
  // Final results of a windowed table that does not come from an aggregation.
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Table<Windowed<S>, S>("t", Consumed<Windowed<S>, S>::With(WindowedString(),
                                                                          Serdes::String()))
                  .Suppress(Suppressed::UntilWindowCloses(BufferConfig::Unbounded()))
                  .ToStream()
                  .To("out");
            }).find("needs a table that comes from windowed aggregations"),
            std::string::npos);
  // Final results with a buffer that may emit early.
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Stream<S, S>("in")
                  .GroupByKey()
                  .WindowedBy(TimeWindows::OfSizeWithNoGrace(milliseconds(10)))
                  .Count()
                  .Suppress(Suppressed::UntilWindowCloses(BufferConfig::MaxRecords(10)))
                  .ToStream()
                  .To("out");
            }).find("needs a strict buffer"),
            std::string::npos);
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Table<S, S>("t")
                  .Suppress(Suppressed::UntilTimeLimit(milliseconds(-1), BufferConfig::Unbounded()))
                  .ToStream()
                  .To("out");
            }).find("the time limit must not be negative"),
            std::string::npos);
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Table<S, S>("t")
                  .Suppress(Suppressed::UntilTimeLimit(milliseconds(1), BufferConfig::MaxBytes(0)))
                  .ToStream()
                  .To("out");
            }).find("the buffer's bounds must be positive"),
            std::string::npos);
  // A value serde is needed for the buffer.
  struct Opaque {
    int x = 0;
  };
  EXPECT_NE(error_of([](StreamsBuilder& b) {
              b.Table<S, S>("t")
                  .MapValues([](const S&) { return Opaque{}; })
                  .Suppress(Suppressed::UntilTimeLimit(milliseconds(1), BufferConfig::Unbounded()))
                  .ToStream()
                  .To("out", Produced<S, std::optional<Opaque>>::With(Serdes::String(), nullptr));
            }).find("KTable::Suppress: no value serde for type"),
            std::string::npos);
}

}  // namespace
}  // namespace eventflow::streams
