// WindowedKStreamFront: the one implementation of Count, Reduce and
// Aggregate behind TimeWindowedKStream, SlidingWindowedKStream and
// SessionWindowedKStream. Not for user code: use those three (see their
// headers for the semantics of each kind of window).
//
// What differs between the kinds of windows is in WindowKind<Windows>: the
// processor, the store kind and retention, the key serde of the resulting
// table, when a window closes, and how Count/Reduce/Aggregate become the
// processor's functions (sessions also merge). Everything else — validation,
// names and serdes (KGroupedStream::PrepareAggregate), the repartition topic,
// the store and the table — is written once here.
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
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/session_processors.h"
#include "eventflow/streams/internal/sliding_processors.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/internal/window_processors.h"
#include "eventflow/streams/kgrouped_stream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

//! What distinguishes the kinds of windows in an aggregation (see the file
//! comment); specialized for TimeWindows, SlidingWindows and SessionWindows.
template <typename Windows>
struct WindowKind;

//! Tumbling and hopping windows (TimeWindowedKStream).
template <>
struct WindowKind<TimeWindows> {
  static constexpr std::string_view kCount = "TimeWindowedKStream::Count";
  static constexpr std::string_view kReduce = "TimeWindowedKStream::Reduce";
  static constexpr std::string_view kAggregate = "TimeWindowedKStream::Aggregate";
  static constexpr StoreSpec::Kind kStore = StoreSpec::Kind::kWindow;
  //! The processor's user functions.
  template <typename K, typename V, typename VA>
  using Fns = AggregateAdder<K, V, VA>;
  template <typename K, typename V, typename VA>
  using Processor = KStreamWindowAggregate<K, V, VA>;
  //! Default size + grace: a window expires exactly when it closes. A longer
  //! Materialized retention keeps closed windows readable (emit on close then
  //! learns what it already emitted from the restored watermark after a
  //! restart); a shorter one is an error.
  static std::chrono::milliseconds Retention(const TimeWindows& windows,
                                             std::optional<std::chrono::milliseconds> given,
                                             InternalStreamsBuilder& builder,
                                             std::string_view operation);
  //! The key serde of the resulting table.
  template <typename K>
  static SerdePtr<Windowed<K>> KeySerde(SerdePtr<K> key_serde, const TimeWindows& windows) {
    return std::make_shared<TimeWindowedSerde<K>>(std::move(key_serde), windows.size_ms());
  }
  //! A window [start, end) closes at end + grace.
  static int64_t CloseAfterEnd(const TimeWindows& windows) { return windows.grace_ms(); }
  //! The store's windows are [start, start + size).
  static int64_t WindowSize(const TimeWindows& windows) { return windows.size_ms(); }
  //! Whether the aggregation applies Materialized's caching.
  static constexpr bool kCaches = true;
};

//! Sliding windows (SlidingWindowedKStream).
template <>
struct WindowKind<SlidingWindows> {
  static constexpr std::string_view kCount = "SlidingWindowedKStream::Count";
  static constexpr std::string_view kReduce = "SlidingWindowedKStream::Reduce";
  static constexpr std::string_view kAggregate = "SlidingWindowedKStream::Aggregate";
  static constexpr StoreSpec::Kind kStore = StoreSpec::Kind::kWindow;
  template <typename K, typename V, typename VA>
  using Fns = AggregateAdder<K, V, VA>;
  template <typename K, typename V, typename VA>
  using Processor = KStreamSlidingWindowAggregate<K, V, VA>;
  //! 3 * time difference + grace + 1 ms: a record still reads windows back to t - 2d.
  static std::chrono::milliseconds Retention(const SlidingWindows& windows,
                                             std::optional<std::chrono::milliseconds> given,
                                             InternalStreamsBuilder& builder,
                                             std::string_view operation);
  //! The key serde of the resulting table: TimeWindowedSerde with size d.
  template <typename K>
  static SerdePtr<Windowed<K>> KeySerde(SerdePtr<K> key_serde, const SlidingWindows& windows) {
    return std::make_shared<TimeWindowedSerde<K>>(std::move(key_serde),
                                                  windows.time_difference_ms());
  }
  //! A window [start, end] closes at end + 1 + grace.
  static int64_t CloseAfterEnd(const SlidingWindows& windows) { return 1 + windows.grace_ms(); }
  //! The store's windows are [start, start + d] (the key serde's size).
  static int64_t WindowSize(const SlidingWindows& windows) { return windows.time_difference_ms(); }
  static constexpr bool kCaches = false;
};

//! Session windows (SessionWindowedKStream).
template <>
struct WindowKind<SessionWindows> {
  static constexpr std::string_view kCount = "SessionWindowedKStream::Count";
  static constexpr std::string_view kReduce = "SessionWindowedKStream::Reduce";
  static constexpr std::string_view kAggregate = "SessionWindowedKStream::Aggregate";
  static constexpr StoreSpec::Kind kStore = StoreSpec::Kind::kSession;
  template <typename K, typename V, typename VA>
  using Fns = SessionAggregateFns<K, V, VA>;
  template <typename K, typename V, typename VA>
  using Processor = KStreamSessionWindowAggregate<K, V, VA>;
  //! gap + grace + 1 ms: ends are inclusive, a session ending at e closes at
  //! e + gap + 1 + grace, so this horizon expires exactly the closed sessions.
  static std::chrono::milliseconds Retention(const SessionWindows& windows,
                                             std::optional<std::chrono::milliseconds> given,
                                             InternalStreamsBuilder& builder,
                                             std::string_view operation);
  //! The key serde of the resulting table: SessionWindowedSerde.
  template <typename K>
  static SerdePtr<Windowed<K>> KeySerde(SerdePtr<K> key_serde, const SessionWindows&) {
    return std::make_shared<SessionWindowedSerde<K>>(std::move(key_serde));
  }
  //! A session [start, end] closes at end + gap + 1 + grace.
  static int64_t CloseAfterEnd(const SessionWindows& windows) {
    return windows.inactivity_gap_ms() + 1 + windows.grace_ms();
  }
  //! Sessions carry their own ends.
  static int64_t WindowSize(const SessionWindows&) { return 0; }
  static constexpr bool kCaches = false;
};

//! Whether the processor's functions are set (an empty user function is an error).
template <typename K, typename V, typename VA>
bool FnsSet(const AggregateAdder<K, V, VA>& adder) {
  return static_cast<bool>(adder);
}
template <typename K, typename V, typename VA>
bool FnsSet(const SessionAggregateFns<K, V, VA>& fns) {
  return fns.adder && fns.merger;
}

//! Count's functions: the number of records; merged sessions' counts add up.
template <typename K, typename V>
AggregateAdder<K, V, int64_t> CountFns(const AggregateAdder<K, V, int64_t>*) {
  return CountAdder<K, V>();
}
template <typename K, typename V>
SessionAggregateFns<K, V, int64_t> CountFns(const SessionAggregateFns<K, V, int64_t>*) {
  SessionAggregateFns<K, V, int64_t> fns;
  fns.adder = CountAdder<K, V>();
  fns.merger = [](const K&, const int64_t& a, const int64_t& b) { return a + b; };
  return fns;
}

//! Reduce's functions: the first value, then reducer(aggregate, value);
//! merging sessions reduces their aggregates (reducer(earlier-ending,
//! later-ending)).
template <typename K, typename V, typename F>
AggregateAdder<K, V, V> ReduceFns(const AggregateAdder<K, V, V>*, F reducer) {
  return ReduceAdder<K, V>(std::move(reducer));
}
template <typename K, typename V, typename F>
SessionAggregateFns<K, V, V> ReduceFns(const SessionAggregateFns<K, V, V>*, F reducer) {
  auto shared = std::make_shared<F>(std::move(reducer));
  SessionAggregateFns<K, V, V> fns;
  fns.adder = ReduceAdder<K, V>([shared](const V& a, const V& b) { return (*shared)(a, b); });
  fns.merger = [shared](const K&, const V& a, const V& b) { return (*shared)(a, b); };
  return fns;
}

//! The front of the three windowed streams (see the file comment). `Derived`
//! is the public type (CRTP), so WithEmitStrategy returns it.
template <typename K, typename V, typename Windows, typename Derived>
class WindowedKStreamFront {
 public:
  //! Returns a copy that forwards results per `strategy` (default
  //! EmitStrategy::kOnWindowUpdate).
  Derived WithEmitStrategy(EmitStrategy strategy) const {
    Derived copy = static_cast<const Derived&>(*this);
    copy.emit_ = strategy;
    return copy;
  }

  //! Returns the number of records per (key, window) (for sessions, merged
  //! sessions' counts add up).
  KTable<Windowed<K>, int64_t> Count(const Materialized<K, int64_t>& materialized = {},
                                     const Named& named = {}) const {
    return DoAggregate<int64_t>(Kind::kCount, kAggregateName, materialized, named,
                                Serdes::Int64(),
                                CountFns<K, V>(static_cast<const Fns<int64_t>*>(nullptr)));
  }

  //! Returns per (key, window) the first value, then reducer(aggregate,
  //! value) for each further one (serde as KGroupedStream::Reduce; merging
  //! sessions reduces their aggregates, reducer(earlier-ending,
  //! later-ending)).
  template <typename F>
  KTable<Windowed<K>, V> Reduce(F reducer, const Materialized<K, V>& materialized = {},
                                const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<V, F&, const V&, const V&>,
                  "Reduce: the reducer must be callable as (const V& aggregate, const V& value) "
                  "and return V");
    return DoAggregate<V>(Kind::kReduce, kReduceName, materialized, named, grouped_.value_serde_,
                          ReduceFns<K, V>(static_cast<const Fns<V>*>(nullptr), std::move(reducer)));
  }

  //! Returns per (key, window) aggregator(key, value, aggregate), starting
  //! from initializer() (serde as KGroupedStream::Aggregate). Session
  //! windows take a merger too (SessionWindowedKStream::Aggregate).
  template <typename I, typename A, typename VA = std::decay_t<std::invoke_result_t<I&>>>
    requires(!std::is_same_v<Windows, SessionWindows>)
  KTable<Windowed<K>, VA> Aggregate(I initializer, A aggregator,
                                    const Materialized<K, VA>& materialized = {},
                                    const Named& named = {}) const {
    static_assert(std::is_invocable_r_v<VA, A&, const K&, const V&, const VA&>,
                  "Aggregate: the aggregator must be callable as (const K& key, const V& value, "
                  "const VA& aggregate) and return VA, the initializer's type");
    return DoAggregate<VA>(
        Kind::kAggregate, kAggregateName, materialized, named, nullptr,
        InitAggregateAdder<K, V, VA>(std::move(initializer), std::move(aggregator)));
  }

  //! Returns the windows.
  const Windows& windows() const { return windows_; }
  //! Returns the emit strategy.
  EmitStrategy emit_strategy() const { return emit_; }

 protected:
  using Kind = WindowKind<Windows>;
  template <typename VA>
  using Fns = typename Kind::template Fns<K, V, VA>;

  WindowedKStreamFront(KGroupedStream<K, V> grouped, Windows windows)
      : grouped_(std::move(grouped)), windows_(windows) {}

  // Adds the aggregation: checks, names and serdes (PrepareAggregate), the
  // processor, its store; returns the table coming out of it.
  template <typename VA>
  KTable<Windowed<K>, VA> DoAggregate(std::string_view operation, std::string_view prefix,
                                      const Materialized<K, VA>& materialized, const Named& named,
                                      SerdePtr<VA> default_value_serde, Fns<VA> fns) const;

  KGroupedStream<K, V> grouped_;
  Windows windows_;
  EmitStrategy emit_ = EmitStrategy::kOnWindowUpdate;
};

template <typename K, typename V, typename Windows, typename Derived>
template <typename VA>
KTable<Windowed<K>, VA> WindowedKStreamFront<K, V, Windows, Derived>::DoAggregate(
    std::string_view operation, std::string_view prefix, const Materialized<K, VA>& materialized,
    const Named& named, SerdePtr<VA> default_value_serde, Fns<VA> fns) const {
  using Processor = typename Kind::template Processor<K, V, VA>;
  InternalStreamsBuilder* builder = grouped_.builder_;
  if (!FnsSet(fns)) builder->RecordError(operation, "the function is empty");
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
  // Suppress(UntilWindowCloses) downstream asks a caching aggregation to
  // flush its cache as windows close (see WindowedTableInfo).
  auto flush = std::make_shared<CacheFlushOnClose>();
  const bool caching = Kind::kCaches && materialized.caching;
  builder->topology().template AddProcessor<K, V, Windowed<K>, std::optional<VA>>(
      nodes.name,
      [store = nodes.store, windows = windows_, emit = emit_, shared, key_serde = nodes.key_serde,
       value_serde = nodes.value_serde, caching, flush] {
        return std::make_unique<Processor>(store, windows, emit, shared, key_serde, value_serde,
                                           caching, flush->enabled);
      },
      {nodes.parent});
  StoreSpec spec;
  spec.name = nodes.store;
  spec.kind = Kind::kStore;
  spec.in_memory = materialized.in_memory;
  spec.logging = materialized.logging;
  spec.retention = Kind::Retention(windows_, materialized.retention, *builder, operation);
  spec.key_serde = nodes.key_serde->Name();
  spec.value_serde = nodes.value_serde->Name();
  spec.window_size_ms = Kind::WindowSize(windows_);
  builder->topology().AddStateStore(std::move(spec), {nodes.name});
  auto info = std::make_shared<WindowedTableInfo>();
  info->close_after_end_ms = Kind::CloseAfterEnd(windows_);
  if (caching && emit_ == EmitStrategy::kOnWindowUpdate) info->caches.push_back(flush);
  return KGroupedStream<K, V>::template MakeTable<Windowed<K>, VA>(
      builder, std::move(nodes.name), Kind::template KeySerde<K>(nodes.key_serde, windows_),
      std::move(nodes.value_serde), nodes.store, std::move(info));
}

}  // namespace eventflow::streams::internal
