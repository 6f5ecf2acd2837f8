// docs/dsl.md, "Joins": KStream–KStream within JoinWindows (with the
// repartition that co-partitions a re-keyed side), KStream–KTable and
// KTable–KTable. Each test recomputes the join from its input.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

constexpr int64_t kMinute = 60'000;

// [START stream-stream]
// Orders (order id → "<user>:<product>") joined with the same user's product
// views (user → product) of the 5 minutes before the order. The orders are
// re-keyed by user first, so the join repartitions them.
Topology ViewsBeforeOrders() {
  StreamsBuilder builder;
  KStream<std::string, std::string> views =
      builder.Stream<std::string, std::string>("product-views");
  builder.Stream<std::string, std::string>("orders")
      .SelectKey([](const std::string& /*order_id*/, const std::string& order) {
        return order.substr(0, order.find(':'));
      })
      .Join(
          views,
          [](const std::string& order, const std::string& product) {
            return order + " after viewing " + product;
          },
          JoinWindows::OfTimeDifferenceAndGrace(std::chrono::minutes(5), std::chrono::seconds(30))
              .After(std::chrono::milliseconds(0)),  // views before the order only
          StreamJoined<std::string, std::string, std::string>::As("order-views")
              .WithName("order-views"))
      .To("orders-with-views");  // user → "<user>:<product> after viewing <product>"
  return builder.Build();
}
// [END stream-stream]

struct Event {
  bool is_order;
  std::string key;    // order id, or user for a view
  std::string value;  // "<user>:<product>", or the product viewed
  int64_t time;
};

TEST(JoinsExample, StreamStreamJoinPairsRecordsWithinTheWindows) {
  const Topology topology = ViewsBeforeOrders();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  ASSERT_EQ(topology.internal_topics().size(), 1u);
  EXPECT_EQ(topology.internal_topics()[0].name, "order-views-left-repartition");

  const std::vector<Event> events = {
      {false, "ann", "lamp", 1 * kMinute},     {false, "bob", "desk", 2 * kMinute},
      {false, "ann", "chair", 3 * kMinute},    {true, "o1", "ann:lamp", 7 * kMinute},
      {false, "ann", "sofa", 7 * kMinute + 1}, {true, "o2", "bob:desk", 8 * kMinute},
      {false, "bob", "desk", 9 * kMinute},     {true, "o3", "bob:desk", 12 * kMinute},
      {false, "ann", "rug", 11 * kMinute},  // out of order (within grace): joins o4 below
      {true, "o4", "ann:rug", 12 * kMinute},   {true, "o5", "cem:pen", 12 * kMinute}};
  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto orders = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  auto views = driver.CreateInputTopic("product-views", Serdes::String(), Serdes::String());
  for (const Event& e : events) {
    ASSERT_TRUE((e.is_order ? orders : views).PipeInput(e.key, e.value, e.time).ok());
  }

  // Every (order, view) of one user with order time - 5 min <= view time <= order time.
  using Out = std::tuple<std::string, std::string, int64_t>;  // key, value, time
  std::vector<Out> expected;
  for (const Event& o : events) {
    if (!o.is_order) continue;
    const std::string user = o.value.substr(0, o.value.find(':'));
    for (const Event& v : events) {
      if (!v.is_order && v.key == user && o.time - 5 * kMinute <= v.time && v.time <= o.time) {
        expected.emplace_back(user, o.value + " after viewing " + v.value,
                              std::max(o.time, v.time));
      }
    }
  }
  auto out = driver.CreateOutputTopic("orders-with-views", Serdes::String(), Serdes::String());
  auto records = out.ReadRecordsToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::vector<Out> got;
  for (const auto& r : *records) got.emplace_back(r.key, r.value, r.timestamp);
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
  EXPECT_GE(expected.size(), 4u);
}

TEST(JoinsExample, StreamTableLeftJoinReadsTheTablesCurrentValue) {
  // [START stream-table]
  StreamsBuilder builder;
  KTable<std::string, std::string> countries = builder.Table<std::string, std::string>(
      "user-countries", {}, Materialized<std::string, std::string>::As("user-countries"));
  builder
      .Stream<std::string, std::string>("clicks")  // user → page
      .LeftJoin(countries,
                [](const std::string& page, const std::optional<std::string>& country) {
                  return page + " from " + country.value_or("an unknown country");
                })
      .To("clicks-with-country");
  // [END stream-table]
  struct Input {
    bool is_click;
    std::string user;
    std::optional<std::string> value;  // page, or country (nullopt: a tombstone)
  };
  const std::vector<Input> inputs = {
      {true, "ann", "/home"}, {false, "ann", "DE"},         {true, "ann", "/cart"},
      {false, "bob", "FR"},   {true, "bob", "/home"},       {false, "ann", "AT"},
      {true, "ann", "/pay"},  {false, "bob", std::nullopt}, {true, "bob", "/help"}};
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto clicks = driver.CreateInputTopic("clicks", Serdes::String(), Serdes::String());
  auto updates = driver.CreateInputTopic("user-countries", Serdes::String(),
                                         Serdes::Nullable(Serdes::String()));
  int64_t time = 1'000;
  std::map<std::string, std::string> table;  // the model
  std::vector<std::pair<std::string, std::string>> expected;
  for (const Input& in : inputs) {
    if (in.is_click) {
      ASSERT_TRUE(clicks.PipeInput(in.user, *in.value, time++).ok());
      auto it = table.find(in.user);
      expected.emplace_back(
          in.user, *in.value + " from " + (it != table.end() ? it->second : "an unknown country"));
    } else {
      ASSERT_TRUE(updates.PipeInput(in.user, in.value, time++).ok());
      if (in.value) {
        table[in.user] = *in.value;
      } else {
        table.erase(in.user);
      }
    }
  }
  auto out = driver.CreateOutputTopic("clicks-with-country", Serdes::String(), Serdes::String());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
}

TEST(JoinsExample, TableTableJoinFollowsBothTables) {
  // [START table-table]
  StreamsBuilder builder;
  KTable<std::string, std::string> names = builder.Table<std::string, std::string>(
      "user-names", {}, Materialized<std::string, std::string>::As("user-names"));
  KTable<std::string, std::string> countries = builder.Table<std::string, std::string>(
      "user-countries", {}, Materialized<std::string, std::string>::As("user-countries"));
  auto label = [](const std::string& name, const std::string& country) {
    return name + " (" + country + ")";
  };
  names.Join(countries, label)
      .ToStream()
      .To("user-labels");  // user → label, or a tombstone when either side is gone
  // [END table-table]
  struct Update {
    bool is_name;
    std::string user;
    std::optional<std::string> value;
  };
  const std::vector<Update> updates = {{true, "ann", "Ann"},         {false, "ann", "DE"},
                                       {false, "bob", "FR"},         {true, "cem", "Cem"},
                                       {true, "bob", "Bob"},         {true, "ann", "Anna"},
                                       {false, "bob", std::nullopt}, {false, "cem", "TR"},
                                       {true, "cem", std::nullopt},  {false, "dan", "NL"}};
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in_names =
      driver.CreateInputTopic("user-names", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto in_countries = driver.CreateInputTopic("user-countries", Serdes::String(),
                                              Serdes::Nullable(Serdes::String()));
  std::map<std::string, std::string> name_table, country_table;  // the model
  int64_t time = 1;
  for (const Update& u : updates) {
    ASSERT_TRUE((u.is_name ? in_names : in_countries).PipeInput(u.user, u.value, time++).ok());
    auto& table = u.is_name ? name_table : country_table;
    if (u.value) {
      table[u.user] = *u.value;
    } else {
      table.erase(u.user);
    }
  }
  // Replaying the joined changelog gives the join of the final tables.
  auto out =
      driver.CreateOutputTopic("user-labels", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto changes = out.ReadKeyValuesToList();
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  std::map<std::string, std::string> replayed, expected;
  for (const auto& [user, joined] : *changes) {
    if (joined) {
      replayed[user] = *joined;
    } else {
      replayed.erase(user);
    }
  }
  for (const auto& [user, name] : name_table) {
    auto it = country_table.find(user);
    if (it != country_table.end()) expected[user] = name + " (" + it->second + ")";
  }
  EXPECT_EQ(replayed, expected);
  EXPECT_FALSE(expected.empty());
}

}  // namespace
}  // namespace eventflow::streams
