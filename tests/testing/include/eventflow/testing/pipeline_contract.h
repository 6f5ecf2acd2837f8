// The EventFlow pipeline's data contract (DESIGN.md, "The EventFlow
// pipeline") recomputed in plain code, and the four result tables read back
// from PostgreSQL, for the tests that run the whole pipeline
// (pipeline_e2e_test, chaos_test).
//
// The expected tables are recomputed from the input records read back from
// the input topics (with their partitions and offsets), from the contract's
// words alone, never from the pipeline's code:
//   - per input partition, stream time = the largest event time read so far
//     (the record itself included);
//   - windows are tumbling, 5 minutes, epoch-aligned, 10 minutes of grace: a
//     record is excluded from the windowed tables when its window end + grace
//     <= its own partition's stream time; from the attribution when its time +
//     the join's grace < that stream time (streams/join_windows.h's rule);
//   - orders_raw has every order; money is exact in cents;
//   - avg_order_value = total / count rounded to the cent, half away from zero;
//   - conversion_rate = orders / views, NULL when views = 0;
//   - order_attribution: the views of the same user and product with
//     order_time - 5 min <= t <= order_time, their count and latest time.
//
// Rows are vectors of cells as PostgreSQL prints them (ReadTables' queries):
// timestamps "YYYY-MM-DDThh:mm:ss.mmmZ", money with two decimals, doubles
// normalised with %.17g, SQL NULL as "NULL".
//
// Thread-safety: plain functions; failures are reported through GoogleTest
// (EXPECT/ADD_FAILURE) in the calling test.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"

namespace eventflow::testing {

//! Window size, grace and the attribution join's window and grace.
inline constexpr int64_t kContractWindowMs = 5 * 60'000;
inline constexpr int64_t kContractGraceMs = 10 * 60'000;
inline constexpr int64_t kContractAttributionMs = 5 * 60'000;  //!< views up to 5 min before
inline constexpr int64_t kContractJoinGraceMs = 10 * 60'000;
//! The four tables (and topics, without prefix), in ReadTables' order.
inline constexpr const char* kContractTables[] = {"orders_raw", "revenue_by_currency_5min",
                                                  "conversion_funnel_5min", "order_attribution"};
//! The contract's currencies.
inline constexpr const char* kContractCurrencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};

//! Returns `cents` as "12.34" (two decimals, '-' when negative).
std::string Money(int64_t cents);

//! Returns `epoch_ms` as "YYYY-MM-DDThh:mm:ss.mmmZ".
std::string Ts(int64_t epoch_ms);

//! Returns a double's text normalised to "%.17g" ("NULL" unchanged).
std::string NormalDouble(const std::string& text);

//! Returns floor(a / b) for b > 0.
int64_t FloorDiv(int64_t a, int64_t b);

//! Returns the raw text of a top-level field of a flat JSON object: a string's
//! characters (escapes are not expected in generated ids) or a number's or
//! literal's token. Throws std::runtime_error naming the field when absent.
std::string JsonField(const std::string& json, std::string_view name);

//! Returns a JSON number with at most two decimals as exact cents; throws
//! std::runtime_error for anything else.
int64_t ParseCents(const std::string& text);

//! table -> key (the key columns joined) -> row cells as PostgreSQL prints them.
using Tables = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

//! Returns the key of a row of table `table` (index into kContractTables).
std::string RowKey(int table, const std::vector<std::string>& cells);

//! The recomputed contract for one input.
struct Expected {
  Tables tables;                             //!< every table, possibly empty
  int64_t views = 0, orders = 0;             //!< input records read back
  int64_t late_views = 0, late_orders = 0;   //!< beyond the windows' grace
  int64_t disordered = 0;                    //!< behind their partition's stream time, in grace
  //! The least number of late drops the application must count: every late
  //! event's update of a windowed count (an order: revenue and funnel; a view: funnel).
  int64_t MinLateDrops() const { return 2 * late_orders + late_views; }
};

//! Returns the contract recomputed from the product-view and orders records
//! read back (ReadAll's order: partition, then offset); event times are the
//! payloads'. `record_timestamps_are_event_times` (the contract's inputs)
//! also checks each record's Kafka timestamp against its payload time; false
//! for input produced by an ordinary producer (record timestamp = now).
Expected Recompute(const std::vector<ConsumedRecord>& view_records,
                   const std::vector<ConsumedRecord>& order_records,
                   bool record_timestamps_are_event_times = true);

//! Returns the four tables as the connection's schema holds them.
Tables ReadTables(sinks::PgConnection& conn);

//! Returns the cells joined with ','.
std::string JoinCells(const std::vector<std::string>& cells);

//! Fails the test (naming up to 5 differing rows per table and the count)
//! unless `actual` equals `expected`.
void ExpectTablesEqual(const Tables& expected, const Tables& actual);

//! Returns the sink's eventflow_sink_offsets rows (empty when the table does
//! not exist yet or the query fails).
PartitionOffsets StoredOffsets(sinks::PgConnection& conn);

//! Returns the sum of the offsets.
int64_t Sum(const PartitionOffsets& offsets);

}  // namespace eventflow::testing
