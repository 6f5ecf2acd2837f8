// eventflow-produce against the real broker: 100k generated events go to
// Kafka and come back exactly once, keyed and timestamped as the contract
// says, each user's events in one partition, with the seed's traffic shape.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "eventflow/core/event_codec.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using testing::ReadAll;
using testing::RunProcess;
using testing::UniqueName;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A tiny reader for the flat summary object {"user-events":N,...}.
int64_t SummaryField(const std::string& json, const std::string& name) {
  const size_t at = json.find("\"" + name + "\":");
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + name.size() + 3));
}

TEST(GeneratorKafkaTest, HundredThousandEventsArriveExactlyOnceAndPartitionedByUser) {
  constexpr int kEvents = 100'000;
  const std::string prefix = UniqueName("gen") + "-";
  const std::string summary_path = "/tmp/" + prefix + "summary.json";
  const std::string tool = testing::ToolDir() + "/eventflow-produce";
  const std::vector<std::string> common = {"--seed", "11", "--count", std::to_string(kEvents),
                                           "--max-disorder", "20s", "--progress", "off"};

  std::vector<std::string> produce = {tool, "--bootstrap-servers", testing::KafkaBootstrap(),
                                      "--max-rate", "--topic-prefix", prefix, "--partitions", "3",
                                      "--summary-json", summary_path};
  produce.insert(produce.end(), common.begin(), common.end());
  const auto run = RunProcess(produce);
  ASSERT_EQ(run.exit_code, 0) << run.err;

  std::vector<std::string> dry = {tool, "--dry-run"};
  dry.insert(dry.end(), common.begin(), common.end());
  const auto expected_run = RunProcess(dry);
  ASSERT_EQ(expected_run.exit_code, 0) << expected_run.err;
  const std::vector<std::string> expected_lines = Lines(expected_run.out);
  ASSERT_EQ(expected_lines.size(), static_cast<size_t>(kEvents));

  std::ifstream summary_file(summary_path);
  std::string summary((std::istreambuf_iterator<char>(summary_file)), {});
  std::remove(summary_path.c_str());

  EventDecoder decoder;
  std::multiset<std::string> consumed_values;
  std::map<std::string, int32_t> partition_of_user;
  std::map<std::string, int> events_per_user;
  int64_t total = 0;
  for (EventTopic topic : {EventTopic::kUserEvents, EventTopic::kProductView, EventTopic::kOrders}) {
    const std::string name = prefix + std::string(TopicName(topic));
    auto records = ReadAll(name, /*read_committed=*/true);
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(records->size()), SummaryField(summary, std::string(TopicName(topic))))
        << name << " vs summary " << summary;
    total += static_cast<int64_t>(records->size());
    for (const auto& r : *records) {
      auto event = decoder.DecodeFromTopic(topic, r.value);
      ASSERT_TRUE(event.ok()) << event.status().ToString() << " in " << r.value;
      ASSERT_EQ(r.key, UserIdOf(*event)) << "key must be the userId";
      ASSERT_EQ(r.timestamp_ms, TimestampOf(*event)) << "record timestamp must be the event time";
      auto [it, inserted] = partition_of_user.emplace(r.key, r.partition);
      ASSERT_EQ(it->second, r.partition) << "user " << r.key << " spread over partitions";
      ++events_per_user[r.key];
      consumed_values.insert(r.value);
    }
  }
  EXPECT_EQ(total, kEvents);
  EXPECT_EQ(SummaryField(summary, "total"), kEvents);
  EXPECT_EQ(SummaryField(summary, "delivered"), kEvents);
  // Every generated event once: the multiset of records equals the seed's events.
  EXPECT_TRUE(consumed_values == std::multiset<std::string>(expected_lines.begin(), expected_lines.end()));
  // The seed's traffic shape, computed from what Kafka returned.
  int heavy = 0;
  for (int i = 1; i <= 10; ++i) heavy += events_per_user["u" + std::to_string(i)];
  EXPECT_NEAR(static_cast<double>(heavy) / kEvents, 0.30, 0.01);
  std::set<int32_t> partitions_used;
  for (const auto& [user, p] : partition_of_user) partitions_used.insert(p);
  EXPECT_EQ(partitions_used.size(), 3u);
}


// Delivery failures are never silent: records the broker refuses (here: larger
// than the topics' max.message.bytes) fail the run, naming topic and reason.
TEST(GeneratorKafkaTest, RefusedRecordsFailTheRunNamingTopicAndReason) {
  const std::string prefix = UniqueName("refuse") + "-";
  std::vector<kafka::NewTopic> topics;
  for (EventTopic t : {EventTopic::kUserEvents, EventTopic::kProductView, EventTopic::kOrders}) {
    topics.push_back({prefix + std::string(TopicName(t)), 3, -1, {{"max.message.bytes", "64"}}});
  }
  testing::ScopedTopics scoped(topics);
  const auto run = RunProcess({testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers",
                               testing::KafkaBootstrap(), "--max-rate", "--seed", "3", "--count",
                               "50", "--topic-prefix", prefix, "--progress", "off",
                               "--kafka.compression.type=none"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("not delivered"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(prefix), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace eventflow
