// The batch analytics of the EventFlow pipeline (the original's Spark batch job),
// computed by PostgreSQL over the sink's tables (../shared/DESIGN.md, "The
// EventFlow pipeline"; sinks/include/eventflow/sinks/table_contract.h).
//
// Reports and their tables (ResultTable::name), all over the optional half-open
// time range [since, until):
//
//   revenue-by-currency -> revenue_by_currency
//       From orders_raw (the source of truth: every order once, late ones too),
//       orders with since <= event_time < until, per currency: total_revenue =
//       sum(price), order_count, avg_order_value = total_revenue / order_count
//       rounded half away from zero to cents. No currency conversion. Highest
//       total_revenue first (ties: currency, byte order); at most `top` rows.
//
//   conversion -> conversion_overall, conversion_by_user
//       From conversion_funnel_5min, the windows with since <= window_start <
//       until. Per user: windows (rows), views = sum(views), orders =
//       sum(orders), conversion_rate = orders / views (NULL when views = 0: a
//       user who ordered without any view in the range), and mean_window_rate =
//       the mean of the windows' non-NULL conversion_rate (NULL when every
//       window's is NULL). conversion_rate is the ratio of the sums, so a window
//       with 50 views weighs more than one with a single view; mean_window_rate
//       is the unweighted per-window mean some dashboards use. Overall: users,
//       windows, views, orders and conversion_rate = orders / views over every
//       window in the range. Per-user rows: highest conversion_rate first (NULLs
//       last), then most views, then user_id (byte order); at most `top` rows.
//       Orders that came beyond the funnel's grace period are not in the funnel.
//
//   revenue-by-hour -> revenue_by_hour
//       From orders_raw, per UTC hour of event_time and currency: total_revenue
//       and order_count, every (hour, currency) with orders, oldest hour first,
//       then currency. Not converted, not limited by `top`.
//
//   segments -> segments, top_spenders
//       The currency rule: a user's total spend is the sum of their orders'
//       prices (orders_raw, in the range) converted to US dollars with the
//       fixed table UsdRates() (below), exactly (numeric arithmetic, no
//       rounding before the comparison). Segment by that total: VIP > 1000,
//       Premium > 500, Regular > 100, New otherwise (so exactly 1000.00 is
//       Premium, exactly 100.00 is New). Users are those with at least one
//       converted order in the range. segments: one row per segment, always
//       four, VIP first: users, total_spend_usd (rounded to cents).
//       top_spenders: user_id, orders, total_spend_usd (rounded to cents),
//       segment; highest spend first, then user_id; at most `top` rows. Orders
//       in a currency the table lacks are left out and named in a note.
//       Why convert: a segment is one label per user, and thresholds of 100 or
//       1000 mean nothing in one unit across USD, GBP and JPY (1000 JPY is about
//       7 USD); summing per currency would give a user one segment per currency.
//       The table is fixed, not live, so the same data always gives the same
//       segments.
//
// Every run reads one consistent snapshot (REPEATABLE READ, READ ONLY). Values
// are passed as parameters, never spliced into SQL.
//
// Thread-safety: free functions over a caller-owned connection (one thread).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/analytics/table.h"
#include "eventflow/core/status.h"
#include "eventflow/sinks/pg_connection.h"

namespace eventflow::analytics {

//! The reports (see the file comment).
enum class ReportKind { kRevenueByCurrency, kConversion, kRevenueByHour, kSegments };

//! Every report, in the order `--report all` prints them.
inline constexpr ReportKind kAllReports[] = {ReportKind::kRevenueByCurrency,
                                             ReportKind::kConversion, ReportKind::kRevenueByHour,
                                             ReportKind::kSegments};

//! Returns the report's command-line name, e.g. "revenue-by-currency".
std::string_view ReportName(ReportKind kind);

//! Parses a report name or "all" into the reports to run; InvalidArgument
//! naming `setting` and listing the valid names otherwise.
Result<std::vector<ReportKind>> ParseReports(std::string_view text, std::string_view setting);

//! One entry of the currency rule: the value of one unit of `currency` in US
//! dollars, as an exact decimal with at most four decimals.
struct UsdRate {
  std::string_view currency;  //!< ISO 4217 code, as in orders_raw.currency
  std::string_view usd;       //!< US dollars per unit, e.g. "1.1600"
};

//! The fixed conversion table of the segments report: USD 1, EUR 1.16,
//! GBP 1.32, JPY 0.0064, INR 0.0112 (rounded late-2025 reference rates).
std::span<const UsdRate> UsdRates();

//! Settings of a run; the defaults give every row and the top 10.
struct AnalyticsOptions {
  //! Earliest event time (or window start) included, epoch ms; none = no bound.
  std::optional<int64_t> since_ms;
  //! First event time (or window start) excluded, epoch ms; none = no bound.
  std::optional<int64_t> until_ms;
  //! Rows of ranked lists (revenue_by_currency, conversion_by_user,
  //! top_spenders); at least 1.
  int64_t top = 10;

  //! Returns InvalidArgument naming the setting ("--top", "--until") when
  //! top < 1 or until <= since.
  Status Validate() const;
};

//! Makes `schema` the connection's search_path, so the reports read its tables.
//! Returns InvalidArgument naming --schema when the schema does not exist.
Status UseSchema(sinks::PgConnection& conn, const std::string& schema);

//! Runs `reports` in one read-only snapshot and returns their tables in order.
//! Returns NotFound naming the table and the search_path when a table a report
//! reads does not exist, InvalidArgument for invalid options, or the
//! PostgreSQL error with the report's name as context.
Result<Report> RunReports(sinks::PgConnection& conn, std::span<const ReportKind> reports,
                          const AnalyticsOptions& options);

}  // namespace eventflow::analytics
