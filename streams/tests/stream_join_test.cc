// KStream–KStream joins (inner, left, outer) with JoinWindows, through
// TopologyTestDriver. Inputs are tables (in order, out of order within grace,
// late beyond grace) and seeded random sequences; every expected output is
// computed by the Model below — the join written as plainly as possible over
// the whole input, keeping every record forever — independently of the
// library, its stores and their expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/window_store.h"
#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;
// (key, joined value, timestamp): one output record.
using Out = std::tuple<S, S, int64_t>;

enum class Kind { kInner, kLeft, kOuter };

struct Input {
  bool left;  // which stream
  S key;
  int64_t ts;
  S value;  // unique per record, so results name their records
};

S Show(const std::optional<S>& v) { return v ? *v : S("null"); }

// The reference model. The clock is the watermark: the smaller of the two
// input topics' largest times (-1 until both have a record), counting the
// record being processed. A record is late when ts + grace < the larger of
// the clock and its own topic's largest time (the watermark is never later,
// so: its own topic's); a
// left record matches right records of its key in [ts - before, ts + after],
// a right record left records in [ts - after, ts + before]; an unmatched
// record of an outer side gets its null result once the clock passes
// ts + (after for left, before for right) + grace, and never if it matched.
struct Model {
  Model(int64_t b, int64_t a, int64_t g, Kind k) : before(b), after(a), grace(g), kind(k) {}
  int64_t before, after, grace;
  Kind kind;
  int64_t stream_time = -1;  // the clock
  int64_t left_max = -1, right_max = -1;
  uint64_t dropped = 0;
  struct Kept {
    Input in;
    bool matched = false;
    bool emitted = false;
  };
  std::vector<Kept> kept;  // accepted records, in arrival order

  bool Outer(bool left) const { return kind == Kind::kOuter || (kind == Kind::kLeft && left); }
  int64_t AfterOf(bool left) const { return left ? after : before; }
  int64_t BeforeOf(bool left) const { return left ? before : after; }

  std::vector<Out> Add(const Input& in) {
    std::vector<Out> out;
    int64_t& side_max = in.left ? left_max : right_max;
    side_max = std::max(side_max, in.ts);
    const int64_t now = std::max(stream_time, std::min(left_max, right_max));
    if (in.ts + grace < std::max(now, side_max)) {
      ++dropped;
    } else {
      // Other-side matches in time order, ties in arrival order.
      std::vector<size_t> matches;
      for (size_t i = 0; i < kept.size(); ++i) {
        const Input& o = kept[i].in;
        if (o.left != in.left && o.key == in.key && o.ts >= in.ts - BeforeOf(in.left) &&
            o.ts <= in.ts + AfterOf(in.left)) {
          matches.push_back(i);
        }
      }
      std::stable_sort(matches.begin(), matches.end(),
                       [&](size_t a, size_t b) { return kept[a].in.ts < kept[b].in.ts; });
      for (size_t i : matches) {
        Kept& o = kept[i];
        EXPECT_FALSE(o.emitted) << "model: a null result would be contradicted by " << in.value;
        o.matched = true;
        const S& l = in.left ? in.value : o.in.value;
        const S& r = in.left ? o.in.value : in.value;
        out.emplace_back(in.key, l + "+" + r, std::max(in.ts, o.in.ts));
      }
      kept.push_back({in, !matches.empty(), false});
    }
    stream_time = now;
    // Null results of the records whose window closed, by (ts, side, key).
    std::vector<const Kept*> closed;
    for (Kept& k : kept) {
      if (Outer(k.in.left) && !k.matched && !k.emitted &&
          k.in.ts + AfterOf(k.in.left) + grace < stream_time) {
        k.emitted = true;
        closed.push_back(&k);
      }
    }
    std::stable_sort(closed.begin(), closed.end(), [](const Kept* a, const Kept* b) {
      return std::make_tuple(a->in.ts, !a->in.left, a->in.key) <
             std::make_tuple(b->in.ts, !b->in.left, b->in.key);
    });
    for (const Kept* k : closed) {
      out.emplace_back(k->in.key, k->in.left ? k->in.value + "+null" : "null+" + k->in.value,
                       k->in.ts);
    }
    return out;
  }
};

JoinWindows Windows(int64_t before, int64_t after, int64_t grace) {
  return JoinWindows::OfTimeDifferenceAndGrace(milliseconds(0), milliseconds(grace))
      .Before(milliseconds(before))
      .After(milliseconds(after));
}

// left ⋈ right → "out", with joiners naming the values ("null" when missing).
Topology Build(Kind kind, const JoinWindows& windows, const StreamJoined<S, S, S>& joined = {}) {
  StreamsBuilder builder;
  auto left = builder.Stream<S, S>("left");
  auto right = builder.Stream<S, S>("right");
  switch (kind) {
    case Kind::kInner:
      left.Join(
              right, [](const S& l, const S& r) { return l + "+" + r; }, windows, joined)
          .To("out");
      break;
    case Kind::kLeft:
      left.LeftJoin(
              right, [](const S& l, const std::optional<S>& r) { return l + "+" + Show(r); },
              windows, joined)
          .To("out");
      break;
    case Kind::kOuter:
      left.OuterJoin(
              right,
              [](const std::optional<S>& l, const std::optional<S>& r) {
                return Show(l) + "+" + Show(r);
              },
              windows, joined)
          .To("out");
      break;
  }
  return builder.Build();
}

std::vector<Out> ReadAll(TestOutputTopic<S, S>& out) {
  std::vector<Out> rows;
  auto records = out.ReadRecordsToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (auto& r : *records) rows.emplace_back(r.key, r.value, r.timestamp);
  return rows;
}

// Hand-written input: in order, out of order within grace, late beyond it,
// duplicates of one key and time, several keys.
std::vector<Input> HandInput() {
  std::vector<std::tuple<bool, S, int64_t>> raw = {
      {true, "a", 10},  {false, "a", 12}, {false, "a", 7},  {true, "b", 15},  {false, "a", 20},
      {true, "a", 18},  {false, "b", 9},  {true, "a", 30},  {true, "c", 31},  {false, "a", 26},
      {false, "c", 24}, {true, "a", 3},   {false, "b", 40}, {true, "b", 38},  {true, "b", 38},
      {false, "b", 41}, {true, "a", 45},  {false, "a", 29}, {false, "d", 50}, {true, "a", 60},
      {false, "a", 58}, {true, "c", 57},  {false, "a", 80}, {true, "a", 75},  {true, "z", 200},
      {false, "y", 200}};
  std::vector<Input> out;
  int n = 0;
  for (auto& [left, key, ts] : raw) {
    out.push_back({left, key, ts, (left ? "L" : "R") + std::to_string(n++)});
  }
  return out;
}

// A seeded random sequence: 3 keys, times drifting forward with jitter of up
// to 12 ms backwards (so some records are within grace, some late).
std::vector<Input> RandomInput(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  std::vector<Input> out;
  int64_t t = 0;
  for (int i = 0; i < count; ++i) {
    t += static_cast<int64_t>(rng() % 4);
    const int64_t ts = std::max<int64_t>(0, t - static_cast<int64_t>(rng() % 13));
    const bool left = rng() % 2 == 0;
    out.push_back({left, S(1, static_cast<char>('a' + rng() % 3)), ts,
                   (left ? "L" : "R") + std::to_string(i)});
  }
  out.push_back({true, "zz", t + 1000, "Lend"});  // both topics far ahead close every window
  out.push_back({false, "zy", t + 1000, "Rend"});
  return out;
}

struct Case {
  const char* name;
  Kind kind;
  int64_t before, after, grace;
};

class StreamJoinTest : public ::testing::TestWithParam<Case> {
 protected:
  // Pipes `inputs` one by one and compares the output after each with the
  // model's; then the late counter.
  void RunAndCompare(const std::vector<Input>& inputs) {
    const Case& c = GetParam();
    TopologyTestDriver driver(Build(c.kind, Windows(c.before, c.after, c.grace)));
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto left = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
    auto right = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
    auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
    Model model(c.before, c.after, c.grace, c.kind);
    size_t total = 0;
    size_t nulls = 0;
    for (const Input& in : inputs) {
      ASSERT_TRUE((in.left ? left : right).PipeInput(in.key, in.value, in.ts).ok());
      const std::vector<Out> expected = model.Add(in);
      ASSERT_EQ(ReadAll(out), expected)
          << "after " << in.value << " (" << in.key << ", " << in.ts << ")";
      total += expected.size();
      for (const Out& o : expected) nulls += std::get<1>(o).find("null") != S::npos;
    }
    EXPECT_GT(total, 0u);
    EXPECT_GT(model.dropped, 0u) << "the input must exercise late records";
    if (c.kind != Kind::kInner) {
      EXPECT_GT(nulls, 0u) << "the input must leave records unmatched";
    }
    EXPECT_EQ(driver.Counters(0).dropped_late, model.dropped);
  }
};

TEST_P(StreamJoinTest, HandWrittenInputMatchesTheModel) { RunAndCompare(HandInput()); }

TEST_P(StreamJoinTest, RandomInputsMatchTheModel) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RunAndCompare(RandomInput(seed, 300));
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Joins, StreamJoinTest,
                         ::testing::Values(Case{"InnerSymmetric", Kind::kInner, 10, 10, 5},
                                           Case{"InnerBeforeOnly", Kind::kInner, 5, 0, 3},
                                           Case{"InnerAfterOnlyNoGrace", Kind::kInner, 0, 7, 0},
                                           Case{"LeftSymmetric", Kind::kLeft, 10, 10, 5},
                                           Case{"LeftBeforeOnly", Kind::kLeft, 5, 0, 3},
                                           Case{"LeftAsymmetric", Kind::kLeft, 3, 8, 4},
                                           Case{"LeftAfterOnlyNoGrace", Kind::kLeft, 0, 7, 0},
                                           Case{"OuterSymmetric", Kind::kOuter, 10, 10, 5},
                                           Case{"OuterBeforeOnly", Kind::kOuter, 5, 0, 3},
                                           Case{"OuterAsymmetric", Kind::kOuter, 3, 8, 4},
                                           Case{"OuterZeroWindowNoGrace", Kind::kOuter, 0, 0, 0}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return S(param_info.param.name);
                         });

// An unmatched left record followed by a match that arrives later (out of
// order, within grace): only the joined result, never a null result first.
TEST(StreamJoinSemanticsTest, NoSpuriousNullResultBeforeALateMatch) {
  for (Kind kind : {Kind::kLeft, Kind::kOuter}) {
    TopologyTestDriver driver(Build(kind, Windows(5, 0, 10)));
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto left = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
    auto right = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
    auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
    ASSERT_TRUE(right.PipeInput("z", "r0", 105).ok());
    ASSERT_TRUE(left.PipeInput("k", "order", 100).ok());
    // The watermark (105) passes the order's window end (100 + after 0), not its grace.
    ASSERT_TRUE(left.PipeInput("other", "x", 108).ok());
    EXPECT_TRUE(out.IsEmpty());
    ASSERT_TRUE(right.PipeInput("k", "view", 97).ok());  // out of order, within [95, 100]
    EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"k", "order+view", 100}}));
    // Both topics far ahead close everything: "order" never gets a null result.
    ASSERT_TRUE(left.PipeInput("end-l", "y", 1000).ok());
    ASSERT_TRUE(right.PipeInput("end-r", "w", 1000).ok());
    if (kind == Kind::kLeft) {
      EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"other", "x+null", 108}}));
    } else {
      EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"z", "null+r0", 105}, {"other", "x+null", 108}}));
    }
  }
}

// A record late beyond grace joins nothing, is counted and leaves no null result.
TEST(StreamJoinSemanticsTest, LateRecordIsDroppedAndCounted) {
  TopologyTestDriver driver(Build(Kind::kOuter, Windows(5, 5, 2)));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto left = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
  auto right = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  ASSERT_TRUE(left.PipeInput("k", "a", 50).ok());
  ASSERT_TRUE(right.PipeInput("j", "b", 60).ok());
  EXPECT_TRUE(out.IsEmpty());  // the watermark is 50
  ASSERT_TRUE(left.PipeInput("i", "c", 60).ok());
  // Watermark 60 > 50 + 5 + 2: "a" is closed and unmatched.
  EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"k", "a+null", 50}}));
  ASSERT_TRUE(right.PipeInput("k", "late", 52).ok());  // 52 + 2 < 60: late
  EXPECT_TRUE(out.IsEmpty());
  EXPECT_EQ(driver.Counters(0).dropped_late, 1u);
  ASSERT_TRUE(right.PipeInput("k", "ok", 58).ok());  // 58 + 2 >= 60: accepted, no left match
  EXPECT_TRUE(out.IsEmpty());
  ASSERT_TRUE(left.PipeInput("z", "end", 500).ok());
  ASSERT_TRUE(right.PipeInput("y", "end", 500).ok());
  // Closed together: by time, left before right, then key.
  EXPECT_EQ(ReadAll(out),
            (std::vector<Out>{{"k", "null+ok", 58}, {"i", "c+null", 60}, {"j", "null+b", 60}}));
  EXPECT_EQ(driver.Counters(0).dropped_late, 1u);
}

// Store contents: both sides' window stores keep duplicates; the shared
// outer store holds only what is still open, and its changelog ends with a
// tombstone for every entry that matched or was emitted.
TEST(StreamJoinSemanticsTest, StoresAndChangelogs) {
  TopologyTestDriver driver(Build(Kind::kOuter, Windows(5, 5, 0)));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto left = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
  auto right = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  ASSERT_TRUE(left.PipeInput("k", "a1", 10).ok());
  ASSERT_TRUE(left.PipeInput("k", "a2", 10).ok());
  ASSERT_TRUE(right.PipeInput("m", "b", 12).ok());
  // Names as Kafka Streams generates them.
  auto* this_store =
      dynamic_cast<state::WindowStore*>(driver.GetStateStore("KSTREAM-OUTERTHIS-0000000004-store"));
  auto* outer = dynamic_cast<state::WindowStore*>(
      driver.GetStateStore("KSTREAM-OUTERSHARED-0000000004-store"));
  ASSERT_NE(this_store, nullptr);
  ASSERT_NE(outer, nullptr);
  std::vector<S> values;
  for (auto it = this_store->Fetch("k", 0, 100); it->Valid(); it->Next()) {
    values.emplace_back(it->value());
  }
  EXPECT_EQ(values, (std::vector<S>{"a1", "a2"}));
  auto count_entries = [&] {
    int n = 0;
    for (auto it = outer->FetchAll(0, 1000); it->Valid(); it->Next()) ++n;
    return n;
  };
  EXPECT_EQ(count_entries(), 2);  // ('L', k) at 15 holding both values, ('R', m) at 17
  ASSERT_TRUE(right.PipeInput("k", "c", 14).ok());  // matches both, deletes their entry
  EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"k", "a1+c", 14}, {"k", "a2+c", 14}}));
  EXPECT_EQ(count_entries(), 1);
  ASSERT_TRUE(left.PipeInput("z", "end", 100).ok());
  ASSERT_TRUE(right.PipeInput("y", "end", 100).ok());
  EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"m", "null+b", 12}}));
  EXPECT_EQ(count_entries(), 2);       // only the two "end" records, still open
  std::map<S, std::optional<S>> last;  // changelog key → last value
  for (const TestRecord& r :
       driver.OutputQueue("test-app-KSTREAM-OUTERSHARED-0000000004-store-changelog")) {
    ASSERT_TRUE(r.key.has_value());
    last[*r.key] = r.value;
  }
  int live = 0;
  for (const auto& [key, value] : last) live += value.has_value();
  EXPECT_EQ(last.size(), 4u);  // ('L', k) and ('R', m) deleted; the two "end"s live
  EXPECT_EQ(live, 2);
}

// Describe(): Kafka Streams' generated names, and StreamJoined's names.
TEST(StreamJoinSemanticsTest, DescribeNamesNodesAndStoresAsKafkaStreams) {
  const S inner = Build(Kind::kInner, Windows(5, 5, 0)).Describe();
  for (const char* expected :
       {"Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
        "Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
        "Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
        "Processor: KSTREAM-JOINOTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
        "Processor: KSTREAM-MERGE-0000000006 (stores: [])"}) {
    EXPECT_NE(inner.find(expected), S::npos) << expected << "\n" << inner;
  }
  const S outer = Build(Kind::kOuter, Windows(5, 5, 0)).Describe();
  for (const char* expected : {"KSTREAM-OUTERTHIS-0000000004", "KSTREAM-OUTEROTHER-0000000005",
                               "KSTREAM-OUTERSHARED-0000000004-store"}) {
    EXPECT_NE(outer.find(expected), S::npos) << expected << "\n" << outer;
  }
  const S left = Build(Kind::kLeft, Windows(5, 5, 0)).Describe();
  for (const char* expected : {"KSTREAM-JOINTHIS-0000000004", "KSTREAM-OUTEROTHER-0000000005",
                               "KSTREAM-OUTERSHARED-0000000004-store"}) {
    EXPECT_NE(left.find(expected), S::npos) << expected << "\n" << left;
  }
  const S named =
      Build(Kind::kLeft, Windows(5, 5, 0), StreamJoined<S, S, S>::As("st").WithName("j"))
          .Describe();
  for (const char* expected :
       {"Processor: j-this-windowed (stores: [st-this-join-store])",
        "Processor: j-other-windowed (stores: [st-outer-other-join-store])",
        "Processor: j-this-join (stores: [st-outer-other-join-store, st-left-shared-join-store])",
        "Processor: j-outer-other-join (stores: [st-this-join-store, st-left-shared-join-store])",
        "Processor: j-merge (stores: [])"}) {
    EXPECT_NE(named.find(expected), S::npos) << expected << "\n" << named;
  }
}

// A stream whose key changed is repartitioned before the join, and the join
// sees the new keys (order attribution: orders re-keyed by user, joined with
// the user's views in the 5 ms before the order).
TEST(StreamJoinSemanticsTest, RekeyedStreamIsRepartitionedBeforeTheJoin) {
  StreamsBuilder builder;
  auto orders = builder.Stream<S, S>("orders").SelectKey(
      [](const S&, const S& v) { return v.substr(0, v.find(':')); });
  auto views = builder.Stream<S, S>("views");
  orders
      .Join(
          views, [](const S& o, const S& v) { return o + "|" + v; },
          JoinWindows::OfTimeDifferenceAndGrace(milliseconds(5), milliseconds(2))
              .After(milliseconds(0)),
          StreamJoined<S, S, S>::With(Serdes::String(), Serdes::String(), Serdes::String())
              .WithName("attribution"))
      .To("out");
  Topology topology = builder.Build();
  const S description = topology.Describe();
  EXPECT_NE(description.find("attribution-left-repartition"), S::npos) << description;
  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  auto in_views = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in_views.PipeInput("u1", "v1", 10).ok());
  ASSERT_TRUE(in_views.PipeInput("u1", "v2", 14).ok());
  ASSERT_TRUE(in_views.PipeInput("u2", "v3", 14).ok());
  ASSERT_TRUE(in_orders.PipeInput("order-1", "u1:o1", 15).ok());  // views in [10, 15]
  ASSERT_TRUE(in_views.PipeInput("u1", "v4", 16).ok());           // after the order: no
  EXPECT_EQ(ReadAll(out), (std::vector<Out>{{"u1", "u1:o1|v1", 15}, {"u1", "u1:o1|v2", 15}}));
}

TEST(StreamJoinSemanticsTest, InvalidWindowsAreATopologyError) {
  Topology topology = Build(Kind::kInner, Windows(-1, 5, 0));
  const Status status = topology.Validate();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("KStream::Join"), S::npos) << status.ToString();
  EXPECT_NE(status.message().find("before = -1"), S::npos) << status.ToString();
}

}  // namespace
}  // namespace eventflow::streams
