// docs/dsl.md, "Stateless operations": Split/branches and Merge, FlatMapValues,
// Peek, Map, SelectKey, and when the DSL adds a repartition topic.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using Payments = std::vector<std::pair<std::string, int64_t>>;

// [START split-merge]
// Payments (account → amount in cents): invalid ones to one topic, large ones
// to review, and every valid one, large or not, to the ledger.
Topology RoutePayments() {
  StreamsBuilder builder;
  std::map<std::string, KStream<std::string, int64_t>> branches =
      builder.Stream<std::string, int64_t>("payments")
          .Split(Named::As("payment-"))
          .Branch([](const std::string&, int64_t cents) { return cents <= 0; },
                  Branched::As("invalid"))
          .Branch([](const std::string&, int64_t cents) { return cents >= 1'000'000; },
                  Branched::As("large"))
          .DefaultBranch(Branched::As("normal"));
  branches.at("payment-invalid").To("invalid-payments");
  const KStream<std::string, int64_t>& large = branches.at("payment-large");
  large.To("payments-to-review");
  branches.at("payment-normal").Merge(large).To("ledger");
  return builder.Build();
}
// [END split-merge]

Payments ReadPayments(TopologyTestDriver& driver, const std::string& topic) {
  auto out = driver.CreateOutputTopic(topic, Serdes::String(), Serdes::Int64());
  auto records = out.ReadKeyValuesToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? *records : Payments{};
}

TEST(StatelessExample, SplitRoutesEachRecordToTheFirstMatchingBranchAndMergeJoinsBranches) {
  const Payments input = {{"acc-1", 2'500}, {"acc-2", 0},       {"acc-1", 1'200'000},
                          {"acc-3", -40},   {"acc-2", 999'999}, {"acc-3", 1'000'000}};
  TopologyTestDriver driver(RoutePayments());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("payments", Serdes::String(), Serdes::Int64());
  for (const auto& [account, cents] : input) ASSERT_TRUE(in.PipeInput(account, cents, 10).ok());

  Payments invalid, review, ledger;
  for (const auto& payment : input) {
    if (payment.second <= 0) {
      invalid.push_back(payment);
    } else {
      if (payment.second >= 1'000'000) review.push_back(payment);
      ledger.push_back(payment);
    }
  }
  EXPECT_EQ(ReadPayments(driver, "invalid-payments"), invalid);
  EXPECT_EQ(ReadPayments(driver, "payments-to-review"), review);
  EXPECT_EQ(ReadPayments(driver, "ledger"), ledger);
}

// [START flatmap-peek-map]
// Carts (user → "apple,pear,apple") become one record per item, keyed by the
// item (item → user). `items_seen` counts the items on their way: the lambda
// is shared by every task and stream thread, hence the atomic.
Topology ItemBuyers(std::atomic<int64_t>* items_seen) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("carts")
      .FlatMapValues([](const std::string& cart) {
        std::vector<std::string> items;
        size_t from = 0;
        while (from < cart.size()) {
          const size_t comma = std::min(cart.find(',', from), cart.size());
          if (comma > from) items.push_back(cart.substr(from, comma - from));
          from = comma + 1;
        }
        return items;
      })
      .Peek([items_seen](const std::string&, const std::string&) { ++*items_seen; })
      .Map([](const std::string& user, const std::string& item) {
        return KeyValue<std::string, std::string>(item, user);
      })
      .To("item-buyers");
  return builder.Build();
}
// [END flatmap-peek-map]

TEST(StatelessExample, FlatMapValuesPeekAndMap) {
  const std::vector<std::pair<std::string, std::string>> carts = {
      {"ann", "apple,pear,apple"}, {"bob", ""}, {"cem", "tea"}, {"ann", "milk,,bread"}};
  std::atomic<int64_t> items_seen{0};
  TopologyTestDriver driver(ItemBuyers(&items_seen));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("carts", Serdes::String(), Serdes::String());
  for (const auto& [user, cart] : carts) ASSERT_TRUE(in.PipeInput(user, cart, 10).ok());

  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& [user, cart] : carts) {
    std::istringstream items(cart);
    for (std::string item; std::getline(items, item, ',');) {
      if (!item.empty()) expected.emplace_back(item, user);
    }
  }
  auto out = driver.CreateOutputTopic("item-buyers", Serdes::String(), Serdes::String());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
  EXPECT_EQ(items_seen.load(), static_cast<int64_t>(expected.size()));
}

// The int64 counts of a key-value store of a driver's task.
std::map<std::string, int64_t> Counts(TopologyTestDriver& driver, const std::string& store) {
  std::map<std::string, int64_t> counts;
  auto* kv = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore(store));
  EXPECT_NE(kv, nullptr) << store;
  if (kv == nullptr) return counts;
  for (auto it = kv->All(); it->Valid(); it->Next()) {
    int64_t count = 0;
    EXPECT_TRUE(Serdes::Int64()->Deserialize(it->value(), &count).ok());
    counts[std::string(it->key())] = count;
  }
  return counts;
}

TEST(StatelessExample, ARepartitionTopicOnlyWhereTheKeyChanged) {
  // [START repartition]
  StreamsBuilder builder;
  KStream<std::string, std::string> views = builder.Stream<std::string, std::string>("page-views");
  // Keyed as read (user → page): counted in the task that reads the partition.
  views.GroupByKey().Count(Materialized<std::string, int64_t>::As("views-per-user"));
  // Re-keyed (page → page): the records first go through the topic
  // "<application.id>-views-by-page-repartition", so that all views of a page
  // meet in one task.
  views.SelectKey([](const std::string& /*user*/, const std::string& page) { return page; })
      .GroupByKey(Grouped<std::string, std::string>::As("views-by-page"))
      .Count(Materialized<std::string, int64_t>::As("views-per-page"));
  Topology topology = builder.Build();
  // [END repartition]
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  ASSERT_EQ(topology.internal_topics().size(), 1u);
  EXPECT_EQ(topology.internal_topics()[0].name, "views-by-page-repartition");
  EXPECT_EQ(topology.SubTopologies().size(), 2u);  // one writes the topic, one reads it

  const std::vector<std::pair<std::string, std::string>> input = {
      {"u1", "/home"}, {"u2", "/cart"}, {"u1", "/cart"}, {"u3", "/home"}, {"u1", "/home"}};
  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("page-views", Serdes::String(), Serdes::String());
  for (const auto& [user, page] : input) ASSERT_TRUE(in.PipeInput(user, page, 10).ok());
  std::map<std::string, int64_t> per_user, per_page;
  for (const auto& [user, page] : input) {
    ++per_user[user];
    ++per_page[page];
  }
  EXPECT_EQ(Counts(driver, "views-per-user"), per_user);
  EXPECT_EQ(Counts(driver, "views-per-page"), per_page);
}

}  // namespace
}  // namespace eventflow::streams
