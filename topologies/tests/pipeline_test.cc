// The pipeline topologies through TopologyTestDriver. The input is a
// deterministic table of events (several 5-minute windows, every currency,
// out-of-order events within grace, events hours beyond grace); the expected
// result tables are recomputed here by plain code over the input, straight from
// DESIGN.md's definitions (not with the topologies' code), and compared with the
// output topics read as a table (latest record per key, tombstone = delete) after
// decoding every record with the sink's own contract decoder (RowDecoder).
#include <gtest/gtest.h>

// GCC 12 reports a false "may be used uninitialized" inside std::variant<...
// UserEvent ...> when an Event is built from an Order or a ProductView at -O2.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "eventflow/core/event.h"
#include "eventflow/core/event_codec.h"
#include "eventflow/sinks/table_contract.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/topology_test_driver.h"
#include "eventflow/topologies/pipeline.h"
#include "eventflow/topologies/registry.h"

namespace eventflow::topologies {
namespace {

using Row = std::vector<std::string>;     // a table row as text, NULL as "NULL"
using Table = std::map<Row, Row>;         // key columns -> whole row

constexpr int64_t kMinute = 60'000;
constexpr int64_t kWindow = 5 * kMinute;
constexpr int64_t kGraceMs = 10 * kMinute;
constexpr int64_t kStart = 1764460800000;  // 2025-11-30T00:00:00Z

// Independent formatting of the expected text (gmtime, printf).
std::string Ts(int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}
std::string Money(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return buf;
}
std::string Num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// The input: events in the order they are piped.
struct Input {
  std::vector<Event> events;
  std::set<size_t> late;  // indexes of the events hours beyond grace
};

Input MakeInput(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  Input input;
  int64_t clock = kStart;
  int order_no = 0;
  for (int i = 0; i < count; ++i) {
    clock += 500 + static_cast<int64_t>(rng() % 1500);
    int64_t t = clock;
    if (rng() % 10 < 3) t -= static_cast<int64_t>(rng() % (3 * kMinute));  // within grace
    bool late = false;
    if (clock > kStart + 40 * kMinute && rng() % 60 == 0) {
      t = clock - 2 * 60 * kMinute - static_cast<int64_t>(rng() % kMinute);  // hours late
      late = true;
    }
    const std::string user = "u" + std::to_string(rng() % 12);
    const std::string product = "p" + std::to_string(rng() % 6);
    if (rng() % 100 < 60) {
      input.events.push_back(
          ProductView{user, product, kAllCategories[rng() % kAllCategories.size()], t});
    } else {
      const int64_t price = 1 + static_cast<int64_t>(rng() % 50000);
      input.events.push_back(Order{"o" + std::to_string(++order_no), user, product, price,
                                   kAllCurrencies[order_no % kAllCurrencies.size()], t});
    }
    if (late) input.late.insert(input.events.size() - 1);
  }
  // The newest events of both topics last, so that (in final mode) every
  // earlier window closes.
  clock += 60 * kMinute;
  input.events.push_back(ProductView{"flush", "pf", Category::kBooks, clock});
  input.events.push_back(Order{"o-flush", "flush", "pf", 100, Currency::kUsd, clock});
  return input;
}

// ---------------------------------------------------------------------------
// The expected tables, from DESIGN.md's definitions.

struct Expected {
  Table orders_raw, revenue, funnel, attribution;
  uint64_t late_orders = 0;
};

Expected Recompute(const Input& input, bool final_mode) {
  Expected e;
  std::vector<const Order*> orders;
  std::vector<const ProductView*> views;
  int64_t max_view = -1, max_order = -1;
  for (size_t i = 0; i < input.events.size(); ++i) {
    const bool late = input.late.count(i) > 0;
    if (const auto* o = std::get_if<Order>(&input.events[i])) {
      e.orders_raw[{o->order_id}] = {o->order_id, o->user_id, o->product_id, Money(o->price_cents),
                                     std::string(Name(o->currency)), Ts(o->timestamp_ms)};
      max_order = std::max(max_order, o->timestamp_ms);
      if (late) ++e.late_orders;
      if (!late) orders.push_back(o);
    } else if (const auto* v = std::get_if<ProductView>(&input.events[i])) {
      max_view = std::max(max_view, v->timestamp_ms);
      if (!late) views.push_back(v);
    }
  }
  // Final mode shows only windows closed by the final watermark.
  const int64_t watermark = std::min(max_view, max_order);
  auto shown = [&](int64_t start) { return !final_mode || start + kWindow + kGraceMs <= watermark; };

  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> revenue;  // sum, count
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> funnel;   // views, orders
  for (const Order* o : orders) {
    const int64_t start = o->timestamp_ms - o->timestamp_ms % kWindow;
    auto& r = revenue[{start, std::string(Name(o->currency))}];
    r.first += o->price_cents;
    ++r.second;
    ++funnel[{start, o->user_id}].second;
  }
  for (const ProductView* v : views) {
    ++funnel[{v->timestamp_ms - v->timestamp_ms % kWindow, v->user_id}].first;
  }
  for (const auto& [key, r] : revenue) {
    if (!shown(key.first)) continue;
    // Half up: the quotient, plus one when the remainder is at least half.
    const int64_t avg = r.first / r.second + (2 * (r.first % r.second) >= r.second ? 1 : 0);
    e.revenue[{Ts(key.first), key.second}] = {Ts(key.first), key.second,
                                              Ts(key.first + kWindow), Money(r.first),
                                              std::to_string(r.second), Money(avg)};
  }
  for (const auto& [key, c] : funnel) {
    if (!shown(key.first)) continue;
    e.funnel[{Ts(key.first), key.second}] = {
        Ts(key.first), key.second, Ts(key.first + kWindow), std::to_string(c.first),
        std::to_string(c.second),
        c.first == 0 ? "NULL" : Num(static_cast<double>(c.second) / static_cast<double>(c.first))};
  }
  for (const Order* o : orders) {
    int64_t n = 0, last = -1;
    for (const ProductView* v : views) {
      if (v->user_id == o->user_id && v->product_id == o->product_id &&
          v->timestamp_ms >= o->timestamp_ms - 5 * kMinute && v->timestamp_ms <= o->timestamp_ms) {
        ++n;
        last = std::max(last, v->timestamp_ms);
      }
    }
    if (n > 0) {
      e.attribution[{o->order_id}] = {o->order_id, o->user_id, o->product_id,
                                      Ts(o->timestamp_ms), std::to_string(n), Ts(last)};
    }
  }
  return e;
}

// ---------------------------------------------------------------------------
// Running a topology and reading its output as tables.

constexpr const char* kPrefix = "t.";

struct Output {
  std::map<std::string, Table> tables;             // by table name
  std::map<std::string, std::map<Row, int>> seen;  // records per key, by table name
  uint64_t dropped_late = 0;
  size_t dlq = 0;
};

void ReadTable(streams::TopologyTestDriver& driver, const std::string& name, Output* run) {
  const sinks::TableSpec* spec = sinks::FindTable(name);
  ASSERT_NE(spec, nullptr) << name;
  sinks::RowDecoder decoder;
  sinks::RowBuffer rows(spec->columns.size());
  for (const streams::TestRecord& r : driver.OutputQueue(kPrefix + name)) {
    ASSERT_TRUE(r.key.has_value()) << name << ": record without key";
    rows.Clear();
    Status decoded = r.value ? decoder.DecodeValue(*spec, *r.value, &rows)
                             : decoder.DecodeKey(*spec, *r.key, &rows);
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.ToString() << "\nkey " << *r.key
                              << "\nvalue " << r.value.value_or("null");
    if (r.value) {
      Status key_ok = decoder.CheckKey(*spec, *r.key, rows, 0);
      ASSERT_TRUE(key_ok.ok()) << name << ": " << key_ok.ToString() << "\nkey " << *r.key;
    }
    Row row;
    for (size_t c = 0; c < spec->columns.size(); ++c) {
      row.push_back(rows.IsNull(0, c) ? "NULL" : std::string(rows.Value(0, c)));
    }
    Row key(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(spec->key_columns));
    ++run->seen[name][key];
    if (r.value) {
      run->tables[name][key] = row;
    } else {
      run->tables[name].erase(key);
    }
  }
  driver.OutputQueue(kPrefix + name).clear();
}

// Pipes the input into `topology_name` and returns its output tables.
// commit_every = 0: the driver commits after every input; else every n inputs.
Output RunTopology(const std::string& topology_name, EmitMode emit, const Input& input,
                int commit_every, const std::vector<std::pair<std::string, std::string>>& bad = {}) {
  Output run;
  const NamedTopology* entry = FindTopology(topology_name);
  EXPECT_NE(entry, nullptr) << topology_name;
  if (entry == nullptr) return run;
  const PipelineOptions options{kPrefix, emit};
  streams::Topology topology = entry->Build(options);
  Status valid = topology.Validate();
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  streams::TestDriverOptions driver_options;
  driver_options.commit_every_input = commit_every == 0;
  streams::TopologyTestDriver driver(topology, driver_options);
  EXPECT_TRUE(driver.status().ok()) << driver.status().ToString();
  if (!driver.status().ok()) return run;
  const auto topics = entry->InputTopics(options);
  const bool reads_views = std::count(topics.begin(), topics.end(), "t.product-view") > 0;
  std::string json;
  int piped = 0;
  for (const auto& [topic, value] : bad) {
    EXPECT_TRUE(driver.PipeRaw(kPrefix + topic, std::string_view("u1"), value, kStart, {}).ok());
  }
  for (const Event& event : input.events) {
    const bool view = std::holds_alternative<ProductView>(event);
    if (view && !reads_views) continue;
    json.clear();
    AppendJson(event, &json);
    // The Kafka record timestamp is deliberately wrong: event time is the payload's.
    Status piped_ok = driver.PipeRaw(std::string(kPrefix) + (view ? "product-view" : "orders"),
                                     UserIdOf(event), json, 1, {});
    EXPECT_TRUE(piped_ok.ok()) << piped_ok.ToString();
    if (commit_every > 0 && ++piped % commit_every == 0) {
      EXPECT_TRUE(driver.Commit().ok());
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(driver.Commit().ok());
  for (std::string_view out : entry->output_topics) ReadTable(driver, std::string(out), &run);
  const size_t subtopologies = topology.SubTopologies().size();
  for (size_t i = 0; i < subtopologies; ++i) {
    run.dropped_late += driver.Counters(static_cast<int>(i)).dropped_late;
  }
  run.dlq = driver.OutputQueue(streams::DeadLetterTopic("test-app")).size();
  return run;
}

void ExpectTable(const Table& expected, const Table& actual, const std::string& name) {
  EXPECT_EQ(expected.size(), actual.size()) << name;
  size_t shown = 0;
  for (const auto& [key, row] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      if (shown++ < 5) ADD_FAILURE() << name << ": missing row " << ::testing::PrintToString(row);
    } else if (it->second != row) {
      if (shown++ < 5) {
        ADD_FAILURE() << name << ": row " << ::testing::PrintToString(it->second)
                      << "\n  expected " << ::testing::PrintToString(row);
      }
    }
  }
  for (const auto& [key, row] : actual) {
    if (!expected.count(key) && shown++ < 5) {
      ADD_FAILURE() << name << ": unexpected row " << ::testing::PrintToString(row);
    }
  }
}

const Table& ExpectedTable(const Expected& e, std::string_view name) {
  if (name == kOrdersRawTopic) return e.orders_raw;
  if (name == kRevenueTopic) return e.revenue;
  if (name == kFunnelTopic) return e.funnel;
  return e.attribution;
}

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    input_ = new Input(MakeInput(42, 4000));
  }
  static void TearDownTestSuite() { delete input_; }
  static Input* input_;
};
Input* PipelineTest::input_ = nullptr;

TEST_F(PipelineTest, InputCoversTheCases) {
  const Expected e = Recompute(*input_, false);
  EXPECT_GT(input_->late.size(), 5u);
  EXPECT_GT(e.late_orders, 1u);
  std::set<std::string> currencies, windows;
  for (const auto& [key, row] : e.revenue) {
    windows.insert(key[0]);
    currencies.insert(key[1]);
  }
  EXPECT_EQ(currencies.size(), kAllCurrencies.size());
  EXPECT_GT(windows.size(), 10u);
  EXPECT_GT(e.attribution.size(), 100u);
  size_t no_views = 0, no_orders = 0;
  for (const auto& [key, row] : e.funnel) {
    no_views += row[3] == "0";
    no_orders += row[4] == "0";
  }
  EXPECT_GT(no_views, 0u);
  EXPECT_GT(no_orders, 0u);
}

TEST_F(PipelineTest, WholePipelineInUpdateModeMatchesTheRecomputation) {
  const Expected e = Recompute(*input_, false);
  const Output run = RunTopology(std::string(kDefaultTopology), EmitMode::kUpdate, *input_, 0);
  for (std::string_view name : {kOrdersRawTopic, kRevenueTopic, kFunnelTopic, kAttributionTopic}) {
    ExpectTable(ExpectedTable(e, name), run.tables.count(std::string(name))
                                            ? run.tables.at(std::string(name))
                                            : Table{},
                std::string(name));
  }
  EXPECT_GT(run.dropped_late, 0u);
  EXPECT_EQ(run.dlq, 0u);
}

TEST_F(PipelineTest, WholePipelineInFinalModeEmitsClosedWindowsOnly) {
  const Expected e = Recompute(*input_, true);
  const Output run = RunTopology(std::string(kDefaultTopology), EmitMode::kFinal, *input_, 25);
  for (std::string_view name : {kOrdersRawTopic, kRevenueTopic, kFunnelTopic, kAttributionTopic}) {
    ExpectTable(ExpectedTable(e, name), run.tables.count(std::string(name))
                                            ? run.tables.at(std::string(name))
                                            : Table{},
                std::string(name));
  }
  // A final result is written once per window.
  for (std::string_view name : {kRevenueTopic, kFunnelTopic}) {
    for (const auto& [key, n] : run.seen.at(std::string(name))) {
      EXPECT_EQ(n, 1) << name << " " << ::testing::PrintToString(key);
    }
  }
}

TEST_F(PipelineTest, EachTopologyAloneWithBatchedCommitsMatchesTheRecomputation) {
  const Expected e = Recompute(*input_, false);
  for (std::string_view name : {kOrdersRawTopic, kRevenueTopic, kFunnelTopic, kAttributionTopic}) {
    SCOPED_TRACE(std::string(name));
    const Output run = RunTopology(std::string(name), EmitMode::kUpdate, *input_, 40);
    ExpectTable(ExpectedTable(e, name),
                run.tables.count(std::string(name)) ? run.tables.at(std::string(name)) : Table{},
                std::string(name));
    if (name == kRevenueTopic) {
      // One tumbling window per late order: each counts once.
      EXPECT_EQ(run.dropped_late, e.late_orders);
    }
    if (name == kOrdersRawTopic) {
      EXPECT_EQ(run.dropped_late, 0u);
    }
  }
}

TEST_F(PipelineTest, UndecodableRecordsGoToTheDeadLetterTopicNamingTheField) {
  const Order good{"o1", "u1", "p1", 5999, Currency::kEur, kStart + 1000};
  const NamedTopology* entry = FindTopology(kOrdersRawTopic);
  ASSERT_NE(entry, nullptr);
  streams::TopologyTestDriver driver(entry->Build({kPrefix, EmitMode::kUpdate}));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  const std::string bad =
      R"({"eventType":"ORDER","orderId":"o0","userId":"u1","productId":"p1","price":"12","currency":"EUR","timestamp":"2025-11-30T11:17:00Z"})";
  ASSERT_TRUE(driver.PipeRaw("t.orders", std::string_view("u1"), bad, 5, {}).ok());
  std::string json;
  AppendJson(good, &json);
  ASSERT_TRUE(driver.PipeRaw("t.orders", std::string_view("u1"), json, 6, {}).ok());
  auto& dlq = driver.OutputQueue(streams::DeadLetterTopic("test-app"));
  ASSERT_EQ(dlq.size(), 1u);
  const std::string* error = dlq.front().headers.LastValue(streams::kDlqErrorHeader);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->find("price"), std::string::npos) << *error;
  EXPECT_NE(error->find("byte"), std::string::npos) << *error;
  EXPECT_EQ(dlq.front().value, bad);
  EXPECT_EQ(driver.OutputQueue("t.orders_raw").size(), 1u);
}

TEST(PipelineDescribeTest, DescribeIsStableAndNamesEveryNode) {
  for (const NamedTopology& entry : Registry()) {
    SCOPED_TRACE(std::string(entry.name));
    const std::string a = entry.Build({}).Describe();
    const std::string b = entry.Build({}).Describe();
    EXPECT_EQ(a, b);
    EXPECT_TRUE(entry.Build({}).Validate().ok()) << entry.Build({}).Validate().ToString();
    EXPECT_EQ(a.find("-0000000"), std::string::npos) << "a generated name:\n" << a;
  }
  const std::string all = FindTopology(kDefaultTopology)->Build({}).Describe();
  for (const char* node :
       {"Source: orders-source (topics: [orders])",
        "Source: product-view-source (topics: [product-view])", "Sink: orders-raw-sink (topic: orders_raw)",
        "revenue-by-currency-repartition", "Processor: revenue-aggregate (stores: [revenue-by-currency-store])",
        "Sink: revenue-sink (topic: revenue_by_currency_5min)",
        "Processor: funnel-views-count (stores: [funnel-views-store])",
        "Processor: funnel-orders-count (stores: [funnel-orders-store])", "funnel-join-join-this",
        "Sink: funnel-sink (topic: conversion_funnel_5min)", "attribution-join-left-repartition",
        "attribution-join-right-repartition", "attribution-by-order-repartition",
        "Processor: attribution-aggregate (stores: [attribution-store])",
        "Sink: attribution-sink (topic: order_attribution)"}) {
    EXPECT_NE(all.find(node), std::string::npos) << node << "\n" << all;
  }
}

TEST(PipelineOptionsTest, EmitModeParsesAndNamesTheSetting) {
  EXPECT_EQ(*ParseEmitMode("update"), EmitMode::kUpdate);
  EXPECT_EQ(*ParseEmitMode("final"), EmitMode::kFinal);
  const auto bad = ParseEmitMode("sometimes", "--emit");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--emit"), std::string::npos);
}

}  // namespace
}  // namespace eventflow::topologies
