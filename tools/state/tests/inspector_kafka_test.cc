// eventflow-state and `eventflow state-lag` on a real KafkaStreams
// application (eventflow-test-stateful-app's windowed count, exactly-once,
// two tasks) against the broker of scripts/test:
//   - while the application processes, eventflow-state reads its window
//     stores again and again: every read succeeds and never shows a count
//     above the one computed here from the input; once the input is
//     processed each task's store reads equal to the counts computed from its
//     input partition for the windows not yet expired (start >= the store's
//     expiry horizon: a window store keeps size + grace, here 1.5 s of event
//     time), and while the application is idle equal to its changelog
//     (read_committed) up to the stored offset, over the same windows;
//   - the application goes on committing during and after the reads, and a
//     round of every command with the application stopped (SIGSTOP) leaves
//     every file of the state directory as it was;
//   - after kill -9 the crashed application's stores read exactly as their
//     changelog up to their stored offsets;
//   - `eventflow state-lag` reports each store's stored offset, its
//     changelog's end and the committed records behind it, as counted here
//     from the changelog, for the crashed instance's stores and for a copy of
//     the state directory taken earlier (behind by the input that followed).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "eventflow/testing/window_store_readback.h"
#include "test_stores.h"

namespace eventflow::inspector {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using eventflow::testing::ChildProcess;
using eventflow::testing::ConsumedRecord;
using eventflow::testing::ProcessResult;
using eventflow::testing::RunProcess;
using eventflow::testing::UniqueName;
using testing::SnapshotFiles;
using testing::TempDir;

constexpr int64_t kBase = 1764501300000;  // 2025-11-30T11:15:00Z
constexpr int64_t kWindowMs = 1000;
constexpr int kKeys = 10;
constexpr int kPartitions = 2;

using Counts = std::map<std::pair<std::string, int64_t>, int64_t>;  // (key, window start)

// Produces records first..first+count-1: key "k<i % 10>", event time base + 7 i
// (increasing, so no record is ever late), and counts them into *model.
void Produce(const std::string& topic, int64_t first, int64_t count, Counts* model) {
  kafka::KafkaProperties props = eventflow::testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  for (int64_t i = first; i < first + count; ++i) {
    const std::string key = "k" + std::to_string(i % kKeys);
    const std::string value = "v" + std::to_string(i);
    const int64_t time = kBase + 7 * i;
    ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_TIMESTAMP(time),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ++(*model)[{key, time / kWindowMs * kWindowMs}];
    rd_kafka_poll(producer->get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

int64_t Int64Of(const std::string& bytes) {
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return static_cast<int64_t>(u);
}

class InspectorKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    topics_ = std::make_unique<eventflow::testing::ScopedTopics>(std::vector<kafka::NewTopic>{
        {input_, kPartitions, -1, {}}, {output_, kPartitions, -1, {}}});
  }

  std::vector<std::string> AppArgs(const fs::path& state_dir) const {
    return {eventflow::testing::ToolDir() + "/eventflow-test-stateful-app",
            "--mode",
            "windowed-count",
            "--bootstrap",
            eventflow::testing::KafkaBootstrap(),
            "--application-id",
            app_id_,
            "--instance-id",
            "a",
            "--input",
            input_,
            "--output",
            output_,
            "--state-dir",
            state_dir.string(),
            "--window-ms",
            std::to_string(kWindowMs),
            "--grace-ms",
            "500",
            "--commit-interval-ms",
            "100"};
  }

  ProcessResult Inspect(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/timeout", "60", EVENTFLOW_STATE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, {"TMPDIR=" + scratch_.path().string()});
  }

  std::vector<simdjson::dom::element> Parse(const std::string& out) {
    std::vector<simdjson::dom::element> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      auto& parser = parsers_.emplace_back(std::make_unique<simdjson::dom::parser>());
      simdjson::dom::element element;
      EXPECT_EQ(parser->parse(line).get(element), simdjson::SUCCESS) << line;
      lines.push_back(element);
    }
    return lines;
  }

  fs::path Store(const fs::path& state_dir, int partition) const {
    return state_dir / app_id_ / ("0_" + std::to_string(partition)) / "counts";
  }

  // One task's window store as eventflow-state exports it; nullopt when a read fails.
  std::optional<Counts> Export(const fs::path& store) {
    auto run = Inspect({"export", store.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    if (run.exit_code != 0) return std::nullopt;
    Counts counts;
    for (auto line : Parse(run.out)) {
      const int64_t start = int64_t(line["start"]);
      EXPECT_EQ(int64_t(line["end"]), start + kWindowMs);
      counts[{std::string(std::string_view(line["key"])), start}] = int64_t(line["value"]);
    }
    return counts;
  }

  // Both tasks' stores.
  std::optional<Counts> ExportAll(const fs::path& state_dir) {
    Counts all;
    for (int p = 0; p < kPartitions; ++p) {
      auto counts = Export(Store(state_dir, p));
      if (!counts) return std::nullopt;
      all.insert(counts->begin(), counts->end());
    }
    return all;
  }

  // Stored changelog offset of each task's store.
  std::map<int, int64_t> StoredOffsets(const fs::path& state_dir) {
    auto run = Inspect({"offsets", state_dir.string(), "--output", "jsonl"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::map<int, int64_t> out;
    for (auto line : Parse(run.out)) {
      EXPECT_EQ(std::string_view(line["changelog_topic"]), Changelog());
      out[static_cast<int>(int64_t(line["changelog_partition"]))] =
          int64_t(line["changelog_offset"]);
    }
    return out;
  }

  // How many stores under `state_dir` have committed (their offset is recorded).
  int Committed(const fs::path& state_dir) {
    auto run = Inspect({"offsets", state_dir.string(), "--output", "jsonl"});
    if (run.exit_code != 0) return 0;  // no store yet
    int committed = 0;
    for (auto line : Parse(run.out)) committed += std::string_view(line["offset_status"]) == "ok";
    return committed;
  }

  std::string Changelog() const { return app_id_ + "-counts-changelog"; }

  // Each task's expiry horizon (windows starting earlier are expired).
  std::map<int, int64_t> Horizons(const fs::path& state_dir) {
    auto run = Inspect({"list", state_dir.string(), "--output", "jsonl"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::map<int, int64_t> out;
    for (auto line : Parse(run.out)) {
      out[static_cast<int>(int64_t(line["changelog_partition"]))] =
          int64_t(line["expiry_horizon_ms"]);
    }
    return out;
  }

  // The windows from `horizon` on.
  static Counts From(const Counts& counts, int64_t horizon) {
    Counts out;
    for (const auto& [window, count] : counts) {
      if (window.second >= horizon) out[window] = count;
    }
    return out;
  }

  // The windows of one changelog partition's records below `end`, latest value
  // each, from `horizon` on.
  Counts ChangelogPrefix(const std::vector<ConsumedRecord>& records, int partition, int64_t end,
                         int64_t horizon) {
    std::vector<ConsumedRecord> prefix;
    for (const auto& r : records) {
      if (r.partition == partition && r.offset < end) prefix.push_back(r);
    }
    auto latest = eventflow::testing::LatestPerWindow(prefix);
    EXPECT_TRUE(latest.ok()) << latest.status().ToString();
    Counts counts;
    if (latest.ok()) {
      for (const auto& [window, value] : *latest) counts[window] = Int64Of(value);
    }
    return From(counts, horizon);
  }

  // The counts per window of each input partition, recomputed from the input
  // topic as read back (every record counts: event times only increase).
  std::map<int, Counts> InputCounts() {
    auto input = eventflow::testing::ReadAll(input_, /*read_committed=*/false);
    EXPECT_TRUE(input.ok()) << input.status().ToString();
    std::map<int, Counts> out;
    if (!input.ok()) return out;
    for (const auto& r : *input) {
      ++out[r.partition][{r.key, r.timestamp_ms / kWindowMs * kWindowMs}];
    }
    return out;
  }

  // Waits (bounded) until each task's store reads equal to its input
  // partition's counts from the store's horizon on.
  void AwaitStoresCaughtUp(const fs::path& state_dir, int64_t produced) {
    const std::map<int, Counts> input = InputCounts();
    int64_t total = 0;
    for (const auto& [p, counts] : input) {
      for (const auto& [window, count] : counts) total += count;
    }
    ASSERT_EQ(total, produced) << "the input read back is not what was produced";
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    std::string last;
    while (Clock::now() < deadline) {
      if (fs::exists(Store(state_dir, 0)) && fs::exists(Store(state_dir, 1))) {
        const auto horizons = Horizons(state_dir);
        bool equal = horizons.size() == kPartitions;
        for (int p = 0; p < kPartitions && equal; ++p) {
          auto counts = Export(Store(state_dir, p));
          const Counts expected = From(input.at(p), horizons.at(p));
          equal = counts && !counts->empty() && *counts == expected;
          if (!equal) {
            last = "task 0_" + std::to_string(p) + ": " +
                   std::to_string(counts ? counts->size() : 0) + " windows read, " +
                   std::to_string(expected.size()) + " expected from horizon " +
                   std::to_string(horizons.at(p));
          }
        }
        if (equal) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    ADD_FAILURE() << "the stores never read equal to their input's counts: " << last;
  }

  std::string app_id_ = UniqueName("inspect");
  std::string input_ = app_id_ + "-in";
  std::string output_ = app_id_ + "-out";
  std::unique_ptr<eventflow::testing::ScopedTopics> topics_;
  TempDir state_{"eventflow-inspect-state"};
  TempDir copy_{"eventflow-inspect-copy"};
  TempDir scratch_{"eventflow-inspect-scratch"};
  TempDir logs_{"eventflow-inspect-logs"};
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

TEST_F(InspectorKafkaTest, ReadsALiveAndACrashedApplicationAndItsLagBehindTheChangelog) {
  const fs::path log = logs_.path() / "app.log";
  ChildProcess app(AppArgs(state_.path()), log.string());
  Counts model;

  // While it processes: every read succeeds and shows at most the input's counts.
  std::map<int, int64_t> first_offsets;
  int64_t produced = 0;
  Produce(input_, produced, 400, &model);
  produced += 400;
  // Until both tasks have opened their stores and committed once.
  const auto started = Clock::now() + std::chrono::seconds(60);
  while (Committed(state_.path()) < kPartitions) {
    ASSERT_LT(Clock::now(), started) << "the application's stores did not commit";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int round = 0; round < 6; ++round) {
    Produce(input_, produced, 400, &model);
    produced += 400;
    auto all = ExportAll(state_.path());
    ASSERT_TRUE(all.has_value());
    for (const auto& [window, count] : *all) {
      ASSERT_TRUE(model.count(window)) << window.first << "@" << window.second;
      EXPECT_LE(count, model[window]) << window.first << "@" << window.second;
    }
    auto offsets = StoredOffsets(state_.path());
    if (first_offsets.empty()) first_offsets = offsets;
  }
  ASSERT_EQ(first_offsets.size(), 2u);
  AwaitStoresCaughtUp(state_.path(), produced);
  auto offsets = StoredOffsets(state_.path());
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_GT(offsets[0] + offsets[1], first_offsets[0] + first_offsets[1])
      << "the application did not commit while it was read";

  // Idle now: what a read shows is the changelog up to the stored offset.
  {
    auto changelog = eventflow::testing::ReadAll(Changelog(), /*read_committed=*/true);
    ASSERT_TRUE(changelog.ok()) << changelog.status().ToString();
    const auto horizons = Horizons(state_.path());
    for (int p = 0; p < kPartitions; ++p) {
      const auto before = StoredOffsets(state_.path());
      auto counts = Export(Store(state_.path(), p));
      const auto after = StoredOffsets(state_.path());
      ASSERT_TRUE(counts.has_value());
      if (before.at(p) != after.at(p)) continue;  // it committed meanwhile: no single offset
      EXPECT_EQ(*counts, ChangelogPrefix(*changelog, p, after.at(p), horizons.at(p)))
          << "task 0_" << p;
    }
  }

  // Every command with the application stopped: no file changes.
  app.Signal(SIGSTOP);
  const auto files = SnapshotFiles(state_.path());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list", state_.path().string()},
           {"offsets", state_.path().string()},
           {"verify", state_.path().string()},
           {"export", Store(state_.path(), 0).string()},
           {"windows", Store(state_.path(), 1).string(), "k1"},
           {"scan", Store(state_.path(), 1).string(), "--limit", "5"}}) {
    auto run = Inspect(args);
    EXPECT_EQ(run.exit_code, 0) << args[0] << ": " << run.out << run.err;
  }
  EXPECT_EQ(SnapshotFiles(state_.path()), files);
  EXPECT_TRUE(fs::is_empty(scratch_.path()));
  // A copy of the state as it is now (a stopped process: crash-consistent),
  // to be behind its changelog later.
  fs::copy(state_.path(), copy_.path(), fs::copy_options::recursive);
  app.Signal(SIGCONT);

  // It goes on processing.
  Produce(input_, produced, 600, &model);
  produced += 600;
  AwaitStoresCaughtUp(state_.path(), produced);
  EXPECT_TRUE(app.running());

  // kill -9: the stores hold exactly the changelog up to their offsets.
  app.Signal(SIGKILL);
  EXPECT_EQ(app.Wait(std::chrono::seconds(30), "the application"), 128 + SIGKILL);
  auto changelog = eventflow::testing::ReadAll(Changelog(), /*read_committed=*/true);
  ASSERT_TRUE(changelog.ok()) << changelog.status().ToString();
  const auto crashed = StoredOffsets(state_.path());
  const auto horizons = Horizons(state_.path());
  for (int p = 0; p < kPartitions; ++p) {
    auto counts = Export(Store(state_.path(), p));
    ASSERT_TRUE(counts.has_value());
    EXPECT_FALSE(counts->empty());
    EXPECT_EQ(*counts, ChangelogPrefix(*changelog, p, crashed.at(p), horizons.at(p)))
        << "task 0_" << p;
  }
  auto verify = Inspect({"verify", state_.path().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // state-lag, for the crashed instance's state and for the older copy.
  for (const fs::path& dir : {state_.path(), copy_.path()}) {
    const auto stored = StoredOffsets(dir);
    auto ends = eventflow::testing::EndOffsets(Changelog());
    ASSERT_TRUE(ends.ok()) << ends.status().ToString();
    auto run = RunProcess({"/usr/bin/timeout", "120", EVENTFLOW_BINARY, "state-lag", "--state-dir",
                           dir.string(), "--bootstrap-servers",
                           eventflow::testing::KafkaBootstrap(), "--output", "jsonl"});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    auto lines = Parse(run.out);
    ASSERT_EQ(lines.size(), 2u) << run.out;
    int64_t total_behind = 0;
    for (auto line : lines) {
      const int p = static_cast<int>(int64_t(line["changelog_partition"]));
      EXPECT_EQ(std::string_view(line["changelog_topic"]), Changelog());
      EXPECT_EQ(int64_t(line["stored_offset"]), stored.at(p));
      EXPECT_EQ(int64_t(line["end_offset"]), (*ends)[p]);
      EXPECT_EQ(int64_t(line["offset_lag"]), (*ends)[p] - stored.at(p));
      int64_t behind = 0;  // committed changelog records at or after the stored offset
      for (const auto& r : *changelog) behind += r.partition == p && r.offset >= stored.at(p);
      EXPECT_EQ(int64_t(line["records_behind"]), behind) << "partition " << p << " of " << dir;
      EXPECT_FALSE(bool(line["records_behind_is_lower_bound"]));
      EXPECT_EQ(std::string_view(line["status"]), "ok");
      total_behind += behind;
    }
    if (dir == copy_.path()) {
      EXPECT_GT(total_behind, 0) << "the copy taken before more input should be behind";
    }
  }
  // The table form.
  auto table = RunProcess({"/usr/bin/timeout", "120", EVENTFLOW_BINARY, "state-lag", "--state-dir",
                           copy_.path().string(), "--bootstrap-servers",
                           eventflow::testing::KafkaBootstrap()});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("RECORDS BEHIND"), std::string::npos) << table.out;
  // A bad state directory is a usage error naming it.
  auto bad = RunProcess({EVENTFLOW_BINARY, "state-lag", "--state-dir", logs_.path().string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(logs_.path().string()), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace eventflow::inspector
