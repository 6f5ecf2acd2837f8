// Serdes and row types of the pipeline topologies (private to
// eventflow::topologies).
//
// Input:    the contract's JSON events, decoded with core's EventDecoder (one
//           per thread, thread_local, so decoding allocates only the result's
//           strings beyond SSO).
// Internal: compact binary forms for repartition topics and store values
//           (RevenueAggregate, AttributionRow), fixed layouts documented below.
// Output:   the output-topic contract's key and value JSON
//           (eventflow/sinks/table_contract.h), appended straight into the sink
//           node's reused buffer; write-only (Deserialize fails).
//
// Thread-safety: every serde is immutable and safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "eventflow/core/event.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::topologies::internal {

//! The running aggregate of one (currency, window): exact cents and count.
struct RevenueAggregate {
  int64_t total_cents = 0;
  int64_t order_count = 0;
};

//! A revenue_by_currency_5min row (key columns included).
struct RevenueRow {
  int64_t window_start = 0;
  int64_t window_end = 0;
  std::string currency;
  RevenueAggregate aggregate;
};

//! The views and orders of one (user, window) after the outer join.
struct FunnelCounts {
  int64_t views = 0;
  int64_t orders = 0;
};

//! A conversion_funnel_5min row (key columns included).
struct FunnelRow {
  int64_t window_start = 0;
  int64_t window_end = 0;
  std::string user_id;
  FunnelCounts counts;
};

//! An order on its way through the attribution join (views = 0,
//! last_view_time = -1), one joined (order, view) pair (views = 1), or the
//! aggregate of an order's pairs: an order_attribution row.
struct AttributionRow {
  std::string order_id;
  std::string user_id;
  std::string product_id;
  int64_t order_time = 0;
  int64_t views = 0;
  int64_t last_view_time = -1;
};

//! Returns avg_order_value in cents: total / count rounded half up (count > 0,
//! total >= 0).
int64_t AverageCentsHalfUp(int64_t total_cents, int64_t count);

//! Input: orders JSON (the contract's), decoded with EventDecoder.
streams::SerdePtr<Order> OrderJsonSerde();
//! Input: product-view JSON, decoded with EventDecoder.
streams::SerdePtr<ProductView> ProductViewJsonSerde();

//! Internal: 16 bytes, total then count, each int64 big-endian.
streams::SerdePtr<RevenueAggregate> RevenueAggregateSerde();
//! Internal: 16 bytes, views then orders, each int64 big-endian.
streams::SerdePtr<FunnelCounts> FunnelCountsSerde();
//! Internal: order_id, user_id, product_id each as [u32 BE length][bytes],
//! then order_time, views, last_view_time as int64 BE.
streams::SerdePtr<AttributionRow> AttributionRowSerde();

//! Output key {"order_id":"…"} from an order id.
streams::SerdePtr<std::string> OrderIdKeySerde();
//! Output key {"window_start":"…","<field>":"…"} from a windowed string key.
streams::SerdePtr<streams::Windowed<std::string>> WindowedKeySerde(std::string field);
//! Output value of orders_raw.
streams::SerdePtr<Order> OrdersRawValueSerde();
//! Output value of revenue_by_currency_5min (nullopt: tombstone).
streams::SerdePtr<std::optional<RevenueRow>> RevenueValueSerde();
//! Output value of conversion_funnel_5min (nullopt: tombstone).
streams::SerdePtr<std::optional<FunnelRow>> FunnelValueSerde();
//! Output value of order_attribution (nullopt: tombstone).
streams::SerdePtr<std::optional<AttributionRow>> AttributionValueSerde();

}  // namespace eventflow::topologies::internal
