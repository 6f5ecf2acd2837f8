// Topology: the processing graph of an application, as a template from which
// every task builds its own node instances.
//
// Built with the Processor API (AddSource / AddProcessor / AddSink) or by
// StreamsBuilder's DSL. Nodes connected through parent edges form a
// sub-topology; sub-topologies are numbered in the order their first node was
// added, so ids (and task ids) are stable for the same program. Repartition
// topics are internal topics: declared with AddInternalTopic(), named
// "<application.id>-<name>" at run time, created by the application before
// processing starts.
//
// Builder errors (duplicate or unknown names) are collected and reported by
// Validate(), which also builds one instance of every sub-topology to check
// node types, so a wrong graph fails at start-up with a message naming nodes.
//
// Thread-safety: build on one thread; afterwards it is immutable and shared.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/source_sink.h"

namespace eventflow::streams {

//! Maps a topic name as written in the topology to the real topic name
//! (internal topics get the application id prefix).
using TopicResolver = std::function<std::string(const std::string& topic)>;

//! An internal topic the application creates (e.g. a repartition topic).
struct InternalTopicSpec {
  std::string name;          //!< without the application id prefix
  int num_partitions = -1;   //!< -1: the largest partition count of the sub-topology feeding it
  std::vector<std::pair<std::string, std::string>> configs;  //!< e.g. cleanup.policy=delete
};

//! A state store of the topology.
struct StoreSpec {
  enum class Kind { kKeyValue, kWindow, kSession };
  std::string name;                    //!< unique; names the directory and the changelog topic
  Kind kind = Kind::kKeyValue;
  bool in_memory = false;              //!< std::map instead of RocksDB
  bool logging = true;                 //!< changelog topic "<application.id>-<name>-changelog"
  std::chrono::milliseconds retention{std::chrono::hours(24)};  //!< window/session stores
  std::chrono::milliseconds segment_interval{0};  //!< 0: max(retention / 2, 60 s)
  bool retain_duplicates = false;      //!< window stores of stream-stream joins
  //! What the store's bytes mean, recorded in its metadata for eventflow-state
  //! (state::StoreDescription): the DSL sets the serde names (Serde::Name()) of
  //! the keys and values it writes and a windowed aggregation's window size
  //! (a window ends at start + size, as its Windowed keys say; interactive
  //! queries report window ends from it);
  //! a Processor API store may set them. Empty / 0: not known ("bytes").
  std::string key_serde;
  std::string value_serde;   //!< see key_serde
  int64_t window_size_ms = 0;  //!< see key_serde
};

class Topology {
 public:
  enum class NodeKind { kSource, kProcessor, kSink };

  //! How to make one node instance for a task.
  using NodeFactory = std::function<std::unique_ptr<ProcessorNodeBase>(const TopicResolver&)>;
  //! How to make one node instance named `node` (what the typed Add*
  //! functions give the non-template code that adds the node).
  using TypedNodeFactory = std::function<std::unique_ptr<ProcessorNodeBase>(
      const std::string& node, const TopicResolver&)>;
  //! How to make one sink instance named `node` writing `topic` (resolved;
  //! empty for a sink with a topic name extractor).
  using TypedSinkFactory = std::function<std::unique_ptr<ProcessorNodeBase>(
      const std::string& node, const std::string& topic)>;

  //! One node of the template.
  struct NodeSpec {
    std::string name;
    NodeKind kind = NodeKind::kProcessor;
    std::vector<std::string> parents;
    std::vector<std::string> children;
    std::vector<std::string> topics;  //!< source topics, or the sink's topic (empty: dynamic)
    NodeFactory factory;
    std::vector<std::string> stores;  //!< state stores the processor uses
  };

  //! A connected part of the graph; one task per partition of its sources.
  struct SubTopology {
    int id = 0;
    std::vector<size_t> nodes;                //!< indexes into nodes(), in insertion order
    std::vector<std::string> source_topics;   //!< as written (internal ones unprefixed)
    std::vector<std::string> sink_topics;
    std::vector<std::string> stores;          //!< state stores its processors use
  };

  //! Adds a source reading `topics` with the given serdes (and timestamp
  //! extractor; default: the Kafka record timestamp).
  template <typename K, typename V>
  Topology& AddSource(std::string name, std::vector<std::string> topics, SerdePtr<K> key_serde,
                      SerdePtr<V> value_serde, TimestampExtractor<K, V> extractor = {}) {
    return AddSourceNode(std::move(name), std::move(topics),
                         [key_serde = std::move(key_serde), value_serde = std::move(value_serde),
                          extractor = std::move(extractor)](
                             const std::string& node,
                             const TopicResolver&) -> std::unique_ptr<ProcessorNodeBase> {
                           return std::make_unique<SourceNode<K, V>>(node, key_serde, value_serde,
                                                                     extractor);
                         });
  }

  //! Adds a processor node downstream of `parents`.
  template <typename KIn, typename VIn, typename KOut, typename VOut>
  Topology& AddProcessor(std::string name, ProcessorSupplier<KIn, VIn, KOut, VOut> supplier,
                         std::vector<std::string> parents) {
    if (!supplier) return AddProcessorNode(std::move(name), nullptr, std::move(parents));
    return AddProcessorNode(
        std::move(name),
        [supplier = std::move(supplier)](
            const std::string& node, const TopicResolver&) -> std::unique_ptr<ProcessorNodeBase> {
          auto processor = supplier();
          if (processor == nullptr) return nullptr;  // reported by Instantiate()
          return std::make_unique<ProcessorNode<KIn, VIn, KOut, VOut>>(node, std::move(processor));
        },
        std::move(parents));
  }

  //! Adds a sink writing to `topic` (or, when `extractor` is set, to the topic
  //! it returns per record; `topic` is then only used in Describe()).
  template <typename K, typename V>
  Topology& AddSink(std::string name, std::string topic, SerdePtr<K> key_serde,
                    SerdePtr<V> value_serde, std::vector<std::string> parents,
                    TopicNameExtractor<K, V> extractor = {}) {
    const bool dynamic = static_cast<bool>(extractor);
    return AddSinkNode(
        std::move(name), std::move(topic), dynamic,
        [key_serde = std::move(key_serde), value_serde = std::move(value_serde),
         extractor = std::move(extractor)](
            const std::string& node,
            const std::string& resolved_topic) -> std::unique_ptr<ProcessorNodeBase> {
          return std::make_unique<SinkNode<K, V>>(node, resolved_topic, extractor, key_serde,
                                                  value_serde);
        },
        std::move(parents));
  }

  //! Declares an internal topic (named "<application.id>-<name>" at run time).
  Topology& AddInternalTopic(InternalTopicSpec spec);

  //! Adds a state store used by `processors` (each must exist already).
  //! Processors sharing a store run in one sub-topology. Each task gets its own
  //! instance of the store, in <state_dir>/<application_id>/<task_id>/<name>/.
  Topology& AddStateStore(StoreSpec spec, std::vector<std::string> processors);

  //! The state stores declared.
  const std::vector<StoreSpec>& stores() const { return stores_; }
  //! The store named `name`, or nullptr.
  const StoreSpec* FindStore(std::string_view name) const;

  //! Records an error found while building (e.g. by StreamsBuilder's DSL) for
  //! Validate() to report; the first error wins and later nodes are ignored.
  Topology& RecordError(Status error);

  //! Returns OK, or the first builder error (duplicate node name, unknown
  //! parent, a topic read by two sources, a node without a path from a source)
  //! or type mismatch between connected nodes.
  Status Validate() const;

  //! Returns the text description, exactly in Kafka Streams' format
  //! (TopologyDescription#toString), so tools that read it work unchanged:
  //!   Topologies:
  //!      Sub-topology: 0
  //!       Source: src (topics: [a, b])
  //!         --> proc
  //!       Processor: proc (stores: [])
  //!         --> sink
  //!         <-- src
  //!       Sink: sink (topic: out)
  //!         <-- proc
  //!
  //!     Sub-topology: 1
  //!   ...
  //! As in Kafka Streams, only the first sub-topology line has three leading
  //! spaces (the others two), each sub-topology ends with an empty line, an
  //! edge list without nodes reads "none", a sink with a topic name extractor
  //! reads "(extractor class: TopicNameExtractor)", and the nodes of a
  //! sub-topology (and the names in each edge list) are ordered by the size
  //! of the graph below them (the number of paths to the node and its
  //! descendants), largest first, then by name.
  std::string Describe() const;

  //! The nodes, in insertion order.
  const std::vector<NodeSpec>& nodes() const { return nodes_; }
  //! The sub-topologies (computed from the nodes).
  std::vector<SubTopology> SubTopologies() const;
  //! The internal topics declared.
  const std::vector<InternalTopicSpec>& internal_topics() const { return internal_topics_; }
  //! True when `topic` (as written) is an internal topic.
  bool IsInternalTopic(const std::string& topic) const;
  //! A resolver that prefixes internal topics with "<application_id>-".
  TopicResolver ResolverFor(const std::string& application_id) const;

  //! The node instances of one task, wired and ready for Init().
  struct Instance {
    std::vector<std::unique_ptr<ProcessorNodeBase>> nodes;   //!< in topological order
    std::map<std::string, SourceNodeBase*> source_by_topic;  //!< keyed by resolved topic
  };
  //! Builds and wires the nodes of `subtopology`; InvalidArgument naming the
  //! nodes on a type mismatch.
  Result<Instance> Instantiate(const SubTopology& subtopology, const TopicResolver& resolve) const;

 private:
  void AddNode(NodeSpec spec);
  // The non-template halves of AddSource, AddProcessor and AddSink.
  Topology& AddSourceNode(std::string name, std::vector<std::string> topics,
                          TypedNodeFactory factory);
  Topology& AddProcessorNode(std::string name, TypedNodeFactory factory,
                             std::vector<std::string> parents);
  Topology& AddSinkNode(std::string name, std::string topic, bool dynamic,
                        TypedSinkFactory factory, std::vector<std::string> parents);

  std::vector<NodeSpec> nodes_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<InternalTopicSpec> internal_topics_;
  std::vector<StoreSpec> stores_;
  Status error_;  // the first builder error
};

}  // namespace eventflow::streams
