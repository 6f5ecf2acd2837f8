#include "eventflow/topologies/registry.h"

#include <array>

#include "eventflow/streams/streams_builder.h"

namespace eventflow::topologies {
namespace {

void AddAll(PipelineInputs& inputs) {
  AddOrdersRaw(inputs);
  AddRevenueByCurrency(inputs);
  AddConversionFunnel(inputs);
  AddOrderAttribution(inputs);
}

const std::array<NamedTopology, 5>& Entries() {
  static const std::array<NamedTopology, 5> entries = {
      NamedTopology{kDefaultTopology,
                    "the whole pipeline: orders_raw, revenue_by_currency_5min, "
                    "conversion_funnel_5min and order_attribution in one application",
                    AddAll,
                    {kProductViewTopic, kOrdersTopic},
                    {kOrdersRawTopic, kRevenueTopic, kFunnelTopic, kAttributionTopic}},
      NamedTopology{kOrdersRawTopic, "every order, keyed by order_id", AddOrdersRaw,
                    {kOrdersTopic}, {kOrdersRawTopic}},
      NamedTopology{kRevenueTopic,
                    "revenue per currency in tumbling 5-minute windows (10 min grace)",
                    AddRevenueByCurrency, {kOrdersTopic}, {kRevenueTopic}},
      NamedTopology{kFunnelTopic,
                    "views and orders per user per 5-minute window (full outer join), "
                    "conversion rate",
                    AddConversionFunnel, {kProductViewTopic, kOrdersTopic}, {kFunnelTopic}},
      NamedTopology{kAttributionTopic,
                    "orders joined with the same user's views of the product in the "
                    "5 minutes before, per order",
                    AddOrderAttribution, {kProductViewTopic, kOrdersTopic}, {kAttributionTopic}},
  };
  return entries;
}

std::vector<std::string> WithPrefix(const std::vector<std::string_view>& names,
                                    const PipelineOptions& options) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (std::string_view name : names) out.push_back(options.topic_prefix + std::string(name));
  return out;
}

}  // namespace

streams::Topology NamedTopology::Build(const PipelineOptions& options) const {
  streams::StreamsBuilder builder;
  PipelineInputs inputs(&builder, options);
  add(inputs);
  return builder.Build();
}

std::vector<std::string> NamedTopology::InputTopics(const PipelineOptions& options) const {
  return WithPrefix(input_topics, options);
}

std::vector<std::string> NamedTopology::OutputTopics(const PipelineOptions& options) const {
  return WithPrefix(output_topics, options);
}

std::span<const NamedTopology> Registry() { return Entries(); }

const NamedTopology* FindTopology(std::string_view name) {
  for (const NamedTopology& entry : Entries()) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace eventflow::topologies
