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

#include <utility>

#include "eventflow/streams/internal/windowed_kstream_front.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and time window (see the file comment): Count, Reduce,
//! Aggregate, WithEmitStrategy, windows() and emit_strategy() come from
//! internal::WindowedKStreamFront. Copyable and cheap; valid while its
//! StreamsBuilder lives.
template <typename K, typename V>
class TimeWindowedKStream final
    : public internal::WindowedKStreamFront<K, V, TimeWindows, TimeWindowedKStream<K, V>> {
 private:
  using Front = internal::WindowedKStreamFront<K, V, TimeWindows, TimeWindowedKStream<K, V>>;
  template <typename K2, typename V2>
  friend class KGroupedStream;

  TimeWindowedKStream(KGroupedStream<K, V> grouped, TimeWindows windows)
      : Front(std::move(grouped), windows) {}
};

template <typename K, typename V>
TimeWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(const TimeWindows& windows) const {
  return TimeWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
