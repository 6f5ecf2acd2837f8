// StreamsBuilder: the entry point of the DSL. Stream() reads topics as a
// KStream; the KStream operations (kstream.h) describe the processing; Build()
// returns the Topology to run (KafkaStreams) or test (TopologyTestDriver).
//
//   StreamsBuilder builder;
//   builder.Stream<std::string, std::string>("orders")
//       .Filter([](const std::string&, const std::string& v) { return !v.empty(); })
//       .MapValues([](const std::string& v) { return static_cast<int64_t>(v.size()); })
//       .To("order-sizes");
//   Topology topology = builder.Build();
//
// Naming: every node gets a name. A name given in the options (Named,
// Consumed, Produced, Repartitioned, Branched) is used as is; otherwise the
// node gets a generated name in Kafka Streams' style, "<KIND>-<10 digits>"
// (KSTREAM-SOURCE-0000000000, KSTREAM-FILTER-0000000001, ...), from one
// counter per builder drawn in the order the operations are called — the same
// program always gets the same names, and the same names as the equivalent
// Kafka Streams program. Generated names change when an operation is added
// or removed upstream; that matters for internal topics, so a repartition
// topic without a name is logged as a warning.
//
// Table() reads a topic as a changelog: a materialized source KTable (a
// key-value store; a record with a Kafka null value is a tombstone, deleting
// its key), as Kafka Streams' builder.table(). Names as in Kafka Streams: the
// store "<topic>-STATE-STORE-<n>" unless Materialized names it, the source
// "KSTREAM-SOURCE-<n>" and the materializing processor "KTABLE-SOURCE-<n>"
// (with Consumed's name: "<name>" and "<name>-table-source").
//
// Errors: DSL calls never throw or stop; invalid input is recorded, naming the
// operation, and the built Topology's Validate() reports the first error.
//
// Lifecycle: the builder owns what its KStreams point to; keep it alive while
// using them. Build() may be called more than once (each returns a copy).
// Thread-safety: build on one thread.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/ktable_source.h"
#include "eventflow/streams/kstream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

//! Builds a Topology with the DSL (see the file comment). Movable; the
//! KStreams it handed out stay valid across a move.
class StreamsBuilder {
 public:
  //! An empty builder.
  StreamsBuilder();
  ~StreamsBuilder();
  //! Moves the builder; KStreams keep pointing to the same state.
  StreamsBuilder(StreamsBuilder&&) noexcept;
  //! Moves the builder; KStreams keep pointing to the same state.
  StreamsBuilder& operator=(StreamsBuilder&&) noexcept;

  //! Returns the records of `topic` as a stream (a source node).
  template <typename K, typename V>
  KStream<K, V> Stream(std::string topic, const Consumed<K, V>& consumed = {}) {
    return Stream<K, V>(std::vector<std::string>{std::move(topic)}, consumed);
  }
  //! Returns the records of several topics as one stream (one source node;
  //! the topics must be co-partitioned).
  template <typename K, typename V>
  KStream<K, V> Stream(std::initializer_list<std::string> topics,
                       const Consumed<K, V>& consumed = {}) {
    return Stream<K, V>(std::vector<std::string>(topics), consumed);
  }
  //! Same, with the topics in a vector.
  template <typename K, typename V>
  KStream<K, V> Stream(std::vector<std::string> topics, const Consumed<K, V>& consumed = {});

  //! Returns the records of `topic` as a table, materialized in a key-value
  //! store (see the file comment): each record's value is its key's new
  //! value, a Kafka null value deletes the key. Serdes: Materialized's, else
  //! Consumed's, else DefaultSerde. Materialized's caching is ignored (every
  //! update is written and forwarded at once). A timestamp extractor of
  //! Consumed sees each record with a value; a tombstone keeps the Kafka
  //! record timestamp.
  template <typename K, typename V>
  KTable<K, V> Table(std::string topic, const Consumed<K, V>& consumed = {},
                     const Materialized<K, V>& materialized = {});

  //! Returns the topology built so far (a copy); Validate() on it reports
  //! the first DSL error.
  Topology Build() const;

 private:
  std::unique_ptr<internal::InternalStreamsBuilder> internal_;
};

template <typename K, typename V>
KStream<K, V> StreamsBuilder::Stream(std::vector<std::string> topics,
                                     const Consumed<K, V>& consumed) {
  constexpr std::string_view kOperation = "StreamsBuilder::Stream";
  if (topics.empty()) internal_->RecordError(kOperation, "no topic given");
  for (const std::string& topic : topics) internal_->CheckName(kOperation, "topic name", topic);
  std::string name = internal_->NodeName(kOperation, consumed.name, internal::kSourceName);
  SerdePtr<K> key_serde =
      internal::ResolveSerde<K>(*internal_, kOperation, "key", consumed.key_serde, nullptr);
  SerdePtr<V> value_serde =
      internal::ResolveSerde<V>(*internal_, kOperation, "value", consumed.value_serde, nullptr);
  if (key_serde && value_serde) {
    internal_->topology().AddSource<K, V>(name, std::move(topics), key_serde, value_serde,
                                          consumed.timestamp_extractor);
  }
  return KStream<K, V>(internal_.get(), std::move(name), std::move(key_serde),
                       std::move(value_serde));
}

template <typename K, typename V>
KTable<K, V> StreamsBuilder::Table(std::string topic, const Consumed<K, V>& consumed,
                                   const Materialized<K, V>& materialized) {
  constexpr std::string_view kOperation = "StreamsBuilder::Table";
  internal_->CheckName(kOperation, "topic name", topic);
  // Kafka Streams' order of generated names: store, source, table source.
  std::string store;
  if (materialized.store_name) {
    internal_->CheckName(kOperation, "store name", *materialized.store_name);
    store = *materialized.store_name;
  } else {
    store = internal_->NewProcessorName(topic + std::string(internal::kSourceStoreSuffix));
  }
  const std::string source = internal_->NodeName(kOperation, consumed.name, internal::kSourceName);
  std::string table_source;
  if (consumed.name) {
    table_source = *consumed.name + "-table-source";
    internal_->ClaimName(kOperation, table_source);
  } else {
    table_source = internal_->NodeName(kOperation, std::nullopt, internal::kTableSourceName);
  }
  SerdePtr<K> key_serde = internal::ResolveSerde<K>(*internal_, kOperation, "key",
                                                    materialized.key_serde, consumed.key_serde);
  SerdePtr<V> value_serde = internal::ResolveSerde<V>(
      *internal_, kOperation, "value", materialized.value_serde, consumed.value_serde);
  if (key_serde && value_serde) {
    TimestampExtractor<K, std::optional<V>> extractor;
    if (consumed.timestamp_extractor) {
      extractor = [inner = consumed.timestamp_extractor](
                      const Record<K, std::optional<V>>& record) -> Result<int64_t> {
        if (!record.value) return record.timestamp;
        return inner(Record<K, V>{record.key, *record.value, record.timestamp, record.headers});
      };
    }
    Topology& topology = internal_->topology();
    topology.AddSource<K, std::optional<V>>(source, {std::move(topic)}, key_serde,
                                            Serdes::Nullable<V>(value_serde), std::move(extractor));
    topology.AddProcessor<K, std::optional<V>, K, std::optional<V>>(
        table_source,
        [store, key_serde, value_serde] {
          return std::make_unique<internal::KTableSource<K, V>>(store, key_serde, value_serde);
        },
        {source});
    StoreSpec spec;
    spec.name = store;
    spec.kind = StoreSpec::Kind::kKeyValue;
    spec.in_memory = materialized.in_memory;
    spec.logging = materialized.logging;
    spec.key_serde = key_serde->Name();
    spec.value_serde = value_serde->Name();
    topology.AddStateStore(std::move(spec), {table_source});
  }
  return KTable<K, V>(internal_.get(), table_source, std::move(key_serde), std::move(value_serde),
                      store);
}

}  // namespace eventflow::streams
