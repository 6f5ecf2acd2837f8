// eventflow-sink's command line without Kafka or PostgreSQL: every setting's
// check names the setting (in process, through SinkOptionsFrom), and the
// binary exits 2 without printing a secret (as a child process).
#include "sink_tool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "sink_metrics.h"

namespace eventflow::tools {
namespace {

Result<sinks::PgSinkOptions> Parse(const std::vector<std::string>& args) {
  cli::Tool tool("eventflow-sink");
  auto line = cli::ParseCommandLine(args, SinkOptionsDescription(), {.kafka_passthrough = true});
  if (!line.ok()) return line.status();
  return SinkOptionsFrom(*line, &tool);
}

TEST(SinkToolTest, DefaultsAndFlags) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->batch_size, 5000u);
  EXPECT_EQ(defaults->batch_time, std::chrono::milliseconds(200));
  EXPECT_EQ(defaults->group_id, "eventflow-sink");
  EXPECT_EQ(defaults->data_loss_policy, kafka::DataLossPolicy::kFail);
  EXPECT_TRUE(defaults->commit_to_kafka);
  EXPECT_EQ(defaults->partition_stall_timeout, std::chrono::seconds(30));
  auto set = Parse({"--batch-size", "7", "--batch-ms", "1s", "--on-data-loss", "skip",
                    "--no-kafka-commit", "--progress-interval", "5s", "--group", "g",
                    "--bootstrap-servers", "b:1", "--kafka", "linger.ms=9",
                    "--partition-stall-timeout-ms", "2500"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->batch_size, 7u);
  EXPECT_EQ(set->batch_time, std::chrono::seconds(1));
  EXPECT_EQ(set->data_loss_policy, kafka::DataLossPolicy::kSkip);
  EXPECT_FALSE(set->commit_to_kafka);
  EXPECT_EQ(set->progress_interval, std::chrono::seconds(5));
  EXPECT_EQ(set->partition_stall_timeout, std::chrono::milliseconds(2500));
  auto off = Parse({"--partition-stall-timeout-ms", "0"});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(off->partition_stall_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(set->group_id, "g");
  EXPECT_EQ(set->bootstrap_servers, "b:1");
  EXPECT_EQ(*set->kafka.Find("linger.ms"), "9");
}

TEST(SinkToolTest, EveryBadValueIsRefusedNamingTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--batch-size", "-5"}, "--batch-size: must be at least 1, got -5"},
      {{"--batch-size", "0"}, "--batch-size: must be at least 1, got 0"},
      {{"--batch-size", "many"}, "'--batch-size' is invalid"},
      {{"--batch-ms", "0"}, "--batch-ms: must be positive, got 0"},
      {{"--batch-ms", "-1s"}, "--batch-ms: invalid duration"},
      {{"--progress-interval", "0s"}, "--progress-interval: must be positive, got 0s"},
      {{"--partition-stall-timeout-ms", "-1"},
       "--partition-stall-timeout-ms: must be at least 0, got -1"},
      {{"--partition-stall-timeout-ms", "soon"}, "'--partition-stall-timeout-ms' is invalid"},
      {{"--on-data-loss", "ignore"}, "--on-data-loss: expected fail or skip, got \"ignore\""},
      {{"--group", ""}, "--group: must not be empty"},
      {{"--dlq-topic", ""}, "--dlq-topic: must not be empty"},
      {{"--postgres-password-file", "/nonexistent/pw"}, "--postgres-password-file"},
  };
  for (const Case& c : cases) {
    auto options = Parse(c.args);
    ASSERT_FALSE(options.ok()) << c.expected;
    EXPECT_TRUE(options.status().IsInvalidArgument()) << c.expected;
    EXPECT_NE(options.status().message().find(c.expected), std::string::npos)
        << c.expected << "\n" << options.status().message();
  }
}

// /readyz and /metrics of a running sink whose stall guard found partitions
// stalled: not ready, and both stall figures exported.
TEST(SinkToolTest, AStalledPartitionFailsReadinessAndIsExported) {
  sinks::PgSinkProbe::Snapshot s;
  s.state = sinks::PgSinkProbe::State::kRunning;
  s.postgres_connected = true;
  EXPECT_EQ(SinkHealth(s, /*readiness=*/true).status, 200);
  s.stalled_partitions = 2;
  s.partition_stalls = 3;
  const http::Response ready = SinkHealth(s, /*readiness=*/true);
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "RUNNING (2 partition(s) stalled)\n");
  EXPECT_EQ(SinkHealth(s, /*readiness=*/false).status, 200);  // alive all the same
  const std::string text = SinkMetricsText(s, "g");
  for (const char* line : {"eventflow_sink_stalled_partitions{group=\"g\"} 2\n",
                           "eventflow_sink_partition_stalls_total{group=\"g\"} 3\n",
                           "eventflow_sink_ready{group=\"g\"} 0\n",
                           "# TYPE eventflow_sink_partition_stalls_total counter\n",
                           "# TYPE eventflow_sink_stalled_partitions gauge\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

TEST(SinkToolTest, BinaryExitsTwoWithoutPrintingSecrets) {
  const std::string tool = testing::ToolDir() + "/eventflow-sink";
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--batch-size", "-5"}, "--batch-size: must be at least 1, got -5"},
      {{"--sasl.password=hunter2"}, "unknown option \"--sasl.password\""},
      {{"--kafka.sasl.password=hunter2", "--batch-size", "0"}, "--batch-size"},
      // Exactly-once needs read_committed: refused before any connection.
      {{"--kafka.sasl.password=hunter2", "--kafka.isolation.level=read_uncommitted"},
       "kafka.isolation.level: the sink's consumer sets it to read_committed"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {tool, "--bootstrap-servers", "127.0.0.1:1",
                                     "--postgres-url", "postgresql://u:pw-hunter2@127.0.0.1:1/db"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = testing::RunProcess(argv);
    EXPECT_EQ(r.exit_code, 2) << c.expected << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.expected << "\n" << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace eventflow::tools
