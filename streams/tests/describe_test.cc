// Topology::Describe(): the exact text, in Kafka Streams' format, written out
// literally.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {
namespace {

using S = std::string;

TEST(DescribeTest, DslTopologyWithTwoSubTopologies) {
  StreamsBuilder builder;
  auto words = builder.Stream<S, S>("sentences")
                   .FlatMapValues([](const S& v) { return std::vector<S>{v}; })
                   .SelectKey([](const S&, const S& word) { return word; })
                   .Repartition(Repartitioned<S, S>::As("by-word"));
  words.Filter([](const S& word, const S&) { return word.size() > 5; }).To("long-words");
  words.To("words", Produced<S, S>::As("all-words"));
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();

  // As Kafka Streams prints it: three spaces before the first sub-topology,
  // two before the next; nodes ordered by the size of what hangs below them,
  // then by name (so the filter comes before the lone sink "all-words", and
  // "KSTREAM-SINK-..." sorts before "all-words").
  EXPECT_EQ(topology.Describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: KSTREAM-SOURCE-0000000000 (topics: [sentences])\n"
            "      --> KSTREAM-FLATMAPVALUES-0000000001\n"
            "    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])\n"
            "      --> KSTREAM-KEY-SELECT-0000000002\n"
            "      <-- KSTREAM-SOURCE-0000000000\n"
            "    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])\n"
            "      --> by-word-repartition-sink\n"
            "      <-- KSTREAM-FLATMAPVALUES-0000000001\n"
            "    Sink: by-word-repartition-sink (topic: by-word-repartition)\n"
            "      <-- KSTREAM-KEY-SELECT-0000000002\n"
            "\n"
            "  Sub-topology: 1\n"
            "    Source: by-word-repartition-source (topics: [by-word-repartition])\n"
            "      --> KSTREAM-FILTER-0000000006, all-words\n"
            "    Processor: KSTREAM-FILTER-0000000006 (stores: [])\n"
            "      --> KSTREAM-SINK-0000000007\n"
            "      <-- by-word-repartition-source\n"
            "    Sink: KSTREAM-SINK-0000000007 (topic: long-words)\n"
            "      <-- KSTREAM-FILTER-0000000006\n"
            "    Sink: all-words (topic: words)\n"
            "      <-- by-word-repartition-source\n"
            "\n");
}

// Forwards nothing; only here to have a node without children.
class Discard final : public Processor<S, S, S, S> {
 public:
  void Process(Record<S, S>) override {}
};

TEST(DescribeTest, ProcessorApiTopologyWithTerminalProcessorAndDynamicSink) {
  Topology topology;
  topology.AddSource<S, S>("in", {"a", "b"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("discard", [] { return std::make_unique<Discard>(); }, {"in"})
      .AddSink<S, S>("route", "", Serdes::String(), Serdes::String(), {"in"},
                     [](const Record<S, S>& r) { return r.key; });
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  EXPECT_EQ(topology.Describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: in (topics: [a, b])\n"
            "      --> discard, route\n"
            "    Processor: discard (stores: [])\n"
            "      --> none\n"
            "      <-- in\n"
            "    Sink: route (extractor class: TopicNameExtractor)\n"
            "      <-- in\n"
            "\n");
}

TEST(DescribeTest, MergeShowsBothParentsLargestFirst) {
  StreamsBuilder builder;
  auto left = builder.Stream<S, S>("left").Filter([](const S&, const S&) { return true; });
  auto right = builder.Stream<S, S>("right");
  right.Merge(left).To("out");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  // Sizes: left source 4 (itself, filter, merge, sink), filter 3, right source 3, merge 2, sink 1.
  EXPECT_EQ(topology.Describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: KSTREAM-SOURCE-0000000000 (topics: [left])\n"
            "      --> KSTREAM-FILTER-0000000001\n"
            "    Processor: KSTREAM-FILTER-0000000001 (stores: [])\n"
            "      --> KSTREAM-MERGE-0000000003\n"
            "      <-- KSTREAM-SOURCE-0000000000\n"
            "    Source: KSTREAM-SOURCE-0000000002 (topics: [right])\n"
            "      --> KSTREAM-MERGE-0000000003\n"
            "    Processor: KSTREAM-MERGE-0000000003 (stores: [])\n"
            "      --> KSTREAM-SINK-0000000004\n"
            "      <-- KSTREAM-FILTER-0000000001, KSTREAM-SOURCE-0000000002\n"
            "    Sink: KSTREAM-SINK-0000000004 (topic: out)\n"
            "      <-- KSTREAM-MERGE-0000000003\n"
            "\n");
}

}  // namespace
}  // namespace eventflow::streams
