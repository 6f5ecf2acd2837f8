// The EventFlow pipeline's streaming topologies (../shared/DESIGN.md, "The
// EventFlow pipeline"): from the input topics `product-view` and `orders`
// (key userId, JSON values as in eventflow/core/event_codec.h) to the four
// result topics of the output-topic contract (eventflow/sinks/table_contract.h):
//
//   orders_raw                every order, keyed {"order_id"}; nothing is late
//   revenue_by_currency_5min  orders re-keyed by currency (repartition topic
//                             "<app>-revenue-by-currency-repartition"), tumbling
//                             5-minute epoch-aligned windows with 10 minutes of
//                             grace; per (window_start, currency): total_revenue
//                             (exact sum of price in cents), order_count,
//                             avg_order_value = total / count rounded half up to
//                             the cent ((2 * total + count) / (2 * count) in
//                             integer cents; prices are never negative)
//   conversion_funnel_5min    windowed counts (same windows) of views per user and
//                             of orders per user, full outer join of the two
//                             windowed tables: views / orders 0 for a missing
//                             side, conversion_rate = orders / views as a JSON
//                             number, null when views = 0
//   order_attribution         orders and views re-keyed by (userId, productId)
//                             (repartition topics "<app>-attribution-join-left/
//                             -right-repartition"), KStream–KStream inner join of
//                             each order with the views at t in [order_time - 5 min,
//                             order_time] (grace 10 min), re-keyed by orderId
//                             ("<app>-attribution-by-order-repartition") and
//                             aggregated per order: views_before_order = number of
//                             joined views, last_view_time = their latest time; one
//                             row per order with at least one such view
//
// Event time is the payload's `timestamp` (a timestamp extractor), not the
// Kafka record timestamp. A record the decoder rejects is a deserialization
// error: the runtime's policy sends it to "<app>-dlq" with the decoder's
// message (it names the field and the byte offset) and the record's topic,
// partition and offset in headers. A record later than the grace period (its
// window closed on the task's watermark) does not change the windowed tables
// or the attribution and is counted (KafkaStreams::dropped_late()).
//
// Emit modes: kUpdate (default) forwards window updates through the record
// cache (one update per key per commit); kFinal forwards each window of the
// windowed aggregations once, when it closes (EmitStrategy::kOnWindowClose).
// For the funnel, kFinal keeps the two counts on update (the join looks the
// other side up in its window store, and a window store drops a window as it
// closes, so two emit-on-close tables cannot be joined) and suppresses the
// joined table until each window closes (KTable::Suppress with
// Suppressed::UntilWindowCloses, node "funnel-suppress", buffer store
// "funnel-suppress-store"), as Kafka's suppress(untilWindowCloses). So in
// kFinal every windowed row is written exactly once. Every result topic is
// a table: the latest record per key is the row, a tombstone deletes it.
//
// Every topic name is `topic_prefix` + the contract's name (input topics
// included, so that tests and parallel pipelines stay apart). Node, store and
// repartition names are fixed (Describe() is stable across builds).
//
// Thread-safety: building is single-threaded; the built Topology's functions
// and serdes are shared by all stream threads and are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eventflow/core/event.h"
#include "eventflow/core/status.h"
#include "eventflow/streams/kstream.h"
#include "eventflow/streams/store_codec.h"
#include "eventflow/streams/streams_builder.h"

namespace eventflow::topologies {

//! Window size of the windowed tables: tumbling, aligned to the epoch.
inline constexpr std::chrono::minutes kWindowSize{5};
//! Grace period of the windowed tables and of the attribution join.
inline constexpr std::chrono::minutes kGrace{10};
//! How far before an order a view counts for its attribution.
inline constexpr std::chrono::minutes kAttributionWindow{5};

//! When the windowed aggregations forward results (see the file comment).
enum class EmitMode { kUpdate, kFinal };

//! Returns the mode named "update" or "final", or InvalidArgument naming `setting`.
Result<EmitMode> ParseEmitMode(std::string_view name, std::string_view setting = "--emit");
//! Returns "update" or "final".
std::string_view EmitModeName(EmitMode mode);

//! Settings shared by all pipeline topologies.
struct PipelineOptions {
  //! Prepended to every input and output topic name; default none.
  std::string topic_prefix;
  //! Emit mode of the windowed aggregations; default kUpdate.
  EmitMode emit = EmitMode::kUpdate;
};

//! The contract's topic names (without prefix).
inline constexpr std::string_view kOrdersTopic = "orders";
inline constexpr std::string_view kProductViewTopic = "product-view";
inline constexpr std::string_view kOrdersRawTopic = "orders_raw";
inline constexpr std::string_view kRevenueTopic = "revenue_by_currency_5min";
inline constexpr std::string_view kFunnelTopic = "conversion_funnel_5min";
inline constexpr std::string_view kAttributionTopic = "order_attribution";

//! The input streams of the pipeline in one StreamsBuilder, created on first
//! use (each topic is read by one source node, whichever topologies use it).
//! Lifecycle: must not outlive `builder`. Not thread-safe.
class PipelineInputs {
 public:
  //! Inputs of `builder` with `options`' topic prefix.
  PipelineInputs(streams::StreamsBuilder* builder, PipelineOptions options)
      : builder_(builder), options_(std::move(options)) {}

  //! Returns the orders stream (source "orders-source", key userId).
  const streams::KStream<std::string, Order>& Orders();
  //! Returns the product views stream (source "product-view-source", key userId).
  const streams::KStream<std::string, ProductView>& Views();
  //! Returns the options.
  const PipelineOptions& options() const { return options_; }

 private:
  streams::StreamsBuilder* builder_;
  PipelineOptions options_;
  std::optional<streams::KStream<std::string, Order>> orders_;
  std::optional<streams::KStream<std::string, ProductView>> views_;
};

//! Interactive queries (eventflow/queries): how the pipeline's stores read
//! keys from URLs and show their values, by store name —
//!   revenue-by-currency-store  key: a currency ("EUR"); window value:
//!       {"total_revenue":"12.50","order_count":3,"avg_order_value":"4.17"}
//!   funnel-views-store, funnel-orders-store  key: a userId; window value:
//!       the user's product views / orders in the window (a number)
//!   attribution-store  key: an orderId; value: the order_attribution row
//!       as the output contract writes it
//! (Stores not listed use StoreCodec::Default().)
std::map<std::string, streams::StoreCodec> PipelineStoreCodecs();

//! Adds orders_raw (see the file comment) to the inputs' builder.
void AddOrdersRaw(PipelineInputs& inputs);
//! Adds revenue_by_currency_5min.
void AddRevenueByCurrency(PipelineInputs& inputs);
//! Adds conversion_funnel_5min.
void AddConversionFunnel(PipelineInputs& inputs);
//! Adds order_attribution.
void AddOrderAttribution(PipelineInputs& inputs);

}  // namespace eventflow::topologies
