// docs/dsl.md, "Aggregations and tables": GroupBy/GroupByKey, Count, Reduce,
// Aggregate with Materialized, KTable operations, and Table() sources with
// tombstones.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using Payments = std::vector<std::pair<std::string, int64_t>>;

const Payments kPayments = {{"acc-1", 500},   {"acc-2", 1'250}, {"acc-1", 120},
                            {"acc-3", 9'000}, {"acc-1", 700},   {"acc-2", 30}};

// Pipes kPayments into "payments" with times 1000, 1001, ...
void PipePayments(TopologyTestDriver& driver) {
  auto in = driver.CreateInputTopic("payments", Serdes::String(), Serdes::Int64());
  int64_t time = 1'000;
  for (const auto& [account, cents] : kPayments)
    ASSERT_TRUE(in.PipeInput(account, cents, time++).ok());
}

TEST(AggregationsExample, GroupByAndCountEmitEveryUpdate) {
  // [START group-by-count]
  StreamsBuilder builder;
  builder
      .Stream<std::string, std::string>("page-views")  // user → page
      .GroupBy([](const std::string& /*user*/, const std::string& page) { return page; },
               Grouped<std::string, std::string>::As("by-page"))
      .Count(Materialized<std::string, int64_t>::As("views-per-page"))
      .ToStream()
      .To("views-per-page");  // page → count, one record per update
  // [END group-by-count]
  const std::vector<std::pair<std::string, std::string>> views = {
      {"u1", "/home"}, {"u2", "/cart"}, {"u1", "/cart"}, {"u3", "/home"}, {"u2", "/home"}};
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("page-views", Serdes::String(), Serdes::String());
  for (const auto& [user, page] : views) ASSERT_TRUE(in.PipeInput(user, page, 10).ok());

  std::map<std::string, int64_t> counts;
  std::vector<std::pair<std::string, int64_t>> expected;  // the running count of each view's page
  for (const auto& [user, page] : views) expected.emplace_back(page, ++counts[page]);
  auto out = driver.CreateOutputTopic("views-per-page", Serdes::String(), Serdes::Int64());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
}

TEST(AggregationsExample, ReduceKeepsTheLargestPaymentPerAccount) {
  // [START reduce]
  StreamsBuilder builder;
  builder
      .Stream<std::string, int64_t>("payments")  // account → cents
      .GroupByKey()
      .Reduce([](int64_t largest, int64_t cents) { return std::max(largest, cents); },
              Materialized<std::string, int64_t>::As("largest-payment"))
      .ToStream()
      .To("largest-payment");
  // [END reduce]
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  PipePayments(driver);

  std::map<std::string, int64_t> largest;
  Payments expected;
  for (const auto& [account, cents] : kPayments) {
    auto [it, fresh] = largest.try_emplace(account, cents);
    if (!fresh && cents > it->second) it->second = cents;
    expected.emplace_back(account, it->second);
  }
  auto out = driver.CreateOutputTopic("largest-payment", Serdes::String(), Serdes::Int64());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
}

// [START aggregate]
struct PaymentStats {
  int64_t count = 0;
  int64_t total_cents = 0;
};

// PaymentStats as text "<count>/<total>", for the store and its changelog.
SerdePtr<PaymentStats> PaymentStatsSerde() {
  return Serdes::Of<PaymentStats>(
      "payment-stats",
      [](const PaymentStats& s, std::string* out) {
        out->append(std::to_string(s.count) + "/" + std::to_string(s.total_cents));
      },
      [](std::string_view data, PaymentStats* out) -> Status {
        const size_t slash = data.find('/');
        if (slash == std::string_view::npos ||
            std::from_chars(data.data(), data.data() + slash, out->count).ec != std::errc() ||
            std::from_chars(data.data() + slash + 1, data.data() + data.size(), out->total_cents)
                    .ec != std::errc()) {
          return Status::InvalidArgument("not <count>/<total>: \"" + std::string(data) + "\"");
        }
        return Status::OK();
      });
}

// The average payment per account, updated with every payment.
Topology AveragePayment() {
  StreamsBuilder builder;
  builder.Stream<std::string, int64_t>("payments")
      .GroupByKey()
      .Aggregate([] { return PaymentStats{}; },
                 [](const std::string& /*account*/, int64_t cents, const PaymentStats& stats) {
                   return PaymentStats{stats.count + 1, stats.total_cents + cents};
                 },
                 Materialized<std::string, PaymentStats>::As("payment-stats")
                     .WithValueSerde(PaymentStatsSerde()))
      .MapValues([](const PaymentStats& stats) {
        return static_cast<double>(stats.total_cents) / static_cast<double>(stats.count);
      })
      .ToStream()
      .To("average-payment");
  return builder.Build();
}
// [END aggregate]

TEST(AggregationsExample, AggregateWithItsOwnSerdeAndATableMapValues) {
  TopologyTestDriver driver(AveragePayment());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  PipePayments(driver);

  std::map<std::string, std::pair<int64_t, int64_t>> sums;  // account → (count, total)
  std::vector<std::pair<std::string, double>> expected;
  for (const auto& [account, cents] : kPayments) {
    auto& [count, total] = sums[account];
    ++count;
    total += cents;
    expected.emplace_back(account, static_cast<double>(total) / static_cast<double>(count));
  }
  auto out = driver.CreateOutputTopic("average-payment", Serdes::String(), Serdes::Double());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
  // The store holds each account's PaymentStats, as bytes of the serde.
  auto* store = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("payment-stats"));
  ASSERT_NE(store, nullptr);
  for (const auto& [account, sum] : sums) {
    std::string bytes;
    ASSERT_TRUE(store->Get(account, &bytes).ok()) << account;
    PaymentStats stats;
    ASSERT_TRUE(PaymentStatsSerde()->Deserialize(bytes, &stats).ok()) << bytes;
    EXPECT_EQ(stats.count, sum.first) << account;
    EXPECT_EQ(stats.total_cents, sum.second) << account;
  }
}

TEST(AggregationsExample, TableSourceWithTombstonesAndAFilteredTable) {
  // [START table]
  StreamsBuilder builder;
  // A compacted topic (user → country) read as a table: the latest value per
  // key, and a Kafka null (a tombstone) deletes the user.
  KTable<std::string, std::string> countries = builder.Table<std::string, std::string>(
      "user-countries", {}, Materialized<std::string, std::string>::As("user-countries"));
  countries
      .Filter(
          [](const std::string& /*user*/, const std::string& country) { return country == "DE"; })
      .ToStream()
      .To("users-in-germany");  // user → "DE", or a tombstone when the user left the set
  // [END table]
  const std::vector<std::pair<std::string, std::optional<std::string>>> updates = {
      {"u1", "DE"},         {"u2", "FR"},         {"u3", "DE"}, {"u1", "AT"}, {"u2", "DE"},
      {"u3", std::nullopt}, {"u4", std::nullopt}, {"u4", "DE"}, {"u5", "IT"}};
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("user-countries", Serdes::String(),
                                    Serdes::Nullable(Serdes::String()));
  int64_t time = 1;
  for (const auto& [user, country] : updates) ASSERT_TRUE(in.PipeInput(user, country, time++).ok());

  std::map<std::string, std::string> table;  // the model: apply the updates in order
  for (const auto& [user, country] : updates) {
    if (country) {
      table[user] = *country;
    } else {
      table.erase(user);
    }
  }
  // The store is the table.
  std::map<std::string, std::string> stored;
  auto* store = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("user-countries"));
  ASSERT_NE(store, nullptr);
  for (auto it = store->All(); it->Valid(); it->Next()) stored.emplace(it->key(), it->value());
  EXPECT_EQ(stored, table);
  // Replaying the filtered changelog gives the users whose country is DE.
  auto out = driver.CreateOutputTopic("users-in-germany", Serdes::String(),
                                      Serdes::Nullable(Serdes::String()));
  auto changes = out.ReadKeyValuesToList();
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  std::set<std::string> replayed, in_germany;
  for (const auto& [user, country] : *changes) {
    if (country) {
      replayed.insert(user);
    } else {
      replayed.erase(user);
    }
  }
  for (const auto& [user, country] : table) {
    if (country == "DE") in_germany.insert(user);
  }
  EXPECT_EQ(replayed, in_germany);
}

}  // namespace
}  // namespace eventflow::streams
