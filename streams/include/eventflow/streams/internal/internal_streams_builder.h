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

#include "eventflow/core/status.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams::internal {

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
