// docs/dsl.md, "Testing with TopologyTestDriver": driver options, reading a
// store, the dead-letter topic and its headers, per-commit deduplication, and
// ErrorPolicy::kFail.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

// [START topology]
// Orders per user (user → amount in cents); a negative amount is an error.
Topology OrdersPerUser() {
  StreamsBuilder builder;
  builder.Stream<std::string, int64_t>("orders")
      .MapValues([](int64_t cents) {
        if (cents < 0) throw std::invalid_argument("negative amount " + std::to_string(cents));
        return cents;
      })
      .GroupByKey()
      .Count(Materialized<std::string, int64_t>::As("orders-per-user"))
      .ToStream()
      .To("orders-per-user");
  return builder.Build();
}
// [END topology]

// [START read-store]
// The count of `user` in the store "orders-per-user", or nullopt. Stores hold
// the bytes of the aggregation's serdes.
std::optional<int64_t> StoredCount(TopologyTestDriver& driver, const std::string& user) {
  auto* store = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("orders-per-user"));
  if (store == nullptr) return std::nullopt;
  std::string bytes;
  if (!store->Get(user, &bytes).ok()) return std::nullopt;  // NotFound: no orders yet
  int64_t count = 0;
  if (!Serdes::Int64()->Deserialize(bytes, &count).ok()) return std::nullopt;
  return count;
}
// [END read-store]

TEST(TestingExample, BadRecordsGoToTheDeadLetterTopicWithHeaders) {
  // [START dead-letter]
  TestDriverOptions options;
  options.application_id = "orders-app";  // names the dead-letter and changelog topics
  TopologyTestDriver driver(OrdersPerUser(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::Int64());
  ASSERT_TRUE(orders.PipeInput("ann", 1'500, 1'000).ok());
  ASSERT_TRUE(orders.PipeInput("bob", -20, 1'001).ok());    // the mapper throws
  ASSERT_TRUE(orders.PipeRaw("cem", "12.50", 1'002).ok());  // not 8 bytes: the serde refuses
  ASSERT_TRUE(orders.PipeInput("ann", 700, 1'003).ok());    // processing goes on

  // Dead letters keep the input's bytes; headers say what went wrong, and where.
  const std::deque<TestRecord>& dead = driver.OutputQueue(DeadLetterTopic("orders-app"));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(*dead[0].headers.LastValue(kDlqStageHeader), "processing");
  EXPECT_EQ(*dead[0].headers.LastValue(kDlqErrorHeader), "processing failed: negative amount -20");
  EXPECT_EQ(*dead[1].headers.LastValue(kDlqStageHeader), "deserialization");
  EXPECT_EQ(*dead[1].headers.LastValue(kDlqTopicHeader), "orders");
  EXPECT_EQ(*dead[1].headers.LastValue(kDlqOffsetHeader), "2");
  EXPECT_EQ(driver.Counters(0).dead_lettered, 2u);
  // [END dead-letter]
  EXPECT_EQ(dead[1].value, std::optional<std::string>("12.50"));
  EXPECT_EQ(StoredCount(driver, "ann"), 2);
  EXPECT_EQ(StoredCount(driver, "bob"), std::nullopt);
  EXPECT_EQ(StoredCount(driver, "cem"), std::nullopt);
}

TEST(TestingExample, WithManualCommitsUpdatesAreMergedPerKey) {
  const std::vector<std::vector<std::string>> batches = {
      {"ann", "bob", "ann", "ann"}, {"bob"}, {"cem", "ann", "cem", "bob", "cem"}};
  // [START manual-commit]
  TestDriverOptions options;
  options.commit_every_input = false;  // only Commit() commits, as the runtime every 100 ms
  TopologyTestDriver driver(OrdersPerUser(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::Int64());
  auto counts = driver.CreateOutputTopic("orders-per-user", Serdes::String(), Serdes::Int64());
  // [END manual-commit]
  std::map<std::string, int64_t> model;
  for (const auto& batch : batches) {
    std::map<std::string, int64_t> touched;  // the users of the batch, with their new counts
    for (const std::string& user : batch) {
      ASSERT_TRUE(orders.PipeInput(user, 100, 1'000).ok());
      touched[user] = ++model[user];
    }
    EXPECT_TRUE(counts.IsEmpty()) << "updates wait in the record cache until the commit";
    ASSERT_TRUE(driver.Commit().ok());
    auto got = counts.ReadKeyValuesToList();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    // One update per user and commit, with the latest count.
    const std::map<std::string, int64_t> updates(got->begin(), got->end());
    EXPECT_EQ(got->size(), updates.size()) << "a user updated twice in one commit";
    EXPECT_EQ(updates, touched);
    for (const auto& [user, count] : model) EXPECT_EQ(StoredCount(driver, user), count) << user;
  }
}

TEST(TestingExample, UnderTheFailPolicyPipeInputReturnsTheError) {
  // [START fail-policy]
  TestDriverOptions options;
  options.processing_errors = ErrorPolicy::kFail;  // as StreamsConfig::processing_errors
  TopologyTestDriver driver(OrdersPerUser(), options);
  auto orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::Int64());
  ASSERT_TRUE(orders.PipeInput("ann", 1'500, 1'000).ok());
  const Status failed = orders.PipeInput("ann", -1, 1'001);
  EXPECT_FALSE(failed.ok());  // the application would stop with this error
  // [END fail-policy]
  EXPECT_NE(failed.message().find("negative amount -1"), std::string::npos) << failed.ToString();
  EXPECT_EQ(StoredCount(driver, "ann"), 1);
  EXPECT_TRUE(driver.OutputQueue(DeadLetterTopic(TestDriverOptions{}.application_id)).empty());
}

}  // namespace
}  // namespace eventflow::streams
