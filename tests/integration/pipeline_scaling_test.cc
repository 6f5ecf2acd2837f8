// Scaling the EventFlow pipeline with standbys on (labels integration,
// kafka, postgres): 12 partitions, input flowing at a steady rate, the
// application scaled 1 → 2 → 3 instances, then 3 → 2 (SIGTERM) → 1 (kill -9,
// never restarted), with --standby-replicas 1.
//
// Checked:
//   - every task that moved after the first start came from a warm copy: its
//     restore replayed at most acceptable.recovery.lag records, never "full"
//     (the instances' scaling-event log lines, and
//     eventflow_task_restores_total{kind="full"} staying at the first start's
//     count);
//   - joining instances warmed up before they joined (their log), and the old
//     owners kept processing meanwhile;
//   - the kill -9's fail-over: the processing gap of each task the killed
//     instance ran, measured by the survivor (last record processed anywhere
//     → first there), under kFailoverLimit;
//   - the four tables equal the data contract recomputed from the input.
//
// Standby copies are given time to catch up before each step (the instances'
// eventflow_standby_lag_records within the lag, every stateful task with its
// copy), as an operator would before scaling down.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "eventflow/testing/app_progress.h"
#include "pipeline_fixture.h"

namespace eventflow {
namespace {

using namespace pipeline_test;  // NOLINT: the pipeline under test and its checks
using testing::Expected;
using testing::MetricSamples;
using testing::ParseTaskArrivals;
using testing::TaskArrival;

constexpr int kScalingPartitions = 12;
constexpr int64_t kAcceptableLag = 10'000;  // the default
// The kill -9 fail-over with the default settings: the killed member's
// session (10 s), the survivor's next heartbeat and rebalance, the fence of
// the killed member's transactional id (which aborts its open transaction at
// once), then the take-over from the standby copy with a tail. The issue's
// bound; measured about 10-11 s (failover_test).
constexpr double kFailoverLimitSeconds = 15;

// What an instance's /metrics says about standbys and arrivals.
struct StandbyView {
  bool ok = false;
  bool warming_up = true;
  int standby_tasks = 0;
  int64_t max_lag = -1;            // -1: a copy's lag not known yet
  std::set<std::string> stateful;  // active tasks with stores here
  double full_restores = 0;
};

StandbyView ViewOf(int port) {
  StandbyView v;
  auto body = HttpGet(port, "/metrics");
  if (!body.ok()) return v;
  v.ok = true;
  for (const auto& [labels, value] : MetricSamples(*body, "eventflow_warming_up")) {
    v.warming_up = value != 0;
  }
  for (const auto& [labels, value] : MetricSamples(*body, "eventflow_standby_tasks")) {
    v.standby_tasks += static_cast<int>(value);
  }
  v.max_lag = 0;
  for (const auto& [labels, value] : MetricSamples(*body, "eventflow_standby_lag_records")) {
    v.max_lag = std::max(v.max_lag, static_cast<int64_t>(value));
  }
  for (const auto& [labels, value] : MetricSamples(*body, "eventflow_state_store_bytes")) {
    const size_t at = labels.find("task=\"");
    if (at != std::string::npos) {
      v.stateful.insert(labels.substr(at + 6, labels.find('"', at + 6) - at - 6));
    }
  }
  for (const auto& [labels, value] : MetricSamples(*body, "eventflow_task_restores_total")) {
    if (labels.find("kind=\"full\"") != std::string::npos) v.full_restores += value;
  }
  return v;
}

class ScalingRun {
 public:
  ScalingRun() : pipeline_(kScalingPartitions, "scale") {
    pipeline_.SetOnTimeLateFraction("0");  // late events only at the end (see the fixture)
    // Default session and transaction time-outs: see kFailoverLimitSeconds.
    pipeline_.SetAppArgs({"--standby-replicas", "1", "--acceptable-recovery-lag",
                          std::to_string(kAcceptableLag)});
  }

  Pipeline& pipeline() { return pipeline_; }
  const Pipeline& pipeline() const { return pipeline_; }

  void Start(int i) {
    marks_[i] = testing::FileSize(pipeline_.Log(App(i)));
    pipeline_.StartApp(i);
    running_.insert(i);
  }
  void Stop(int i) {
    pipeline_.StopApp(i);
    running_.erase(i);
  }
  void Kill(int i) {
    pipeline_.KillApp(i);
    running_.erase(i);
  }
  static std::string App(int i) { return "app-" + std::to_string(i); }

  // Waits until instance i has joined (its warm-up over) and runs tasks.
  bool AwaitJoined(int i) {
    return pipeline_.AwaitUntil("instance " + std::to_string(i) + " to join", 300s, [&] {
      const std::string log = testing::ReadFileFrom(pipeline_.Log(App(i)), marks_[i]);
      return log.find("subscribing (joining the group)") != std::string::npos &&
             log.find("REBALANCING -> RUNNING") != std::string::npos;
    });
  }

  // Waits until every stateful task has a warm copy on another running
  // instance, each within the acceptable lag (two scrapes in a row).
  bool AwaitStandbysWarm() {
    int good = 0;
    return pipeline_.AwaitUntil("the standby copies to be warm", 300s, [&] {
      std::set<std::string> stateful;
      int standbys = 0;
      bool all = true;
      for (int i : running_) {
        const StandbyView v = ViewOf(pipeline_.port(i));
        all = all && v.ok && !v.warming_up && v.max_lag >= 0 && v.max_lag <= kAcceptableLag;
        standbys += v.standby_tasks;
        stateful.insert(v.stateful.begin(), v.stateful.end());
      }
      all = all && !stateful.empty() && standbys == static_cast<int>(stateful.size());
      good = all ? good + 1 : 0;
      if (good < 2) std::this_thread::sleep_for(500ms);
      return good >= 2;
    });
  }

  // The scaling-event lines instance i logged since `from`.
  std::vector<TaskArrival> ArrivalsSince(int i, size_t from) const {
    return ParseTaskArrivals(testing::ReadFileFrom(pipeline_.Log(App(i)), from));
  }
  size_t LogSize(int i) const { return testing::FileSize(pipeline_.Log(App(i))); }

 private:
  Pipeline pipeline_;
  std::set<int> running_;
  size_t marks_[kMaxApps] = {0, 0, 0};
};

// Every task that moved to instance i after `from` came from a warm copy (or
// has no stores); returns how many moved. A task processed nowhere before
// (no processing gap known: e.g. a repartition topic's task whose first
// records reach its first owner late) is a first start, not a move.
int ExpectMovesFromWarmCopies(const ScalingRun& run, int i, size_t from, const std::string& step) {
  int moved = 0;
  for (const TaskArrival& a : run.ArrivalsSince(i, from)) {
    if (!a.moved || a.gap_seconds < 0) continue;
    ++moved;
    EXPECT_NE(a.kind, "full") << step << ": task " << a.task << " moved to instance " << i
                              << " without a copy; see " << run.pipeline().Log(ScalingRun::App(i));
    EXPECT_LE(a.records, kAcceptableLag) << step << ": task " << a.task << " replayed more than a tail";
    std::printf("%s: task %s -> instance %d%s, restore %s of %lld records, gap %.3f s\n",
                step.c_str(), a.task.c_str(), i, a.from_standby ? " (standby copy)" : "",
                a.kind.c_str(), static_cast<long long>(a.records), a.gap_seconds);
  }
  return moved;
}

TEST(PipelineScalingTest, OneTwoThreeTwoOneWithStandbysMovesOnlyTailsAndStaysExact) {
  ScalingRun run;
  Pipeline& pipeline = run.pipeline();
  pipeline.StartSink();
  pipeline.StartProducer(/*rate=*/200);  // 36,000 events: about 3 minutes of steady input

  // 1 instance.
  run.Start(0);
  ASSERT_TRUE(pipeline.AwaitUntil("instance 0 to process input", 180s,
                                  [&] { return pipeline.InputCommitted() > 1000; }));
  const double full_at_start = ViewOf(pipeline.port(0)).full_restores;

  // 1 → 2: instance 1 warms what it will get, then joins.
  size_t mark0 = run.LogSize(0);
  run.Start(1);
  ASSERT_TRUE(run.AwaitJoined(1));
  ASSERT_TRUE(run.AwaitStandbysWarm());
  EXPECT_GT(ExpectMovesFromWarmCopies(run, 1, 0, "1->2"), 0) << "nothing moved to instance 1";
  ExpectMovesFromWarmCopies(run, 0, mark0, "1->2");

  // 2 → 3.
  mark0 = run.LogSize(0);
  size_t mark1 = run.LogSize(1);
  run.Start(2);
  ASSERT_TRUE(run.AwaitJoined(2));
  ASSERT_TRUE(run.AwaitStandbysWarm());
  EXPECT_GT(ExpectMovesFromWarmCopies(run, 2, 0, "2->3"), 0) << "nothing moved to instance 2";
  ExpectMovesFromWarmCopies(run, 0, mark0, "2->3");
  ExpectMovesFromWarmCopies(run, 1, mark1, "2->3");
  {
    const std::string log = testing::ReadFileFrom(pipeline.Log(ScalingRun::App(2)));
    EXPECT_NE(log.find("warming up"), std::string::npos) << "instance 2 did not warm up";
  }

  // 3 → 2: SIGTERM instance 2; its tasks move once its static membership
  // times out.
  mark0 = run.LogSize(0);
  mark1 = run.LogSize(1);
  run.Stop(2);
  ASSERT_TRUE(pipeline.AwaitUntil("instance 2's tasks to move", 120s, [&] {
    return !run.ArrivalsSince(0, mark0).empty() || !run.ArrivalsSince(1, mark1).empty();
  }));
  ASSERT_TRUE(run.AwaitStandbysWarm());
  const int moved_on_stop = ExpectMovesFromWarmCopies(run, 0, mark0, "3->2") +
                            ExpectMovesFromWarmCopies(run, 1, mark1, "3->2");
  EXPECT_GT(moved_on_stop, 0);

  // 2 → 1: kill -9 instance 1, never restarted.
  mark0 = run.LogSize(0);
  const int64_t committed_at_kill = pipeline.InputCommitted();
  run.Kill(1);
  ASSERT_TRUE(pipeline.AwaitUntil("instance 1's tasks to move to instance 0", 180s, [&] {
    for (const TaskArrival& a : run.ArrivalsSince(0, mark0)) {
      if (a.moved) return true;
    }
    return false;
  }));
  std::this_thread::sleep_for(5s);  // every moved task's first batch
  EXPECT_GT(ExpectMovesFromWarmCopies(run, 0, mark0, "2->1 (kill -9)"), 0);
  double worst_gap = 0;
  for (const TaskArrival& a : run.ArrivalsSince(0, mark0)) {
    if (a.moved && a.gap_seconds >= 0) worst_gap = std::max(worst_gap, a.gap_seconds);
  }
  std::printf("fail-over after kill -9: longest processing gap %.3f s\n", worst_gap);
  EXPECT_GT(worst_gap, 0);
  EXPECT_LT(worst_gap, kFailoverLimitSeconds);
  // No full restore happened after the first start.
  EXPECT_EQ(ViewOf(pipeline.port(0)).full_restores, full_at_start);

  ASSERT_EQ(pipeline.WaitProducer(), 0) << "eventflow-produce failed";
  ASSERT_TRUE(pipeline.AwaitInputCommitted(300s));
  pipeline.ProduceAll(/*late=*/true);
  const auto ends = pipeline.AwaitDone(300s);
  ASSERT_TRUE(ends.has_value());
  pipeline.ScrapeLate(0);
  run.Stop(0);
  pipeline.StopSink();

  const Expected expected = pipeline.Recomputed();
  CheckInputCoverage(expected);
  EXPECT_LT(committed_at_kill, expected.views + expected.orders) << "the kill happened mid-run";
  pipeline.CheckResults(expected, *ends);
}

}  // namespace
}  // namespace eventflow
