#include "eventflow/analytics/reports.h"

#include <array>
#include <string>
#include <utility>

#include "eventflow/core/time.h"

namespace eventflow::analytics {
namespace {

using sinks::PgConnection;
using sinks::PgResult;
using Params = std::span<const std::optional<std::string_view>>;

constexpr UsdRate kUsdRates[] = {
    {"USD", "1.0000"}, {"EUR", "1.1600"}, {"GBP", "1.3200"}, {"JPY", "0.0064"}, {"INR", "0.0112"},
};

// The time-range filter every report shares: $1 = since, $2 = until (NULL = open).
std::string RangeFilter(std::string_view column) {
  const std::string c(column);
  return "($1::timestamptz IS NULL OR " + c +
         " >= $1::timestamptz) AND ($2::timestamptz IS NULL OR " + c + " < $2::timestamptz)";
}

// Parameter values of one run: since, until, top, and the rate table as two
// PostgreSQL array literals (built from the constants above, passed as values).
struct RunParams {
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::string top;
  std::string rate_currencies;
  std::string rate_values;

  explicit RunParams(const AnalyticsOptions& options) : top(std::to_string(options.top)) {
    if (options.since_ms) since = FormatTimestamp(*options.since_ms);
    if (options.until_ms) until = FormatTimestamp(*options.until_ms);
    for (const UsdRate& rate : kUsdRates) {
      rate_currencies += (rate_currencies.empty() ? "{" : ",") + std::string(rate.currency);
      rate_values += (rate_values.empty() ? "{" : ",") + std::string(rate.usd);
    }
    rate_currencies += "}";
    rate_values += "}";
  }

  std::optional<std::string_view> Since() const {
    return since ? std::optional<std::string_view>(*since) : std::nullopt;
  }
  std::optional<std::string_view> Until() const {
    return until ? std::optional<std::string_view>(*until) : std::nullopt;
  }
};

ResultTable ToTable(std::string name, std::string title, std::vector<ResultColumn> columns,
                    const PgResult& result) {
  ResultTable table{std::move(name), std::move(title), std::move(columns), {}};
  table.rows.reserve(result.rows());
  for (int r = 0; r < result.rows(); ++r) {
    auto& row = table.rows.emplace_back();
    for (int c = 0; c < result.columns(); ++c) {
      if (result.IsNull(r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(result.Get(r, c)));
      }
    }
  }
  return table;
}

std::string RateList() {
  std::string list;
  for (const UsdRate& rate : kUsdRates) {
    list += (list.empty() ? "" : ", ") + std::string(rate.currency) + " " + std::string(rate.usd);
  }
  return list;
}

std::string RangeTitle(const RunParams& p) {
  if (!p.since && !p.until) return "all time";
  return "[" + (p.since ? *p.since : std::string("-inf")) + ", " +
         (p.until ? *p.until : std::string("+inf")) + ")";
}

// The tables each report reads.
std::span<const std::string_view> TablesOf(ReportKind kind) {
  static constexpr std::string_view kOrders[] = {"orders_raw"};
  static constexpr std::string_view kFunnel[] = {"conversion_funnel_5min"};
  return kind == ReportKind::kConversion ? std::span<const std::string_view>(kFunnel)
                                         : std::span<const std::string_view>(kOrders);
}

Status CheckTables(PgConnection& conn, std::span<const ReportKind> reports) {
  for (ReportKind kind : reports) {
    for (std::string_view table : TablesOf(kind)) {
      const std::array<std::optional<std::string_view>, 1> params = {table};
      Result<PgResult> found =
          conn.Query("SELECT to_regclass($1) IS NOT NULL, current_setting('search_path')", params);
      if (!found.ok()) return found.status().WithContext("checking table " + std::string(table));
      if (found->Get(0, 0) != "t") {
        return Status::NotFound("table " + std::string(table) + " (read by the " +
                                std::string(ReportName(kind)) + " report) does not exist in " +
                                conn.target() + " (search_path: " + std::string(found->Get(0, 1)) +
                                "); eventflow-sink creates it, or choose the schema with --schema");
      }
    }
  }
  return Status::OK();
}

Status RevenueByCurrency(PgConnection& conn, const RunParams& p, Report* report) {
  const std::array<std::optional<std::string_view>, 3> params = {p.Since(), p.Until(), p.top};
  Result<PgResult> rows = conn.Query(
      "SELECT currency, sum(price), count(*), round(avg(price), 2) FROM orders_raw WHERE " +
          RangeFilter("event_time") +
          " GROUP BY currency ORDER BY sum(price) DESC, currency COLLATE \"C\" LIMIT $3::bigint",
      params);
  if (!rows.ok()) return rows.status();
  report->tables.push_back(
      ToTable("revenue_by_currency",
              "Top revenue by currency (orders_raw, " + RangeTitle(p) + ", no conversion)",
              {{"currency", CellKind::kText},
               {"total_revenue", CellKind::kDecimal},
               {"order_count", CellKind::kInteger},
               {"avg_order_value", CellKind::kDecimal}},
              *rows));
  return Status::OK();
}

Status Conversion(PgConnection& conn, const RunParams& p, Report* report) {
  const std::array<std::optional<std::string_view>, 2> range = {p.Since(), p.Until()};
  Result<PgResult> overall = conn.Query(
      "SELECT count(DISTINCT user_id), count(*), coalesce(sum(views), 0), "
      "coalesce(sum(orders), 0), sum(orders)::float8 / nullif(sum(views), 0)::float8 "
      "FROM conversion_funnel_5min WHERE " +
          RangeFilter("window_start"),
      range);
  if (!overall.ok()) return overall.status();
  report->tables.push_back(
      ToTable("conversion_overall",
              "Overall conversion (conversion_funnel_5min, windows starting in " + RangeTitle(p) +
                  "; conversion_rate = orders / views)",
              {{"users", CellKind::kInteger},
               {"windows", CellKind::kInteger},
               {"views", CellKind::kInteger},
               {"orders", CellKind::kInteger},
               {"conversion_rate", CellKind::kFloat}},
              *overall));

  const std::array<std::optional<std::string_view>, 3> params = {p.Since(), p.Until(), p.top};
  Result<PgResult> per_user = conn.Query(
      "SELECT user_id, count(*), sum(views), sum(orders), "
      "sum(orders)::float8 / nullif(sum(views), 0)::float8 AS rate, avg(conversion_rate) "
      "FROM conversion_funnel_5min WHERE " +
          RangeFilter("window_start") +
          " GROUP BY user_id ORDER BY rate DESC NULLS LAST, sum(views) DESC, "
          "user_id COLLATE \"C\" LIMIT $3::bigint",
      params);
  if (!per_user.ok()) return per_user.status();
  report->tables.push_back(ToTable("conversion_by_user",
                                   "Conversion per user (top " + p.top +
                                       " by conversion_rate = orders / views; "
                                       "mean_window_rate = mean of the windows' conversion_rate)",
                                   {{"user_id", CellKind::kText},
                                    {"windows", CellKind::kInteger},
                                    {"views", CellKind::kInteger},
                                    {"orders", CellKind::kInteger},
                                    {"conversion_rate", CellKind::kFloat},
                                    {"mean_window_rate", CellKind::kFloat}},
                                   *per_user));
  return Status::OK();
}

Status RevenueByHour(PgConnection& conn, const RunParams& p, Report* report) {
  const std::array<std::optional<std::string_view>, 2> params = {p.Since(), p.Until()};
  Result<PgResult> rows = conn.Query(
      "SELECT to_char(date_trunc('hour', event_time AT TIME ZONE 'UTC'), "
      "'YYYY-MM-DD\"T\"HH24\":00:00Z\"') AS hour, currency, sum(price), count(*) "
      "FROM orders_raw WHERE " +
          RangeFilter("event_time") + " GROUP BY 1, 2 ORDER BY 1, currency COLLATE \"C\"",
      params);
  if (!rows.ok()) return rows.status();
  report->tables.push_back(ToTable(
      "revenue_by_hour", "Revenue by hour (UTC, orders_raw, " + RangeTitle(p) + ", no conversion)",
      {{"hour", CellKind::kTimestamp},
       {"currency", CellKind::kText},
       {"total_revenue", CellKind::kDecimal},
       {"order_count", CellKind::kInteger}},
      *rows));
  return Status::OK();
}

Status Segments(PgConnection& conn, const RunParams& p, Report* report) {
  // $3, $4: the rate table; a user's spend is exact numeric until the comparison.
  const std::string spend =
      "WITH rate(currency, usd) AS (SELECT * FROM unnest($3::text[], $4::numeric[])), "
      "spend AS (SELECT o.user_id, count(*) AS orders, sum(o.price * rate.usd) AS usd "
      "FROM orders_raw o JOIN rate ON rate.currency = o.currency WHERE " +
      RangeFilter("o.event_time") +
      " GROUP BY o.user_id), "
      "segmented AS (SELECT user_id, orders, usd, CASE WHEN usd > 1000 THEN 'VIP' "
      "WHEN usd > 500 THEN 'Premium' WHEN usd > 100 THEN 'Regular' ELSE 'New' END AS segment "
      "FROM spend) ";
  const std::array<std::optional<std::string_view>, 4> params = {p.Since(), p.Until(),
                                                                 p.rate_currencies, p.rate_values};
  Result<PgResult> summary = conn.Query(
      spend +
          "SELECT s.name, count(g.user_id), coalesce(round(sum(g.usd), 2), 0.00) "
          "FROM (VALUES (1, 'VIP'), (2, 'Premium'), (3, 'Regular'), (4, 'New')) AS s(ord, name) "
          "LEFT JOIN segmented g ON g.segment = s.name GROUP BY s.ord, s.name ORDER BY s.ord",
      params);
  if (!summary.ok()) return summary.status();
  report->tables.push_back(ToTable("segments",
                                   "User segments by total spend in USD (orders_raw, " +
                                       RangeTitle(p) +
                                       "; VIP > 1000, Premium > 500, Regular > 100, New otherwise)",
                                   {{"segment", CellKind::kText},
                                    {"users", CellKind::kInteger},
                                    {"total_spend_usd", CellKind::kDecimal}},
                                   *summary));

  const std::array<std::optional<std::string_view>, 5> top_params = {
      p.Since(), p.Until(), p.rate_currencies, p.rate_values, p.top};
  Result<PgResult> top =
      conn.Query(spend +
                     "SELECT user_id, orders, round(usd, 2), segment FROM segmented "
                     "ORDER BY usd DESC, user_id COLLATE \"C\" LIMIT $5::bigint",
                 top_params);
  if (!top.ok()) return top.status();
  report->tables.push_back(ToTable("top_spenders",
                                   "Top " + p.top + " spenders (USD per unit: " + RateList() + ")",
                                   {{"user_id", CellKind::kText},
                                    {"orders", CellKind::kInteger},
                                    {"total_spend_usd", CellKind::kDecimal},
                                    {"segment", CellKind::kText}},
                                   *top));

  const std::array<std::optional<std::string_view>, 3> left_out_params = {p.Since(), p.Until(),
                                                                          p.rate_currencies};
  Result<PgResult> left_out = conn.Query(
      "SELECT currency, count(*), count(DISTINCT user_id) FROM orders_raw WHERE " +
          RangeFilter("event_time") +
          " AND currency <> ALL ($3::text[]) GROUP BY currency ORDER BY currency COLLATE \"C\"",
      left_out_params);
  if (!left_out.ok()) return left_out.status();
  for (int r = 0; r < left_out->rows(); ++r) {
    report->notes.push_back("segments: " + std::string(left_out->Get(r, 1)) + " order(s) of " +
                            std::string(left_out->Get(r, 2)) + " user(s) in currency \"" +
                            std::string(left_out->Get(r, 0)) +
                            "\" are left out of total spend: the fixed USD rate table has no "
                            "rate for it");
  }
  return Status::OK();
}

Status RunOne(PgConnection& conn, ReportKind kind, const RunParams& p, Report* report) {
  switch (kind) {
    case ReportKind::kRevenueByCurrency:
      return RevenueByCurrency(conn, p, report);
    case ReportKind::kConversion:
      return Conversion(conn, p, report);
    case ReportKind::kRevenueByHour:
      return RevenueByHour(conn, p, report);
    case ReportKind::kSegments:
      return Segments(conn, p, report);
  }
  return Status::Internal("unknown report kind");
}

}  // namespace

std::string_view ReportName(ReportKind kind) {
  switch (kind) {
    case ReportKind::kRevenueByCurrency:
      return "revenue-by-currency";
    case ReportKind::kConversion:
      return "conversion";
    case ReportKind::kRevenueByHour:
      return "revenue-by-hour";
    case ReportKind::kSegments:
      return "segments";
  }
  return "?";
}

Result<std::vector<ReportKind>> ParseReports(std::string_view text, std::string_view setting) {
  if (text == "all") return std::vector<ReportKind>(std::begin(kAllReports), std::end(kAllReports));
  std::string valid = "all";
  for (ReportKind kind : kAllReports) {
    if (ReportName(kind) == text) return std::vector<ReportKind>{kind};
    valid += ", " + std::string(ReportName(kind));
  }
  return Status::InvalidArgument(std::string(setting) + ": unknown report \"" + std::string(text) +
                                 "\" (expected " + valid + ")");
}

std::span<const UsdRate> UsdRates() { return kUsdRates; }

Status AnalyticsOptions::Validate() const {
  if (top < 1) {
    return Status::InvalidArgument("--top: must be at least 1, got " + std::to_string(top));
  }
  if (since_ms && until_ms && *until_ms <= *since_ms) {
    return Status::InvalidArgument("--until: must be later than --since (" +
                                   FormatTimestamp(*until_ms) +
                                   " <= " + FormatTimestamp(*since_ms) + ")");
  }
  return Status::OK();
}

Status UseSchema(PgConnection& conn, const std::string& schema) {
  const std::array<std::optional<std::string_view>, 1> params = {schema};
  Result<PgResult> found =
      conn.Query("SELECT to_regnamespace(quote_ident($1)) IS NOT NULL", params);
  if (!found.ok()) return found.status().WithContext("--schema");
  if (found->Get(0, 0) != "t") {
    return Status::InvalidArgument("--schema: schema \"" + schema + "\" does not exist in " +
                                   conn.target());
  }
  Result<PgResult> set =
      conn.Query("SELECT set_config('search_path', quote_ident($1), false)", params);
  if (!set.ok()) return set.status().WithContext("--schema");
  return Status::OK();
}

Result<Report> RunReports(PgConnection& conn, std::span<const ReportKind> reports,
                          const AnalyticsOptions& options) {
  EVENTFLOW_RETURN_IF_ERROR(options.Validate());
  const RunParams params(options);
  // Floats as shortest round-trip text, whatever the server's default.
  EVENTFLOW_RETURN_IF_ERROR(conn.Execute("SET extra_float_digits = 1"));
  EVENTFLOW_RETURN_IF_ERROR(conn.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  Report report;
  Status status = CheckTables(conn, reports);
  for (size_t i = 0; status.ok() && i < reports.size(); ++i) {
    status = RunOne(conn, reports[i], params, &report)
                 .WithContext("report " + std::string(ReportName(reports[i])));
  }
  Status ended = conn.Execute(status.ok() ? "COMMIT" : "ROLLBACK");
  if (!status.ok()) return status;
  if (!ended.ok()) return ended;
  return report;
}

}  // namespace eventflow::analytics
