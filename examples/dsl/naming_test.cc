// docs/dsl.md, "Naming": generated names shift when a topology changes, given
// names do not — and internal topics and stores are named after them.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

// [START unnamed]
// Views per page — version 1 counts every view; version 2 adds a filter.
Topology ViewsPerPageUnnamed(bool skip_bots) {
  StreamsBuilder builder;
  KStream<std::string, std::string> views = builder.Stream<std::string, std::string>("page-views");
  if (skip_bots) {
    views = views.Filter(
        [](const std::string& user, const std::string&) { return !user.starts_with("bot-"); });
  }
  views.SelectKey([](const std::string&, const std::string& page) { return page; })
      .GroupByKey()
      .Count()
      .ToStream()
      .To("views-per-page");
  return builder.Build();
}
// [END unnamed]

// [START named]
// The same, with every name that outlives a deployment given.
Topology ViewsPerPage(bool skip_bots) {
  StreamsBuilder builder;
  KStream<std::string, std::string> views =
      builder.Stream("page-views", Consumed<std::string, std::string>::As("page-views-source"));
  if (skip_bots) {
    views = views.Filter(
        [](const std::string& user, const std::string&) { return !user.starts_with("bot-"); },
        Named::As("skip-bots"));
  }
  views
      .SelectKey([](const std::string&, const std::string& page) { return page; },
                 Named::As("key-by-page"))
      .GroupByKey(Grouped<std::string, std::string>::As("views-by-page"))  // the topic
      .Count(Materialized<std::string, int64_t>::As("views-per-page"),     // the store
             Named::As("count-views"))
      .ToStream(Named::As("views-to-stream"))
      .To("views-per-page", Produced<std::string, std::optional<int64_t>>::As("views-sink"));
  return builder.Build();
}
// [END named]

// What a deployment keeps between versions: internal topics and stores.
std::vector<std::string> StatefulNames(const Topology& topology) {
  std::vector<std::string> names;
  for (const InternalTopicSpec& topic : topology.internal_topics()) names.push_back(topic.name);
  for (const StoreSpec& store : topology.stores()) names.push_back(store.name);
  return names;
}

TEST(NamingExample, GeneratedNamesShiftWhenTheTopologyChangesGivenNamesDoNot) {
  const LogLevel level = GetLogLevel();
  SetLogLevel(LogLevel::kError);  // the unnamed version warns about its repartition topic
  const Topology v1 = ViewsPerPageUnnamed(false), v2 = ViewsPerPageUnnamed(true);
  SetLogLevel(level);
  ASSERT_TRUE(v1.Validate().ok()) << v1.Validate().ToString();
  ASSERT_TRUE(v2.Validate().ok()) << v2.Validate().ToString();
  EXPECT_NE(StatefulNames(v1), StatefulNames(v2)) << "an upgrade would lose the counts";

  const Topology n1 = ViewsPerPage(false), n2 = ViewsPerPage(true);
  ASSERT_TRUE(n1.Validate().ok()) << n1.Validate().ToString();
  EXPECT_EQ(StatefulNames(n1), StatefulNames(n2));
  EXPECT_EQ(StatefulNames(n1),
            (std::vector<std::string>{"views-by-page-repartition", "views-per-page"}));
  // At run time: "<application.id>-views-by-page-repartition" and the store's
  // changelog "<application.id>-views-per-page-changelog".
  EXPECT_EQ(ChangelogTopic("site-stats", "views-per-page"), "site-stats-views-per-page-changelog");
}

TEST(NamingExample, TheNamedTopologyCountsWhatTheUnnamedOneCounts) {
  const std::vector<std::pair<std::string, std::string>> views = {
      {"u1", "/home"}, {"bot-7", "/home"}, {"u2", "/cart"},
      {"u1", "/cart"}, {"bot-7", "/cart"}, {"u3", "/home"}};
  for (bool skip_bots : {false, true}) {
    SCOPED_TRACE(skip_bots ? "version 2" : "version 1");
    TopologyTestDriver driver(ViewsPerPage(skip_bots));
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    auto in = driver.CreateInputTopic("page-views", Serdes::String(), Serdes::String());
    for (const auto& [user, page] : views) ASSERT_TRUE(in.PipeInput(user, page, 10).ok());
    std::map<std::string, int64_t> expected, got;
    for (const auto& [user, page] : views) {
      if (!skip_bots || !user.starts_with("bot-")) ++expected[page];
    }
    auto out = driver.CreateOutputTopic("views-per-page", Serdes::String(), Serdes::Int64());
    auto updates = out.ReadKeyValuesToList();
    ASSERT_TRUE(updates.ok()) << updates.status().ToString();
    for (const auto& [page, count] : *updates) got[page] = count;
    EXPECT_EQ(got, expected);
  }
}

}  // namespace
}  // namespace eventflow::streams
