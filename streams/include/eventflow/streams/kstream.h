// KStream<K, V>: a stream of records in the DSL, and BranchedKStream, what
// KStream::Split() returns.
//
// A KStream is a cheap handle to one node of the topology a StreamsBuilder is
// building (the node its records come out of) plus the serdes known for its
// keys and values. Every operation adds nodes downstream of that node and
// returns a new handle; calling two operations on one KStream fans its records
// out to both. Operations that change the key or value type (Map, MapValues,
// FlatMap, FlatMapValues, SelectKey, Process) drop the serdes of what changed:
// where such a stream meets a topic (To, Repartition), the serde comes from
// the options, or DefaultSerde<T>() for string, int64_t, double, monostate
// and their optionals, or the call records an error.
//
// User functions may be lambdas or any callable; the result types of Map,
// MapValues, FlatMap, FlatMapValues, SelectKey and Process are deduced from
// them, or given explicitly (MapValues<int64_t>(...)). Each function is
// copied once and shared by every task (and stream thread) that runs the
// topology, as in Kafka Streams: a function with state must be thread-safe.
// A function may throw; the record then goes to the processing error policy
// (dead-letter topic by default, see stream_task.h).
//
// Grouping: GroupByKey() and GroupBy() return a KGroupedStream (see
// kgrouped_stream.h) whose aggregations return a KTable (ktable.h). As in
// Kafka Streams, a KStream remembers whether its key may have changed since
// it was read from a topic (after Map, FlatMap, SelectKey or Process, and
// through the operations and merges after them, until a Repartition): an
// aggregation of such a stream first sends its records through a repartition
// topic, so that all records of a key meet in one task.
//
// Joins (see stream_join_dsl.h): Join/LeftJoin/OuterJoin with another
// KStream within JoinWindows (join_windows.h), and Join/LeftJoin with a
// KTable. A stream whose key may have changed goes through a repartition
// topic first, as for an aggregation, so that both sides are co-partitioned.
//
// Errors: invalid input (empty or illegal topic or name, a name used twice,
// a missing serde, an empty function) is recorded with the operation's name
// and reported by Topology::Validate() of the built topology.
//
// Lifecycle: a KStream must not outlive its StreamsBuilder. Thread-safety:
// build on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/kstream_processors.h"
#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/source_sink.h"

namespace eventflow::streams {

class StreamsBuilder;
template <typename K, typename V>
class BranchedKStream;
template <typename K, typename V>
class KGroupedStream;
template <typename K, typename V>
class KTable;

namespace internal {

//! Default of the result-type parameters: take the type from the function.
struct Deduced {};

template <typename Given, typename FromFunction>
using OrDeduced = std::conditional_t<std::is_same_v<Given, Deduced>, FromFunction, Given>;

template <typename T>
struct PairTypes {
  using First = Deduced;
  using Second = Deduced;
};
template <typename A, typename B>
struct PairTypes<std::pair<A, B>> {
  using First = A;
  using Second = B;
};

template <typename T>
struct VectorElement {
  using Type = Deduced;
};
template <typename T, typename A>
struct VectorElement<std::vector<T, A>> {
  using Type = T;
};

//! Only for decltype: the Processor<KIn, VIn, KOut, VOut> base of a processor.
template <typename KIn, typename VIn, typename KOut, typename VOut>
std::tuple<KIn, VIn, KOut, VOut> ProcessorTypes(const Processor<KIn, VIn, KOut, VOut>*);

//! Makes a value function callable with (key, value), as the processors call it.
template <typename K, typename V, typename F>
auto WithKey(F f) {
  if constexpr (std::is_invocable_v<F&, const K&, const V&>) {
    return f;
  } else {
    return
        [f = std::move(f)](const K&, const V& value) mutable -> decltype(auto) { return f(value); };
  }
}

//! The serde to use: the given one, else the stream's, else the type's
//! default; nullptr (and an error naming `operation`) when there is none.
template <typename T>
SerdePtr<T> ResolveSerde(InternalStreamsBuilder& builder, std::string_view operation,
                         std::string_view what, SerdePtr<T> given, SerdePtr<T> own) {
  if (given) return given;
  if (own) return own;
  if (SerdePtr<T> fallback = DefaultSerde<T>()) return fallback;
  builder.RecordMissingSerde(operation, what, typeid(T));
  return nullptr;
}

//! Adds what a repartition needs after `parent`: the internal topic
//! "<stem>-repartition" (the stem as given when it already ends so), a sink
//! writing it and a source reading it; with `null_key_filter`, a filter
//! before the sink drops records whose key serializes to a Kafka null.
//! Node names are drawn as Kafka Streams draws them (sink, filter, source),
//! and are "<topic>-sink/-filter/-source" unless `generated_names`. Returns
//! the source's name.
template <typename K, typename V>
std::string AddRepartitionTopic(InternalStreamsBuilder& builder, std::string_view operation,
                                const std::string& stem, bool generated_names, int num_partitions,
                                SerdePtr<K> key_serde, SerdePtr<V> value_serde,
                                const std::string& parent, bool null_key_filter) {
  RepartitionNodes nodes = builder.DeclareRepartition(operation, stem, generated_names,
                                                      num_partitions, null_key_filter);
  Topology& topology = builder.topology();
  std::string sink_parent = parent;
  if (null_key_filter) {
    topology.AddProcessor<K, V, K, V>(
        nodes.filter,
        [key_serde] { return std::make_unique<KStreamNullKeyFilter<K, V>>(key_serde); }, {parent});
    sink_parent = nodes.filter;
  }
  topology.AddSink<K, V>(nodes.sink, nodes.topic, key_serde, value_serde, {sink_parent});
  topology.AddSource<K, V>(nodes.source, {nodes.topic}, std::move(key_serde),
                           std::move(value_serde));
  return nodes.source;
}

}  // namespace internal

//! A stream of Record<K, V> in the DSL: a handle to the node its records come
//! out of, plus the serdes known for K and V (see the file comment). Copyable
//! and cheap; valid while its StreamsBuilder lives.
template <typename K, typename V>
class KStream {
 public:
  //! The name of the node this stream's records come out of.
  const std::string& node_name() const { return node_; }

  //! Returns the records for which predicate(key, value) is true.
  template <typename F>
  KStream Filter(F predicate, const Named& named = {}) const;
  //! Returns the records for which predicate(key, value) is false.
  template <typename F>
  KStream FilterNot(F predicate, const Named& named = {}) const;
  //! Returns KStream<K2, V2> of mapper(key, value), which returns KeyValue<K2, V2>.
  template <typename K2 = internal::Deduced, typename V2 = internal::Deduced, typename F>
  auto Map(F mapper, const Named& named = {}) const;
  //! Returns KStream<K, V2> of mapper(value) or mapper(key, value).
  template <typename V2 = internal::Deduced, typename F>
  auto MapValues(F mapper, const Named& named = {}) const;
  //! Returns KStream<K2, V2> of the 0..n records of mapper(key, value), which
  //! returns std::vector<KeyValue<K2, V2>>.
  template <typename K2 = internal::Deduced, typename V2 = internal::Deduced, typename F>
  auto FlatMap(F mapper, const Named& named = {}) const;
  //! Returns KStream<K, V2> of the 0..n values of mapper(value) or
  //! mapper(key, value), which returns std::vector<V2>.
  template <typename V2 = internal::Deduced, typename F>
  auto FlatMapValues(F mapper, const Named& named = {}) const;
  //! Returns the same records, after calling action(key, value) for each.
  template <typename F>
  KStream Peek(F action, const Named& named = {}) const;
  //! Calls action(key, value) for every record (terminal).
  template <typename F>
  void Foreach(F action, const Named& named = {}) const;
  //! Returns a splitter: add branches with Branch(), finish with
  //! DefaultBranch() or NoDefaultBranch().
  BranchedKStream<K, V> Split(const Named& named = {}) const;
  //! Returns the records of this stream and `other` (same builder) as one stream.
  KStream Merge(const KStream& other, const Named& named = {}) const;
  //! Returns KStream<K2, V> keyed by selector(key, value).
  template <typename K2 = internal::Deduced, typename F>
  auto SelectKey(F selector, const Named& named = {}) const;
  //! Returns the records after a trip through the repartition topic
  //! "<application.id>-<name>-repartition" (partitioned by the new key); the
  //! topology splits there into a sub-topology writing the topic and one
  //! reading it. Unnamed, the topic gets a generated name and a warning.
  KStream Repartition(const Repartitioned<K, V>& repartitioned = {}) const;
  //! Returns the records grouped by their key, for aggregation. When the key
  //! may have changed upstream (see the file comment), the aggregation reads
  //! them through a repartition topic named after `grouped` (or its store).
  KGroupedStream<K, V> GroupByKey(const Grouped<K, V>& grouped = {}) const;
  //! Returns the records grouped by selector(key, value) (a KeyValueMapper
  //! returning K2): a key-selecting node (named by `grouped`, else
  //! "KSTREAM-KEY-SELECT-<n>") and, at the aggregation, a repartition topic.
  template <typename K2 = internal::Deduced, typename F>
  auto GroupBy(
      F selector,
      const Grouped<
          internal::OrDeduced<K2, std::decay_t<std::invoke_result_t<F&, const K&, const V&>>>, V>&
          grouped = {}) const;
  //! Writes the records to `topic` (terminal).
  void To(const std::string& topic, const Produced<K, V>& produced = {}) const;
  //! Writes each record to the topic extractor(record) names (terminal).
  void To(TopicNameExtractor<K, V> extractor, const Produced<K, V>& produced = {}) const;
  //! Returns KStream<K2, V2> of what a Processor API processor forwards; the
  //! supplier makes a fresh std::unique_ptr<Processor<K, V, K2, V2>> per task.
  template <typename K2 = internal::Deduced, typename V2 = internal::Deduced, typename F>
  auto Process(F supplier, const Named& named = {}) const;

  //! Returns KStream<K, VR>: for each pair of records of this stream and
  //! `other` with equal keys whose times are within `windows`,
  //! joiner(value, other_value) or joiner(key, value, other_value) (VR is
  //! what it returns), with the larger of the two times (see stream_join_dsl.h).
  template <typename V2, typename F>
  auto Join(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
            const StreamJoined<K, V, V2>& joined = {}) const;
  //! Like Join(other, ...), and for each record of this stream that matched
  //! nothing, once its window has closed, joiner(value, std::nullopt); the
  //! joiner takes (const V&, const std::optional<V2>&).
  template <typename V2, typename F>
  auto LeftJoin(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
                const StreamJoined<K, V, V2>& joined = {}) const;
  //! Like LeftJoin(other, ...) for the records of both streams; the joiner
  //! takes (const std::optional<V>&, const std::optional<V2>&).
  template <typename V2, typename F>
  auto OuterJoin(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
                 const StreamJoined<K, V, V2>& joined = {}) const;
  //! Returns KStream<K, VR> of joiner(value, table_value) (or with the key
  //! first) for each record whose key the table holds at that moment; other
  //! records are dropped. Table updates produce nothing.
  template <typename VT, typename F>
  auto Join(const KTable<K, VT>& table, F joiner, const Joined<K, V, VT>& joined = {}) const;
  //! Like Join(table, ...), but a record whose key the table lacks gives
  //! joiner(value, std::nullopt); the joiner takes (const V&, const std::optional<VT>&).
  template <typename VT, typename F>
  auto LeftJoin(const KTable<K, VT>& table, F joiner, const Joined<K, V, VT>& joined = {}) const;

 private:
  friend class StreamsBuilder;
  friend class BranchedKStream<K, V>;
  template <typename K2, typename V2>
  friend class KStream;
  template <typename K2, typename V2>
  friend class KTable;

  KStream(internal::InternalStreamsBuilder* builder, std::string node, SerdePtr<K> key_serde,
          SerdePtr<V> value_serde, bool repartition_required = false)
      : builder_(builder),
        node_(std::move(node)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        repartition_required_(repartition_required) {}

  // Adds a processor node after this one; returns the stream coming out of
  // it, which needs a repartition before an aggregation when this one does
  // or when the node may change the key (`changes_key`).
  template <typename K2, typename V2>
  KStream<K2, V2> Then(std::string_view operation, std::string_view prefix, const Named& named,
                       ProcessorSupplier<K, V, K2, V2> supplier, SerdePtr<K2> key_serde,
                       SerdePtr<V2> value_serde, bool changes_key = false) const {
    std::string name = builder_->NodeName(operation, named.name, prefix);
    builder_->topology().AddProcessor<K, V, K2, V2>(name, std::move(supplier), {node_});
    return KStream<K2, V2>(builder_, std::move(name), std::move(key_serde), std::move(value_serde),
                           repartition_required_ || changes_key);
  }

  // Type-erases a user function once, for sharing by all tasks' processors.
  template <typename Fn, typename F>
  std::shared_ptr<const Fn> Share(std::string_view operation, F&& f) const {
    auto fn = std::make_shared<const Fn>(std::forward<F>(f));
    if (!*fn) builder_->RecordError(operation, "the function is empty");
    return fn;
  }

  template <typename F>
  KStream AddFilter(std::string_view operation, F predicate, const Named& named, bool keep) const;

  // Returns this stream, through the repartition topic "<stem>-repartition"
  // when its key may have changed (stem: `name`, else this node's name, with
  // a warning); the join's own serdes write the topic.
  KStream RepartitionForJoin(std::string_view operation, const std::optional<std::string>& name,
                             SerdePtr<K> key_serde, SerdePtr<V> value_serde) const;
  template <internal::JoinKind kKind, typename V2, typename F>
  auto DoStreamJoin(std::string_view operation, const KStream<K, V2>& other, F joiner,
                    const JoinWindows& windows, const StreamJoined<K, V, V2>& joined) const;
  template <internal::JoinKind kKind, typename VT, typename F>
  auto DoTableJoin(std::string_view operation, const KTable<K, VT>& table, F joiner,
                   const Joined<K, V, VT>& joined) const;

  internal::InternalStreamsBuilder* builder_;
  std::string node_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  bool repartition_required_ = false;  // the key may have changed since the last topic
};

//! What KStream::Split() returns: routes each record to the first branch whose
//! predicate matches, else to the default branch, else drops it. The branches
//! are named "<split name><branch name>", where the split name is Named's (or
//! a generated "KSTREAM-BRANCH-<n>") and the branch name is Branched's (or
//! the branch's position from 1; "0" for the default branch), exactly as
//! Kafka Streams names them; the map DefaultBranch()/NoDefaultBranch() return
//! is keyed by these names.
template <typename K, typename V>
class BranchedKStream {
 public:
  //! Adds a branch for the records matching predicate(key, value) and no
  //! earlier branch; returns this splitter.
  template <typename F>
  BranchedKStream& Branch(F predicate, const Branched& branched = {});
  //! Adds a branch for the records no branch matched; returns all branches.
  std::map<std::string, KStream<K, V>> DefaultBranch(const Branched& branched = {});
  //! Returns all branches; records no branch matched are dropped.
  std::map<std::string, KStream<K, V>> NoDefaultBranch();

 private:
  friend class KStream<K, V>;
  BranchedKStream(KStream<K, V> source, std::string splitter,
                  std::shared_ptr<internal::SplitSpec<K, V>> spec)
      : source_(std::move(source)), splitter_(std::move(splitter)), spec_(std::move(spec)) {}

  // Adds the branch node for position `index`; returns its name.
  std::string AddBranchNode(std::string_view operation, const Branched& branched, size_t index);

  KStream<K, V> source_;
  std::string splitter_;
  std::shared_ptr<internal::SplitSpec<K, V>> spec_;
  std::map<std::string, KStream<K, V>> branches_;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename F>
KStream<K, V> KStream<K, V>::AddFilter(std::string_view operation, F predicate, const Named& named,
                                       bool keep) const {
  static_assert(std::is_invocable_r_v<bool, F&, const K&, const V&>,
                "KStream::Filter/FilterNot: the predicate must be callable as "
                "(const K& key, const V& value) and return bool");
  auto fn = Share<internal::Predicate<K, V>>(operation, std::move(predicate));
  return Then<K, V>(
      operation, internal::kFilterName, named,
      [fn, keep] { return std::make_unique<internal::KStreamFilter<K, V>>(fn, keep); }, key_serde_,
      value_serde_);
}

template <typename K, typename V>
template <typename F>
KStream<K, V> KStream<K, V>::Filter(F predicate, const Named& named) const {
  return AddFilter("KStream::Filter", std::move(predicate), named, true);
}

template <typename K, typename V>
template <typename F>
KStream<K, V> KStream<K, V>::FilterNot(F predicate, const Named& named) const {
  return AddFilter("KStream::FilterNot", std::move(predicate), named, false);
}

template <typename K, typename V>
template <typename K2, typename V2, typename F>
auto KStream<K, V>::Map(F mapper, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&>,
                "KStream::Map: the mapper must be callable as (const K& key, const V& value)");
  using Result = std::decay_t<std::invoke_result_t<F&, const K&, const V&>>;
  using KOut = internal::OrDeduced<K2, typename internal::PairTypes<Result>::First>;
  using VOut = internal::OrDeduced<V2, typename internal::PairTypes<Result>::Second>;
  static_assert(
      !std::is_same_v<KOut, internal::Deduced> && !std::is_same_v<VOut, internal::Deduced>,
      "KStream::Map: the mapper must return KeyValue<K2, V2> (a std::pair), or name "
      "the types: Map<K2, V2>(mapper)");
  using Processor = internal::KStreamMap<K, V, KOut, VOut>;
  auto fn = Share<typename Processor::Mapper>("KStream::Map", std::move(mapper));
  return Then<KOut, VOut>(
      "KStream::Map", internal::kMapName, named, [fn] { return std::make_unique<Processor>(fn); },
      nullptr, nullptr, /*changes_key=*/true);
}

template <typename K, typename V>
template <typename V2, typename F>
auto KStream<K, V>::MapValues(F mapper, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&> || std::is_invocable_v<F&, const V&>,
                "KStream::MapValues: the mapper must be callable as (const V& value) or "
                "(const K& key, const V& value)");
  auto keyed = internal::WithKey<K, V>(std::move(mapper));
  using VOut =
      internal::OrDeduced<V2,
                          std::decay_t<std::invoke_result_t<decltype(keyed)&, const K&, const V&>>>;
  using Processor = internal::KStreamMapValues<K, V, VOut>;
  auto fn = Share<typename Processor::Mapper>("KStream::MapValues", std::move(keyed));
  return Then<K, VOut>(
      "KStream::MapValues", internal::kMapValuesName, named,
      [fn] { return std::make_unique<Processor>(fn); }, key_serde_, nullptr);
}

template <typename K, typename V>
template <typename K2, typename V2, typename F>
auto KStream<K, V>::FlatMap(F mapper, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&>,
                "KStream::FlatMap: the mapper must be callable as (const K& key, const V& value)");
  using Result = std::decay_t<std::invoke_result_t<F&, const K&, const V&>>;
  using Element = typename internal::VectorElement<Result>::Type;
  using KOut = internal::OrDeduced<K2, typename internal::PairTypes<Element>::First>;
  using VOut = internal::OrDeduced<V2, typename internal::PairTypes<Element>::Second>;
  static_assert(
      !std::is_same_v<KOut, internal::Deduced> && !std::is_same_v<VOut, internal::Deduced>,
      "KStream::FlatMap: the mapper must return std::vector<KeyValue<K2, V2>>, or name "
      "the types: FlatMap<K2, V2>(mapper)");
  using Processor = internal::KStreamFlatMap<K, V, KOut, VOut>;
  auto fn = Share<typename Processor::Mapper>("KStream::FlatMap", std::move(mapper));
  return Then<KOut, VOut>(
      "KStream::FlatMap", internal::kFlatMapName, named,
      [fn] { return std::make_unique<Processor>(fn); }, nullptr, nullptr, /*changes_key=*/true);
}

template <typename K, typename V>
template <typename V2, typename F>
auto KStream<K, V>::FlatMapValues(F mapper, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&> || std::is_invocable_v<F&, const V&>,
                "KStream::FlatMapValues: the mapper must be callable as (const V& value) or "
                "(const K& key, const V& value)");
  auto keyed = internal::WithKey<K, V>(std::move(mapper));
  using Result = std::decay_t<std::invoke_result_t<decltype(keyed)&, const K&, const V&>>;
  using VOut = internal::OrDeduced<V2, typename internal::VectorElement<Result>::Type>;
  static_assert(!std::is_same_v<VOut, internal::Deduced>,
                "KStream::FlatMapValues: the mapper must return std::vector<V2>, or name the "
                "type: FlatMapValues<V2>(mapper)");
  using Processor = internal::KStreamFlatMapValues<K, V, VOut>;
  auto fn = Share<typename Processor::Mapper>("KStream::FlatMapValues", std::move(keyed));
  return Then<K, VOut>(
      "KStream::FlatMapValues", internal::kFlatMapValuesName, named,
      [fn] { return std::make_unique<Processor>(fn); }, key_serde_, nullptr);
}

template <typename K, typename V>
template <typename F>
KStream<K, V> KStream<K, V>::Peek(F action, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&>,
                "KStream::Peek: the action must be callable as (const K& key, const V& value)");
  using Processor = internal::KStreamPeek<K, V>;
  auto fn = Share<typename Processor::Action>("KStream::Peek", std::move(action));
  return Then<K, V>(
      "KStream::Peek", internal::kPeekName, named,
      [fn] { return std::make_unique<Processor>(fn, /*forward=*/true); }, key_serde_, value_serde_);
}

template <typename K, typename V>
template <typename F>
void KStream<K, V>::Foreach(F action, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&>,
                "KStream::Foreach: the action must be callable as (const K& key, const V& value)");
  using Processor = internal::KStreamPeek<K, V>;
  auto fn = Share<typename Processor::Action>("KStream::Foreach", std::move(action));
  Then<K, V>(
      "KStream::Foreach", internal::kForeachName, named,
      [fn] { return std::make_unique<Processor>(fn, /*forward=*/false); }, nullptr, nullptr);
}

template <typename K, typename V>
BranchedKStream<K, V> KStream<K, V>::Split(const Named& named) const {
  std::string name = builder_->NodeName("KStream::Split", named.name, internal::kBranchName);
  auto spec = std::make_shared<internal::SplitSpec<K, V>>();
  std::shared_ptr<const internal::SplitSpec<K, V>> shared = spec;
  builder_->topology().AddProcessor<K, V, K, V>(
      name, [shared] { return std::make_unique<internal::KStreamBranch<K, V>>(shared); }, {node_});
  return BranchedKStream<K, V>(*this, std::move(name), std::move(spec));
}

template <typename K, typename V>
KStream<K, V> KStream<K, V>::Merge(const KStream& other, const Named& named) const {
  if (other.builder_ != builder_) {
    builder_->RecordError("KStream::Merge",
                          "stream \"" + other.node_ + "\" belongs to another StreamsBuilder");
    return *this;
  }
  std::string name = builder_->NodeName("KStream::Merge", named.name, internal::kMergeName);
  builder_->topology().AddProcessor<K, V, K, V>(
      name, [] { return std::make_unique<internal::KStreamPassThrough<K, V>>(); },
      {node_, other.node_});
  return KStream(builder_, std::move(name), key_serde_ ? key_serde_ : other.key_serde_,
                 value_serde_ ? value_serde_ : other.value_serde_,
                 repartition_required_ || other.repartition_required_);
}

template <typename K, typename V>
template <typename K2, typename F>
auto KStream<K, V>::SelectKey(F selector, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&>,
                "KStream::SelectKey: the selector must be callable as "
                "(const K& key, const V& value)");
  using KOut = internal::OrDeduced<K2, std::decay_t<std::invoke_result_t<F&, const K&, const V&>>>;
  using Processor = internal::KStreamSelectKey<K, V, KOut>;
  auto fn = Share<typename Processor::Selector>("KStream::SelectKey", std::move(selector));
  return Then<KOut, V>(
      "KStream::SelectKey", internal::kKeySelectName, named,
      [fn] { return std::make_unique<Processor>(fn); }, nullptr, value_serde_,
      /*changes_key=*/true);
}

template <typename K, typename V>
KStream<K, V> KStream<K, V>::Repartition(const Repartitioned<K, V>& repartitioned) const {
  constexpr std::string_view kOperation = "KStream::Repartition";
  if (repartitioned.num_partitions && *repartitioned.num_partitions <= 0) {
    builder_->RecordError(kOperation, "the number of partitions must be positive, got " +
                                          std::to_string(*repartitioned.num_partitions));
  }
  const bool named = repartitioned.name.has_value();
  if (named) builder_->CheckName(kOperation, "repartition name", *repartitioned.name);
  const std::string stem =
      named ? *repartitioned.name : builder_->NewProcessorName(internal::kRepartitionName);
  if (!named) {
    internal::InternalStreamsBuilder::WarnGeneratedRepartitionTopic(
        kOperation, stem + std::string(internal::kRepartitionTopicSuffix));
  }
  SerdePtr<K> key_serde =
      internal::ResolveSerde<K>(*builder_, kOperation, "key", repartitioned.key_serde, key_serde_);
  SerdePtr<V> value_serde = internal::ResolveSerde<V>(*builder_, kOperation, "value",
                                                      repartitioned.value_serde, value_serde_);
  if (!key_serde || !value_serde) return *this;  // the error is recorded
  std::string source = internal::AddRepartitionTopic<K, V>(
      *builder_, kOperation, stem, /*generated_names=*/!named,
      repartitioned.num_partitions.value_or(-1), key_serde, value_serde, node_,
      /*null_key_filter=*/false);
  return KStream(builder_, std::move(source), std::move(key_serde), std::move(value_serde));
}

template <typename K, typename V>
void KStream<K, V>::To(const std::string& topic, const Produced<K, V>& produced) const {
  constexpr std::string_view kOperation = "KStream::To";
  builder_->CheckName(kOperation, "topic name", topic);
  std::string name = builder_->NodeName(kOperation, produced.name, internal::kSinkName);
  SerdePtr<K> key_serde =
      internal::ResolveSerde<K>(*builder_, kOperation, "key", produced.key_serde, key_serde_);
  SerdePtr<V> value_serde =
      internal::ResolveSerde<V>(*builder_, kOperation, "value", produced.value_serde, value_serde_);
  if (!key_serde || !value_serde) return;
  builder_->topology().AddSink<K, V>(std::move(name), topic, std::move(key_serde),
                                     std::move(value_serde), {node_});
}

template <typename K, typename V>
void KStream<K, V>::To(TopicNameExtractor<K, V> extractor, const Produced<K, V>& produced) const {
  constexpr std::string_view kOperation = "KStream::To";
  if (!extractor) builder_->RecordError(kOperation, "the topic name extractor is empty");
  std::string name = builder_->NodeName(kOperation, produced.name, internal::kSinkName);
  SerdePtr<K> key_serde =
      internal::ResolveSerde<K>(*builder_, kOperation, "key", produced.key_serde, key_serde_);
  SerdePtr<V> value_serde =
      internal::ResolveSerde<V>(*builder_, kOperation, "value", produced.value_serde, value_serde_);
  if (!key_serde || !value_serde || !extractor) return;
  builder_->topology().AddSink<K, V>(std::move(name), std::string(), std::move(key_serde),
                                     std::move(value_serde), {node_}, std::move(extractor));
}

template <typename K, typename V>
template <typename K2, typename V2, typename F>
auto KStream<K, V>::Process(F supplier, const Named& named) const {
  static_assert(std::is_invocable_v<F&>,
                "KStream::Process: the supplier must be callable as () and return "
                "std::unique_ptr<P>, P a Processor<K, V, K2, V2>");
  using P = typename std::invoke_result_t<F&>::element_type;
  using Types = decltype(internal::ProcessorTypes(std::declval<P*>()));
  static_assert(std::is_same_v<std::tuple_element_t<0, Types>, K> &&
                    std::is_same_v<std::tuple_element_t<1, Types>, V>,
                "KStream::Process: the processor must accept the stream's records: its first "
                "two type arguments must be the stream's K and V");
  using KOut = internal::OrDeduced<K2, std::tuple_element_t<2, Types>>;
  using VOut = internal::OrDeduced<V2, std::tuple_element_t<3, Types>>;
  ProcessorSupplier<K, V, KOut, VOut> fn(std::move(supplier));
  if (!fn) builder_->RecordError("KStream::Process", "the processor supplier is empty");
  return Then<KOut, VOut>("KStream::Process", internal::kProcessorName, named, std::move(fn),
                          nullptr, nullptr, /*changes_key=*/true);
}

template <typename K, typename V>
std::string BranchedKStream<K, V>::AddBranchNode(std::string_view operation,
                                                 const Branched& branched, size_t index) {
  internal::InternalStreamsBuilder& builder = *source_.builder_;
  if (spec_->closed) {
    builder.RecordError(operation, "split \"" + splitter_ +
                                       "\" is already finished by DefaultBranch() or "
                                       "NoDefaultBranch()");
  }
  if (branched.name) builder.CheckName(operation, "branch name", *branched.name);
  std::string name = splitter_ + (branched.name ? *branched.name : std::to_string(index));
  builder.NewProcessorName(name);  // Kafka Streams draws a generated name per branch too
  builder.ClaimName(operation, name);
  builder.topology().AddProcessor<K, V, K, V>(
      name, [] { return std::make_unique<internal::KStreamPassThrough<K, V>>(); }, {splitter_});
  branches_.insert_or_assign(name,
                             KStream<K, V>(&builder, name, source_.key_serde_, source_.value_serde_,
                                           source_.repartition_required_));
  return name;
}

template <typename K, typename V>
template <typename F>
BranchedKStream<K, V>& BranchedKStream<K, V>::Branch(F predicate, const Branched& branched) {
  static_assert(std::is_invocable_r_v<bool, F&, const K&, const V&>,
                "BranchedKStream::Branch: the predicate must be callable as "
                "(const K& key, const V& value) and return bool");
  constexpr std::string_view kOperation = "BranchedKStream::Branch";
  internal::Predicate<K, V> fn(std::move(predicate));
  if (!fn) source_.builder_->RecordError(kOperation, "the predicate is empty");
  const size_t index = spec_->branches.size() + 1;
  std::string child = AddBranchNode(kOperation, branched, index);
  spec_->branches.push_back({std::move(fn), std::move(child)});
  return *this;
}

template <typename K, typename V>
std::map<std::string, KStream<K, V>> BranchedKStream<K, V>::DefaultBranch(
    const Branched& branched) {
  spec_->default_child = AddBranchNode("BranchedKStream::DefaultBranch", branched, 0);
  spec_->closed = true;
  return branches_;
}

template <typename K, typename V>
std::map<std::string, KStream<K, V>> BranchedKStream<K, V>::NoDefaultBranch() {
  spec_->closed = true;
  return branches_;
}

}  // namespace eventflow::streams

// The grouping and table halves of the DSL, which need KStream complete.
#include "eventflow/streams/kgrouped_stream.h"  // IWYU pragma: export
// The joins, which need KStream and KTable complete.
#include "eventflow/streams/stream_join_dsl.h"  // IWYU pragma: export
