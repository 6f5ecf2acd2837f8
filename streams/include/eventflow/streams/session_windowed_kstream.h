// SessionWindowedKStream<K, V>: what KGroupedStream::WindowedBy(SessionWindows)
// returns — a stream grouped by key and by session, to be aggregated into a
// KTable<Windowed<K>, VA> (Kafka's SessionWindowedKStream).
//
//   builder.Stream<std::string, std::string>("clicks")
//       .GroupByKey()
//       .WindowedBy(SessionWindows::OfInactivityGapAndGrace(std::chrono::minutes(5),
//                                                           std::chrono::seconds(30)))
//       .Count(Materialized<std::string, int64_t>::As("clicks-per-session"))
//       .ToStream()
//       .To("clicks-per-session");  // key: SessionWindowedSerde<std::string>
//
// Each aggregation (Count, Reduce, Aggregate) adds one processor that keeps
// every key's sessions in a session store: a record joins the sessions of
// its key within the inactivity gap, merging them (Aggregate's merger,
// Reduce's reducer, Count's sum). Results are forwarded per EmitStrategy:
// every update (a tombstone for each session merged away, then the merged
// session), or each session's final result once when it closes (session end
// + gap + 1 + grace <= stream time). Late records are dropped and counted in
// the task's dropped_late; see KStreamSessionWindowAggregate
// (internal/session_processors.h) for the details and what a restart does to
// kOnWindowClose.
//
// Store: a session store named by Materialized::As, else
// "KSTREAM-AGGREGATE-STATE-STORE-<n>" / "KSTREAM-REDUCE-STATE-STORE-<n>" as
// in Kafka Streams; retention = gap + grace + 1 ms (a session expires exactly
// when it closes; Kafka declares gap + grace but expires whole segments
// later), default segment interval. Keys and aggregates are stored as the
// bytes of their serdes, as for KGroupedStream; unless Materialized disables
// logging, every applied change is written to the changelog
// "<application.id>-<store>-changelog" with key EncodeSessionKey(key bytes,
// start, end) (state/store_keys.h), a tombstone for a removed session.
// Materialized::caching is not applied yet: every update is forwarded.
//
// The resulting table's key serde is SessionWindowedSerde<K> (key bytes +
// 8-byte big-endian end + start, Kafka's layout). Repartitioning, names and
// errors: as for KGroupedStream.
//
// Lifecycle and thread-safety: as for KStream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/session_processors.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and session (see the file comment). Copyable and
//! cheap; valid while its StreamsBuilder lives.
template <typename K, typename V>
class SessionWindowedKStream {
 public:
  //! Returns a copy that forwards results per `strategy` (default
  //! EmitStrategy::kOnWindowUpdate).
  SessionWindowedKStream WithEmitStrategy(EmitStrategy strategy) const {
    SessionWindowedKStream copy = *this;
    copy.emit_ = strategy;
    return copy;
  }

  //! Returns the number of records per (key, session); merged sessions'
  //! counts add up.
  KTable<Windowed<K>, int64_t> Count(const Materialized<K, int64_t>& materialized = {},
                                     const Named& named = {}) const {
    Fns<int64_t> fns;
    fns.adder = internal::CountAdder<K, V>();
    fns.merger = [](const K&, const int64_t& a, const int64_t& b) { return a + b; };
    return DoAggregate<int64_t>("SessionWindowedKStream::Count", internal::kAggregateName,
                                materialized, named, Serdes::Int64(), std::move(fns));
  }

  //! Returns per (key, session) the first value, then reducer(aggregate,
  //! value) for each further one; merging sessions reduces their aggregates
  //! (reducer(earlier-ending, later-ending)). Serde as KGroupedStream::Reduce.
  template <typename F>
  KTable<Windowed<K>, V> Reduce(F reducer, const Materialized<K, V>& materialized = {},
                                const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<V, F&, const V&, const V&>,
                  "SessionWindowedKStream::Reduce: the reducer must be callable as "
                  "(const V& aggregate, const V& value) and return V");
    auto shared = std::make_shared<F>(std::move(reducer));
    Fns<V> fns;
    fns.adder = internal::ReduceAdder<K, V>([shared](const V& a, const V& b) {
      return (*shared)(a, b);
    });
    fns.merger = [shared](const K&, const V& a, const V& b) { return (*shared)(a, b); };
    return DoAggregate<V>("SessionWindowedKStream::Reduce", internal::kReduceName, materialized,
                          named, grouped_.value_serde_, std::move(fns));
  }

  //! Returns per (key, session) aggregator(key, value, aggregate), starting
  //! from initializer(); a record joining sessions starts from initializer()
  //! merged with each session's aggregate in turn, merger(key, aggregate,
  //! session aggregate) (Kafka's Merger). Serde as KGroupedStream::Aggregate.
  template <typename I, typename A, typename M,
            typename VA = std::decay_t<std::invoke_result_t<I&>>>
  KTable<Windowed<K>, VA> Aggregate(I initializer, A aggregator, M merger,
                                    const Materialized<K, VA>& materialized = {},
                                    const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<VA, A&, const K&, const V&, const VA&>,
                  "SessionWindowedKStream::Aggregate: the aggregator must be callable as "
                  "(const K& key, const V& value, const VA& aggregate) and return VA, the "
                  "initializer's type");
    static_assert(std::is_invocable_r_v<VA, M&, const K&, const VA&, const VA&>,
                  "SessionWindowedKStream::Aggregate: the merger must be callable as "
                  "(const K& key, const VA& aggregate, const VA& other) and return VA");
    auto init = std::make_shared<I>(std::move(initializer));
    Fns<VA> fns;
    fns.initializer = [init] { return (*init)(); };
    fns.adder = internal::InitAggregateAdder<K, V, VA>([init] { return (*init)(); },
                                                       std::move(aggregator));
    fns.merger = std::move(merger);
    return DoAggregate<VA>("SessionWindowedKStream::Aggregate", internal::kAggregateName,
                           materialized, named, nullptr, std::move(fns));
  }

  //! Returns the windows.
  const SessionWindows& windows() const { return windows_; }
  //! Returns the emit strategy.
  EmitStrategy emit_strategy() const { return emit_; }

 private:
  template <typename K2, typename V2>
  friend class KGroupedStream;
  template <typename VA>
  using Fns = internal::SessionAggregateFns<K, V, VA>;

  SessionWindowedKStream(KGroupedStream<K, V> grouped, SessionWindows windows)
      : grouped_(std::move(grouped)), windows_(windows) {}

  template <typename VA>
  KTable<Windowed<K>, VA> DoAggregate(std::string_view operation, std::string_view prefix,
                                      const Materialized<K, VA>& materialized, const Named& named,
                                      SerdePtr<VA> default_value_serde, Fns<VA> fns) const;

  KGroupedStream<K, V> grouped_;
  SessionWindows windows_;
  EmitStrategy emit_ = EmitStrategy::kOnWindowUpdate;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename VA>
KTable<Windowed<K>, VA> SessionWindowedKStream<K, V>::DoAggregate(
    std::string_view operation, std::string_view prefix, const Materialized<K, VA>& materialized,
    const Named& named, SerdePtr<VA> default_value_serde, Fns<VA> fns) const {
  using Processor = internal::KStreamSessionWindowAggregate<K, V, VA>;
  internal::InternalStreamsBuilder* builder = grouped_.builder_;
  if (!fns.adder || !fns.merger) {
    builder->RecordError(operation, "the function is empty");
  }
  auto shared = std::make_shared<const Fns<VA>>(std::move(fns));
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
      [store = nodes.store, windows = windows_, emit = emit_, shared,
       key_serde = nodes.key_serde, value_serde = nodes.value_serde] {
        return std::make_unique<Processor>(store, windows, emit, shared, key_serde, value_serde);
      },
      {nodes.parent});
  StoreSpec spec;
  spec.name = nodes.store;
  spec.kind = StoreSpec::Kind::kSession;
  spec.in_memory = materialized.in_memory;
  spec.logging = materialized.logging;
  // Ends are inclusive: a session ending at e closes at e + gap + 1 + grace,
  // so this horizon expires exactly the closed sessions.
  spec.retention =
      std::chrono::milliseconds(windows_.inactivity_gap_ms() + windows_.grace_ms() + 1);
  topology.AddStateStore(std::move(spec), {nodes.name});
  SerdePtr<Windowed<K>> key_serde = std::make_shared<SessionWindowedSerde<K>>(nodes.key_serde);
  return KGroupedStream<K, V>::template MakeTable<Windowed<K>, VA>(
      builder, std::move(nodes.name), std::move(key_serde), std::move(nodes.value_serde),
      nodes.store);
}

template <typename K, typename V>
SessionWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(
    const SessionWindows& windows) const {
  return SessionWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
