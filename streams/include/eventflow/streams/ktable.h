// KTable<K, V>: a changelog stream read as a table — the latest value per key.
//
// A KTable is a handle, like KStream: the node its updates come out of, the
// serdes known for K and V, and the name of the store that holds it when it
// is materialized (the result of a KGroupedStream aggregation). Updates flow
// as Record<K, std::optional<V>>: a value is the key's new value, nullopt a
// tombstone (the key left the table); ToStream() hands them on as such.
//
// Emit mode: an aggregation's table (KGroupedStream, and TimeWindowedKStream
// emitting on update) forwards through the task's record cache when
// Materialized::caching is on (the default) and the task has a cache
// (StreamsConfig::record_cache_ratio > 0): the last update per key once per
// commit, or earlier when the cache evicts it (see internal/cached_store.h).
// Otherwise — caching off, session and sliding windowed tables, source
// tables (StreamsBuilder::Table) and the operations below, which are not
// cached themselves — each update is forwarded as soon as it happens.
//
// Filter, FilterNot and MapValues are stateless here: they are not
// materialized (no store, no Materialized option yet) and forward only the
// new value; a row that fails a filter is forwarded as a tombstone (see
// KTableFilter in internal/ktable_processors.h). Names are generated as in
// Kafka Streams ("KTABLE-FILTER-<n>", "KTABLE-MAPVALUES-<n>",
// "KTABLE-TOSTREAM-<n>") unless Named gives one.
//
// Joins (Join, LeftJoin, OuterJoin with another KTable of the same key type,
// windowed tables included): an update of either side looks the other side's
// current value up and forwards the join, or a tombstone when the result
// disappears; see KTableKTableJoin in internal/table_table_join.h. The joiner
// takes (value, other) — or (key, value, other) — as const V& / const VO& for
// Join, const V& / const std::optional<VO>& for LeftJoin and
// std::optional of both for OuterJoin (the missing side is std::nullopt).
// Every table can be joined: a materialized one is read from its store, a
// Filter/FilterNot/MapValues result through its parent's (Kafka's value
// getters), a join result through both sides'. Both tables must be readable
// in the join's task: their stores end up in one sub-topology, whose source
// topics must be co-partitioned (checked at start-up). The result is not
// materialized. Names as in Kafka Streams: "KTABLE-MERGE-<n>" (the result),
// "KTABLE-JOINTHIS-<n>", "KTABLE-JOINOTHER-<n>", or with Named "<name>",
// "<name>-join-this", "<name>-join-other".
//
// Suppress (Kafka's suppress, see suppressed.h) holds a table's updates
// back in a changelogged buffer store and forwards each key's latest one
// when its window closes (final results of a windowed table) or after a
// time limit; "KTABLE-SUPPRESS-<n>" with store
// "KTABLE-SUPPRESS-STATE-STORE-<n>", or Suppressed's "<name>" and
// "<name>-store".
//
// Errors, user functions, lifecycle and thread-safety: as for KStream.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/suppress_processor.h"
#include "eventflow/streams/internal/table_table_join.h"
#include "eventflow/streams/internal/table_value_getters.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/kstream.h"
#include "eventflow/streams/suppressed.h"

namespace eventflow::streams {

//! A table in the DSL (see the file comment). Copyable and cheap; valid
//! while its StreamsBuilder lives.
template <typename K, typename V>
class KTable {
 public:
  //! The name of the node this table's updates come out of.
  const std::string& node_name() const { return node_; }
  //! The store holding this table (queryable through
  //! TopologyTestDriver::GetStateStore or a task's context), or nullopt when
  //! it is not materialized (the result of Filter or MapValues).
  const std::optional<std::string>& store_name() const { return store_name_; }

  //! Returns the table of the rows for which predicate(key, value) is true;
  //! an update failing it is forwarded as a tombstone.
  template <typename F>
  KTable Filter(F predicate, const Named& named = {}) const;
  //! Returns the table of the rows for which predicate(key, value) is false;
  //! an update failing it is forwarded as a tombstone.
  template <typename F>
  KTable FilterNot(F predicate, const Named& named = {}) const;
  //! Returns KTable<K, V2> of mapper(value) or mapper(key, value);
  //! tombstones stay tombstones.
  template <typename V2 = internal::Deduced, typename F>
  auto MapValues(F mapper, const Named& named = {}) const;
  //! Returns the table's updates as a stream; a tombstone is a record whose
  //! value is nullopt (written as a Kafka null by a sink).
  KStream<K, std::optional<V>> ToStream(const Named& named = {}) const;

  //! Returns the table's updates held back per `suppressed` (see
  //! suppressed.h): each key's latest update, forwarded once its window has
  //! closed (Suppressed::UntilWindowCloses, windowed tables) or its time
  //! limit has passed (UntilTimeLimit). The buffer store writes keys and
  //! values with `key_serde` / `value_serde` when given, else the table's
  //! serdes, else DefaultSerde; none is an error. The result is not
  //! materialized and cannot be read by a join.
  KTable Suppress(const Suppressed& suppressed, SerdePtr<K> key_serde = nullptr,
                  SerdePtr<V> value_serde = nullptr) const;

  //! Returns the inner join with `other`: joiner(value, other_value) or
  //! joiner(key, value, other_value) for the keys present in both tables
  //! (see the file comment).
  template <typename VO, typename F>
  auto Join(const KTable<K, VO>& other, F joiner, const Named& named = {}) const {
    return DoJoin<internal::JoinKind::kInner, VO>("KTable::Join", other, std::move(joiner), named);
  }
  //! Returns the left join with `other`: joiner(value, optional other_value)
  //! for the keys of this table.
  template <typename VO, typename F>
  auto LeftJoin(const KTable<K, VO>& other, F joiner, const Named& named = {}) const {
    return DoJoin<internal::JoinKind::kLeft, VO>("KTable::LeftJoin", other, std::move(joiner),
                                                 named);
  }
  //! Returns the full outer join with `other`: joiner(optional value,
  //! optional other_value) for the keys of either table.
  template <typename VO, typename F>
  auto OuterJoin(const KTable<K, VO>& other, F joiner, const Named& named = {}) const {
    return DoJoin<internal::JoinKind::kOuter, VO>("KTable::OuterJoin", other, std::move(joiner),
                                                  named);
  }

 private:
  template <typename K2, typename V2>
  friend class KGroupedStream;
  template <typename K2, typename V2>
  friend class KTable;
  template <typename K2, typename V2>
  friend class KStream;
  friend class StreamsBuilder;

  KTable(internal::InternalStreamsBuilder* builder, std::string node, SerdePtr<K> key_serde,
         SerdePtr<V> value_serde, std::optional<std::string> store_name,
         internal::TableValueGetterSupplier<K, V> getter = {},
         std::shared_ptr<const internal::WindowedTableInfo> windowed = nullptr)
      : builder_(builder),
        node_(std::move(node)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        store_name_(std::move(store_name)),
        getter_(std::move(getter)),
        windowed_(std::move(windowed)) {}

  // Returns how a join reads this table's current values in a task: from its
  // store when materialized, else through the getter its operation set; empty
  // when there is neither (the serdes are missing after a recorded error).
  internal::TableValueGetterSupplier<K, V> ValueGetterSupplier() const;

  template <internal::JoinKind kKind, typename VO, typename F>
  auto DoJoin(std::string_view operation, const KTable<K, VO>& other, F joiner,
              const Named& named) const;

  template <typename F>
  KTable AddFilter(std::string_view operation, F predicate, const Named& named, bool keep) const;

  internal::InternalStreamsBuilder* builder_;
  std::string node_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  std::optional<std::string> store_name_;
  internal::TableValueGetterSupplier<K, V> getter_;  // set when not materialized
  // When its windows close: set for the tables of windowed aggregations and
  // what derives from them (Filter, MapValues, joins of two such tables).
  std::shared_ptr<const internal::WindowedTableInfo> windowed_;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
template <typename F>
KTable<K, V> KTable<K, V>::AddFilter(std::string_view operation, F predicate, const Named& named,
                                     bool keep) const {
  static_assert(std::is_invocable_r_v<bool, F&, const K&, const V&>,
                "KTable::Filter/FilterNot: the predicate must be callable as "
                "(const K& key, const V& value) and return bool");
  auto fn = std::make_shared<const internal::Predicate<K, V>>(std::move(predicate));
  if (!*fn) builder_->RecordError(operation, "the function is empty");
  std::string name = builder_->NodeName(operation, named.name, internal::kTableFilterName);
  builder_->topology().AddProcessor<K, std::optional<V>, K, std::optional<V>>(
      name, [fn, keep] { return std::make_unique<internal::KTableFilter<K, V>>(fn, keep); },
      {node_});
  internal::TableValueGetterSupplier<K, V> getter;
  if (auto parent = ValueGetterSupplier()) {
    getter = [parent, fn, keep] {
      return std::make_unique<internal::FilterGetter<K, V>>(parent(), fn, keep);
    };
  }
  return KTable(builder_, std::move(name), key_serde_, value_serde_, std::nullopt,
                std::move(getter), windowed_);
}

template <typename K, typename V>
template <typename F>
KTable<K, V> KTable<K, V>::Filter(F predicate, const Named& named) const {
  return AddFilter("KTable::Filter", std::move(predicate), named, true);
}

template <typename K, typename V>
template <typename F>
KTable<K, V> KTable<K, V>::FilterNot(F predicate, const Named& named) const {
  return AddFilter("KTable::FilterNot", std::move(predicate), named, false);
}

template <typename K, typename V>
template <typename V2, typename F>
auto KTable<K, V>::MapValues(F mapper, const Named& named) const {
  static_assert(std::is_invocable_v<F&, const K&, const V&> || std::is_invocable_v<F&, const V&>,
                "KTable::MapValues: the mapper must be callable as (const V& value) or "
                "(const K& key, const V& value)");
  constexpr std::string_view kOperation = "KTable::MapValues";
  auto keyed = internal::WithKey<K, V>(std::move(mapper));
  using VOut =
      internal::OrDeduced<V2,
                          std::decay_t<std::invoke_result_t<decltype(keyed)&, const K&, const V&>>>;
  using Processor = internal::KTableMapValues<K, V, VOut>;
  auto fn = std::make_shared<const typename Processor::Mapper>(std::move(keyed));
  if (!*fn) builder_->RecordError(kOperation, "the function is empty");
  std::string name = builder_->NodeName(kOperation, named.name, internal::kTableMapValuesName);
  builder_->topology().AddProcessor<K, std::optional<V>, K, std::optional<VOut>>(
      name, [fn] { return std::make_unique<Processor>(fn); }, {node_});
  internal::TableValueGetterSupplier<K, VOut> getter;
  if (auto parent = ValueGetterSupplier()) {
    getter = [parent, fn] {
      return std::make_unique<internal::MapValuesGetter<K, V, VOut>>(parent(), fn);
    };
  }
  return KTable<K, VOut>(builder_, std::move(name), key_serde_, nullptr, std::nullopt,
                         std::move(getter), windowed_);
}

template <typename K, typename V>
KStream<K, std::optional<V>> KTable<K, V>::ToStream(const Named& named) const {
  constexpr std::string_view kOperation = "KTable::ToStream";
  std::string name = builder_->NodeName(kOperation, named.name, internal::kTableToStreamName);
  builder_->topology().AddProcessor<K, std::optional<V>, K, std::optional<V>>(
      name, [] { return std::make_unique<internal::KStreamPassThrough<K, std::optional<V>>>(); },
      {node_});
  SerdePtr<std::optional<V>> value_serde;
  if (value_serde_) value_serde = Serdes::Nullable<V>(value_serde_);
  return KStream<K, std::optional<V>>(builder_, std::move(name), key_serde_,
                                      std::move(value_serde));
}

template <typename K, typename V>
KTable<K, V> KTable<K, V>::Suppress(const Suppressed& suppressed, SerdePtr<K> key_serde,
                                    SerdePtr<V> value_serde) const {
  constexpr std::string_view kOperation = "KTable::Suppress";
  const internal::SuppressNames names = builder_->DrawSuppressNames(kOperation, suppressed.name);
  internal::SuppressSpec spec;
  const bool valid = builder_->ResolveSuppress(kOperation, suppressed,
                                               internal::WindowedKey<K>::value, windowed_.get(),
                                               &spec);
  key_serde = internal::ResolveSerde<K>(*builder_, kOperation, "key", key_serde, key_serde_);
  value_serde =
      internal::ResolveSerde<V>(*builder_, kOperation, "value", value_serde, value_serde_);
  if (valid && key_serde && value_serde) {
    Topology& topology = builder_->topology();
    topology.AddProcessor<K, std::optional<V>, K, std::optional<V>>(
        names.name,
        [store = names.store, spec, key_serde, value_serde] {
          return std::make_unique<internal::KTableSuppress<K, V>>(store, spec, key_serde,
                                                                  value_serde);
        },
        {node_});
    StoreSpec store;
    store.name = names.store;
    store.kind = StoreSpec::Kind::kKeyValue;
    store.logging = suppressed.buffer.logging;
    topology.AddStateStore(std::move(store), {names.name});
  }
  return KTable(builder_, names.name, std::move(key_serde), std::move(value_serde), std::nullopt,
                {}, windowed_);
}

template <typename K, typename V>
internal::TableValueGetterSupplier<K, V> KTable<K, V>::ValueGetterSupplier() const {
  if (getter_) return getter_;
  if (!store_name_ || !key_serde_ || !value_serde_) return {};
  const StoreSpec* spec = builder_->topology().FindStore(*store_name_);
  if (spec == nullptr) return {};
  const std::string store = *store_name_;
  SerdePtr<K> key_serde = key_serde_;
  SerdePtr<V> value_serde = value_serde_;
  if (spec->kind == StoreSpec::Kind::kKeyValue) {
    return [store, key_serde, value_serde] {
      return std::make_unique<internal::KeyValueStoreGetter<K, V>>(store, key_serde, value_serde);
    };
  }
  if constexpr (internal::WindowedKey<K>::value) {
    if (spec->kind == StoreSpec::Kind::kWindow) {
      using KI = typename internal::WindowedKey<K>::Inner;
      return [store, key_serde, value_serde] {
        return std::make_unique<internal::WindowStoreGetter<KI, V>>(store, key_serde, value_serde);
      };
    }
  }
  return {};
}

template <typename K, typename V>
template <internal::JoinKind kKind, typename VO, typename F>
auto KTable<K, V>::DoJoin(std::string_view operation, const KTable<K, VO>& other, F joiner,
                          const Named& named) const {
  using VR = internal::JoinerResult<kKind, K, V, VO, F>;
  static_assert(!std::is_void_v<VR>,
                "KTable::Join/LeftJoin/OuterJoin: the joiner must be callable as (a, b) or "
                "(const K& key, a, b), with a = const V& (OuterJoin: const std::optional<V>&) "
                "and b = const VO& (LeftJoin, OuterJoin: const std::optional<VO>&)");
  using Fn = internal::JoinFn<K, V, VO, VR>;
  auto fn =
      std::make_shared<const Fn>(internal::MakeJoiner<kKind, K, V, VO, VR>(std::move(joiner)));
  if (other.builder_ != builder_) {
    builder_->RecordError(operation,
                          "table \"" + other.node_ + "\" belongs to another StreamsBuilder");
    return KTable<K, VR>(builder_, node_, key_serde_, nullptr, std::nullopt);
  }
  internal::TableValueGetterSupplier<K, V> this_getter = ValueGetterSupplier();
  internal::TableValueGetterSupplier<K, VO> other_getter = other.ValueGetterSupplier();
  if (!this_getter) builder_->RecordUnreadableTable(operation, node_);
  if (!other_getter) builder_->RecordUnreadableTable(operation, other.node_);
  const internal::TableJoinNames names = builder_->DrawTableJoinNames(operation, named.name);
  const std::string& merge = names.merge;
  const std::string& join_this = names.join_this;
  const std::string& join_other = names.join_other;
  if (!this_getter || !other_getter) {
    return KTable<K, VR>(builder_, merge, key_serde_, nullptr, std::nullopt);  // error recorded
  }
  Topology& topology = builder_->topology();
  topology.AddProcessor<K, std::optional<V>, K, std::optional<VR>>(
      join_this,
      [other_getter, fn] {
        return std::make_unique<internal::KTableKTableJoin<K, V, VO, VR, true>>(kKind,
                                                                                other_getter(), fn);
      },
      {node_});
  topology.AddProcessor<K, std::optional<VO>, K, std::optional<VR>>(
      join_other,
      [this_getter, fn] {
        return std::make_unique<internal::KTableKTableJoin<K, VO, V, VR, false>>(kKind,
                                                                                 this_getter(), fn);
      },
      {other.node_});
  topology.AddProcessor<K, std::optional<VR>, K, std::optional<VR>>(
      merge, [] { return std::make_unique<internal::KStreamPassThrough<K, std::optional<VR>>>(); },
      {join_this, join_other});
  internal::TableValueGetterSupplier<K, VR> getter = [this_getter, other_getter, fn] {
    return std::make_unique<internal::TableJoinGetter<K, V, VO, VR>>(kKind, this_getter(),
                                                                     other_getter(), fn);
  };
  return KTable<K, VR>(builder_, merge, key_serde_ ? key_serde_ : other.key_serde_, nullptr,
                       std::nullopt, std::move(getter),
                       internal::JoinedWindowedTableInfo(windowed_, other.windowed_));
}

}  // namespace eventflow::streams
