// Windowed state under exactly-once on the real broker, with the application
// (tests/integration/stateful_app.cc, --mode windowed-count) run as a child
// process and crashed: kill -9 at random moments while it processes, a crash
// between the Kafka commit and the RocksDB commit (after-kafka-commit), and a
// crash in the middle of a restore (mid-restore). After each crash the
// restarted instance must replay only a short tail of the changelog, and at
// the end the committed output, the changelog and the RocksDB store must
// equal a recomputation of the counts from the input in plain code. Also: a
// task moving to a new instance is restored there from the changelog, and
// the counts stay exact.
//
// The input has bounded disorder below the grace period (every record is
// within grace of its partition's stream time), so no record is late whatever
// the processing speed, crash or restart; the recomputation checks that too.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/serde.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "eventflow/testing/window_store_readback.h"
#include "windowed_count_app.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ConsumedRecord;
using testing::ReadAll;
using testing::RestoreLine;
using testing::ScopedTopics;
using testing::UniqueName;
using testing::WindowId;

using namespace windowed_count_test;  // NOLINT: the application and its checks

// The restore lines of one run, and a summary for failure messages.
std::vector<RestoreLine> RestoresOf(const WindowedCountApp& app, const std::string& instance,
                                    const Run& run, std::string* summary) {
  const std::string text = testing::ReadFileFrom(app.Log(instance), run.log_from);
  auto lines = testing::ParseRestoreLines(text.substr(0, run.log_to - run.log_from));
  for (const RestoreLine& r : lines) {
    *summary += "task " + r.task + (r.full ? " full " : " tail ") + std::to_string(r.records) +
                "/" + std::to_string(r.changelog_end) + "; ";
  }
  return lines;
}

// The crash scenario of the windowed count, for one emit strategy.
void RunCrashScenario(const std::string& emit) {
  ScopedTopics topics({{UniqueName("wc-in"), kPartitions, -1, {}},
                       {UniqueName("wc-out"), kPartitions, -1, {}}});
  WindowedCountApp app;
  app.emit = emit;
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  const std::string log = app.Log("a");
  const int64_t base = BaseTime();
  std::atomic<bool> stop{false};
  int64_t produced = 0;
  // Input flows until the last crash; bounded in count (and so in time).
  std::thread producer([&] { produced = ProduceInput(app.input, base, 0, 80'000, 3'000, &stop); });
  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  std::printf("seed %u, log %s\n", seed, log.c_str());

  std::vector<Run> runs;
  auto start = [&](const std::string& what, const std::vector<std::string>& env = {}) {
    runs.push_back(Run{what, testing::FileSize(log), 0});
    return std::make_unique<ChildProcess>(app.Args("a"), log, env);
  };
  auto await_restored = [&] {
    // One restore line per task, then it processes.
    return testing::AwaitLogText(log, runs.back().log_from, "all stores restored", kPartitions,
                                 60s);
  };
  // (a) kill -9 at a random moment while it processes, twice.
  for (int round = 0; round < 2; ++round) {
    auto instance = start(round == 0 ? "first start, kill -9" : "restart, kill -9");
    ASSERT_TRUE(await_restored()) << "see " << log;
    if (round == 0) {
      // Killed before its first commit (a loaded machine), the first run
      // would leave empty changelogs, whose restore counts as full.
      const Status committed = testing::AwaitCommitted(
          app.app_id, app.input, std::vector<int64_t>(kPartitions, 1), 60s);
      ASSERT_TRUE(committed.ok()) << committed.ToString() << "; see " << log;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(200, 1500)(random)));
    instance->Signal(SIGKILL);
    EXPECT_EQ(instance->Wait(30s, "the application instance"), 128 + SIGKILL);
  }
  // (b) crash after the 5th Kafka commit, before the stores commit.
  {
    auto instance = start("restart, crash after-kafka-commit",
                          {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                           "EVENTFLOW_TEST_CRASH_AFTER=5"});
    EXPECT_EQ(instance->Wait(60s, "the application instance"), 137) << "see " << log;
  }
  // (c) crash in the restore that re-applies that transaction.
  {
    auto instance = start("restart, crash mid-restore", {"EVENTFLOW_TEST_CRASH_POINT=mid-restore",
                                                         "EVENTFLOW_TEST_CRASH_AFTER=1"});
    EXPECT_EQ(instance->Wait(60s, "the application instance"), 137) << "see " << log;
  }
  // (b) again, so that the final run re-applies a committed transaction.
  {
    auto instance = start("restart, crash after-kafka-commit",
                          {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                           "EVENTFLOW_TEST_CRASH_AFTER=3"});
    EXPECT_EQ(instance->Wait(60s, "the application instance"), 137) << "see " << log;
  }
  stop = true;
  producer.join();
  {
    auto instance = start("restart, runs to the end");
    ASSERT_TRUE(await_restored()) << "see " << log;  // see the stream-join test
    auto ends = testing::EndOffsets(app.input);
    ASSERT_TRUE(ends.ok()) << ends.status().ToString();
    const Status caught_up = testing::AwaitCommitted(app.app_id, app.input, *ends, 120s);
    EXPECT_TRUE(caught_up.ok()) << caught_up.ToString() << "; see " << log;
    instance->Signal(SIGTERM);
    EXPECT_EQ(instance->Wait(60s, "the application instance"), 0) << "see " << log;
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i].log_to = i + 1 < runs.size() ? runs[i + 1].log_from : testing::FileSize(log);
  }

  // After every crash: a tail replay of every task's store, short compared
  // with the changelog; never a full restore.
  const std::string text = testing::ReadFileFrom(log);
  for (size_t i = 1; i < runs.size(); ++i) {
    const Run& run = runs[i];
    const std::string segment = text.substr(run.log_from, run.log_to - run.log_from);
    if (run.what == "restart, crash mid-restore") {
      EXPECT_NE(segment.find("crashing at mid-restore"), std::string::npos) << "see " << log;
      continue;  // it died inside the restore, before logging it
    }
    std::string summary;
    const auto lines = RestoresOf(app, "a", run, &summary);
    EXPECT_EQ(lines.size(), static_cast<size_t>(kPartitions)) << run.what << ": " << summary;
    int64_t replayed = 0, changelog = 0;
    for (const RestoreLine& r : lines) {
      EXPECT_FALSE(r.full) << run.what << ": " << summary;
      replayed += r.records;
      changelog += r.changelog_end;
    }
    EXPECT_GT(changelog, 0) << run.what;
    // A tail is at most the changes of the one transaction the crash may have
    // caught between the Kafka and the store commit (about 300 at 3,000
    // records/s and a 100 ms commit interval; more when a loaded machine makes
    // a transaction longer); a full restore would be the whole changelog.
    // Early on the changelog itself is short, so the bound is the larger of
    // 600 and a tenth of the changelog.
    EXPECT_LE(replayed, std::max<int64_t>(changelog / 10, 600)) << run.what << ": " << summary;
    // The last run follows a crash between the Kafka and the store commit:
    // it re-applies that transaction's changes.
    if (i + 1 == runs.size()) {
      EXPECT_GT(replayed, 0) << run.what << ": " << summary;
    }
    std::printf("run %zu (%s): %s\n", i, run.what.c_str(), summary.c_str());
  }
  EXPECT_NE(text.find("crashing at after-kafka-commit"), std::string::npos);

  const Expected expected = ReadInputAndRecompute(app.input);
  EXPECT_EQ(static_cast<int64_t>(
                std::accumulate(expected.counts.begin(), expected.counts.end(), int64_t{0},
                                [](int64_t sum, const auto& kv) { return sum + kv.second; })),
            produced);
  ExpectExactResults(app, expected, {{"a", {0, 1, 2}}});
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

TEST(StatefulRecoveryTest, WindowedCountEmitOnUpdateIsExactAfterKillNineAndCrashPoints) {
  RunCrashScenario("update");
}

TEST(StatefulRecoveryTest, WindowedCountEmitOnCloseGivesOneFinalResultPerWindowAfterCrashes) {
  RunCrashScenario("close");
}

// A second instance joins: tasks move to it and it restores them from the
// changelog (its state directory is empty). Then the first instance stops
// and, once its static membership times out, its tasks move too. The counts
// stay exact.
TEST(StatefulRecoveryTest, WindowedCountTaskMovesRestoreFromTheChangelogAndStayExact) {
  ScopedTopics topics({{UniqueName("wcmv-in"), kPartitions, -1, {}},
                       {UniqueName("wcmv-out"), kPartitions, -1, {}}});
  WindowedCountApp app;
  app.emit = "update";
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  const int64_t base = BaseTime();
  std::thread producer([&] { ProduceInput(app.input, base, 0, 15'000, 3'000, nullptr); });

  auto a = std::make_unique<ChildProcess>(app.Args("a"), app.Log("a"));
  // Let a build up state in every task before b joins.
  const Status a_started =
      testing::AwaitCommitted(app.app_id, app.input, std::vector<int64_t>(kPartitions, 1000), 60s);
  EXPECT_TRUE(a_started.ok()) << a_started.ToString();
  auto b = std::make_unique<ChildProcess>(app.Args("b"), app.Log("b"));
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "all stores restored", 1, 60s))
      << "see " << app.Log("b");
  producer.join();
  auto ends = testing::EndOffsets(app.input);
  ASSERT_TRUE(ends.ok());
  Status caught_up = testing::AwaitCommitted(app.app_id, app.input, *ends, 120s);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();
  const size_t b_log_mark = testing::FileSize(app.Log("b"));
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(60s, "instance a"), 0) << "see " << app.Log("a");
  // More input: only b can process it, after taking over a's tasks.
  ProduceInput(app.input, base, 15'000, 3'000, 0, nullptr);
  ends = testing::EndOffsets(app.input);
  ASSERT_TRUE(ends.ok());
  caught_up = testing::AwaitCommitted(app.app_id, app.input, *ends, 120s);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString() << "; see " << app.Log("b");
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(60s, "instance b"), 0) << "see " << app.Log("b");

  // b restored in full, with records, the tasks it got on joining and those
  // it took over from a.
  const std::string b_log = testing::ReadFileFrom(app.Log("b"));
  const auto joined = testing::ParseRestoreLines(b_log.substr(0, b_log_mark));
  const auto took_over = testing::ParseRestoreLines(b_log.substr(b_log_mark));
  auto full_with_records = [](const std::vector<RestoreLine>& lines) {
    std::map<std::string, int64_t> out;  // task -> records restored
    for (const RestoreLine& r : lines) {
      if (r.full && r.records > 0) out[r.task] = r.records;
    }
    return out;
  };
  const auto moved_first = full_with_records(joined);
  const auto moved_later = full_with_records(took_over);
  EXPECT_FALSE(moved_first.empty()) << "see " << app.Log("b");
  EXPECT_FALSE(moved_later.empty()) << "see " << app.Log("b");
  for (const auto& [task, records] : moved_first) {
    std::printf("b joined: task %s restored in full, %lld records\n", task.c_str(),
                static_cast<long long>(records));
  }
  for (const auto& [task, records] : moved_later) {
    std::printf("b took over: task %s restored in full, %lld records\n", task.c_str(),
                static_cast<long long>(records));
  }

  const Expected expected = ReadInputAndRecompute(app.input);
  // b ran every task last.
  ExpectExactResults(app, expected, {{"b", {0, 1, 2}}});
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

// Runs `args` until its group has committed all of `app.input`, then stops it.
void RunToTheEnd(const WindowedCountApp& app, const std::vector<std::string>& args,
                 const std::string& log) {
  const size_t from = testing::FileSize(log);
  ChildProcess instance(args, log);
  // Running before its progress is judged: if the input was committed
  // already, a SIGTERM before the app set up its handlers would kill it.
  ASSERT_TRUE(testing::AwaitLogText(log, from, "REBALANCING -> RUNNING", 1, 60s)) << "see " << log;
  auto ends = testing::EndOffsets(app.input);
  ASSERT_TRUE(ends.ok()) << ends.status().ToString();
  const Status caught_up = testing::AwaitCommitted(app.app_id, app.input, *ends, 60s);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString() << "; see " << log;
  instance.Signal(SIGTERM);
  EXPECT_EQ(instance.Wait(60s, "the application instance"), 0) << "see " << log;
}

// Runs `args` until it crashes itself right after its first Kafka commit,
// before its stores commit.
void CrashAfterFirstKafkaCommit(const std::vector<std::string>& args, const std::string& log) {
  ChildProcess crash(args, log, {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                                 "EVENTFLOW_TEST_CRASH_AFTER=1"});
  EXPECT_EQ(crash.Wait(60s, "the instance crashing itself at its fault point"), 137) << "see " << log;
}

// A KStream-KStream inner join under exactly-once, kill -9'ed at a random
// moment and crashed after a Kafka commit: every pair of records of one key
// within the join windows is in the committed output exactly once, and the
// restarts replay only a tail of the join stores' changelogs.
TEST(StatefulRecoveryTest, StreamJoinIsExactAfterKillNineAndAfterKafkaCommitCrash) {
  constexpr int64_t kBeforeMs = 100, kAfterMs = 100;
  ScopedTopics topics({{UniqueName("sj-left"), kPartitions, -1, {}},
                       {UniqueName("sj-right"), kPartitions, -1, {}},
                       {UniqueName("sj-out"), kPartitions, -1, {}}});
  const std::string app_id = UniqueName("sj");
  const std::string dir = "/tmp/" + app_id;
  const std::string log = dir + "/a.log";
  std::filesystem::create_directories(dir);
  const std::vector<std::string> args = {
      testing::ToolDir() + "/eventflow-test-stateful-app", "--mode", "stream-join",
      "--bootstrap", testing::KafkaBootstrap(), "--application-id", app_id,
      "--instance-id", "a", "--input", topics.name(0), "--right", topics.name(1),
      "--output", topics.name(2), "--state-dir", dir + "/state", "--join", "inner",
      "--before-ms", std::to_string(kBeforeMs), "--after-ms", std::to_string(kAfterMs),
      "--grace-ms", std::to_string(kGraceMs)};
  const int64_t base = BaseTime();
  std::atomic<bool> stop{false};
  std::thread left([&] { ProduceInput(topics.name(0), base, 0, 40'000, 1'500, &stop, "l"); });
  std::thread right([&] { ProduceInput(topics.name(1), base, 0, 40'000, 1'500, &stop, "r"); });
  std::mt19937 random(std::random_device{}());
  std::vector<size_t> starts;
  constexpr size_t kStores = 2 * kPartitions;  // this-join and other-join store per task
  {
    starts.push_back(testing::FileSize(log));
    ChildProcess instance(args, log);
    ASSERT_TRUE(testing::AwaitLogText(log, starts.back(), "all stores restored", kStores, 60s))
        << "see " << log;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 1500)(random)));
    // Killed after its first commits (on a slow machine, e.g. under ASan,
    // the first commit may come later than the sleep): the restart then has
    // stored offsets to resume from, which is what this test checks.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      auto committed = testing::CommittedOffsets(app_id, topics.name(0));
      if (committed.ok() &&
          std::all_of(committed->begin(), committed->end(), [](int64_t o) { return o > 0; })) {
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no commit in 60 s; see " << log;
      std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(300ms);  // the store commit follows the Kafka commit
    instance.Signal(SIGKILL);
    EXPECT_EQ(instance.Wait(30s, "the application instance"), 128 + SIGKILL);
  }
  {
    starts.push_back(testing::FileSize(log));
    ChildProcess crash(args, log, {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                                   "EVENTFLOW_TEST_CRASH_AFTER=3"});
    EXPECT_EQ(crash.Wait(60s, "the instance crashing itself at its fault point"), 137) << "see " << log;
  }
  stop = true;
  left.join();
  right.join();
  {
    starts.push_back(testing::FileSize(log));
    ChildProcess instance(args, log);
    // Restored and running before its progress is judged: the crashed run may
    // have committed all the input already, and a SIGTERM before the app set
    // up its handlers would kill it (exit 143, nothing restored or logged).
    ASSERT_TRUE(testing::AwaitLogText(log, starts.back(), "all stores restored", kStores, 60s))
        << "see " << log;
    for (int side = 0; side < 2; ++side) {
      auto ends = testing::EndOffsets(topics.name(side));
      ASSERT_TRUE(ends.ok()) << ends.status().ToString();
      const Status caught_up = testing::AwaitCommitted(app_id, topics.name(side), *ends, 120s);
      EXPECT_TRUE(caught_up.ok()) << caught_up.ToString() << "; see " << log;
    }
    instance.Signal(SIGTERM);
    EXPECT_EQ(instance.Wait(60s, "the application instance"), 0) << "see " << log;
  }
  // Restarts replay a short tail of every store; the last one re-applies
  // the transaction committed in Kafka but not in the stores.
  const std::string text = testing::ReadFileFrom(log);
  for (size_t i = 1; i < starts.size(); ++i) {
    const size_t to = i + 1 < starts.size() ? starts[i + 1] : text.size();
    const auto lines = testing::ParseRestoreLines(text.substr(starts[i], to - starts[i]));
    EXPECT_EQ(lines.size(), kStores) << "restart " << i << "; see " << log;
    int64_t replayed = 0, changelog = 0;
    for (const RestoreLine& r : lines) {
      EXPECT_FALSE(r.full) << "restart " << i << ", task " << r.task << " store " << r.store;
      replayed += r.records;
      changelog += r.changelog_end;
    }
    // A tail, not the changelog: usually a few percent, at most the changes
    // of the transactions a crash caught (larger when a slow machine made
    // one transaction cover a backlog).
    EXPECT_LT(replayed * 2, changelog) << "restart " << i << "; see " << log;
    if (i + 1 == starts.size()) {
      EXPECT_GT(replayed, 0) << "see " << log;
    }
    std::printf("restart %zu: replayed %lld of %lld changelog records\n", i,
                static_cast<long long>(replayed), static_cast<long long>(changelog));
  }

  // The join recomputed: every (left, right) pair of a key with
  // left time - before <= right time <= left time + after.
  auto left_in = ReadAll(topics.name(0), true, 60s);
  auto right_in = ReadAll(topics.name(1), true, 60s);
  auto output = ReadAll(topics.name(2), true, 60s);
  ASSERT_TRUE(left_in.ok() && right_in.ok() && output.ok());
  std::map<std::string, std::vector<const ConsumedRecord*>> right_by_key;
  for (const ConsumedRecord& r : *right_in) right_by_key[r.key].push_back(&r);
  std::map<std::string, std::multiset<std::string>> want, have;
  size_t pairs = 0;
  for (const ConsumedRecord& l : *left_in) {
    for (const ConsumedRecord* r : right_by_key[l.key]) {
      if (r->timestamp_ms >= l.timestamp_ms - kBeforeMs &&
          r->timestamp_ms <= l.timestamp_ms + kAfterMs) {
        want[l.key].insert(l.value + "|" + r->value);
        ++pairs;
      }
    }
  }
  for (const ConsumedRecord& o : *output) have[o.key].insert(o.value);
  EXPECT_GT(pairs, left_in->size() / 2);
  EXPECT_EQ(output->size(), pairs) << "see " << log;
  EXPECT_TRUE(have == want) << "see " << log;
  std::printf("%zu left and %zu right records, %zu join results\n", left_in->size(),
              right_in->size(), output->size());
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

// Minimal case of a duplicate final result: the transaction that forwards a
// window's final result commits in Kafka, then the process dies before the
// store commits (so the store's expiry horizon, which tells the processor
// which windows it already emitted, is one commit behind). The restarted
// instance replays the changelog tail, which restores the counts but not the
// horizon, and forwards the window's final result a second time.
TEST(StatefulRecoveryTest, EmitOnCloseDoesNotRepeatAFinalResultAfterACrashBetweenKafkaAndStoreCommit) {
  ScopedTopics topics({{UniqueName("wcdup-in"), 1, -1, {}}, {UniqueName("wcdup-out"), 1, -1, {}}});
  WindowedCountApp app;
  app.emit = "close";
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  const std::string log = app.Log("a");
  const int64_t base = BaseTime();
  const int64_t closes = base + kWindowMs + kGraceMs;  // closes [base, base + size)
  // One commit (1 s interval) processes all three and forwards k@base = 2.
  ProduceAt(app.input, {{"k", base + 10}, {"k", base + 20}, {"j", closes}});
  CrashAfterFirstKafkaCommit(app.Args("a", 1000), log);
  ProduceAt(app.input, {{"j", closes + 100}});  // stream time moves on after the restart
  RunToTheEnd(app, app.Args("a", 1000), log);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  std::vector<std::string> finals;
  for (const ConsumedRecord& r : *output) {
    if (r.key == "k@" + std::to_string(base)) finals.push_back(r.value);
  }
  EXPECT_EQ(finals, std::vector<std::string>{"2"}) << "see " << log;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

// A restart after a crash between the Kafka and the store commit, with no
// new input: the task resumes at the restored watermark, so its window
// store's expiry horizon moves there, and is committed even though no record
// ever makes the task commit again (the horizon a later run starts from).
TEST(StatefulRecoveryTest, ResumeWithoutNewInputCommitsTheHorizonOfTheRestoredWatermark) {
  ScopedTopics topics({{UniqueName("wchz-in"), 1, -1, {}}, {UniqueName("wchz-out"), 1, -1, {}}});
  WindowedCountApp app;
  app.emit = "close";
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  const std::string log = app.Log("a");
  const int64_t base = BaseTime();
  const int64_t last = base + 5 * kRetentionMs + 123;
  ProduceAt(app.input, {{"k", base + 10}, {"j", base + 2 * kRetentionMs}, {"k", last}});
  CrashAfterFirstKafkaCommit(app.Args("a", 1000), log);
  RunToTheEnd(app, app.Args("a", 1000), log);
  auto store = testing::ReadWindowStore(app.StateDir("a"), app.app_id, "0_0", kStore,
                                        std::chrono::milliseconds(kRetentionMs));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->expiry_horizon, last - kRetentionMs + 1) << "see " << log;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

// Minimal case of a changelog missing a window's last update: with the record
// cache, a window's updates reach the store (and its changelog) at the next
// commit; when a later record closes the window before that, the store finds
// the window expired and skips the write, changelog record included, while
// the update is still forwarded downstream. (Kafka Streams logs such a write:
// its change-logging layer sits above the segment-expiry check.)
TEST(StatefulRecoveryTest, ChangelogKeepsTheLastUpdateOfAWindowThatClosesBeforeTheCacheFlush) {
  ScopedTopics topics({{UniqueName("wccl-in"), 1, -1, {}}, {UniqueName("wccl-out"), 1, -1, {}}});
  WindowedCountApp app;
  app.emit = "update";
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  const int64_t base = BaseTime();
  ProduceAt(app.input, {{"k", base + 10}, {"k", base + 20}, {"k", base + 30},
                        {"j", base + kWindowMs + kGraceMs}});
  RunToTheEnd(app, app.Args("a", 1000), app.Log("a"));
  const std::string k = "k@" + std::to_string(base);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  std::string last_output;
  for (const ConsumedRecord& r : *output) {
    if (r.key == k) last_output = r.value;
  }
  EXPECT_EQ(last_output, "3");
  auto changelog = ReadAll(app.Changelog(), true, 60s);
  ASSERT_TRUE(changelog.ok()) << changelog.status().ToString();
  auto logged = testing::LatestPerWindow(*changelog);
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  auto it = logged->find(WindowId{"k", base});
  ASSERT_TRUE(it != logged->end()) << "no changelog record for " << k << "; see " << app.Log("a");
  EXPECT_EQ(DecodeCount(it->second), 3);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

}  // namespace
}  // namespace eventflow
