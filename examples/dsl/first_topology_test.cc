// docs/dsl.md, "A first topology": StreamsBuilder → Topology, run on
// TopologyTestDriver, and what Describe() prints for it.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

// [START first-topology]
// Reads orders (user → order text), drops empty ones and writes the size of
// each order's text to "order-sizes" (user → size).
Topology OrderSizes() {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("orders")
      .Filter([](const std::string& /*user*/, const std::string& order) { return !order.empty(); })
      .MapValues([](const std::string& order) { return static_cast<int64_t>(order.size()); })
      .To("order-sizes");
  return builder.Build();
}
// [END first-topology]

TEST(FirstTopologyExample, WritesTheSizeOfEveryNonEmptyOrder) {
  // [START first-test]
  const std::vector<std::pair<std::string, std::string>> input = {
      {"alice", "2 books"}, {"bob", ""}, {"carol", "1 lamp, 3 cups"}, {"alice", "pen"}};
  TopologyTestDriver driver(OrderSizes());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  auto sizes = driver.CreateOutputTopic("order-sizes", Serdes::String(), Serdes::Int64());
  int64_t time = 1'000;
  for (const auto& [user, order] : input) ASSERT_TRUE(orders.PipeInput(user, order, time++).ok());
  auto written = sizes.ReadKeyValuesToList();  // Result<std::vector<std::pair<K, V>>>
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  // [END first-test]

  std::vector<std::pair<std::string, int64_t>> expected;
  for (const auto& [user, order] : input) {
    if (!order.empty()) expected.emplace_back(user, static_cast<int64_t>(order.size()));
  }
  EXPECT_EQ(*written, expected);
}

TEST(FirstTopologyExample, DescribePrintsTheGraph) {
  // The guide shows this file; Describe() ends each sub-topology with an empty
  // line, which the file leaves out.
  std::ifstream file(EVENTFLOW_EXAMPLES_DIR "/first_topology_describe.txt");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(OrderSizes().Describe(), text.str() + "\n");
}

TEST(FirstTopologyExample, MistakesAreReportedByValidate) {
  // [START validate]
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("orders").To("bad topic name");
  const Status status = builder.Build().Validate();  // also checked by the driver and Start()
  // status.message() names the call and the problem: KStream::To: the topic name
  // "bad topic name" contains a character other than ASCII letters, digits, ...
  // [END validate]
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_NE(status.message().find("KStream::To"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("bad topic name"), std::string::npos) << status.ToString();
  TopologyTestDriver driver(builder.Build());
  EXPECT_EQ(driver.status(), status);
}

}  // namespace
}  // namespace eventflow::streams
