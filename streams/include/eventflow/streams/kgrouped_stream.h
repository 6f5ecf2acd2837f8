// KGroupedStream<K, V>: what KStream::GroupByKey() and GroupBy() return — a
// stream grouped by key, to be aggregated into a KTable.
//
//   KTable<std::string, int64_t> counts =
//       builder.Stream<std::string, std::string>("page-views")
//           .GroupBy([](const std::string&, const std::string& page) { return page; },
//                    Grouped<std::string, std::string>::As("by-page"))
//           .Count(Materialized<std::string, int64_t>::As("views-per-page"));
//
// Each aggregation (Count, Reduce, Aggregate) adds one processor that keeps
// the aggregate of every key in a key-value store. With Materialized::caching
// (the default) and a task record cache (StreamsConfig::record_cache_ratio >
// 0), updates are merged per key in the cache, and each key's latest
// aggregate is written to the store and forwarded once per commit, or earlier
// when the cache evicts it (see internal/cached_store.h); with caching off,
// or no cache, every new aggregate is written and forwarded at once.
//
// Store: named by Materialized::As, else generated as Kafka Streams does,
// "KSTREAM-AGGREGATE-STATE-STORE-<n>" (Count, Aggregate) or
// "KSTREAM-REDUCE-STATE-STORE-<n>" (Reduce). Keys and aggregates are stored
// as the bytes of their serdes (Materialized's, else the grouping's key serde
// and, for Reduce, its value serde, else DefaultSerde). Unless Materialized
// disables logging, every write to the store is also sent to the changelog
// topic "<application.id>-<store>-changelog" (one record per write: per key
// and commit with the cache, per update without).
//
// Repartition: when the grouping may have a new key (GroupBy, or GroupByKey
// after a key-changing operation, see kstream.h), the aggregation first
// writes the records to "<application.id>-<name>-repartition" and reads them
// back in a new sub-topology; the name is Grouped's, else the store's. When
// both are generated, the topic name is too, and a warning is logged. A
// filter before the topic drops records with a null key; the aggregation
// itself also skips records with a null key or value (see KStreamAggregate:
// there is no dropped-records counter yet).
//
// Processor names: Named, else "KSTREAM-AGGREGATE-<n>" / "KSTREAM-REDUCE-<n>";
// generated names are drawn in Kafka Streams' order (store, processor,
// repartition sink, filter, source), so the same program gets the same names
// as in Kafka Streams.
//
// Errors, user functions, lifecycle and thread-safety: as for KStream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/kstream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

namespace internal {
// The adders of Count, Reduce and Aggregate, shared by the windowed ones.

//! Returns the adder counting records.
template <typename K, typename V>
AggregateAdder<K, V, int64_t> CountAdder() {
  return [](const K&, const V&, std::optional<int64_t>&& old) -> int64_t {
    return old ? *old + 1 : 1;
  };
}
//! Returns the adder starting from the first value, then reducer(aggregate, value).
template <typename K, typename V, typename F>
AggregateAdder<K, V, V> ReduceAdder(F reducer) {
  return [reducer = std::move(reducer)](const K&, const V& value,
                                        std::optional<V>&& old) mutable -> V {
    return old ? reducer(*old, value) : value;
  };
}
//! Returns the adder starting from initializer(), then aggregator(key, value, aggregate).
template <typename K, typename V, typename VA, typename I, typename A>
AggregateAdder<K, V, VA> InitAggregateAdder(I initializer, A aggregator) {
  return [initializer = std::move(initializer), aggregator = std::move(aggregator)](
             const K& key, const V& value, std::optional<VA>&& old) mutable -> VA {
    if (!old) old.emplace(initializer());
    return aggregator(key, value, *old);
  };
}
}  // namespace internal

template <typename K, typename V>
class TimeWindowedKStream;
template <typename K, typename V>
class SessionWindowedKStream;
template <typename K, typename V>
class SlidingWindowedKStream;
namespace internal {
template <typename K, typename V, typename Windows, typename Derived>
class WindowedKStreamFront;
}  // namespace internal

//! A stream grouped by key (see the file comment). Copyable and cheap; valid
//! while its StreamsBuilder lives.
template <typename K, typename V>
class KGroupedStream {
 public:
  //! Returns the number of records per key (int64 aggregates; serde
  //! Materialized's or int64).
  KTable<K, int64_t> Count(const Materialized<K, int64_t>& materialized = {},
                           const Named& named = {}) const;
  //! Returns per key the first value, then reducer(aggregate, value) for each
  //! further one (the aggregate's serde: Materialized's, else the stream's
  //! value serde, else DefaultSerde<V>()).
  template <typename F>
  KTable<K, V> Reduce(F reducer, const Materialized<K, V>& materialized = {},
                      const Named& named = {}) const;
  //! Returns per key aggregator(key, value, aggregate), starting from
  //! initializer() (VA is what the initializer returns; the aggregate's
  //! serde: Materialized's, else DefaultSerde<VA>(), else an error).
  template <typename I, typename A, typename VA = std::decay_t<std::invoke_result_t<I&>>>
  KTable<K, VA> Aggregate(I initializer, A aggregator, const Materialized<K, VA>& materialized = {},
                          const Named& named = {}) const;
  //! Returns the stream grouped by key and by time window, to aggregate per
  //! (key, window) (see time_windowed_kstream.h). Invalid windows are a
  //! topology error (TimeWindows::Validate).
  TimeWindowedKStream<K, V> WindowedBy(const TimeWindows& windows) const;
  //! Returns the stream grouped by key and by session, to aggregate per
  //! (key, session) (see session_windowed_kstream.h). Invalid windows are a
  //! topology error (SessionWindows::Validate).
  SessionWindowedKStream<K, V> WindowedBy(const SessionWindows& windows) const;
  //! Returns the stream grouped by key and by sliding window, to aggregate
  //! per (key, window) (see sliding_windowed_kstream.h). Invalid windows are
  //! a topology error (SlidingWindows::Validate).
  SlidingWindowedKStream<K, V> WindowedBy(const SlidingWindows& windows) const;

 private:
  template <typename K2, typename V2>
  friend class KStream;
  template <typename K2, typename V2, typename W, typename D>
  friend class internal::WindowedKStreamFront;

  KGroupedStream(internal::InternalStreamsBuilder* builder, std::string node, SerdePtr<K> key_serde,
                 SerdePtr<V> value_serde, bool repartition_required,
                 std::optional<std::string> name)
      : builder_(builder),
        node_(std::move(node)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        repartition_required_(repartition_required),
        name_(std::move(name)) {}

  // Returns the table an aggregation's node `node` produces (`windowed`:
  // what a windowed aggregation knows of when its windows close). KTable's
  // constructor is private; the windowed streams' front, not one of
  // KTable's friends, builds its tables through this.
  template <typename KT, typename VT>
  static KTable<KT, VT> MakeTable(
      internal::InternalStreamsBuilder* builder, std::string node, SerdePtr<KT> key_serde,
      SerdePtr<VT> value_serde, std::string store,
      std::shared_ptr<const internal::WindowedTableInfo> windowed = nullptr) {
    return KTable<KT, VT>(builder, std::move(node), std::move(key_serde), std::move(value_serde),
                          std::move(store), {}, std::move(windowed));
  }

  // What an aggregation (windowed or not) adds before its processor: names,
  // serdes and the node it reads from.
  template <typename VA>
  struct AggregateNodes {
    std::string store;           // the store's name
    std::string name;            // the aggregating processor's name
    std::string parent;          // the grouping's node, or the repartition source
    SerdePtr<K> key_serde;       // the store's; null after a recorded error
    SerdePtr<VA> value_serde;    // the store's; null after a recorded error
  };

  // Draws the store and processor names (Kafka Streams' order: store,
  // processor, repartition), resolves the store's serdes and adds the
  // repartition topic if required.
  template <typename VA>
  AggregateNodes<VA> PrepareAggregate(std::string_view operation, std::string_view prefix,
                                      const Materialized<K, VA>& materialized,
                                      const Named& named, SerdePtr<VA> default_value_serde) const;

  // Adds the store, the repartition topic if required and the aggregating
  // processor; returns the table coming out of it.
  template <typename VA>
  KTable<K, VA> DoAggregate(std::string_view operation, std::string_view prefix,
                            const Materialized<K, VA>& materialized, const Named& named,
                            SerdePtr<VA> default_value_serde,
                            internal::AggregateAdder<K, V, VA> adder) const;

  internal::InternalStreamsBuilder* builder_;
  std::string node_;
  SerdePtr<K> key_serde_;    // Grouped's, else the stream's (may be null)
  SerdePtr<V> value_serde_;  // Grouped's, else the stream's (may be null)
  bool repartition_required_;
  std::optional<std::string> name_;  // Grouped's name
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename VA>
typename KGroupedStream<K, V>::template AggregateNodes<VA> KGroupedStream<K, V>::PrepareAggregate(
    std::string_view operation, std::string_view prefix, const Materialized<K, VA>& materialized,
    const Named& named, SerdePtr<VA> default_value_serde) const {
  AggregateNodes<VA> out;
  // Kafka Streams' order of generated names: store, processor, repartition.
  internal::AggregateNames names =
      builder_->DrawAggregateNames(operation, prefix, materialized.store_name, named.name);
  const bool store_named = names.store_named;
  out.store = std::move(names.store);
  out.name = std::move(names.name);

  SerdePtr<K> store_key_serde =
      internal::ResolveSerde<K>(*builder_, operation, "key", materialized.key_serde, key_serde_);
  SerdePtr<VA> store_value_serde = internal::ResolveSerde<VA>(
      *builder_, operation, "aggregate value", materialized.value_serde, default_value_serde);
  out.parent = node_;
  if (repartition_required_) {
    SerdePtr<V> value_serde =
        internal::ResolveSerde<V>(*builder_, operation, "value", nullptr, value_serde_);
    const bool generated = !name_ && !store_named;
    const std::string stem = name_ ? *name_ : out.store;
    if (generated) {
      internal::InternalStreamsBuilder::WarnGeneratedRepartitionTopic(
          operation, stem + std::string(internal::kRepartitionTopicSuffix),
          "GroupBy/GroupByKey(Grouped<K, V>::As(\"<name>\")) or Materialized<K, "
          "VA>::As(\"<store>\")");
    }
    if (!store_key_serde || !value_serde) return out;  // the error is recorded
    // The repartition topic carries the grouping's records: the store's key
    // serde only when the grouping has none of its own.
    out.parent = internal::AddRepartitionTopic<K, V>(*builder_, operation, stem, generated, -1,
                                                     key_serde_ ? key_serde_ : store_key_serde,
                                                     value_serde, node_, /*null_key_filter=*/true);
  }
  if (!store_key_serde || !store_value_serde) return out;  // the error is recorded
  out.key_serde = std::move(store_key_serde);
  out.value_serde = std::move(store_value_serde);
  return out;
}

template <typename K, typename V>
template <typename VA>
KTable<K, VA> KGroupedStream<K, V>::DoAggregate(std::string_view operation,
                                                std::string_view prefix,
                                                const Materialized<K, VA>& materialized,
                                                const Named& named,
                                                SerdePtr<VA> default_value_serde,
                                                internal::AggregateAdder<K, V, VA> adder) const {
  using Processor = internal::KStreamAggregate<K, V, VA>;
  auto fn = std::make_shared<const typename Processor::Adder>(std::move(adder));
  if (!*fn) builder_->RecordError(operation, "the function is empty");
  AggregateNodes<VA> nodes =
      PrepareAggregate<VA>(operation, prefix, materialized, named, std::move(default_value_serde));
  if (!nodes.key_serde || !nodes.value_serde) {
    return KTable<K, VA>(builder_, nodes.name, nullptr, nullptr, nodes.store);  // error recorded
  }
  Topology& topology = builder_->topology();
  topology.AddProcessor<K, V, K, std::optional<VA>>(
      nodes.name,
      [store = nodes.store, fn, key_serde = nodes.key_serde, value_serde = nodes.value_serde,
       caching = materialized.caching] {
        return std::make_unique<Processor>(store, fn, key_serde, value_serde, caching);
      },
      {nodes.parent});
  StoreSpec spec;
  spec.name = nodes.store;
  spec.kind = StoreSpec::Kind::kKeyValue;
  spec.in_memory = materialized.in_memory;
  spec.logging = materialized.logging;
  spec.key_serde = nodes.key_serde->Name();
  spec.value_serde = nodes.value_serde->Name();
  topology.AddStateStore(std::move(spec), {nodes.name});
  return KTable<K, VA>(builder_, std::move(nodes.name), std::move(nodes.key_serde),
                       std::move(nodes.value_serde), nodes.store);
}

template <typename K, typename V>
KTable<K, int64_t> KGroupedStream<K, V>::Count(const Materialized<K, int64_t>& materialized,
                                               const Named& named) const {
  return DoAggregate<int64_t>("KGroupedStream::Count", internal::kAggregateName, materialized,
                              named, Serdes::Int64(), internal::CountAdder<K, V>());
}

template <typename K, typename V>
template <typename F>
KTable<K, V> KGroupedStream<K, V>::Reduce(F reducer, const Materialized<K, V>& materialized,
                                          const Named& named) const {
  static_assert(std::is_invocable_r_v<V, F&, const V&, const V&>,
                "KGroupedStream::Reduce: the reducer must be callable as "
                "(const V& aggregate, const V& value) and return V");
  return DoAggregate<V>("KGroupedStream::Reduce", internal::kReduceName, materialized, named,
                        value_serde_, internal::ReduceAdder<K, V>(std::move(reducer)));
}

template <typename K, typename V>
template <typename I, typename A, typename VA>
KTable<K, VA> KGroupedStream<K, V>::Aggregate(I initializer, A aggregator,
                                              const Materialized<K, VA>& materialized,
                                              const Named& named) const {
  static_assert(std::is_invocable_r_v<VA, A&, const K&, const V&, const VA&>,
                "KGroupedStream::Aggregate: the aggregator must be callable as "
                "(const K& key, const V& value, const VA& aggregate) and return VA, the "
                "initializer's type");
  return DoAggregate<VA>(
      "KGroupedStream::Aggregate", internal::kAggregateName, materialized, named, nullptr,
      internal::InitAggregateAdder<K, V, VA>(std::move(initializer), std::move(aggregator)));
}

// KStream's grouping operations, defined here where KGroupedStream is complete.

template <typename K, typename V>
KGroupedStream<K, V> KStream<K, V>::GroupByKey(const Grouped<K, V>& grouped) const {
  if (grouped.name) builder_->CheckName("KStream::GroupByKey", "grouping name", *grouped.name);
  return KGroupedStream<K, V>(builder_, node_, grouped.key_serde ? grouped.key_serde : key_serde_,
                              grouped.value_serde ? grouped.value_serde : value_serde_,
                              repartition_required_, grouped.name);
}

template <typename K, typename V>
template <typename K2, typename F>
auto KStream<K, V>::GroupBy(
    F selector,
    const Grouped<
        internal::OrDeduced<K2, std::decay_t<std::invoke_result_t<F&, const K&, const V&>>>, V>&
        grouped) const {
  using KOut = internal::OrDeduced<K2, std::decay_t<std::invoke_result_t<F&, const K&, const V&>>>;
  using Processor = internal::KStreamSelectKey<K, V, KOut>;
  auto fn = Share<typename Processor::Selector>("KStream::GroupBy", std::move(selector));
  // Kafka Streams names the key-selecting node after the grouping.
  KStream<KOut, V> keyed = Then<KOut, V>(
      "KStream::GroupBy", internal::kKeySelectName, Named{grouped.name},
      [fn] { return std::make_unique<Processor>(fn); }, grouped.key_serde,
      grouped.value_serde ? grouped.value_serde : value_serde_, /*changes_key=*/true);
  return KGroupedStream<KOut, V>(builder_, keyed.node_, keyed.key_serde_, keyed.value_serde_,
                                 /*repartition_required=*/true, grouped.name);
}

}  // namespace eventflow::streams

#include "eventflow/streams/session_windowed_kstream.h"  // IWYU pragma: export
#include "eventflow/streams/sliding_windowed_kstream.h"  // IWYU pragma: export
#include "eventflow/streams/time_windowed_kstream.h"     // IWYU pragma: export
