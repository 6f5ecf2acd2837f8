// `eventflow reset` against the real broker (labels integration, kafka): the
// pipeline runs over generated input (eventflow-produce --seed) until it has
// committed every input offset; then
//   1. a reset is refused while the instance runs, and while its static
//      member is still in the group after a clean stop (the instance's
//      group.instance.id stays for session.timeout.ms); a dry run lists the
//      internal topics and changes nothing;
//   2. with --wait-for-empty the reset waits for the member to go, then
//      deletes exactly the application's changelog and repartition topics (as
//      found on the broker before, by name) and the group's offsets; the input,
//      output and dead-letter topics stay untouched;
//   3. the application restarted on its old state directory reprocesses the
//      whole input: the raw orders output then holds every order twice;
//   4. --input-offsets latest commits the inputs' end offsets for the group.
// Every wait is bounded; everything talks to the test broker on loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::KafkaBootstrap;

constexpr int kPartitions = 3;
constexpr int kEvents = 3000;

bool EndsWith(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

class ResetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueName("rst") + "-";
    app_id_ = prefix_ + "app";
    dir_ = std::filesystem::temp_directory_path() / prefix_;
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    app_.reset();
    auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    const std::vector<std::string> topics = testing::TopicsStartingWith(prefix_);
    if (client.ok() && !topics.empty()) {
      Status s = kafka::DeleteTopics(client->get(), topics, 30s);
      if (!s.ok()) std::fprintf(stderr, "leftover topics: %s\n", s.ToString().c_str());
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Log() const { return (dir_ / "app.log").string(); }

  void StartApp() {
    app_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{testing::ToolDir() + "/eventflow", "run", "--bootstrap-servers",
                                 KafkaBootstrap(), "--application-id", app_id_, "--instance-id",
                                 "pod-0", "--state-dir", (dir_ / "state").string(),
                                 "--commit-interval-ms", "100", "--topic-prefix", prefix_,
                                 // The stopped static member leaves the group within seconds.
                                 "--kafka.session.timeout.ms=6000"},
        Log());
  }

  void StopApp() {
    app_->Signal(SIGTERM);
    EXPECT_EQ(app_->Wait(120s, "eventflow run"), 0) << "see " << Log();
    app_.reset();
  }

  testing::ProcessResult Reset(std::vector<std::string> extra) {
    std::vector<std::string> argv = {testing::ToolDir() + "/eventflow", "reset",
                                     "--bootstrap-servers", KafkaBootstrap(), "--application-id",
                                     app_id_, "--topic-prefix", prefix_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunProcess(argv);
  }

  // The pipeline's inputs (user-events is produced but not read).
  std::vector<std::string> InputTopics() const {
    return {prefix_ + "product-view", prefix_ + "orders"};
  }

  // Waits until the group has committed every input partition's end offset.
  void AwaitInputCommitted() {
    for (const std::string& topic : InputTopics()) {
      auto ends = testing::EndOffsets(topic);
      ASSERT_TRUE(ends.ok()) << ends.status().ToString();
      Status s = testing::AwaitCommitted(app_id_, topic, *ends, 180s);
      ASSERT_TRUE(s.ok()) << s.ToString() << "; see " << Log();
    }
  }

  // Polls `done` every 200 ms until it holds, or fails after `timeout`.
  template <typename F>
  bool AwaitUntil(const std::string& what, std::chrono::seconds timeout, F done) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what;
    return false;
  }

  size_t CommittedRecords(const std::string& topic) {
    auto records = testing::ReadAll(topic, /*read_committed=*/true, 60s);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    return records.ok() ? records->size() : 0;
  }

  // An admin client on the test broker, made on first use.
  rd_kafka_t* admin() {
    if (!admin_) {
      auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
      EXPECT_TRUE(client.ok()) << client.status().ToString();
      if (client.ok()) admin_ = std::move(*client);
    }
    return admin_.get();
  }

  std::string prefix_, app_id_;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> app_;
  kafka::KafkaHandle admin_;
};

TEST_F(ResetTest, DeletesInternalTopicsAndOffsetsAndTheApplicationReprocesses) {
  testing::ProcessResult produced = testing::RunProcess(
      {testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers", KafkaBootstrap(),
       "--topic-prefix", prefix_, "--partitions", std::to_string(kPartitions), "--count",
       std::to_string(kEvents), "--seed", "14", "--max-rate", "--progress", "off"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  const size_t orders = CommittedRecords(prefix_ + "orders");
  ASSERT_GT(orders, 0u);

  StartApp();
  ASSERT_NO_FATAL_FAILURE(AwaitInputCommitted());
  const std::string raw = prefix_ + "orders_raw";
  ASSERT_TRUE(AwaitUntil("every order in " + raw, 120s, [&] {
    return CommittedRecords(raw) == orders;
  })) << "see " << Log();

  // What the broker holds of the application, found by name, independently of
  // the topology the tool reads: its internal topics and its dead-letter topic.
  std::set<std::string> internal;
  for (const std::string& t : testing::TopicsStartingWith(app_id_ + "-")) {
    if (EndsWith(t, "-changelog") || EndsWith(t, "-repartition")) internal.insert(t);
  }
  ASSERT_FALSE(internal.empty());
  ASSERT_TRUE(std::count_if(internal.begin(), internal.end(),
                            [](const std::string& t) { return EndsWith(t, "-repartition"); }) > 0);
  const std::string dlq = app_id_ + "-dlq";
  std::map<std::string, std::vector<int64_t>> ends_before;
  for (const std::string& t : InputTopics()) ends_before[t] = *testing::EndOffsets(t);

  // 1. Refused while running, naming the member; a dry run lists the topics.
  testing::ProcessResult running = Reset({});
  EXPECT_EQ(running.exit_code, 1) << running.out << running.err;
  EXPECT_NE(running.err.find("has 1 member(s): pod-0-0"), std::string::npos) << running.err;
  testing::ProcessResult dry = Reset({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  for (const std::string& t : internal) {
    EXPECT_NE(dry.out.find("would delete topic " + t + " ("), std::string::npos) << t << dry.out;
  }
  EXPECT_EQ(dry.out.find("would delete topic " + dlq), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("dry run: nothing changed"), std::string::npos) << dry.out;
  for (const std::string& t : internal) {
    EXPECT_TRUE(kafka::PartitionCount(admin(), t, 30s).ok()) << t << " deleted by a dry run";
  }

  // 2. A clean stop leaves the static member in the group for the session
  // time-out: refused at once, done with --wait-for-empty.
  StopApp();
  testing::ProcessResult static_member = Reset({});
  EXPECT_EQ(static_member.exit_code, 1) << static_member.out << static_member.err;
  EXPECT_NE(static_member.err.find("pod-0-0"), std::string::npos) << static_member.err;
  EXPECT_TRUE(kafka::PartitionCount(admin(), *internal.begin(), 30s).ok());

  testing::ProcessResult reset = Reset({"--wait-for-empty", "60s"});
  ASSERT_EQ(reset.exit_code, 0) << reset.out << reset.err;
  for (const std::string& t : internal) {
    EXPECT_NE(reset.out.find("deleted topic " + t + "\n"), std::string::npos) << t << reset.out;
  }
  // Topic deletion is asynchronous on the broker: wait until the metadata
  // no longer lists them.
  AwaitUntil("the internal topics to disappear", 60s, [&] {
    for (const std::string& t : testing::TopicsStartingWith(app_id_ + "-")) {
      if (internal.count(t)) return false;
    }
    return true;
  });
  EXPECT_TRUE(kafka::PartitionCount(admin(), dlq, 30s).ok()) << "the dead-letter topic is kept";
  for (const std::string& t : InputTopics()) {
    EXPECT_EQ(*testing::EndOffsets(t), ends_before[t]) << t << " changed";
    auto committed = testing::CommittedOffsets(app_id_, t);
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    for (int64_t offset : *committed) EXPECT_EQ(offset, -1) << t << " still has offsets";
  }
  EXPECT_EQ(CommittedRecords(raw), orders) << "output topics are not touched";

  // 3. The restarted application (same state directory) reprocesses the input.
  StartApp();
  ASSERT_NO_FATAL_FAILURE(AwaitInputCommitted());
  ASSERT_TRUE(AwaitUntil("every order twice in " + raw, 120s, [&] {
    return CommittedRecords(raw) == 2 * orders;
  })) << "see " << Log();
  for (const std::string& t : internal) {
    EXPECT_TRUE(kafka::PartitionCount(admin(), t, 30s).ok()) << t << " not recreated";
  }
  StopApp();

  // 4. --input-offsets latest: the inputs' end offsets are committed.
  testing::ProcessResult latest = Reset({"--wait-for-empty", "60s", "--input-offsets", "latest"});
  ASSERT_EQ(latest.exit_code, 0) << latest.out << latest.err;
  for (const std::string& t : InputTopics()) {
    auto committed = testing::CommittedOffsets(app_id_, t);
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    EXPECT_EQ(*committed, ends_before[t]) << t;
  }
}

TEST_F(ResetTest, BadSettingsAreNamed) {
  testing::ProcessResult r = Reset({"--input-offsets", "middle"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--input-offsets: expected earliest or latest, got \"middle\""),
            std::string::npos)
      << r.err;
  r = Reset({"--wait-for-empty", "-1s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--wait-for-empty"), std::string::npos) << r.err;
  r = Reset({"--topology", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--topology: unknown topology"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eventflow
