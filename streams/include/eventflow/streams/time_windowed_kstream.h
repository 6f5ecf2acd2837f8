// TimeWindowedKStream<K, V>: what KGroupedStream::WindowedBy(TimeWindows)
// returns — a stream grouped by key and by time window, to be aggregated
// into a KTable<Windowed<K>, VA>.
//
//   builder.Stream<std::string, std::string>("clicks")
//       .GroupByKey()
//       .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(1),
//                                               std::chrono::seconds(10)))
//       .WithEmitStrategy(EmitStrategy::kOnWindowClose)
//       .Count(Materialized<std::string, int64_t>::As("clicks-per-minute"))
//       .ToStream()
//       .To("clicks-per-minute");  // key: TimeWindowedSerde<std::string>
//
// Each aggregation (Count, Reduce, Aggregate) adds one processor that keeps
// the aggregate of every (key, window) in a window store and forwards
// results per EmitStrategy (windowed.h): every update (the default), or each
// window's final result once when it closes. Records late for a window
// (window end + grace <= stream time) do not change it and are counted in
// the task's dropped_late; see KStreamWindowAggregate
// (internal/window_processors.h) for the details, expiry and what a restart
// does to kOnWindowClose.
//
// Store: a window store named by Materialized::As, else
// "KSTREAM-AGGREGATE-STATE-STORE-<n>" / "KSTREAM-REDUCE-STATE-STORE-<n>" as
// in Kafka Streams; retention = window size + grace unless Materialized
// WithRetention keeps windows longer (by default a window is dropped
// as soon as it closes), default segment interval. Keys and aggregates are
// stored as the bytes of their serdes, as for KGroupedStream; unless
// Materialized disables logging, every applied update is written to the
// changelog "<application.id>-<store>-changelog" with key
// EncodeWindowKey(key bytes, window start) (state/store_keys.h).
//
// The resulting table's key serde is TimeWindowedSerde<K> (key bytes + 8-byte
// big-endian window start, Kafka's layout), so ToStream().To(topic) needs no
// serde for the key. Repartitioning, names and errors: as for KGroupedStream.
//
// Lifecycle and thread-safety: as for KStream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/window_processors.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and time window (see the file comment). Copyable
//! and cheap; valid while its StreamsBuilder lives.
template <typename K, typename V>
class TimeWindowedKStream {
 public:
  //! Returns a copy that forwards results per `strategy` (default
  //! EmitStrategy::kOnWindowUpdate).
  TimeWindowedKStream WithEmitStrategy(EmitStrategy strategy) const {
    TimeWindowedKStream copy = *this;
    copy.emit_ = strategy;
    return copy;
  }

  //! Returns the number of records per (key, window).
  KTable<Windowed<K>, int64_t> Count(const Materialized<K, int64_t>& materialized = {},
                                     const Named& named = {}) const {
    return DoAggregate<int64_t>("TimeWindowedKStream::Count", internal::kAggregateName,
                                materialized, named, Serdes::Int64(),
                                internal::CountAdder<K, V>());
  }

  //! Returns per (key, window) the first value, then reducer(aggregate,
  //! value) for each further one (serde as KGroupedStream::Reduce).
  template <typename F>
  KTable<Windowed<K>, V> Reduce(F reducer, const Materialized<K, V>& materialized = {},
                                const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<V, F&, const V&, const V&>,
                  "TimeWindowedKStream::Reduce: the reducer must be callable as "
                  "(const V& aggregate, const V& value) and return V");
    return DoAggregate<V>("TimeWindowedKStream::Reduce", internal::kReduceName, materialized,
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
                  "TimeWindowedKStream::Aggregate: the aggregator must be callable as "
                  "(const K& key, const V& value, const VA& aggregate) and return VA, the "
                  "initializer's type");
    return DoAggregate<VA>(
        "TimeWindowedKStream::Aggregate", internal::kAggregateName, materialized, named, nullptr,
        internal::InitAggregateAdder<K, V, VA>(std::move(initializer), std::move(aggregator)));
  }

  //! Returns the windows.
  const TimeWindows& windows() const { return windows_; }
  //! Returns the emit strategy.
  EmitStrategy emit_strategy() const { return emit_; }

 private:
  template <typename K2, typename V2>
  friend class KGroupedStream;

  TimeWindowedKStream(KGroupedStream<K, V> grouped, TimeWindows windows)
      : grouped_(std::move(grouped)), windows_(windows) {}

  template <typename VA>
  KTable<Windowed<K>, VA> DoAggregate(std::string_view operation, std::string_view prefix,
                                      const Materialized<K, VA>& materialized, const Named& named,
                                      SerdePtr<VA> default_value_serde,
                                      internal::AggregateAdder<K, V, VA> adder) const;

  KGroupedStream<K, V> grouped_;
  TimeWindows windows_;
  EmitStrategy emit_ = EmitStrategy::kOnWindowUpdate;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename VA>
KTable<Windowed<K>, VA> TimeWindowedKStream<K, V>::DoAggregate(
    std::string_view operation, std::string_view prefix, const Materialized<K, VA>& materialized,
    const Named& named, SerdePtr<VA> default_value_serde,
    internal::AggregateAdder<K, V, VA> adder) const {
  using Processor = internal::KStreamWindowAggregate<K, V, VA>;
  internal::InternalStreamsBuilder* builder = grouped_.builder_;
  auto fn = std::make_shared<const typename Processor::Adder>(std::move(adder));
  if (!*fn) builder->RecordError(operation, "the function is empty");
  if (Status valid = windows_.Validate(); !valid.ok()) {
    builder->RecordError(operation, valid.message());
  }
  auto nodes = grouped_.template PrepareAggregate<VA>(operation, prefix, materialized, named,
                                                      std::move(default_value_serde));
  if (!nodes.key_serde || !nodes.value_serde) {
    return KTable<Windowed<K>, VA>(builder, nodes.name, nullptr, nullptr,
                                   nodes.store);  // the error is recorded
  }
  Topology& topology = builder->topology();
  topology.AddProcessor<K, V, Windowed<K>, std::optional<VA>>(
      nodes.name,
      [store = nodes.store, windows = windows_, emit = emit_, fn, key_serde = nodes.key_serde,
       value_serde = nodes.value_serde, caching = materialized.caching] {
        return std::make_unique<Processor>(store, windows, emit, fn, key_serde, value_serde,
                                           caching);
      },
      {nodes.parent});
  StoreSpec spec;
  spec.name = nodes.store;
  spec.kind = StoreSpec::Kind::kWindow;
  spec.in_memory = materialized.in_memory;
  spec.logging = materialized.logging;
  // Default size + grace: a window expires exactly when it closes. A longer
  // retention keeps closed windows readable (emit on close then learns what
  // it already emitted from the restored watermark after a restart).
  const std::chrono::milliseconds closes_after(windows_.size_ms() + windows_.grace_ms());
  spec.retention = materialized.retention.value_or(closes_after);
  if (spec.retention < closes_after) {
    builder->RecordError(operation, "Materialized retention " +
                                        std::to_string(spec.retention.count()) +
                                        " ms is shorter than window size + grace " +
                                        std::to_string(closes_after.count()) + " ms");
  }
  topology.AddStateStore(std::move(spec), {nodes.name});
  SerdePtr<Windowed<K>> key_serde =
      std::make_shared<TimeWindowedSerde<K>>(nodes.key_serde, windows_.size_ms());
  return KTable<Windowed<K>, VA>(builder, std::move(nodes.name), std::move(key_serde),
                                 std::move(nodes.value_serde), nodes.store);
}

template <typename K, typename V>
TimeWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(const TimeWindows& windows) const {
  return TimeWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
