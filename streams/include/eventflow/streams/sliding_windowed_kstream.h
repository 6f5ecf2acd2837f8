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

#include <utility>

#include "eventflow/streams/internal/windowed_kstream_front.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams {

//! A stream grouped by key and sliding window (see the file comment): Count, Reduce,
//! Aggregate, WithEmitStrategy, windows() and emit_strategy() come from
//! internal::WindowedKStreamFront. Copyable and cheap; valid while its
//! StreamsBuilder lives.
template <typename K, typename V>
class SlidingWindowedKStream final
    : public internal::WindowedKStreamFront<K, V, SlidingWindows, SlidingWindowedKStream<K, V>> {
 private:
  using Front = internal::WindowedKStreamFront<K, V, SlidingWindows, SlidingWindowedKStream<K, V>>;
  template <typename K2, typename V2>
  friend class KGroupedStream;

  SlidingWindowedKStream(KGroupedStream<K, V> grouped, SlidingWindows windows)
      : Front(std::move(grouped), windows) {}
};

template <typename K, typename V>
SlidingWindowedKStream<K, V> KGroupedStream<K, V>::WindowedBy(const SlidingWindows& windows) const {
  return SlidingWindowedKStream<K, V>(*this, windows);
}

}  // namespace eventflow::streams
