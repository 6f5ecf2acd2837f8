// `eventflow run`'s settings in process (RunSettingsFrom): defaults, sizes
// with units, the three pass-through forms, and checks naming the setting.
#include "eventflow_tool.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace eventflow::tools {
namespace {

Result<RunSettings> Parse(const std::vector<std::string>& args) {
  auto line = cli::ParseCommandLine(args, RunOptionsDescription(), {.kafka_passthrough = true});
  if (!line.ok()) return line.status();
  return RunSettingsFrom(*line);
}

TEST(EventflowToolTest, DefaultsFlagsAndEnvironment) {
  ::unsetenv("KAFKA_BOOTSTRAP_SERVERS");
  auto d = Parse({});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->config.bootstrap_servers, "127.0.0.1:19092");
  EXPECT_EQ(d->config.application_id, "eventflow");
  EXPECT_EQ(d->config.num_stream_threads, 1);
  // The memory budget, whose split StreamsConfig derives (memory_split_test).
  EXPECT_EQ(d->config.memory_budget_bytes, size_t{256} << 20);
  EXPECT_EQ(d->config.state_memory_bytes, 0u);
  EXPECT_EQ(d->config.consumer_prefetch_bytes, 0u);
  EXPECT_EQ(d->config.restore_prefetch_bytes, 0u);
  EXPECT_EQ(d->config.producer_buffer_bytes, 0u);
  EXPECT_EQ(d->config.processing_guarantee, streams::ProcessingGuarantee::kExactlyOnceV2);
  EXPECT_EQ(d->partitions, 3);
  EXPECT_EQ(d->topic_retention_ms, -1);
  EXPECT_EQ(std::string(d->topology->name), "eventflow");
  ::setenv("KAFKA_BOOTSTRAP_SERVERS", "env:9092", 1);
  EXPECT_EQ(Parse({})->config.bootstrap_servers, "env:9092");
  EXPECT_EQ(Parse({"--bootstrap-servers", "flag:1"})->config.bootstrap_servers, "flag:1");
  ::unsetenv("KAFKA_BOOTSTRAP_SERVERS");

  auto s = Parse({"--state-memory-bytes", "64MiB", "--threads", "4", "--processing-guarantee",
                  "at_least_once", "--on-data-loss", "skip", "--kafka.linger.ms=3", "--kafka",
                  "security.protocol=SSL", "--kafka=client.rack=r1"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->config.state_memory_bytes, size_t{64} << 20);
  EXPECT_EQ(s->config.num_stream_threads, 4);
  EXPECT_EQ(s->config.processing_guarantee, streams::ProcessingGuarantee::kAtLeastOnce);
  EXPECT_EQ(s->config.data_loss_policy, streams::DataLossPolicy::kSkip);
  EXPECT_EQ(*s->config.kafka.Find("linger.ms"), "3");
  EXPECT_EQ(*s->config.kafka.Find("security.protocol"), "SSL");
  EXPECT_EQ(*s->config.kafka.Find("client.rack"), "r1");
  EXPECT_EQ(Parse({"--state-memory-bytes", "536870912"})->config.state_memory_bytes,
            size_t{512} << 20);
  auto m = Parse({"--memory-budget", "1GiB", "--consumer-prefetch-bytes", "8MiB",
                  "--restore-prefetch-bytes", "4MiB", "--producer-buffer-bytes", "2MiB"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->config.memory_budget_bytes, size_t{1} << 30);
  EXPECT_EQ(m->config.consumer_prefetch_bytes, size_t{8} << 20);
  EXPECT_EQ(m->config.restore_prefetch_bytes, size_t{4} << 20);
  EXPECT_EQ(m->config.producer_buffer_bytes, size_t{2} << 20);
  EXPECT_EQ(m->config.state_memory_bytes, 0u);
}

TEST(EventflowToolTest, ApplicationServerDefaultsToTheHttpEndpoint) {
  EXPECT_EQ(Parse({})->config.application_server, "") << "no HTTP port, no queries";
  EXPECT_EQ(Parse({"--http-port", "18081"})->config.application_server, "127.0.0.1:18081");
  EXPECT_EQ(Parse({"--http-port", "18081", "--http-address", "::1"})->config.application_server,
            "[::1]:18081");
  auto any = Parse({"--http-port", "18081", "--http-address", "0.0.0.0"});
  ASSERT_TRUE(any.ok());
  EXPECT_NE(any->config.application_server.rfind("0.0.0.0", 0), 0u) << "the host name instead";
  EXPECT_EQ(Parse({"--http-port", "18081", "--application-server", "app-1.example:80"})
                ->config.application_server,
            "app-1.example:80");
}

TEST(EventflowToolTest, BadValuesNameTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--state-memory-bytes", "0"}, "--state-memory-bytes: must be positive, got 0"},
      {{"--memory-budget", "0"}, "--memory-budget: must be positive, got 0"},
      {{"--producer-buffer-bytes", "lots"}, "--producer-buffer-bytes: invalid size \"lots\""},
      {{"--memory-budget", "8MiB", "--consumer-prefetch-bytes", "8MiB"},
       "memory.budget.bytes 8388608 leaves less than 1 MiB for the state"},
      {{"--state-memory-bytes", "-1"}, "--state-memory-bytes: must be positive, got -1"},
      {{"--state-memory-bytes", "lots"}, "--state-memory-bytes: invalid size \"lots\""},
      {{"--state-memory-bytes", "512KiB"}, "statestore.memory.bytes must be at least 1 MiB"},
      {{"--threads", "0"}, "--threads: must be at least 1, got 0"},
      {{"--partitions", "0"}, "--partitions: must be at least 1, got 0"},
      {{"--commit-interval-ms", "-1"}, "--commit-interval-ms: must not be negative, got -1"},
      {{"--http-port", "70000"}, "--http-port: must be in 0..65535, got 70000"},
      {{"--repartition-purge-interval-ms", "-1"}, "repartition.purge.interval.ms"},
      {{"--partition-stall-timeout-ms", "-1"}, "partition.stall.timeout.ms"},
      {{"--kafka", "group.id=g"}, "kafka.group.id is set by the runtime"},
      {{"--kafka=isolation.level=read_uncommitted"}, "kafka.isolation.level is set by the runtime"},
      {{"--application-server", "h:1"}, "--application-server: interactive queries are served"},
      {{"--http-port", "8080", "--application-server", "h"}, "--application-server: \"h\" is not"},
      {{"--http-port", "8080", "--kafka.partitioner=random"}, "kafka.partitioner"},
  };
  for (const Case& c : cases) {
    auto s = Parse(c.args);
    ASSERT_FALSE(s.ok()) << c.expected;
    EXPECT_TRUE(s.status().IsInvalidArgument()) << c.expected;
    EXPECT_NE(s.status().message().find(c.expected), std::string::npos)
        << c.expected << "\n" << s.status().message();
  }
}

}  // namespace
}  // namespace eventflow::tools
