#include "eventflow/topologies/pipeline.h"

#include <algorithm>
#include <utility>

#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/suppressed.h"
#include "eventflow/streams/windowed.h"
#include "pipeline_serdes.h"

namespace eventflow::topologies {

using streams::BufferConfig;
using streams::Consumed;
using streams::Grouped;
using streams::JoinWindows;
using streams::KeyValue;
using streams::Materialized;
using streams::Named;
using streams::Produced;
using streams::Serdes;
using streams::StreamJoined;
using streams::Suppressed;
using streams::TimeWindows;
using streams::Windowed;

namespace {

TimeWindows PipelineWindows() { return TimeWindows::OfSizeAndGrace(kWindowSize, kGrace); }

streams::EmitStrategy Strategy(EmitMode mode) {
  return mode == EmitMode::kFinal ? streams::EmitStrategy::kOnWindowClose
                                  : streams::EmitStrategy::kOnWindowUpdate;
}

std::string Topic(const PipelineOptions& options, std::string_view name) {
  return options.topic_prefix + std::string(name);
}

// The attribution join's key: userId NUL productId. Ids never contain NUL (the
// decoder rejects it), so distinct pairs give distinct keys.
std::string UserProductKey(const std::string& user_id, const std::string& product_id) {
  std::string key;
  key.reserve(user_id.size() + 1 + product_id.size());
  key.append(user_id);
  key.push_back('\0');
  key.append(product_id);
  return key;
}

}  // namespace

Result<EmitMode> ParseEmitMode(std::string_view name, std::string_view setting) {
  if (name == "update") return EmitMode::kUpdate;
  if (name == "final") return EmitMode::kFinal;
  return Status::InvalidArgument(std::string(setting) + ": expected update or final, got \"" +
                                 std::string(name) + "\"");
}

namespace {

// The contract keys every record by its userId, and the funnel groups by the
// key: a record keyed otherwise is bad input (to the dead-letter topic, before
// any output), not a count for another user. Checked where the event time is
// extracted, the first step that sees both key and value.
Status CheckKeyIsUserId(const std::string& key, const std::string& user_id) {
  if (key == user_id) return Status::OK();
  return Status::InvalidArgument("record key \"" + key.substr(0, 64) +
                                 "\" differs from the payload's userId \"" +
                                 user_id.substr(0, 64) + "\" (records are keyed by userId)");
}

}  // namespace

std::string_view EmitModeName(EmitMode mode) {
  return mode == EmitMode::kFinal ? "final" : "update";
}

const streams::KStream<std::string, Order>& PipelineInputs::Orders() {
  if (!orders_) {
    orders_ = builder_->Stream<std::string, Order>(
        Topic(options_, kOrdersTopic),
        Consumed<std::string, Order>::With(Serdes::String(), internal::OrderJsonSerde())
            .WithTimestampExtractor([](const streams::Record<std::string, Order>& record)
                                        -> Result<int64_t> {
              EVENTFLOW_RETURN_IF_ERROR(CheckKeyIsUserId(record.key, record.value.user_id));
              return record.value.timestamp_ms;
            })
            .WithName("orders-source"));
  }
  return *orders_;
}

const streams::KStream<std::string, ProductView>& PipelineInputs::Views() {
  if (!views_) {
    views_ = builder_->Stream<std::string, ProductView>(
        Topic(options_, kProductViewTopic),
        Consumed<std::string, ProductView>::With(Serdes::String(),
                                                 internal::ProductViewJsonSerde())
            .WithTimestampExtractor([](const streams::Record<std::string, ProductView>& record)
                                        -> Result<int64_t> {
              EVENTFLOW_RETURN_IF_ERROR(CheckKeyIsUserId(record.key, record.value.user_id));
              return record.value.timestamp_ms;
            })
            .WithName("product-view-source"));
  }
  return *views_;
}

void AddOrdersRaw(PipelineInputs& inputs) {
  inputs.Orders()
      .Map([](const std::string&,
              const Order& order) { return KeyValue<std::string, Order>(order.order_id, order); },
           Named::As("orders-raw-key-by-order"))
      .To(Topic(inputs.options(), kOrdersRawTopic),
          Produced<std::string, Order>::With(internal::OrderIdKeySerde(),
                                             internal::OrdersRawValueSerde())
              .WithName("orders-raw-sink"));
}

void AddRevenueByCurrency(PipelineInputs& inputs) {
  using internal::RevenueAggregate;
  using internal::RevenueRow;
  inputs.Orders()
      .Map(
          [](const std::string&, const Order& order) {
            return KeyValue<std::string, int64_t>(std::string(Name(order.currency)),
                                                  order.price_cents);
          },
          Named::As("revenue-key-by-currency"))
      .GroupByKey(Grouped<std::string, int64_t>::As("revenue-by-currency"))
      .WindowedBy(PipelineWindows())
      .WithEmitStrategy(Strategy(inputs.options().emit))
      .Aggregate([] { return RevenueAggregate{}; },
                 [](const std::string&, const int64_t& price_cents, const RevenueAggregate& agg) {
                   return RevenueAggregate{agg.total_cents + price_cents, agg.order_count + 1};
                 },
                 Materialized<std::string, RevenueAggregate>::As("revenue-by-currency-store")
                     .WithValueSerde(internal::RevenueAggregateSerde()),
                 Named::As("revenue-aggregate"))
      .ToStream(Named::As("revenue-to-stream"))
      .MapValues(
          [](const Windowed<std::string>& key,
             const std::optional<RevenueAggregate>& agg) -> std::optional<RevenueRow> {
            if (!agg) return std::nullopt;
            return RevenueRow{key.start, key.end, key.key, *agg};
          },
          Named::As("revenue-rows"))
      .To(Topic(inputs.options(), kRevenueTopic),
          Produced<Windowed<std::string>, std::optional<RevenueRow>>::With(
              internal::WindowedKeySerde("currency"), internal::RevenueValueSerde())
              .WithName("revenue-sink"));
}

void AddConversionFunnel(PipelineInputs& inputs) {
  using internal::FunnelCounts;
  using internal::FunnelRow;
  // The counts always emit on update: a table-table join looks the other side
  // up in its window store, and with kOnWindowClose the side that closes second
  // would find the other's window already expired (retention = size + grace).
  // In final mode the joined table goes through Suppress(UntilWindowCloses):
  // the latest joined counts of each (user, window), forwarded once when the
  // window closes (the counts' record caches are flushed as windows close, so
  // every update of the window has reached the join by then).
  auto counts = [&](auto stream, const char* store, const char* name) {
    return stream.GroupByKey().WindowedBy(PipelineWindows()).Count(
        Materialized<std::string, int64_t>::As(store), Named::As(name));
  };
  auto views = counts(inputs.Views(), "funnel-views-store", "funnel-views-count");
  auto orders = counts(inputs.Orders(), "funnel-orders-store", "funnel-orders-count");
  auto joined = views.OuterJoin(
      orders,
      [](const std::optional<int64_t>& view_count, const std::optional<int64_t>& order_count) {
        return FunnelCounts{view_count.value_or(0), order_count.value_or(0)};
      },
      Named::As("funnel-join"));
  if (inputs.options().emit == EmitMode::kFinal) {
    joined = joined.Suppress(
        Suppressed::UntilWindowCloses(BufferConfig::Unbounded()).WithName("funnel-suppress"),
        nullptr, internal::FunnelCountsSerde());
  }
  joined.ToStream(Named::As("funnel-to-stream"))
      .MapValues(
          [](const Windowed<std::string>& key,
             const std::optional<FunnelCounts>& c) -> std::optional<FunnelRow> {
            if (!c) return std::nullopt;
            return FunnelRow{key.start, key.end, key.key, *c};
          },
          Named::As("funnel-rows"))
      .To(Topic(inputs.options(), kFunnelTopic),
          Produced<Windowed<std::string>, std::optional<FunnelRow>>::With(
              internal::WindowedKeySerde("user_id"), internal::FunnelValueSerde())
              .WithName("funnel-sink"));
}

void AddOrderAttribution(PipelineInputs& inputs) {
  using internal::AttributionRow;
  auto orders = inputs.Orders().Map(
      [](const std::string&, const Order& order) {
        return KeyValue<std::string, AttributionRow>(
            UserProductKey(order.user_id, order.product_id),
            AttributionRow{order.order_id, order.user_id, order.product_id, order.timestamp_ms, 0,
                           -1});
      },
      Named::As("attribution-orders-by-user-product"));
  auto view_times = inputs.Views().Map(
      [](const std::string&, const ProductView& view) {
        return KeyValue<std::string, int64_t>(UserProductKey(view.user_id, view.product_id),
                                              view.timestamp_ms);
      },
      Named::As("attribution-views-by-user-product"));
  // An order at t joins the views at [t - 5 min, t]: before = 5 min, after = 0.
  const JoinWindows windows =
      JoinWindows::OfTimeDifferenceAndGrace(kAttributionWindow, kGrace)
          .After(std::chrono::milliseconds(0));
  orders
      .Join(
          view_times,
          [](const AttributionRow& order, const int64_t& view_time) {
            AttributionRow pair = order;
            pair.views = 1;
            pair.last_view_time = view_time;
            return pair;
          },
          windows,
          StreamJoined<std::string, AttributionRow, int64_t>::With(
              Serdes::String(), internal::AttributionRowSerde(), Serdes::Int64())
              .WithName("attribution-join")
              .WithStoreName("attribution-join"))
      .SelectKey([](const std::string&, const AttributionRow& pair) { return pair.order_id; },
                 Named::As("attribution-key-by-order"))
      .GroupByKey(Grouped<std::string, AttributionRow>::With(Serdes::String(),
                                                             internal::AttributionRowSerde())
                      .WithName("attribution-by-order"))
      .Aggregate([] { return AttributionRow{}; },
                 [](const std::string&, const AttributionRow& pair, const AttributionRow& agg) {
                   AttributionRow row = pair;
                   row.views = agg.views + 1;
                   row.last_view_time = std::max(agg.last_view_time, pair.last_view_time);
                   return row;
                 },
                 Materialized<std::string, AttributionRow>::As("attribution-store")
                     .WithValueSerde(internal::AttributionRowSerde()),
                 Named::As("attribution-aggregate"))
      .ToStream(Named::As("attribution-to-stream"))
      .To(Topic(inputs.options(), kAttributionTopic),
          Produced<std::string, std::optional<AttributionRow>>::With(
              internal::OrderIdKeySerde(), internal::AttributionValueSerde())
              .WithName("attribution-sink"));
}

}  // namespace eventflow::topologies
