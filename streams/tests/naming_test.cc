// Node and internal-topic naming of the DSL: generated names are deterministic
// and Kafka-shaped, user names win, duplicates and illegal names are errors,
// and an unnamed repartition topic is warned about.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;

std::vector<std::string> NodeNames(const Topology& topology) {
  std::vector<std::string> names;
  for (const auto& node : topology.nodes()) names.push_back(node.name);
  return names;
}

// One program, built as often as asked.
Topology BuildProgram() {
  StreamsBuilder builder;
  auto branches = builder.Stream<S, S>("in")
                      .Filter([](const S&, const S& v) { return !v.empty(); })
                      .MapValues([](const S& v) { return v + "!"; })
                      .Split()
                      .Branch([](const S& k, const S&) { return k == "a"; })
                      .DefaultBranch();
  branches.at("KSTREAM-BRANCH-00000000031").To("a");
  branches.at("KSTREAM-BRANCH-00000000030")
      .SelectKey([](const S&, const S& v) { return v; })
      .Repartition(Repartitioned<S, S>::As("by-value"))
      .To("rest");
  return builder.Build();
}

TEST(NamingTest, GeneratedNamesAreDeterministicAndKafkaShaped) {
  const Topology first = BuildProgram();
  const Topology second = BuildProgram();
  ASSERT_TRUE(first.Validate().ok()) << first.Validate().ToString();
  EXPECT_EQ(NodeNames(first), NodeNames(second));
  EXPECT_EQ(first.Describe(), second.Describe());
  // One counter per builder, drawn per generated name in call order; the
  // split draws one per branch and the repartition three (sink, filter,
  // source), as Kafka Streams does.
  EXPECT_EQ(NodeNames(first), (std::vector<std::string>{
                                  "KSTREAM-SOURCE-0000000000",
                                  "KSTREAM-FILTER-0000000001",
                                  "KSTREAM-MAPVALUES-0000000002",
                                  "KSTREAM-BRANCH-0000000003",
                                  "KSTREAM-BRANCH-00000000031",
                                  "KSTREAM-BRANCH-00000000030",
                                  "KSTREAM-SINK-0000000006",
                                  "KSTREAM-KEY-SELECT-0000000007",
                                  "by-value-repartition-sink",
                                  "by-value-repartition-source",
                                  "KSTREAM-SINK-0000000011",
                              }));
}

TEST(NamingTest, UserNamesWinAndDoNotDrawFromTheCounter) {
  StreamsBuilder builder;
  auto branches =
      builder.Stream("orders", Consumed<S, S>::As("read-orders"))
          .Filter([](const S&, const S& v) { return !v.empty(); }, Named::As("non-empty"))
          .MapValues([](const S& v) { return v; })  // the first generated name: index 0
          .Split(Named::As("route-"))
          .Branch([](const S&, const S& v) { return v == "x"; }, Branched::As("x"))
          .DefaultBranch(Branched::As("rest"));
  branches.at("route-x").To("xs", Produced<S, S>::As("write-xs"));
  branches.at("route-rest").Repartition({.name = "regroup"}).To("rest");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  EXPECT_EQ(NodeNames(topology), (std::vector<std::string>{
                                     "read-orders",
                                     "non-empty",
                                     "KSTREAM-MAPVALUES-0000000000",
                                     "route-",
                                     "route-x",
                                     "route-rest",
                                     "write-xs",
                                     "regroup-repartition-sink",
                                     "regroup-repartition-source",
                                     "KSTREAM-SINK-0000000006",
                                 }));
  ASSERT_EQ(topology.internal_topics().size(), 1u);
  EXPECT_EQ(topology.internal_topics()[0].name, "regroup-repartition");
}

TEST(NamingTest, DuplicateUserNamesAreRejectedNamingTheOperation) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .Filter([](const S&, const S&) { return true; }, Named::As("step"))
      .MapValues([](const S& v) { return v; }, Named::As("step"))
      .To("out");
  const Status status = builder.Build().Validate();
  ASSERT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(status.message(),
            "KStream::MapValues: the name \"step\" is already used by another node; node names "
            "must be unique");
  // Running it is refused with the same error.
  TopologyTestDriver driver(builder.Build());
  EXPECT_EQ(driver.status(), status);
}

TEST(NamingTest, DuplicateNamesAcrossOptionKindsAndBranchesAreRejected) {
  {
    StreamsBuilder builder;
    builder.Stream("in", Consumed<S, S>::As("node")).To("out", Produced<S, S>::As("node"));
    const Status status = builder.Build().Validate();
    EXPECT_NE(status.message().find("KStream::To: the name \"node\" is already used"),
              std::string::npos)
        << status.ToString();
  }
  {
    StreamsBuilder builder;
    builder.Stream<S, S>("in")
        .Split(Named::As("s-"))
        .Branch([](const S&, const S&) { return true; }, Branched::As("b"))
        .Branch([](const S&, const S&) { return true; }, Branched::As("b"))
        .NoDefaultBranch();
    const Status status = builder.Build().Validate();
    EXPECT_NE(status.message().find("BranchedKStream::Branch: the name \"s-b\" is already used"),
              std::string::npos)
        << status.ToString();
  }
  {
    StreamsBuilder builder;
    auto in = builder.Stream<S, S>("in");
    in.Repartition({.name = "r"}).To("a");
    in.Repartition({.name = "r"}).To("b");
    const Status status = builder.Build().Validate();
    EXPECT_NE(status.message().find(
                  "KStream::Repartition: the name \"r-repartition-sink\" is already used"),
              std::string::npos)
        << status.ToString();
  }
}

TEST(NamingTest, IllegalNamesAreRejected) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in").Peek([](const S&, const S&) {}, Named::As("has space")).To("out");
  const Status status = builder.Build().Validate();
  EXPECT_EQ(status.message(),
            "KStream::Peek: the name \"has space\" contains a character other than ASCII "
            "letters, digits, '.', '_' and '-'");

  StreamsBuilder empty_name;
  empty_name.Stream<S, S>("in").Filter([](const S&, const S&) { return true; }, Named::As(""));
  EXPECT_EQ(empty_name.Build().Validate().message(), "KStream::Filter: the name is empty");
}

TEST(NamingTest, UnnamedRepartitionTopicGetsAGeneratedNameAndAWarning) {
  SetLogLevel(LogLevel::kInfo);
  StreamsBuilder builder;
  auto keyed = builder.Stream<S, S>("in").SelectKey([](const S&, const S& v) { return v; });
  testing::internal::CaptureStderr();
  keyed.Repartition().To("out");
  const std::string log = testing::internal::GetCapturedStderr();

  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  ASSERT_EQ(topology.internal_topics().size(), 1u);
  EXPECT_EQ(topology.internal_topics()[0].name, "KSTREAM-REPARTITION-0000000002-repartition");
  EXPECT_EQ(NodeNames(topology), (std::vector<std::string>{
                                     "KSTREAM-SOURCE-0000000000",
                                     "KSTREAM-KEY-SELECT-0000000001",
                                     "KSTREAM-SINK-0000000003",
                                     "KSTREAM-SOURCE-0000000005",
                                     "KSTREAM-SINK-0000000006",
                                 }));
  EXPECT_NE(log.find("WARN"), std::string::npos) << log;
  EXPECT_NE(log.find("\"KSTREAM-REPARTITION-0000000002-repartition\""), std::string::npos) << log;
  EXPECT_NE(log.find("changes whenever an operation is added or removed"), std::string::npos)
      << log;
  EXPECT_NE(log.find("Repartitioned<K, V>::As(\"<name>\")"), std::string::npos) << log;
}

TEST(NamingTest, NamedRepartitionTopicIsNotWarnedAbout) {
  SetLogLevel(LogLevel::kInfo);
  StreamsBuilder builder;
  auto in = builder.Stream<S, S>("in");
  testing::internal::CaptureStderr();
  in.Repartition(Repartitioned<S, S>::As("stable")).To("out");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace eventflow::streams
