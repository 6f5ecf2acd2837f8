// The eventflow command line without a broker: the registry, describe, and
// bad settings that stop with exit status 2 and a message naming them (and
// never printing a secret).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using testing::RunProcess;

std::string Tool() { return testing::ToolDir() + "/eventflow"; }

TEST(EventflowCliTest, TopologiesListsTheRegistry) {
  const auto r = RunProcess({Tool(), "topologies"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"eventflow", "orders_raw", "revenue_by_currency_5min",
                           "conversion_funnel_5min", "order_attribution"}) {
    EXPECT_NE(r.out.find(std::string(name) + " "), std::string::npos) << name << "\n" << r.out;
  }
}

TEST(EventflowCliTest, DescribePrintsAllFourTopologies) {
  const auto r = RunProcess({Tool(), "describe"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* node :
       {"Source: orders-source (topics: [orders])",
        "Source: product-view-source (topics: [product-view])",
        "Sink: orders-raw-sink (topic: orders_raw)", "Sink: revenue-sink (topic: revenue_by_currency_5min)",
        "Sink: funnel-sink (topic: conversion_funnel_5min)",
        "Sink: attribution-sink (topic: order_attribution)", "Processor: revenue-aggregate",
        "Processor: funnel-join", "attribution-join-this-join", "Processor: attribution-aggregate"}) {
    EXPECT_NE(r.out.find(node), std::string::npos) << node << "\n" << r.out;
  }
  // The same output every time, and the prefix applies to every topic.
  EXPECT_EQ(RunProcess({Tool(), "describe"}).out, r.out);
  const auto prefixed =
      RunProcess({Tool(), "describe", "--topology", "order_attribution", "--topic-prefix", "x."});
  ASSERT_EQ(prefixed.exit_code, 0) << prefixed.err;
  EXPECT_NE(prefixed.out.find("topics: [x.orders]"), std::string::npos) << prefixed.out;
  EXPECT_NE(prefixed.out.find("topic: x.order_attribution"), std::string::npos) << prefixed.out;
  EXPECT_EQ(prefixed.out.find("revenue"), std::string::npos) << prefixed.out;
}

TEST(EventflowCliTest, BadSettingsExitTwoNamingTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"run", "--threads", "0"}, "--threads"},
      {{"run", "--threads", "two"}, "--threads"},
      {{"run", "--processing-guarantee", "exactly_once"}, "--processing-guarantee"},
      {{"run", "--emit", "sometimes"}, "--emit"},
      {{"run", "--topology", "nope"}, "--topology"},
      {{"run", "--http-port", "70000"}, "--http-port"},
      {{"run", "--http-port", "1", "--http-address", "localhost:1"}, "--http-address"},
      {{"run", "--commit-interval-ms", "-5"}, "--commit-interval-ms"},
      {{"run", "--partitions", "0"}, "--partitions"},
      {{"run", "--state-memory-bytes", "0"}, "--state-memory-bytes"},
      {{"run", "--instance-id", ""}, "--instance-id"},
      {{"run", "--kafka.=x"}, "kafka."},
      {{"describe", "--topology", "nope"}, "--topology"},
      {{"describe", "--threads", "2"}, "--threads"},
      {{"frobnicate"}, "frobnicate"},
      {{}, "no command"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {Tool()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 2) << c.expected << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.expected << ": " << r.err;
  }
}

TEST(EventflowCliTest, SecretsAreNeverPrinted) {
  const auto r = RunProcess({Tool(), "run", "--kafka.sasl.password=hunter2", "--threads", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  const auto mistyped = RunProcess({Tool(), "run", "--kafak.sasl.password=hunter2"});
  EXPECT_EQ(mistyped.exit_code, 2);
  EXPECT_NE(mistyped.err.find("--kafak.sasl.password"), std::string::npos) << mistyped.err;
  EXPECT_EQ(mistyped.err.find("hunter2"), std::string::npos) << mistyped.err;
  // The separate form, and a secret that a later error message would contain.
  const auto separate =
      RunProcess({Tool(), "run", "--kafka", "sasl.password=hunter2", "--topology", "hunter2"});
  EXPECT_EQ(separate.exit_code, 2);
  EXPECT_NE(separate.err.find("--topology: unknown topology"), std::string::npos) << separate.err;
  EXPECT_EQ(separate.err.find("hunter2"), std::string::npos) << separate.err;
}

}  // namespace
}  // namespace eventflow
