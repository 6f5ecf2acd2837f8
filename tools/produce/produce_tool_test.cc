// eventflow-produce's settings in process (ProduceSettingsFrom): defaults,
// the pace rules, and every numeric option's check naming the option.
#include "produce_tool.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace eventflow::tools {
namespace {

Result<ProduceSettings> Parse(const std::vector<std::string>& args) {
  auto line =
      cli::ParseCommandLine(args, ProduceOptionsDescription(), {.kafka_passthrough = true});
  if (!line.ok()) return line.status();
  return ProduceSettingsFrom(*line);
}

class ProduceToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("EVENT_DELAY_MS");
    ::unsetenv("KAFKA_BOOTSTRAP_SERVERS");
  }
};

TEST_F(ProduceToolTest, DefaultsAndThePace) {
  auto d = Parse({"--seed", "7"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->pump.rate, 10.0);  // 1000 / EVENT_DELAY_MS default 100
  EXPECT_EQ(d->traffic.seed, 7u);
  EXPECT_EQ(d->traffic.start_time_ms, 1764460800000);
  EXPECT_EQ(d->traffic.event_spacing_us, 100'000);
  EXPECT_EQ(Parse({"--event-spacing", "2ms"})->traffic.event_spacing_us, 2'000);
  EXPECT_EQ(Parse({"--event-spacing", "300us"})->traffic.event_spacing_us, 300);
  EXPECT_EQ(d->kafka.bootstrap_servers, "127.0.0.1:19092");
  EXPECT_EQ(d->kafka.partitions, 3);
  EXPECT_EQ(d->count, 0u);
  // Dry runs and replays are unpaced unless a rate is given; --max-rate wins.
  EXPECT_EQ(Parse({"--dry-run", "--count", "5"})->pump.rate, 0.0);
  EXPECT_EQ(Parse({"--dry-run", "--count", "5", "--rate", "50"})->pump.rate, 50.0);
  EXPECT_EQ(Parse({"--rate", "50", "--max-rate"})->pump.rate, 0.0);
  ::setenv("EVENT_DELAY_MS", "4", 1);
  EXPECT_EQ(Parse({})->pump.rate, 250.0);
  ::setenv("EVENT_DELAY_MS", "0", 1);
  EXPECT_EQ(Parse({})->pump.rate, 0.0);
  auto big = Parse({"--count", "18446744073709551615", "--seed", "18446744073709551615"});
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->count, UINT64_MAX);
  EXPECT_EQ(big->traffic.seed, UINT64_MAX);
}

TEST_F(ProduceToolTest, EveryBadValueIsRefusedNamingTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--count", "-5"}, {}, "--count: expected a non-negative integer, got \"-5\""},
      {{"--count", "5x"}, {}, "--count: expected a non-negative integer"},
      {{"--seed", "-1"}, {}, "--seed: expected a non-negative integer, got \"-1\""},
      {{"--rate", "0"}, {}, "--rate: must be a positive number"},
      {{"--rate", "-3"}, {}, "--rate: must be a positive number"},
      {{"--rate", "nan"}, {}, "--rate: must be a positive number"},
      {{"--partitions", "0"}, {}, "--partitions: must be at least 1, got 0"},
      {{"--partitions", "-2"}, {}, "--partitions: must be at least 1, got -2"},
      {{"--replication-factor", "0"}, {},
       "--replication-factor: must be -1 (the broker's default) or positive, got 0"},
      {{"--topic-retention-ms", "0"}, {}, "--topic-retention-ms: must be -1"},
      {{"--topic-retention-ms", "-2"}, {}, "--topic-retention-ms: must be -1"},
      {{"--users", "0"}, {}, "--users must be greater than"},
      {{"--products", "-1"}, {}, "--products must be greater than"},
      {{"--late-fraction", "1.5"}, {}, "--late-fraction must be within [0, 1]"},
      {{"--late-fraction", "-0.1"}, {}, "--late-fraction must be within [0, 1]"},
      {{"--duration", "0s"}, {}, "--duration: must be positive, got 0s"},
      {{"--duration", "-5s"}, {}, "--duration: invalid duration"},
      {{"--event-spacing", "-1ms"}, {}, "--event-spacing: invalid duration"},
      {{"--max-disorder", "ten"}, {}, "--max-disorder"},
      {{"--late-by", "-1h"}, {}, "--late-by"},
      {{"--progress", "sometimes"}, {}, "--progress: expected auto, on or off, got \"sometimes\""},
      {{"--start-time", "yesterday"}, {}, "--start-time"},
      {{}, {"EVENT_DELAY_MS=-5"}, "EVENT_DELAY_MS: expected a non-negative number"},
      {{}, {"EVENT_DELAY_MS=fast"}, "EVENT_DELAY_MS"},
      {{"--from-file", "x.jsonl", "--count", "3"},
       {},
       "--count cannot be combined with --from-file"},
      {{"--dry-run"}, {}, "--dry-run needs --count or --duration"},
  };
  for (const Case& c : cases) {
    for (const std::string& e : c.env) {
      const size_t eq = e.find('=');
      ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    auto s = Parse(c.args);
    ::unsetenv("EVENT_DELAY_MS");
    ASSERT_FALSE(s.ok()) << c.expected;
    EXPECT_TRUE(s.status().IsInvalidArgument()) << c.expected;
    EXPECT_NE(s.status().message().find(c.expected), std::string::npos)
        << c.expected << "\n" << s.status().message();
  }
}

}  // namespace
}  // namespace eventflow::tools
