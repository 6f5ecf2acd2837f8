// InternalStreamsBuilder: the state behind a StreamsBuilder and its KStreams —
// the Topology being built, the generated-name counter, the names in use and
// the first DSL error. Not for user code (use StreamsBuilder).
//
// The DSL writes into the Topology as each operation is called (there is no
// logical plan to optimise yet). A DSL error is recorded in the Topology
// (Topology::RecordError), so Validate() — and everything that runs a
// topology — reports it; the first error wins and later operations become
// no-ops there.
//
// Lifecycle: owned by StreamsBuilder; KStream handles point to it and must
// not outlive the builder. Thread-safety: build on one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>

#include "eventflow/core/status.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {
struct Suppressed;
}  // namespace eventflow::streams

namespace eventflow::streams::internal {

struct SuppressSpec;
struct WindowedTableInfo;

//! Generated-name prefixes, as in Kafka Streams (KStreamImpl, KTableImpl and
//! friends): every node and store name the DSL generates starts with one.
inline constexpr std::string_view kSourceName = "KSTREAM-SOURCE-";
inline constexpr std::string_view kSinkName = "KSTREAM-SINK-";
inline constexpr std::string_view kFilterName = "KSTREAM-FILTER-";
inline constexpr std::string_view kMapName = "KSTREAM-MAP-";
inline constexpr std::string_view kMapValuesName = "KSTREAM-MAPVALUES-";
inline constexpr std::string_view kFlatMapName = "KSTREAM-FLATMAP-";
inline constexpr std::string_view kFlatMapValuesName = "KSTREAM-FLATMAPVALUES-";
inline constexpr std::string_view kPeekName = "KSTREAM-PEEK-";
inline constexpr std::string_view kForeachName = "KSTREAM-FOREACH-";
inline constexpr std::string_view kBranchName = "KSTREAM-BRANCH-";
inline constexpr std::string_view kMergeName = "KSTREAM-MERGE-";
inline constexpr std::string_view kKeySelectName = "KSTREAM-KEY-SELECT-";
inline constexpr std::string_view kRepartitionName = "KSTREAM-REPARTITION-";
inline constexpr std::string_view kProcessorName = "KSTREAM-PROCESSOR-";
inline constexpr std::string_view kAggregateName = "KSTREAM-AGGREGATE-";
inline constexpr std::string_view kReduceName = "KSTREAM-REDUCE-";
//! Appended to kAggregateName / kReduceName / kSuppressName for generated store names.
inline constexpr std::string_view kStateStoreName = "STATE-STORE-";
inline constexpr std::string_view kWindowedName = "KSTREAM-WINDOWED-";
inline constexpr std::string_view kJoinThisName = "KSTREAM-JOINTHIS-";
inline constexpr std::string_view kJoinOtherName = "KSTREAM-JOINOTHER-";
inline constexpr std::string_view kOuterThisName = "KSTREAM-OUTERTHIS-";
inline constexpr std::string_view kOuterOtherName = "KSTREAM-OUTEROTHER-";
inline constexpr std::string_view kOuterSharedName = "KSTREAM-OUTERSHARED-";
inline constexpr std::string_view kStreamTableJoinName = "KSTREAM-JOIN-";
inline constexpr std::string_view kStreamTableLeftJoinName = "KSTREAM-LEFTJOIN-";
inline constexpr std::string_view kTableFilterName = "KTABLE-FILTER-";
inline constexpr std::string_view kTableMapValuesName = "KTABLE-MAPVALUES-";
inline constexpr std::string_view kTableToStreamName = "KTABLE-TOSTREAM-";
inline constexpr std::string_view kTableJoinThisName = "KTABLE-JOINTHIS-";
inline constexpr std::string_view kTableJoinOtherName = "KTABLE-JOINOTHER-";
inline constexpr std::string_view kTableMergeName = "KTABLE-MERGE-";
inline constexpr std::string_view kTableSourceName = "KTABLE-SOURCE-";
inline constexpr std::string_view kSuppressName = "KTABLE-SUPPRESS-";
//! Appended to a topic name for the generated store of a source table.
inline constexpr std::string_view kSourceStoreSuffix = "-STATE-STORE-";

//! Suffix of repartition topics ("<name>-repartition").
inline constexpr std::string_view kRepartitionTopicSuffix = "-repartition";

//! The nodes of a repartition topic (see InternalStreamsBuilder::DeclareRepartition).
struct RepartitionNodes {
  std::string topic;   //!< "<stem>-repartition"
  std::string sink;    //!< writes the topic
  std::string filter;  //!< drops null keys before the sink (when asked for)
  std::string source;  //!< reads the topic
};

//! The names of an aggregation (see InternalStreamsBuilder::DrawAggregateNames).
struct AggregateNames {
  std::string store;         //!< the store's name
  std::string name;          //!< the aggregating processor's name
  bool store_named = false;  //!< the store name was given (Materialized::As)
};

//! The nodes and stores of a KStream-KStream join (see
//! InternalStreamsBuilder::DrawStreamJoinNames; stream_join_dsl.h names them).
struct StreamJoinNames {
  std::string this_windowed;
  std::string other_windowed;
  std::string join_this;
  std::string join_other;
  std::string merge;
  std::string this_store;
  std::string other_store;
  std::optional<std::string> outer_store;  //!< left and outer joins
};

//! The node and store of a suppression (see KTable::Suppress).
struct SuppressNames {
  std::string name;   //!< the node: Suppressed's name, else "KTABLE-SUPPRESS-<n>"
  std::string store;  //!< "<name>-store", else "KTABLE-SUPPRESS-STATE-STORE-<n>"
};

//! The nodes of a KTable-KTable join (see ktable.h).
struct TableJoinNames {
  std::string merge;
  std::string join_this;
  std::string join_other;
};

class InternalStreamsBuilder {
 public:
  //! The topology being built.
  Topology& topology() { return topology_; }

  //! Returns "<prefix><counter as 10 digits>" and increments the counter.
  std::string NewProcessorName(std::string_view prefix);

  //! Returns the node name for `operation`: `user_name` when given, else a new
  //! generated name with `prefix`. A user name that is illegal or already in
  //! use records an error naming `operation` (the name is returned anyway).
  std::string NodeName(std::string_view operation, const std::optional<std::string>& user_name,
                       std::string_view prefix);

  //! Records a node name used by the DSL; an error naming `operation` when it
  //! is already in use. Returns false on error.
  bool ClaimName(std::string_view operation, const std::string& name);

  //! Checks a user-given name (node name or topic name stem); records an
  //! error naming `operation` and returns false when it is illegal.
  bool CheckName(std::string_view operation, std::string_view what, const std::string& name);

  //! Records "<operation>: <message>" as an InvalidArgument error.
  void RecordError(std::string_view operation, std::string_view message);

  //! Records the error for a missing `what` serde of `type` in `operation`.
  void RecordMissingSerde(std::string_view operation, std::string_view what,
                          const std::type_info& type);

  //! Draws and claims the names of a repartition after a node: the internal
  //! topic "<stem>-repartition" (the stem as given when it already ends so),
  //! declared here, its sink, filter (claimed only with `null_key_filter`)
  //! and source. Names are drawn as Kafka Streams draws them (sink, filter,
  //! source), and are "<topic>-sink/-filter/-source" unless `generated_names`.
  RepartitionNodes DeclareRepartition(std::string_view operation, const std::string& stem,
                                      bool generated_names, int num_partitions,
                                      bool null_key_filter);

  //! Draws the store and processor names of an aggregation in Kafka Streams'
  //! order (store, processor): the store Materialized's (checked) or
  //! "<prefix>STATE-STORE-<n>", the processor Named's or "<prefix><n>".
  AggregateNames DrawAggregateNames(std::string_view operation, std::string_view prefix,
                                    const std::optional<std::string>& store_name,
                                    const std::optional<std::string>& node_name);

  //! Draws and claims the names of a KStream-KStream join (after its
  //! repartitions, as Kafka Streams does), from StreamJoined's `name` and
  //! `store_name` when given; see stream_join_dsl.h.
  StreamJoinNames DrawStreamJoinNames(std::string_view operation,
                                      const std::optional<std::string>& name,
                                      const std::optional<std::string>& store_name,
                                      bool left_outer, bool right_outer);

  //! Adds the stores of a KStream-KStream join named `names` (window stores,
  //! with duplicates but the outer one, retention before + after + grace,
  //! at least 1 ms) and connects them to its processors. The serde names are
  //! recorded for tools (StoreSpec::key_serde): the join window stores hold
  //! each side's serialized records.
  void AddStreamJoinStores(const StreamJoinNames& names, int64_t retention_ms, bool in_memory,
                           bool logging, std::string_view key_serde,
                           std::string_view this_value_serde,
                           std::string_view other_value_serde);

  //! Draws and claims the names of a KTable-KTable join from Named's `name`.
  TableJoinNames DrawTableJoinNames(std::string_view operation,
                                    const std::optional<std::string>& name);

  //! Draws the node and store names of a suppression (node first, as Kafka
  //! Streams draws them).
  SuppressNames DrawSuppressNames(std::string_view operation,
                                  const std::optional<std::string>& name);

  //! Checks a suppression of a table (`windowed_key`: its key is
  //! Windowed<K>; `windowed`: what it knows of when its windows close, may be
  //! nullptr) and resolves it into *spec; records an error naming
  //! `operation` and returns false when it cannot be applied. For
  //! UntilWindowCloses it asks the caching aggregations upstream to flush
  //! their cache as windows close.
  bool ResolveSuppress(std::string_view operation, const Suppressed& suppressed,
                       bool windowed_key, const WindowedTableInfo* windowed, SuppressSpec* spec);

  //! Records that a join cannot read the table of node `table` (neither
  //! materialized nor derived from a table that is).
  void RecordUnreadableTable(std::string_view operation, const std::string& table);

  //! Logs the warning for a repartition topic whose name was generated;
  //! `how_to_name` tells the user which option names it.
  static void WarnGeneratedRepartitionTopic(
      std::string_view operation, const std::string& topic,
      std::string_view how_to_name = "Repartition(Repartitioned<K, V>::As(\"<name>\"))");

 private:
  Topology topology_;
  int64_t index_ = 0;
  std::set<std::string, std::less<>> names_;  // every node name handed out
};

}  // namespace eventflow::streams::internal
