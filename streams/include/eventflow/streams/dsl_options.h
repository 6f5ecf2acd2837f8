// Options of the DSL operations (Kafka Streams' Consumed, Produced, Named,
// Repartitioned, Branched, Grouped, Materialized, StreamJoined, Joined) and
// the default serdes the DSL falls back on.
//
// Each option struct is a plain aggregate whose empty fields mean "not set":
// a nullptr serde means the stream's own serde (or the default serde for the
// type, see DefaultSerde), a nullopt name means a generated node name. They
// are written either Kafka-style with the static factories and With...()
// methods, or with designated initializers:
//   stream.To("out", Produced<std::string, int64_t>::With(Serdes::String(), Serdes::Int64()));
//   stream.Repartition({.name = "by-user", .num_partitions = 6});
// A name given here is a node name (and for Repartitioned, the repartition
// topic's name stem); it must be 1 to 249 ASCII letters, digits, '.', '_' or
// '-', and unique within the topology.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "eventflow/streams/serde.h"
#include "eventflow/streams/source_sink.h"

namespace eventflow::streams {

//! A key-value pair, as returned by Map() and FlatMap() mappers.
template <typename K, typename V>
using KeyValue = std::pair<K, V>;

namespace internal {
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
}  // namespace internal

//! Returns the serde the DSL uses for T when none is given: string, int64_t,
//! double, std::monostate (always null) and std::optional of those; nullptr
//! for other types (they need an explicit serde where they meet a topic).
template <typename T>
SerdePtr<T> DefaultSerde() {
  if constexpr (std::is_same_v<T, std::string>) {
    return Serdes::String();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return Serdes::Int64();
  } else if constexpr (std::is_same_v<T, double>) {
    return Serdes::Double();
  } else if constexpr (std::is_same_v<T, std::monostate>) {
    return Serdes::Void();
  } else if constexpr (internal::IsOptional<T>::value) {
    auto inner = DefaultSerde<typename T::value_type>();
    return inner ? Serdes::Nullable(std::move(inner)) : nullptr;
  } else {
    return nullptr;
  }
}

//! The name of a processor node (Kafka's Named).
struct Named {
  std::optional<std::string> name{};  //!< nullopt: a generated name, e.g. KSTREAM-FILTER-0000000001

  //! Returns options naming the node `name`.
  static Named As(std::string name) { return Named{std::move(name)}; }
};

//! How a source reads its topics (Kafka's Consumed).
template <typename K, typename V>
struct Consumed {
  SerdePtr<K> key_serde{};                         //!< nullptr: DefaultSerde<K>()
  SerdePtr<V> value_serde{};                       //!< nullptr: DefaultSerde<V>()
  TimestampExtractor<K, V> timestamp_extractor{};  //!< empty: the Kafka record timestamp
  std::optional<std::string> name{};               //!< source node name; nullopt: generated

  //! Returns options with these serdes.
  static Consumed With(SerdePtr<K> key_serde, SerdePtr<V> value_serde) {
    return Consumed{std::move(key_serde), std::move(value_serde), {}, std::nullopt};
  }
  //! Returns options naming the source node `name`.
  static Consumed As(std::string name) { return Consumed{{}, {}, {}, std::move(name)}; }
  //! Returns a copy with the source node named `name`.
  Consumed WithName(std::string node_name) const {
    Consumed c = *this;
    c.name = std::move(node_name);
    return c;
  }
  //! Returns a copy with this timestamp extractor.
  Consumed WithTimestampExtractor(TimestampExtractor<K, V> extractor) const {
    Consumed c = *this;
    c.timestamp_extractor = std::move(extractor);
    return c;
  }
};

//! How a sink writes its topic (Kafka's Produced).
template <typename K, typename V>
struct Produced {
  SerdePtr<K> key_serde{};            //!< nullptr: the stream's key serde, else DefaultSerde<K>()
  SerdePtr<V> value_serde{};          //!< nullptr: the stream's value serde, else DefaultSerde<V>()
  std::optional<std::string> name{};  //!< sink node name; nullopt: generated

  //! Returns options with these serdes.
  static Produced With(SerdePtr<K> key_serde, SerdePtr<V> value_serde) {
    return Produced{std::move(key_serde), std::move(value_serde), std::nullopt};
  }
  //! Returns options naming the sink node `name`.
  static Produced As(std::string name) { return Produced{{}, {}, std::move(name)}; }
  //! Returns a copy with the sink node named `name`.
  Produced WithName(std::string node_name) const {
    Produced p = *this;
    p.name = std::move(node_name);
    return p;
  }
};

//! How KStream::Repartition() writes and reads its repartition topic
//! "<application.id>-<name>-repartition" (Kafka's Repartitioned).
template <typename K, typename V>
struct Repartitioned {
  //! The topic's name stem, also naming its sink ("<name>-repartition-sink") and
  //! source ("<name>-repartition-source") nodes. nullopt: a generated name and a
  //! warning, since a generated name changes when the topology changes.
  std::optional<std::string> name{};
  //! Partitions of the topic; nullopt: as many as the input of the
  //! sub-topology that writes it.
  std::optional<int> num_partitions{};
  SerdePtr<K> key_serde{};    //!< nullptr: the stream's key serde, else DefaultSerde<K>()
  SerdePtr<V> value_serde{};  //!< nullptr: the stream's value serde, else DefaultSerde<V>()

  //! Returns options naming the topic "<name>-repartition".
  static Repartitioned As(std::string name) {
    return Repartitioned{std::move(name), std::nullopt, {}, {}};
  }
  //! Returns options with these serdes.
  static Repartitioned With(SerdePtr<K> key_serde, SerdePtr<V> value_serde) {
    return Repartitioned{std::nullopt, std::nullopt, std::move(key_serde), std::move(value_serde)};
  }
  //! Returns options with `partitions` partitions.
  static Repartitioned NumberOfPartitions(int partitions) {
    return Repartitioned{std::nullopt, partitions, {}, {}};
  }
  //! Returns a copy naming the topic "<name>-repartition".
  Repartitioned WithName(std::string topic_stem) const {
    Repartitioned r = *this;
    r.name = std::move(topic_stem);
    return r;
  }
  //! Returns a copy with `partitions` partitions.
  Repartitioned WithNumberOfPartitions(int partitions) const {
    Repartitioned r = *this;
    r.num_partitions = partitions;
    return r;
  }
};

//! The name of one branch of KStream::Split() (Kafka's Branched).
struct Branched {
  //! Appended to the split's name to name the branch node and its map key;
  //! nullopt: the branch's position ("1", "2", ...; "0" for the default branch).
  std::optional<std::string> name{};

  //! Returns options naming the branch `name`.
  static Branched As(std::string name) { return Branched{std::move(name)}; }
};

//! How KStream::GroupByKey() / GroupBy() group records (Kafka's Grouped).
template <typename K, typename V>
struct Grouped {
  //! Names the repartition topic "<application.id>-<name>-repartition" (when
  //! one is needed) and its "<name>-repartition-sink/-filter/-source" nodes;
  //! for GroupBy() also the key-selecting node. nullopt: the topic is named
  //! after the aggregation's store ("<store>-repartition"), and when that
  //! name is generated too, a warning is logged.
  std::optional<std::string> name{};
  SerdePtr<K> key_serde{};    //!< nullptr: the stream's key serde, else DefaultSerde<K>()
  SerdePtr<V> value_serde{};  //!< nullptr: the stream's value serde, else DefaultSerde<V>()

  //! Returns options with the name `name`.
  static Grouped As(std::string name) { return Grouped{std::move(name), {}, {}}; }
  //! Returns options with these serdes.
  static Grouped With(SerdePtr<K> key_serde, SerdePtr<V> value_serde) {
    return Grouped{std::nullopt, std::move(key_serde), std::move(value_serde)};
  }
  //! Returns a copy with the name `name`.
  Grouped WithName(std::string grouping_name) const {
    Grouped g = *this;
    g.name = std::move(grouping_name);
    return g;
  }
};

//! How an aggregation keeps its key-value store (Kafka's Materialized): the
//! store's name, the serdes its keys and values are stored with, and where.
template <typename K, typename V>
struct Materialized {
  //! The store's name, which also names its changelog topic
  //! "<application.id>-<name>-changelog"; nullopt: a generated name such as
  //! "KSTREAM-AGGREGATE-STATE-STORE-0000000002", as Kafka Streams names it.
  std::optional<std::string> store_name{};
  SerdePtr<K> key_serde{};    //!< nullptr: the grouped stream's key serde, else DefaultSerde<K>()
  SerdePtr<V> value_serde{};  //!< nullptr: the operation's default (see KGroupedStream)
  bool in_memory = false;     //!< std::map instead of RocksDB (still changelogged)
  bool logging = true;        //!< false: no changelog (the state is lost with the task)
  //! Through the task's record cache (emit on update: one update per key per
  //! commit downstream and to the changelog); false: every update at once.
  bool caching = true;
  //! How long a window store keeps a window (windowed aggregations); nullopt:
  //! window size + grace, so a window is dropped as soon as it closes. Longer
  //! keeps closed windows readable — e.g. for a join of two emit-on-close
  //! windowed tables, whose lookups must still find the other side's window.
  std::optional<std::chrono::milliseconds> retention{};

  //! Returns options naming the store `store_name`.
  static Materialized As(std::string store_name) {
    return Materialized{std::move(store_name), {}, {}, false, true};
  }
  //! Returns options with these serdes.
  static Materialized With(SerdePtr<K> key_serde, SerdePtr<V> value_serde) {
    return Materialized{std::nullopt, std::move(key_serde), std::move(value_serde), false, true};
  }
  //! Returns a copy with this key serde.
  Materialized WithKeySerde(SerdePtr<K> serde) const {
    Materialized m = *this;
    m.key_serde = std::move(serde);
    return m;
  }
  //! Returns a copy with this value serde.
  Materialized WithValueSerde(SerdePtr<V> serde) const {
    Materialized m = *this;
    m.value_serde = std::move(serde);
    return m;
  }
  //! Returns a copy that keeps the store in memory.
  Materialized WithInMemoryStore() const {
    Materialized m = *this;
    m.in_memory = true;
    return m;
  }
  //! Returns a copy whose window store keeps windows for `retention` (at
  //! least window size + grace; see `retention`).
  Materialized WithRetention(std::chrono::milliseconds keep) const {
    Materialized m = *this;
    m.retention = keep;
    return m;
  }
  //! Returns a copy that forwards (and logs) every update at once.
  Materialized WithCachingDisabled() const {
    Materialized m = *this;
    m.caching = false;
    return m;
  }
  //! Returns a copy without a changelog topic.
  Materialized WithLoggingDisabled() const {
    Materialized m = *this;
    m.logging = false;
    return m;
  }
};

//! How KStream::Join/LeftJoin/OuterJoin(KStream, ..., JoinWindows) name and
//! keep their stores (Kafka's StreamJoined). Each side is kept in a window
//! store with duplicates ("<base>-this-join-store" / "<base>-other-join-store",
//! or "-outer-this-join-store" / "-outer-other-join-store" for the sides
//! whose unmatched records are kept); left and outer joins add the shared
//! store of unmatched records "<base>-left-shared-join-store" /
//! "<base>-outer-shared-join-store". Unnamed, the stores are named after the
//! join processors as in Kafka Streams ("KSTREAM-JOINTHIS-0000000004-store",
//! "KSTREAM-OUTERSHARED-0000000004-store").
template <typename K, typename V1, typename V2>
struct StreamJoined {
  //! Names the processors "<name>-this-windowed", "<name>-other-windowed",
  //! "<name>-[outer-]this-join", "<name>-[outer-]other-join", "<name>-merge"
  //! and, when a side needs one, its repartition topic
  //! "<name>-left-repartition" / "<name>-right-repartition". nullopt:
  //! generated names.
  std::optional<std::string> name{};
  //! The stores' base name (see the struct comment); nullopt: generated.
  std::optional<std::string> store_name{};
  //! nullptr: the left stream's key serde, else the right's, else DefaultSerde<K>().
  SerdePtr<K> key_serde{};
  //! nullptr: the left stream's value serde, else DefaultSerde<V1>().
  SerdePtr<V1> value_serde{};
  //! nullptr: the right stream's value serde, else DefaultSerde<V2>().
  SerdePtr<V2> other_value_serde{};
  bool in_memory = false;  //!< std::map instead of RocksDB (still changelogged)
  bool logging = true;     //!< false: no changelog topics

  //! Returns options with these serdes.
  static StreamJoined With(SerdePtr<K> key_serde, SerdePtr<V1> value_serde,
                           SerdePtr<V2> other_value_serde) {
    StreamJoined j;
    j.key_serde = std::move(key_serde);
    j.value_serde = std::move(value_serde);
    j.other_value_serde = std::move(other_value_serde);
    return j;
  }
  //! Returns options naming the stores after `store_name`.
  static StreamJoined As(std::string store_name) {
    StreamJoined j;
    j.store_name = std::move(store_name);
    return j;
  }
  //! Returns a copy naming the processors after `name`.
  StreamJoined WithName(std::string processor_name) const {
    StreamJoined j = *this;
    j.name = std::move(processor_name);
    return j;
  }
  //! Returns a copy naming the stores after `store_name`.
  StreamJoined WithStoreName(std::string base) const {
    StreamJoined j = *this;
    j.store_name = std::move(base);
    return j;
  }
  //! Returns a copy that keeps the stores in memory.
  StreamJoined WithInMemoryStores() const {
    StreamJoined j = *this;
    j.in_memory = true;
    return j;
  }
  //! Returns a copy without changelog topics.
  StreamJoined WithLoggingDisabled() const {
    StreamJoined j = *this;
    j.logging = false;
    return j;
  }
};

//! How KStream::Join/LeftJoin(KTable, ...) name the join and serialize the
//! stream's records when it must repartition them (Kafka's Joined).
template <typename K, typename V, typename VT>
struct Joined {
  //! Names the join processor and, when the stream needs one, its
  //! repartition topic "<name>-repartition"; nullopt: generated names.
  std::optional<std::string> name{};
  //! nullptr: the stream's key serde, else the table's, else DefaultSerde<K>().
  SerdePtr<K> key_serde{};
  //! nullptr: the stream's value serde, else DefaultSerde<V>().
  SerdePtr<V> value_serde{};
  //! Unused: the table keeps its own serde (kept for Kafka parity).
  SerdePtr<VT> other_value_serde{};

  //! Returns options with these serdes.
  static Joined With(SerdePtr<K> key_serde, SerdePtr<V> value_serde,
                     SerdePtr<VT> other_value_serde = nullptr) {
    Joined j;
    j.key_serde = std::move(key_serde);
    j.value_serde = std::move(value_serde);
    j.other_value_serde = std::move(other_value_serde);
    return j;
  }
  //! Returns options naming the join `name`.
  static Joined As(std::string name) {
    Joined j;
    j.name = std::move(name);
    return j;
  }
  //! Returns a copy naming the join `name`.
  Joined WithName(std::string join_name) const {
    Joined j = *this;
    j.name = std::move(join_name);
    return j;
  }
};

}  // namespace eventflow::streams
