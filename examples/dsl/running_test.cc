// docs/dsl.md, "Running an application": StreamsConfig, KafkaStreams,
// RunUntilSignalled. Running needs a broker, so these tests check what
// happens before one is contacted: bad settings and a bad topology stop
// Start() with a message naming them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/streams_builder.h"

namespace eventflow::streams {
namespace {

Topology CountOrders() {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("orders")
      .GroupByKey()
      .Count(Materialized<std::string, int64_t>::As("orders-per-user"))
      .ToStream()
      .To("orders-per-user");
  return builder.Build();
}

// [START run]
// The main() of an application instance: configure, start, run until SIGTERM
// or SIGINT, then close cleanly. Returns the process exit status.
int RunOrdersApp(const std::string& bootstrap_servers) {
  StreamsConfig config;
  config.application_id = "orders-app";  // the consumer group; prefixes internal topics
  config.bootstrap_servers = bootstrap_servers;
  config.num_stream_threads = 2;
  config.state_dir = "/var/lib/orders-app";  // stores: <state_dir>/<application_id>/<task>/
  config.processing_guarantee = ProcessingGuarantee::kExactlyOnceV2;  // the default
  config.kafka.Set("compression.type", "lz4");  // any librdkafka setting, passed through

  KafkaStreams app(CountOrders(), config);
  app.SetUncaughtErrorHandler([](const Status& error) {
    std::fprintf(stderr, "orders-app: a stream thread failed: %s\n", error.ToString().c_str());
    return KafkaStreams::ErrorResponse::kShutdownClient;  // the default; or kReplaceThread
  });
  if (const Status started = app.Start(); !started.ok()) {
    // Names the setting, topology node or topic at fault.
    std::fprintf(stderr, "orders-app: %s\n", started.ToString().c_str());
    return 2;
  }
  // Blocks until a signal or an error: finishes the batch, commits, closes the
  // stores and leaves the group. 0 after a clean close, 1 otherwise.
  return RunUntilSignalled(app);
}
// [END run]

TEST(RunningExample, StartRefusesABadSettingBeforeContactingKafka) {
  testing::internal::CaptureStderr();
  const int status = RunOrdersApp("");  // no bootstrap servers
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 2);
  EXPECT_NE(printed.find("bootstrap.servers is not set"), std::string::npos) << printed;
}

TEST(RunningExample, SettingsAreValidatedWithTheSettingNamed) {
  // [START validate-config]
  StreamsConfig config;
  config.application_id = "orders app";  // a space: not allowed in topic names
  config.bootstrap_servers = "127.0.0.1:9092";
  const Status bad = config.Validate();  // what Start() checks first
  // bad.message(): application.id "orders app" is invalid: use 1-200 characters of ...
  // [END validate-config]
  EXPECT_TRUE(bad.IsInvalidArgument()) << bad.ToString();
  EXPECT_NE(bad.message().find("application.id \"orders app\""), std::string::npos)
      << bad.ToString();
  config.application_id = "orders-app";
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().ToString();
  config.num_stream_threads = 0;
  EXPECT_NE(config.Validate().message().find("num.stream.threads"), std::string::npos);
  config.num_stream_threads = 1;
  config.kafka.Set("transactional.id", "mine");  // set by the runtime per thread
  EXPECT_NE(config.Validate().message().find("kafka.transactional.id"), std::string::npos);
}

TEST(RunningExample, CommitIntervalDefaultsFollowTheGuarantee) {
  StreamsConfig config;  // commit_interval 0: the guarantee's default
  EXPECT_EQ(config.processing_guarantee, ProcessingGuarantee::kExactlyOnceV2);
  EXPECT_EQ(config.EffectiveCommitInterval(), std::chrono::milliseconds(100));
  config.processing_guarantee = ProcessingGuarantee::kAtLeastOnce;
  EXPECT_EQ(config.EffectiveCommitInterval(), std::chrono::seconds(30));
  config.commit_interval = std::chrono::seconds(1);
  EXPECT_EQ(config.EffectiveCommitInterval(), std::chrono::seconds(1));
}

TEST(RunningExample, StartRefusesABadTopologyNamingTheCall) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("orders").To("copy-1");
  builder.Stream<std::string, std::string>("orders").To("copy-2");  // a topic read by two sources
  StreamsConfig config;
  config.application_id = "orders-app";
  config.bootstrap_servers = "127.0.0.1:1";  // never contacted: the topology is checked first
  KafkaStreams app(builder.Build(), config);
  const Status started = app.Start();
  EXPECT_TRUE(started.IsInvalidArgument()) << started.ToString();
  EXPECT_EQ(started, builder.Build().Validate());
  EXPECT_NE(started.message().find("topic \"orders\" is read by two sources"), std::string::npos)
      << started.ToString();
  EXPECT_EQ(app.state(), KafkaStreams::State::kCreated);
}

}  // namespace
}  // namespace eventflow::streams
