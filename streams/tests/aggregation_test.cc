// The stateful DSL, part 1: KStream::GroupByKey/GroupBy → KGroupedStream →
// Count/Reduce/Aggregate → KTable (Filter, MapValues, ToStream), all through
// TopologyTestDriver. Every expected value is computed in the test by a plain
// loop over the input, independently of the library.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using OptI64 = std::optional<int64_t>;

const std::vector<S> kKeys = {"a", "b", "a", "c", "a", "b", "d", "c", "a"};

// The value of `key` in the key-value store `store`, decoded with `serde`;
// nullopt when absent.
template <typename T>
std::optional<T> StoreValue(TopologyTestDriver& driver, const S& store, const S& key,
                            const SerdePtr<T>& serde) {
  auto* kv = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore(store));
  EXPECT_NE(kv, nullptr) << store;
  if (kv == nullptr) return std::nullopt;
  std::string bytes;
  const Status got = kv->Get(key, &bytes);
  if (got.IsNotFound()) return std::nullopt;
  EXPECT_TRUE(got.ok()) << got.ToString();
  T value{};
  EXPECT_TRUE(serde->Deserialize(bytes, &value).ok());
  return value;
}

// Every key-value store entry of `store`, as raw bytes.
std::map<S, S> StoreContents(TopologyTestDriver& driver, const S& store) {
  std::map<S, S> out;
  auto* kv = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore(store));
  EXPECT_NE(kv, nullptr) << store;
  if (kv == nullptr) return out;
  for (auto it = kv->All(); it->Valid(); it->Next()) {
    out.emplace(std::string(it->key()), std::string(it->value()));
  }
  return out;
}

std::string Int64Bytes(int64_t v) {
  std::string out;
  Serdes::Int64()->Serialize(v, &out);
  return out;
}

TEST(AggregationTest, CountPerKeyEmitsEveryUpdateAndLogsEachToTheChangelog) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .Count(Materialized<S, int64_t>::As("counts"))
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  std::map<S, int64_t> expected;
  std::vector<std::pair<S, int64_t>> expected_updates;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    ASSERT_TRUE(in.PipeInput(kKeys[i], "v" + std::to_string(i), 100 + int64_t(i)).ok());
    expected_updates.emplace_back(kKeys[i], ++expected[kKeys[i]]);
  }
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  auto updates = out.ReadKeyValuesToList();
  ASSERT_TRUE(updates.ok()) << updates.status().ToString();
  EXPECT_EQ(*updates, expected_updates);

  std::map<S, S> expected_bytes;
  for (const auto& [key, count] : expected) {
    EXPECT_EQ(StoreValue(driver, "counts", key, Serdes::Int64()), count) << key;
    expected_bytes[key] = Int64Bytes(count);
  }
  EXPECT_EQ(StoreContents(driver, "counts"), expected_bytes);

  // One changelog record per update, in order, stamped with the wall clock of
  // writing (the driver's), not the input's event time: the broker's time
  // retention of a changelog counts from the write.
  auto changelog =
      driver.CreateOutputTopic("test-app-counts-changelog", Serdes::String(), Serdes::Int64());
  auto logged = changelog.ReadRecordsToList();
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  ASSERT_EQ(logged->size(), expected_updates.size());
  for (size_t i = 0; i < logged->size(); ++i) {
    EXPECT_EQ((*logged)[i].key, expected_updates[i].first);
    EXPECT_EQ((*logged)[i].value, expected_updates[i].second);
    EXPECT_EQ((*logged)[i].timestamp, driver.wall_clock_ms());
  }
  EXPECT_NE(builder.Build().Describe().find("(stores: [counts])"), std::string::npos);
}

TEST(AggregationTest, ReduceSumsInt64Values) {
  StreamsBuilder builder;
  builder.Stream<S, int64_t>("in")
      .GroupByKey()
      .Reduce([](int64_t sum, int64_t v) { return sum + v; }, Materialized<S, int64_t>::As("sums"))
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  std::map<S, int64_t> expected;
  std::vector<std::pair<S, int64_t>> expected_updates;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    const int64_t v = int64_t(i) * 7 - 20;  // negatives too
    ASSERT_TRUE(in.PipeInput(kKeys[i], v, int64_t(i)).ok());
    auto [it, first] = expected.emplace(kKeys[i], v);
    if (!first) it->second += v;
    expected_updates.emplace_back(kKeys[i], it->second);
  }
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  auto updates = out.ReadKeyValuesToList();
  ASSERT_TRUE(updates.ok()) << updates.status().ToString();
  EXPECT_EQ(*updates, expected_updates);
  for (const auto& [key, sum] : expected) {
    EXPECT_EQ(StoreValue(driver, "sums", key, Serdes::Int64()), sum) << key;
  }
  EXPECT_EQ(driver.OutputQueue("test-app-sums-changelog").size(), kKeys.size());
}

TEST(AggregationTest, AggregateCollectsStrings) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .Aggregate([] { return S("["); },
                 [](const S& key, const S& value, const S& agg) { return agg + key + value + ";"; },
                 Materialized<S, S>::As("lists").WithInMemoryStore())
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  std::map<S, S> expected;
  std::vector<std::pair<S, S>> expected_updates;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    const S value = std::to_string(i);
    ASSERT_TRUE(in.PipeInput(kKeys[i], value, int64_t(i)).ok());
    S& agg = expected.try_emplace(kKeys[i], "[").first->second;
    agg += kKeys[i] + value + ";";
    expected_updates.emplace_back(kKeys[i], agg);
  }
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  auto updates = out.ReadKeyValuesToList();
  ASSERT_TRUE(updates.ok()) << updates.status().ToString();
  EXPECT_EQ(*updates, expected_updates);
  EXPECT_EQ(StoreContents(driver, "lists"), expected);
  EXPECT_EQ(driver.OutputQueue("test-app-lists-changelog").size(), kKeys.size());
}

// Page views "user:page" keyed by user, counted per page.
TEST(AggregationTest, GroupByANewKeyGoesThroughTheRepartitionTopic) {
  StreamsBuilder builder;
  builder.Stream<S, S>("views")
      .GroupBy([](const S&, const S& view) { return view.substr(view.find(':') + 1); },
               Grouped<S, S>::As("by-page"))
      .Count(Materialized<S, int64_t>::As("page-counts"))
      .ToStream()
      .To("out");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  ASSERT_EQ(topology.SubTopologies().size(), 2u);
  EXPECT_EQ(topology.Describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: KSTREAM-SOURCE-0000000000 (topics: [views])\n"
            "      --> by-page\n"
            "    Processor: by-page (stores: [])\n"
            "      --> by-page-repartition-filter\n"
            "      <-- KSTREAM-SOURCE-0000000000\n"
            "    Processor: by-page-repartition-filter (stores: [])\n"
            "      --> by-page-repartition-sink\n"
            "      <-- by-page\n"
            "    Sink: by-page-repartition-sink (topic: by-page-repartition)\n"
            "      <-- by-page-repartition-filter\n"
            "\n"
            "  Sub-topology: 1\n"
            "    Source: by-page-repartition-source (topics: [by-page-repartition])\n"
            "      --> KSTREAM-AGGREGATE-0000000001\n"
            "    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [page-counts])\n"
            "      --> KTABLE-TOSTREAM-0000000005\n"
            "      <-- by-page-repartition-source\n"
            "    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])\n"
            "      --> KSTREAM-SINK-0000000006\n"
            "      <-- KSTREAM-AGGREGATE-0000000001\n"
            "    Sink: KSTREAM-SINK-0000000006 (topic: out)\n"
            "      <-- KTABLE-TOSTREAM-0000000005\n"
            "\n");

  TopologyTestDriver driver(topology);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  const std::vector<std::pair<S, S>> views = {{"u1", "u1:home"}, {"u2", "u2:cart"},
                                              {"u1", "u1:cart"}, {"u3", "u3:home"},
                                              {"u2", "u2:home"}, {"u3", "u3:checkout"}};
  std::map<S, int64_t> expected;
  std::vector<std::pair<S, int64_t>> expected_updates;
  for (size_t i = 0; i < views.size(); ++i) {
    ASSERT_TRUE(in.PipeInput(views[i].first, views[i].second, int64_t(i)).ok());
    const S page = views[i].second.substr(views[i].second.find(':') + 1);
    expected_updates.emplace_back(page, ++expected[page]);
  }
  // Every record went through the repartition topic, keyed by page.
  EXPECT_EQ(driver.Counters(1).processed, views.size());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  auto updates = out.ReadKeyValuesToList();
  ASSERT_TRUE(updates.ok()) << updates.status().ToString();
  EXPECT_EQ(*updates, expected_updates);
  for (const auto& [page, count] : expected) {
    EXPECT_EQ(StoreValue(driver, "page-counts", page, Serdes::Int64()), count) << page;
  }
  EXPECT_EQ(driver.OutputQueue("test-app-page-counts-changelog").size(), views.size());
}

TEST(AggregationTest, GroupByKeyRepartitionsOnlyAfterAKeyChange) {
  auto sub_topologies = [](bool select_key) {
    StreamsBuilder builder;
    auto stream = builder.Stream<S, S>("in").MapValues([](const S& v) { return v + "!"; });
    if (select_key) {
      stream =
          stream.SelectKey([](const S&, const S& v) { return v; }).Filter([](const S&, const S&) {
            return true;
          });
    }
    stream.GroupByKey(Grouped<S, S>::As("regrouped")).Count();
    return builder.Build().SubTopologies().size();
  };
  EXPECT_EQ(sub_topologies(false), 1u);
  EXPECT_EQ(sub_topologies(true), 2u);

  // Repartition() settles the key again.
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .SelectKey([](const S&, const S& v) { return v; })
      .Repartition(Repartitioned<S, S>::As("rekeyed"))
      .GroupByKey()
      .Count();
  EXPECT_EQ(builder.Build().SubTopologies().size(), 2u);  // the Repartition's split only

  // Counting values after SelectKey, through the driver.
  StreamsBuilder counting;
  counting.Stream<S, S>("in")
      .SelectKey([](const S&, const S& v) { return v; })
      .GroupByKey(Grouped<S, S>::As("by-value"))
      .Count(Materialized<S, int64_t>::As("value-counts"));
  TopologyTestDriver driver(counting.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  std::map<S, int64_t> expected;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    ASSERT_TRUE(in.PipeInput("k" + std::to_string(i), kKeys[i], int64_t(i)).ok());
    ++expected[kKeys[i]];
  }
  EXPECT_EQ(driver.OutputQueue("test-app-by-value-repartition").size(), 0u);  // fed back, consumed
  for (const auto& [value, count] : expected) {
    EXPECT_EQ(StoreValue(driver, "value-counts", value, Serdes::Int64()), count) << value;
  }
}

TEST(AggregationTest, GeneratedNamesAreKafkaStreamsNamesAndDeterministic) {
  auto build = [] {
    StreamsBuilder builder;
    builder.Stream<S, S>("input").GroupBy([](const S&, const S& v) { return v; }).Count();
    return builder.Build();
  };
  const Topology topology = build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  // What Kafka Streams prints for builder.stream("input").groupBy((k, v) -> v).count().
  EXPECT_EQ(topology.Describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
            "      --> KSTREAM-KEY-SELECT-0000000001\n"
            "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n"
            "      --> KSTREAM-FILTER-0000000005\n"
            "      <-- KSTREAM-SOURCE-0000000000\n"
            "    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n"
            "      --> KSTREAM-SINK-0000000004\n"
            "      <-- KSTREAM-KEY-SELECT-0000000001\n"
            "    Sink: KSTREAM-SINK-0000000004 (topic: "
            "KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n"
            "      <-- KSTREAM-FILTER-0000000005\n"
            "\n"
            "  Sub-topology: 1\n"
            "    Source: KSTREAM-SOURCE-0000000006 (topics: "
            "[KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])\n"
            "      --> KSTREAM-AGGREGATE-0000000003\n"
            "    Processor: KSTREAM-AGGREGATE-0000000003 (stores: "
            "[KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n"
            "      --> none\n"
            "      <-- KSTREAM-SOURCE-0000000006\n"
            "\n");
  EXPECT_EQ(build().Describe(), topology.Describe());
  ASSERT_EQ(topology.stores().size(), 1u);
  EXPECT_EQ(topology.stores()[0].name, "KSTREAM-AGGREGATE-STATE-STORE-0000000002");

  StreamsBuilder reduce;
  reduce.Stream<S, S>("input").GroupByKey().Reduce([](const S& a, const S& b) { return a + b; });
  ASSERT_EQ(reduce.Build().stores().size(), 1u);
  EXPECT_EQ(reduce.Build().stores()[0].name, "KSTREAM-REDUCE-STATE-STORE-0000000001");
  EXPECT_NE(reduce.Build().Describe().find("Processor: KSTREAM-REDUCE-0000000002"),
            std::string::npos);
}

TEST(AggregationTest, UserGivenNamesWin) {
  StreamsBuilder builder;
  auto table = builder.Stream<S, S>("input")
                   .GroupBy([](const S&, const S& v) { return v; })
                   .Count(Materialized<S, int64_t>::As("my-store"), Named::As("my-count"));
  EXPECT_EQ(table.store_name(), std::optional<S>("my-store"));
  EXPECT_EQ(table.node_name(), "my-count");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  const S text = topology.Describe();
  // Without a Grouped name, the repartition topic is named after the store.
  EXPECT_NE(text.find("Sink: my-store-repartition-sink (topic: my-store-repartition)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Processor: my-store-repartition-filter"), std::string::npos) << text;
  EXPECT_NE(text.find("Processor: my-count (stores: [my-store])"), std::string::npos) << text;

  StreamsBuilder grouped;
  grouped.Stream<S, S>("input")
      .GroupBy([](const S&, const S& v) { return v; }, Grouped<S, S>::As("g"))
      .Count(Materialized<S, int64_t>::As("my-store"));
  const S grouped_text = grouped.Build().Describe();
  EXPECT_NE(grouped_text.find("Processor: g (stores: [])"), std::string::npos) << grouped_text;
  EXPECT_NE(grouped_text.find("(topic: g-repartition)"), std::string::npos) << grouped_text;

  StreamsBuilder duplicate;
  auto grouped_stream = duplicate.Stream<S, S>("input").GroupByKey();
  grouped_stream.Count(Materialized<S, int64_t>::As("same"));
  grouped_stream.Count(Materialized<S, int64_t>::As("same"));
  EXPECT_FALSE(duplicate.Build().Validate().ok());

  StreamsBuilder bad;
  bad.Stream<S, S>("input").GroupByKey().Count(Materialized<S, int64_t>::As("no spaces"));
  EXPECT_FALSE(bad.Build().Validate().ok());
}

TEST(AggregationTest, KTableFilterMapValuesAndToStream) {
  StreamsBuilder builder;
  auto counts =
      builder.Stream<S, S>("in").GroupByKey().Count(Materialized<S, int64_t>::As("counts"));
  auto table = counts.Filter([](const S&, int64_t count) { return count >= 2; })
                   .MapValues([](const S& key, int64_t count) {
                     return key + "=" + std::to_string(count * 10);
                   });
  EXPECT_EQ(table.store_name(), std::nullopt);
  table.ToStream().To("out");
  counts.FilterNot([](const S&, int64_t count) { return count >= 2; }).ToStream().To("first");
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  std::map<S, int64_t> count;
  std::vector<std::pair<S, std::optional<S>>> expected_out;
  std::vector<std::pair<S, OptI64>> expected_first;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    ASSERT_TRUE(in.PipeInput(kKeys[i], "x", int64_t(i)).ok());
    const int64_t c = ++count[kKeys[i]];
    // Filter forwards a non-matching update as a tombstone.
    expected_out.emplace_back(
        kKeys[i],
        c >= 2 ? std::optional<S>(kKeys[i] + "=" + std::to_string(c * 10)) : std::nullopt);
    expected_first.emplace_back(kKeys[i], c >= 2 ? std::nullopt : OptI64(c));
  }
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Nullable(Serdes::String()));
  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, expected_out);
  auto first =
      driver.CreateOutputTopic("first", Serdes::String(), Serdes::Nullable(Serdes::Int64()));
  auto got_first = first.ReadKeyValuesToList();
  ASSERT_TRUE(got_first.ok()) << got_first.status().ToString();
  EXPECT_EQ(*got_first, expected_first);
}

TEST(AggregationTest, NullKeysAreSkipped) {
  using OptS = std::optional<S>;
  StreamsBuilder builder;
  // Directly: the aggregation skips a null key.
  builder.Stream<OptS, S>("in").GroupByKey().Count(Materialized<OptS, int64_t>::As("direct"));
  // Through a repartition: the filter before the topic drops it.
  builder.Stream<S, S>("views")
      .GroupBy([](const S&, const S& v) { return v.empty() ? OptS() : OptS(v); },
               Grouped<OptS, S>::As("by-value"))
      .Count(Materialized<OptS, int64_t>::As("regrouped"));
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::Nullable(Serdes::String()), Serdes::String());
  auto views = driver.CreateInputTopic("views", Serdes::String(), Serdes::String());
  const std::vector<OptS> keys = {S("a"), std::nullopt, S("a"), std::nullopt, S("b")};
  std::map<S, int64_t> expected;
  size_t non_null = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(in.PipeInput(keys[i], "x", int64_t(i)).ok());
    ASSERT_TRUE(views.PipeInput("u", keys[i].value_or(""), int64_t(i)).ok());
    if (keys[i]) {
      ++expected[*keys[i]];
      ++non_null;
    }
  }
  std::map<S, S> expected_bytes;
  for (const auto& [key, count] : expected) expected_bytes[key] = Int64Bytes(count);
  EXPECT_EQ(StoreContents(driver, "direct"), expected_bytes);
  EXPECT_EQ(StoreContents(driver, "regrouped"), expected_bytes);
  EXPECT_EQ(driver.OutputQueue("test-app-direct-changelog").size(), non_null);
  EXPECT_EQ(driver.OutputQueue("test-app-regrouped-changelog").size(), non_null);
  EXPECT_EQ(driver.Counters(2).processed, non_null);  // the repartition's reader
}

}  // namespace
}  // namespace eventflow::streams
