// KTable<K, V>: a changelog stream read as a table — the latest value per key.
//
// A KTable is a handle, like KStream: the node its updates come out of, the
// serdes known for K and V, and the name of the store that holds it when it
// is materialized (the result of a KGroupedStream aggregation). Updates flow
// as Record<K, std::optional<V>>: a value is the key's new value, nullopt a
// tombstone (the key left the table); ToStream() hands them on as such.
//
// Emit mode: every update is forwarded downstream as soon as it happens. The
// record cache that Kafka Streams uses to forward only the last update per
// key and commit interval is not wired into the DSL yet.
//
// Filter, FilterNot and MapValues are stateless here: they are not
// materialized (no store, no Materialized option yet) and forward only the
// new value; a row that fails a filter is forwarded as a tombstone (see
// KTableFilter in internal/ktable_processors.h). Names are generated as in
// Kafka Streams ("KTABLE-FILTER-<n>", "KTABLE-MAPVALUES-<n>",
// "KTABLE-TOSTREAM-<n>") unless Named gives one.
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
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/kstream.h"

namespace eventflow::streams {

namespace internal {
inline constexpr std::string_view kTableFilterName = "KTABLE-FILTER-";
inline constexpr std::string_view kTableMapValuesName = "KTABLE-MAPVALUES-";
inline constexpr std::string_view kTableToStreamName = "KTABLE-TOSTREAM-";
}  // namespace internal

template <typename K, typename V>
class TimeWindowedKStream;

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

 private:
  template <typename K2, typename V2>
  friend class KGroupedStream;
  template <typename K2, typename V2>
  friend class TimeWindowedKStream;
  template <typename K2, typename V2>
  friend class KTable;

  KTable(internal::InternalStreamsBuilder* builder, std::string node, SerdePtr<K> key_serde,
         SerdePtr<V> value_serde, std::optional<std::string> store_name)
      : builder_(builder),
        node_(std::move(node)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        store_name_(std::move(store_name)) {}

  template <typename F>
  KTable AddFilter(std::string_view operation, F predicate, const Named& named, bool keep) const;

  internal::InternalStreamsBuilder* builder_;
  std::string node_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  std::optional<std::string> store_name_;
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
  return KTable(builder_, std::move(name), key_serde_, value_serde_, std::nullopt);
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
  return KTable<K, VOut>(builder_, std::move(name), key_serde_, nullptr, std::nullopt);
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

}  // namespace eventflow::streams
