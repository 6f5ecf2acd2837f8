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

#include <memory>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/windowed_kstream_front.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and session (see the file comment): Count, Reduce,
//! Aggregate, WithEmitStrategy, windows() and emit_strategy() come from
//! internal::WindowedKStreamFront. Copyable and cheap; valid while its
//! StreamsBuilder lives.
template <typename K, typename V>
class SessionWindowedKStream final
    : public internal::WindowedKStreamFront<K, V, SessionWindows, SessionWindowedKStream<K, V>> {
 public:
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
    internal::SessionAggregateFns<K, V, VA> fns;
    fns.initializer = [init] { return (*init)(); };
    fns.adder = internal::InitAggregateAdder<K, V, VA>([init] { return (*init)(); },
                                                       std::move(aggregator));
    fns.merger = std::move(merger);
    return this->template DoAggregate<VA>(Front::Kind::kAggregate, internal::kAggregateName,
                                          materialized, named, nullptr, std::move(fns));
  }

 private:
  using Front = internal::WindowedKStreamFront<K, V, SessionWindows, SessionWindowedKStream<K, V>>;
  template <typename K2, typename V2>
  friend class KGroupedStream;

  SessionWindowedKStream(KGroupedStream<K, V> grouped, SessionWindows windows)
      : Front(std::move(grouped), windows) {}
};

template <typename K, typename V>
SessionWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(const SessionWindows& windows) const {
  return SessionWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
