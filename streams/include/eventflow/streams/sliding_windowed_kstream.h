// SlidingWindowedKStream<K, V>: what KGroupedStream::WindowedBy(SlidingWindows)
// returns — a stream grouped by key and by sliding window, to be aggregated
// into a KTable<Windowed<K>, VA> (Kafka returns a TimeWindowedKStream for
// sliding windows; the windows and the store differ, so here it is its own
// type with the same operations).
//
//   builder.Stream<std::string, int64_t>("payments")
//       .GroupByKey()
//       .WindowedBy(SlidingWindows::OfTimeDifferenceAndGrace(std::chrono::minutes(10),
//                                                            std::chrono::seconds(30)))
//       .Count(Materialized<std::string, int64_t>::As("payments-in-10-minutes"))
//       .ToStream()
//       .To("payments-in-10-minutes");  // key: TimeWindowedSerde<std::string>
//
// Each aggregation (Count, Reduce, Aggregate) adds one processor that keeps
// the aggregate of every sliding window [start, start + d] of every key in a
// window store: one window per distinct record time on the left ([t - d, t])
// and on the right ([t + 1, t + 1 + d]) where records are (see windowed.h).
// Results are forwarded per EmitStrategy: every update (the default), or
// each window's final result once when it closes (end + 1 + grace <= stream
// time). Records late for a window are not applied to it and are counted in
// the task's dropped_late; see KStreamSlidingWindowAggregate
// (internal/sliding_processors.h) for the details and restarts.
//
// Store: a window store named by Materialized::As, else
// "KSTREAM-AGGREGATE-STATE-STORE-<n>" / "KSTREAM-REDUCE-STATE-STORE-<n>" as
// in Kafka Streams; retention = 3 * time difference + grace + 1 ms (a record
// still reads windows back to t - 2d), default segment interval. Keys are
// stored as the bytes of their serde; values as the window's largest record
// time (8 bytes big-endian) followed by the aggregate serde's bytes, Kafka's
// timestamped layout. Unless Materialized disables logging, every applied
// update is written to the changelog "<application.id>-<store>-changelog"
// with key EncodeWindowKey(key bytes, window start) (state/store_keys.h).
// Materialized::caching is not applied yet: every update is forwarded.
//
// The resulting table's key serde is TimeWindowedSerde<K> with size d (key
// bytes + 8-byte big-endian start, as Kafka), whose end is start + d.
// Repartitioning, names and errors: as for KGroupedStream.
//
// Lifecycle and thread-safety: as for KStream.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/sliding_processors.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and sliding window (see the file comment).
//! Copyable and cheap; valid while its StreamsBuilder lives.
template <typename K, typename V>
class SlidingWindowedKStream {
 public:
  //! Returns a copy that forwards results per `strategy` (default
  //! EmitStrategy::kOnWindowUpdate).
  SlidingWindowedKStream WithEmitStrategy(EmitStrategy strategy) const {
    SlidingWindowedKStream copy = *this;
    copy.emit_ = strategy;
    return copy;
  }

  //! Returns the number of records per (key, window).
  KTable<Windowed<K>, int64_t> Count(const Materialized<K, int64_t>& materialized = {},
                                     const Named& named = {}) const {
    return DoAggregate<int64_t>("SlidingWindowedKStream::Count", internal::kAggregateName,
                                materialized, named, Serdes::Int64(),
                                internal::CountAdder<K, V>());
  }

  //! Returns per (key, window) the first value, then reducer(aggregate,
  //! value) for each further one (serde as KGroupedStream::Reduce).
  template <typename F>
  KTable<Windowed<K>, V> Reduce(F reducer, const Materialized<K, V>& materialized = {},
                                const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<V, F&, const V&, const V&>,
                  "SlidingWindowedKStream::Reduce: the reducer must be callable as "
                  "(const V& aggregate, const V& value) and return V");
    return DoAggregate<V>("SlidingWindowedKStream::Reduce", internal::kReduceName, materialized,
                          named, grouped_.value_serde_,
                          internal::ReduceAdder<K, V>(std::move(reducer)));
  }

  //! Returns per (key, window) aggregator(key, value, aggregate), starting
  //! from initializer() (serde as KGroupedStream::Aggregate).
  template <typename I, typename A, typename VA = std::decay_t<std::invoke_result_t<I&>>>
  KTable<Windowed<K>, VA> Aggregate(I initializer, A aggregator,
                                    const Materialized<K, VA>& materialized = {},
                                    const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<VA, A&, const K&, const V&, const VA&>,
                  "SlidingWindowedKStream::Aggregate: the aggregator must be callable as "
                  "(const K& key, const V& value, const VA& aggregate) and return VA, the "
                  "initializer's type");
    return DoAggregate<VA>(
        "SlidingWindowedKStream::Aggregate", internal::kAggregateName, materialized, named,
        nullptr,
        internal::InitAggregateAdder<K, V, VA>(std::move(initializer), std::move(aggregator)));
  }

  //! Returns the windows.
  const SlidingWindows& windows() const { return windows_; }
  //! Returns the emit strategy.
  EmitStrategy emit_strategy() const { return emit_; }

 private:
  template <typename K2, typename V2>
  friend class KGroupedStream;

  SlidingWindowedKStream(KGroupedStream<K, V> grouped, SlidingWindows windows)
      : grouped_(std::move(grouped)), windows_(windows) {}

  template <typename VA>
  KTable<Windowed<K>, VA> DoAggregate(std::string_view operation, std::string_view prefix,
                                      const Materialized<K, VA>& materialized, const Named& named,
                                      SerdePtr<VA> default_value_serde,
                                      internal::AggregateAdder<K, V, VA> adder) const;

  KGroupedStream<K, V> grouped_;
  SlidingWindows windows_;
  EmitStrategy emit_ = EmitStrategy::kOnWindowUpdate;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename VA>
KTable<Windowed<K>, VA> SlidingWindowedKStream<K, V>::DoAggregate(
    std::string_view operation, std::string_view prefix, const Materialized<K, VA>& materialized,
    const Named& named, SerdePtr<VA> default_value_serde,
    internal::AggregateAdder<K, V, VA> adder) const {
  using Processor = internal::KStreamSlidingWindowAggregate<K, V, VA>;
  internal::InternalStreamsBuilder* builder = grouped_.builder_;
  auto fn = std::make_shared<const typename Processor::Adder>(std::move(adder));
  if (!*fn) builder->RecordError(operation, "the function is empty");
  if (Status valid = windows_.Validate(); !valid.ok()) {
    builder->RecordError(operation, valid.message());
  }
  auto nodes = grouped_.template PrepareAggregate<VA>(operation, prefix, materialized, named,
                                                      std::move(default_value_serde));
  if (!nodes.key_serde || !nodes.value_serde) {
    return KGroupedStream<K, V>::template MakeTable<Windowed<K>, VA>(
        builder, nodes.name, nullptr, nullptr, nodes.store);  // the error is recorded
  }
  Topology& topology = builder->topology();
  topology.AddProcessor<K, V, Windowed<K>, std::optional<VA>>(
      nodes.name,
      [store = nodes.store, windows = windows_, emit = emit_, fn, key_serde = nodes.key_serde,
       value_serde = nodes.value_serde] {
        return std::make_unique<Processor>(store, windows, emit, fn, key_serde, value_serde);
      },
      {nodes.parent});
  StoreSpec spec;
  spec.name = nodes.store;
  spec.kind = StoreSpec::Kind::kWindow;
  spec.in_memory = materialized.in_memory;
  spec.logging = materialized.logging;
  spec.retention =
      std::chrono::milliseconds(3 * windows_.time_difference_ms() + windows_.grace_ms() + 1);
  topology.AddStateStore(std::move(spec), {nodes.name});
  SerdePtr<Windowed<K>> key_serde =
      std::make_shared<TimeWindowedSerde<K>>(nodes.key_serde, windows_.time_difference_ms());
  return KGroupedStream<K, V>::template MakeTable<Windowed<K>, VA>(
      builder, std::move(nodes.name), std::move(key_serde), std::move(nodes.value_serde),
      nodes.store);
}

template <typename K, typename V>
SlidingWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(
    const SlidingWindows& windows) const {
  return SlidingWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
