// The stateless DSL, end to end through TopologyTestDriver: each operation's
// output is compared with literal expectations written from the input.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using KV = std::pair<std::string, std::string>;
using KL = std::pair<std::string, int64_t>;

constexpr int64_t kNow = 1'700'000'000'000;  // mock wall clock; record times are below it

TestDriverOptions Options() {
  TestDriverOptions options;
  options.application_id = "dsl-app";
  options.initial_wall_clock_ms = kNow;
  return options;
}

// Reads every (key, value) of a string/string topic.
std::vector<KV> ReadStrings(TopologyTestDriver& driver, const std::string& topic) {
  auto out = driver.CreateOutputTopic(topic, Serdes::String(), Serdes::String());
  auto records = out.ReadKeyValuesToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? *records : std::vector<KV>{};
}

std::vector<KL> ReadLongs(TopologyTestDriver& driver, const std::string& topic) {
  auto out = driver.CreateOutputTopic(topic, Serdes::String(), Serdes::Int64());
  auto records = out.ReadKeyValuesToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? *records : std::vector<KL>{};
}

// Pipes string/string records with timestamps 1000, 1001, ...
void PipeAll(TopologyTestDriver& driver, const std::string& topic, const std::vector<KV>& input) {
  auto in = driver.CreateInputTopic(topic, Serdes::String(), Serdes::String());
  int64_t ts = 1000;
  for (const auto& [k, v] : input) ASSERT_TRUE(in.PipeInput(k, v, ts++).ok());
}

TEST(DslTest, FilterKeepsMatchingAndFilterNotTheRest) {
  StreamsBuilder builder;
  auto words = builder.Stream<std::string, std::string>("words");
  auto is_long = [](const std::string&, const std::string& v) { return v.size() > 3; };
  words.Filter(is_long).To("long");
  words.FilterNot(is_long).To("short");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "words", {{"a", "tree"}, {"b", "ox"}, {"c", "house"}, {"d", "cat"}});
  EXPECT_EQ(ReadStrings(driver, "long"), (std::vector<KV>{{"a", "tree"}, {"c", "house"}}));
  EXPECT_EQ(ReadStrings(driver, "short"), (std::vector<KV>{{"b", "ox"}, {"d", "cat"}}));
}

TEST(DslTest, MapReplacesKeyAndValue) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in")
      .Map([](const std::string& k, const std::string& v) {
        return KeyValue<std::string, int64_t>(v, static_cast<int64_t>(k.size()));
      })
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"one", "x"}, {"three", "y"}});
  EXPECT_EQ(ReadLongs(driver, "out"), (std::vector<KL>{{"x", 3}, {"y", 5}}));
}

TEST(DslTest, MapWithExplicitTypesConvertsTheResult) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in")
      .Map<std::string, int64_t>([](const std::string& k, const std::string& v) {
        return std::make_pair(k + v, v.size());  // size_t, converted to int64_t
      })
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  PipeAll(driver, "in", {{"k", "abcd"}});
  EXPECT_EQ(ReadLongs(driver, "out"), (std::vector<KL>{{"kabcd", 4}}));
}

TEST(DslTest, MapValuesWithAndWithoutKey) {
  StreamsBuilder builder;
  auto in = builder.Stream<std::string, std::string>("in");
  in.MapValues([](const std::string& v) { return static_cast<int64_t>(v.size()); }).To("lengths");
  in.MapValues([](const std::string& k, const std::string& v) { return k + ":" + v; }).To("joined");
  in.MapValues<int64_t>([](const std::string& v) { return v.size() * 10; }).To("tens");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "xyz"}, {"b", ""}});
  EXPECT_EQ(ReadLongs(driver, "lengths"), (std::vector<KL>{{"a", 3}, {"b", 0}}));
  EXPECT_EQ(ReadStrings(driver, "joined"), (std::vector<KV>{{"a", "a:xyz"}, {"b", "b:"}}));
  EXPECT_EQ(ReadLongs(driver, "tens"), (std::vector<KL>{{"a", 30}, {"b", 0}}));
}

TEST(DslTest, FlatMapProducesZeroToManyRecords) {
  StreamsBuilder builder;
  // Value "n" becomes n records <key>-<i> -> i.
  builder.Stream<std::string, std::string>("in")
      .FlatMap([](const std::string& k, const std::string& v) {
        std::vector<KeyValue<std::string, int64_t>> out;
        for (int64_t i = 0; i < std::stoll(v); ++i)
          out.emplace_back(k + "-" + std::to_string(i), i);
        return out;
      })
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "0"}, {"b", "1"}, {"c", "3"}});
  EXPECT_EQ(ReadLongs(driver, "out"),
            (std::vector<KL>{{"b-0", 0}, {"c-0", 0}, {"c-1", 1}, {"c-2", 2}}));
}

TEST(DslTest, FlatMapValuesKeepsTheKey) {
  StreamsBuilder builder;
  auto in = builder.Stream<std::string, std::string>("in");
  in.FlatMapValues([](const std::string& v) {
      std::vector<std::string> words;
      size_t start = 0;
      while (start < v.size()) {
        size_t end = v.find(' ', start);
        if (end == std::string::npos) end = v.size();
        if (end > start) words.push_back(v.substr(start, end - start));
        start = end + 1;
      }
      return words;
    }).To("words");
  in.FlatMapValues([](const std::string& k, const std::string& v) {
      return std::vector<std::string>{k, v};
    }).To("both");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"s1", "the quick fox"}, {"s2", ""}});
  EXPECT_EQ(ReadStrings(driver, "words"),
            (std::vector<KV>{{"s1", "the"}, {"s1", "quick"}, {"s1", "fox"}}));
  EXPECT_EQ(ReadStrings(driver, "both"),
            (std::vector<KV>{{"s1", "s1"}, {"s1", "the quick fox"}, {"s2", "s2"}, {"s2", ""}}));
}

TEST(DslTest, PeekSeesEveryRecordAndPassesItOn) {
  std::vector<KV> peeked;
  std::vector<KV> foreach_seen;
  StreamsBuilder builder;
  auto peeked_stream = builder.Stream<std::string, std::string>("in").Peek(
      [&peeked](const std::string& k, const std::string& v) { peeked.emplace_back(k, v); });
  peeked_stream.To("out");
  peeked_stream.Foreach([&foreach_seen](const std::string& k, const std::string& v) {
    foreach_seen.emplace_back(k, v);
  });
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "1"}, {"b", "2"}});
  const std::vector<KV> expected{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(peeked, expected);
  EXPECT_EQ(foreach_seen, expected);
  EXPECT_EQ(ReadStrings(driver, "out"), expected);
}

TEST(DslTest, SplitRoutesToTheFirstMatchingBranchThenTheDefault) {
  StreamsBuilder builder;
  auto branches =
      builder.Stream<std::string, std::string>("in")
          .Split(Named::As("route-"))
          .Branch([](const std::string&, const std::string& v) { return v.starts_with("a"); },
                  Branched::As("a"))
          .Branch([](const std::string&, const std::string& v) { return v.size() > 2; },
                  Branched::As("long"))
          .DefaultBranch(Branched::As("other"));
  ASSERT_EQ(branches.size(), 3u);
  ASSERT_EQ(branches.count("route-a"), 1u);
  ASSERT_EQ(branches.count("route-long"), 1u);
  ASSERT_EQ(branches.count("route-other"), 1u);
  branches.at("route-a").To("a");
  branches.at("route-long").To("long");
  branches.at("route-other").To("other");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  // "abc" matches both predicates: the first branch wins.
  PipeAll(driver, "in", {{"1", "abc"}, {"2", "xyz"}, {"3", "ab"}, {"4", "x"}, {"5", "hello"}});
  EXPECT_EQ(ReadStrings(driver, "a"), (std::vector<KV>{{"1", "abc"}, {"3", "ab"}}));
  EXPECT_EQ(ReadStrings(driver, "long"), (std::vector<KV>{{"2", "xyz"}, {"5", "hello"}}));
  EXPECT_EQ(ReadStrings(driver, "other"), (std::vector<KV>{{"4", "x"}}));
}

TEST(DslTest, SplitWithoutDefaultBranchDropsUnmatchedRecords) {
  StreamsBuilder builder;
  auto branches = builder.Stream<std::string, std::string>("in")
                      .Split()
                      .Branch([](const std::string&, const std::string& v) { return v == "x"; })
                      .Branch([](const std::string&, const std::string& v) { return v == "y"; })
                      .NoDefaultBranch();
  // Unnamed: "<generated split name><position>", as Kafka Streams keys them.
  ASSERT_EQ(branches.size(), 2u);
  branches.at("KSTREAM-BRANCH-00000000011").To("xs");
  branches.at("KSTREAM-BRANCH-00000000012").To("ys");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"1", "x"}, {"2", "z"}, {"3", "y"}, {"4", "x"}});
  EXPECT_EQ(ReadStrings(driver, "xs"), (std::vector<KV>{{"1", "x"}, {"4", "x"}}));
  EXPECT_EQ(ReadStrings(driver, "ys"), (std::vector<KV>{{"3", "y"}}));
  EXPECT_EQ(driver.ProducedTopicNames(), (std::vector<std::string>{"xs", "ys"}));
}

TEST(DslTest, MergeOfTwoSourcesCarriesBoth) {
  StreamsBuilder builder;
  auto left = builder.Stream<std::string, std::string>("left");
  auto right = builder.Stream<std::string, std::string>("right");
  left.Merge(right).To("merged");
  Topology topology = builder.Build();
  // Merging puts both sources in one sub-topology (they must be co-partitioned).
  ASSERT_EQ(topology.SubTopologies().size(), 1u);
  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  auto l = driver.CreateInputTopic("left", Serdes::String(), Serdes::String());
  auto r = driver.CreateInputTopic("right", Serdes::String(), Serdes::String());
  ASSERT_TRUE(l.PipeInput("l1", "a", 10).ok());
  ASSERT_TRUE(r.PipeInput("r1", "b", 11).ok());
  ASSERT_TRUE(l.PipeInput("l2", "c", 12).ok());
  EXPECT_EQ(ReadStrings(driver, "merged"),
            (std::vector<KV>{{"l1", "a"}, {"r1", "b"}, {"l2", "c"}}));
}

TEST(DslTest, SelectKeyRepartitionToRunsInTwoSubTopologies) {
  StreamsBuilder builder;
  // Orders keyed by order id, value "<user>,<amount>": re-key by user.
  builder.Stream<std::string, std::string>("orders")
      .SelectKey([](const std::string&, const std::string& v) { return v.substr(0, v.find(',')); })
      .Repartition(Repartitioned<std::string, std::string>::As("by-user").WithNumberOfPartitions(4))
      .MapValues<int64_t>(
          [](const std::string& v) { return std::stoll(v.substr(v.find(',') + 1)); })
      .To("amount-by-user");
  Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();

  const auto subs = topology.SubTopologies();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].source_topics, (std::vector<std::string>{"orders"}));
  EXPECT_EQ(subs[0].sink_topics, (std::vector<std::string>{"by-user-repartition"}));
  EXPECT_EQ(subs[1].source_topics, (std::vector<std::string>{"by-user-repartition"}));
  EXPECT_EQ(subs[1].sink_topics, (std::vector<std::string>{"amount-by-user"}));
  ASSERT_EQ(topology.internal_topics().size(), 1u);
  const InternalTopicSpec& spec = topology.internal_topics()[0];
  EXPECT_EQ(spec.name, "by-user-repartition");
  EXPECT_EQ(spec.num_partitions, 4);
  EXPECT_EQ(spec.configs,
            (std::vector<std::pair<std::string, std::string>>{{"cleanup.policy", "delete"}}));
  EXPECT_EQ(topology.ResolverFor("dsl-app")("by-user-repartition"), "dsl-app-by-user-repartition");

  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  PipeAll(driver, "orders", {{"o1", "alice,10"}, {"o2", "bob,7"}, {"o3", "alice,5"}});
  EXPECT_EQ(ReadLongs(driver, "amount-by-user"),
            (std::vector<KL>{{"alice", 10}, {"bob", 7}, {"alice", 5}}));
  // The repartition topic was fed back internally, not left as output.
  EXPECT_EQ(driver.ProducedTopicNames(), (std::vector<std::string>{"amount-by-user"}));
  EXPECT_EQ(driver.Counters(0).processed, 3u);
  EXPECT_EQ(driver.Counters(1).processed, 3u);
}

TEST(DslTest, ToWithTopicNameExtractorRoutesPerRecord) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in").To([](const Record<std::string, std::string>& r) {
    return r.value.size() % 2 == 0 ? std::string("even") : std::string("odd");
  });
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "xx"}, {"b", "x"}, {"c", ""}, {"d", "xyz"}});
  EXPECT_EQ(ReadStrings(driver, "even"), (std::vector<KV>{{"a", "xx"}, {"c", ""}}));
  EXPECT_EQ(ReadStrings(driver, "odd"), (std::vector<KV>{{"b", "x"}, {"d", "xyz"}}));
}

TEST(DslTest, HeadersAndTimestampsSurviveEveryOperation) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in")
      .Filter([](const std::string&, const std::string& v) { return !v.empty(); })
      .Map([](const std::string& k, const std::string& v) { return KeyValue(v, k); })
      .MapValues([](const std::string& v) { return v + "!"; })
      .FlatMap([](const std::string& k, const std::string& v) {
        return std::vector<KeyValue<std::string, std::string>>{{k, v}, {k, v}};
      })
      .FlatMapValues([](const std::string& v) {
        return std::vector<std::string>{v, v};
      })
      .SelectKey([](const std::string& k, const std::string&) { return k + "?"; })
      .Repartition(Repartitioned<std::string, std::string>::As("hop"))
      .Peek([](const std::string&, const std::string&) {})
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  Headers headers;
  headers.Add("trace", "t-1");
  headers.Add("trace", "t-2");
  ASSERT_TRUE(in.PipeInput("k", "v", 4242, headers).ok());
  ASSERT_TRUE(in.PipeInput("dropped", "", 4243, headers).ok());

  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  auto records = out.ReadRecordsToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 4u);  // FlatMap and FlatMapValues each double it
  for (const auto& r : *records) {
    EXPECT_EQ(r.key, "v?");
    EXPECT_EQ(r.value, "k!");
    EXPECT_EQ(r.timestamp, 4242);
    EXPECT_EQ(r.headers, headers);
  }
}

TEST(DslTest, ConsumedTimestampExtractorSetsEventTime) {
  StreamsBuilder builder;
  // The value carries the event time.
  builder
      .Stream("in", Consumed<std::string, int64_t>::With(Serdes::String(), Serdes::Int64())
                        .WithTimestampExtractor([](const Record<std::string, int64_t>& r)
                                                    -> Result<int64_t> { return r.value * 2; }))
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::Int64());
  ASSERT_TRUE(in.PipeInput("a", 500, 1).ok());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  auto r = out.ReadRecord();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->timestamp, 1000);
  EXPECT_EQ(r->value, 500);
}

TEST(DslTest, ProducedSerdesOverrideAndDefaultSerdesApply) {
  // A value serde that writes "<n>" as text, to see that Produced's serde is used.
  auto text_int = Serdes::Of<int64_t>(
      "text-int", [](const int64_t& v, std::string* out) { out->append(std::to_string(v)); },
      [](std::string_view data, int64_t* v) -> Status {
        *v = std::stoll(std::string(data));
        return Status::OK();
      });
  StreamsBuilder builder;
  auto lengths = builder.Stream<std::string, std::string>("in").MapValues(
      [](const std::string& v) { return static_cast<int64_t>(v.size()); });
  lengths.To("binary");  // default int64 serde: 8 bytes big-endian
  lengths.To("text", Produced<std::string, int64_t>::With(nullptr, text_int));
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "abcde"}});
  EXPECT_EQ(ReadLongs(driver, "binary"), (std::vector<KL>{{"a", 5}}));
  EXPECT_EQ(ReadStrings(driver, "text"), (std::vector<KV>{{"a", "5"}}));
}

// A Processor API processor attached to the DSL: emits "<topic>@<offset>".
class WhereFrom final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    const RecordContext* rc = context_->record_context();
    context_->Forward(
        record.WithKeyValue(record.key, std::string(rc->topic) + "@" + std::to_string(rc->offset)));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

TEST(DslTest, ProcessAttachesProcessorApiProcessors) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in")
      .Process([] { return std::make_unique<WhereFrom>(); }, Named::As("where-from"))
      .To("out");
  builder.Stream<std::string, std::string>("in2")
      .Process<std::string, std::string>(
          ProcessorSupplier<std::string, std::string, std::string, std::string>(
              [] { return std::make_unique<WhereFrom>(); }))
      .To("out2");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "x"}, {"b", "y"}});
  PipeAll(driver, "in2", {{"c", "z"}});
  EXPECT_EQ(ReadStrings(driver, "out"), (std::vector<KV>{{"a", "in@0"}, {"b", "in@1"}}));
  EXPECT_EQ(ReadStrings(driver, "out2"), (std::vector<KV>{{"c", "in2@0"}}));
}

TEST(DslTest, UserFunctionThatThrowsSendsTheRecordToTheDeadLetterTopic) {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("in")
      .MapValues<int64_t>([](const std::string& v) { return std::stoll(v); })  // throws on "x"
      .To("out");
  TopologyTestDriver driver(builder.Build(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  PipeAll(driver, "in", {{"a", "1"}, {"b", "x"}, {"c", "3"}});
  EXPECT_EQ(ReadLongs(driver, "out"), (std::vector<KL>{{"a", 1}, {"c", 3}}));
  EXPECT_EQ(ReadStrings(driver, DeadLetterTopic("dsl-app")), (std::vector<KV>{{"b", "x"}}));
}

TEST(DslTest, InvalidInputIsReportedByValidateNamingTheOperation) {
  struct Opaque {
    int x = 0;
  };
  struct Case {
    std::string what;
    std::function<void(StreamsBuilder&)> program;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"empty sink topic",
       [](StreamsBuilder& b) { b.Stream<std::string, std::string>("in").To(""); },
       "KStream::To: the topic name is empty"},
      {"empty source topic", [](StreamsBuilder& b) { b.Stream<std::string, std::string>(""); },
       "StreamsBuilder::Stream: the topic name is empty"},
      {"illegal topic",
       [](StreamsBuilder& b) { b.Stream<std::string, std::string>("in").To("a topic"); },
       "KStream::To: the topic name \"a topic\" contains a character other than ASCII letters"},
      {"no partitions",
       [](StreamsBuilder& b) {
         b.Stream<std::string, std::string>("in").Repartition({.name = "r", .num_partitions = 0});
       },
       "KStream::Repartition: the number of partitions must be positive, got 0"},
      {"no serde for a user type",
       [](StreamsBuilder& b) {
         b.Stream<std::string, std::string>("in")
             .MapValues([](const std::string&) { return Opaque{}; })
             .To("out");
       },
       "KStream::To: no value serde for type"},
      {"empty function",
       [](StreamsBuilder& b) {
         b.Stream<std::string, std::string>("in").Filter(
             std::function<bool(const std::string&, const std::string&)>());
       },
       "KStream::Filter: the function is empty"},
      {"empty extractor",
       [](StreamsBuilder& b) {
         b.Stream<std::string, std::string>("in").To(
             TopicNameExtractor<std::string, std::string>());
       },
       "KStream::To: the topic name extractor is empty"},
  };
  for (const Case& c : cases) {
    StreamsBuilder builder;
    c.program(builder);
    const Status status = builder.Build().Validate();
    EXPECT_TRUE(status.IsInvalidArgument()) << c.what << ": " << status.ToString();
    EXPECT_NE(status.message().find(c.expected), std::string::npos)
        << c.what << ": " << status.ToString();
  }
}

}  // namespace
}  // namespace eventflow::streams
