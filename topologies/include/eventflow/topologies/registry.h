// The registry of named topologies that the eventflow binary can run
// (`eventflow run --topology NAME`, `eventflow topologies`):
//
//   eventflow                 all four pipeline topologies in one application (default)
//   orders_raw, revenue_by_currency_5min, conversion_funnel_5min, order_attribution
//                             one pipeline topology alone (pipeline.h)
//
// Each entry builds its Topology from PipelineOptions and lists the topics it
// reads and writes (with the prefix applied), so that the runner can create
// them. Thread-safety: the registry is immutable; Build() may be called from
// any thread.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/streams/topology.h"
#include "eventflow/topologies/pipeline.h"

namespace eventflow::topologies {

//! One runnable topology.
struct NamedTopology {
  std::string_view name;         //!< what --topology selects
  std::string_view description;  //!< one line for `eventflow topologies`
  //! Adds the topology's nodes to the inputs' builder.
  std::function<void(PipelineInputs&)> add;
  std::vector<std::string_view> input_topics;   //!< read, without prefix
  std::vector<std::string_view> output_topics;  //!< written, without prefix

  //! Returns the built topology (check Validate() for DSL errors).
  streams::Topology Build(const PipelineOptions& options) const;
  //! Returns the input topic names with the prefix applied.
  std::vector<std::string> InputTopics(const PipelineOptions& options) const;
  //! Returns the output topic names with the prefix applied.
  std::vector<std::string> OutputTopics(const PipelineOptions& options) const;
};

//! The default topology's name: all four pipeline topologies.
inline constexpr std::string_view kDefaultTopology = "eventflow";

//! Returns every registered topology, the default first.
std::span<const NamedTopology> Registry();

//! Returns the topology named `name`, or nullptr.
const NamedTopology* FindTopology(std::string_view name);

}  // namespace eventflow::topologies
