// Grafana dashboards (dashboards/*.json) read the way Grafana reads them, for
// the tests that check them against a live pipeline.
//
// Grafana never sends a panel's query to its data source as written: it first
// replaces the dashboard's template variables ($application, ${instance}),
// with the escaping of the data source's kind (Prometheus: regular-expression
// escaping for multi-value variables; SQL: quoted literals), and the built-in
// interval variables ($__interval, $__rate_interval, $__range, ...); the
// PostgreSQL data source then expands its macros ($__timeFilter(col),
// $__timeGroup(col, '5m'), ...). ExpandPromQL and ExpandSql do the same, after
// Grafana 10/11's rules (the Prometheus data source's interpolation and
// interval calculation, the grafana-postgresql-datasource macro engine), so
// that a test can run exactly what a panel would run. Anything they do not know
// (an undefined variable, a macro or variable format not implemented here) is
// an error, never passed through.
//
// ReferencedNames reads the metric and label names a PromQL expression uses,
// and MetricsExposition the names a /metrics text exports, so that a test can
// check every name a dashboard asks for is one the binaries export.
//
// All functions are pure (no I/O but LoadDashboard's read of the file) and
// thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::testing::grafana {

//! The plugin ids of the data sources the dashboards use (Grafana ≥ 10.2.3
//! names the PostgreSQL plugin grafana-postgresql-datasource, "postgres" before).
inline constexpr std::string_view kPrometheus = "prometheus";
inline constexpr std::string_view kPostgres = "grafana-postgresql-datasource";

//! A data source reference: {"type": plugin id, "uid": uid or "${variable}"}.
struct DatasourceRef {
  std::string type;  //!< plugin id; empty when the reference is absent
  std::string uid;   //!< a data source uid, or "${name}"/"$name" of a datasource variable
  bool present = false;  //!< the JSON had a datasource object here
};

//! One query of a panel.
struct Target {
  std::string ref_id;        //!< "A", "B", ...
  DatasourceRef datasource;  //!< the target's own reference
  std::string expr;          //!< Prometheus: the PromQL expression
  bool instant = false;      //!< Prometheus: one instant query at the range's end
  bool range = false;        //!< Prometheus: a range query (the default when neither is set)
  std::string raw_sql;       //!< PostgreSQL: the SQL as written (rawQuery)
  bool raw_query = false;    //!< PostgreSQL: rawQuery (the code editor's SQL is what runs)
  std::string format;        //!< "time_series" or "table" (empty: absent)
};

//! One panel, rows included (rows have no targets).
struct Panel {
  int64_t id = -1;  //!< -1 when the JSON has none
  std::string type;
  std::string title;
  std::string description;
  DatasourceRef datasource;
  std::vector<Target> targets;
  int64_t max_data_points = 0;  //!< the panel's maxDataPoints option; 0: not set
  std::string interval;         //!< the panel's minimum interval ("interval"); empty: not set
  int64_t grid_x = 0, grid_y = 0, grid_w = 0, grid_h = 0;
  bool has_grid_pos = false;
};

//! One template variable.
struct Variable {
  std::string name;
  std::string type;   //!< datasource, query, custom, constant, interval, textbox
  std::string label;
  //! query: the query text (a string, or the "query" member of an object);
  //! datasource: the plugin id it lists; custom/constant: the option text.
  std::string query;
  DatasourceRef datasource;  //!< query variables: where the query runs
  bool multi = false;
  bool include_all = false;
  std::optional<std::string> all_value;  //!< a custom "All" value; nullopt: every value
};

//! A dashboard's model, as far as the checks need it.
struct Dashboard {
  std::string uid;
  std::string title;
  int64_t schema_version = 0;
  std::string time_from;  //!< the default time range, e.g. "now-1h"
  std::string time_to;    //!< e.g. "now"
  std::vector<Variable> variables;
  //! Every panel in order, the panels nested in collapsed rows after their row.
  std::vector<Panel> panels;

  //! The variable named `name`, or nullptr.
  const Variable* FindVariable(std::string_view name) const;
};

//! Parses a dashboard's JSON model. Fails naming what is malformed (not JSON,
//! a member of the wrong JSON type).
Result<Dashboard> ParseDashboard(std::string_view json);
//! Reads and parses `file`.
Result<Dashboard> LoadDashboard(const std::filesystem::path& file);

//! What is wrong with the dashboard's structure; empty when nothing is:
//! a uid and a title; schemaVersion ≥ 36 (data sources referenced by object);
//! unique panel ids; grid positions inside the 24-column grid; unique
//! variable names, known variable types; every data source reference (panel,
//! target, query variable) a datasource variable of the same plugin id
//! ("${name}"), never a fixed uid or a name; a panel's targets on its own data
//! source; refIds unique per panel; Prometheus targets with an expression and
//! PostgreSQL targets with raw SQL in format time_series or table; every
//! variable a query uses defined (query variables: before the variable).
std::vector<std::string> StructureProblems(const Dashboard& dashboard);

//! The values chosen for the dashboard's variables: name → values (one for a
//! single value; every value for a multi-value variable's "All").
using VariableValues = std::map<std::string, std::vector<std::string>>;

//! A dashboard's time range, Unix milliseconds.
struct TimeRange {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

//! Grafana's time text: "now", "now-<n><unit>" (units s, m, h, d, w) or Unix
//! milliseconds, relative to `now_ms`.
Result<int64_t> ParseGrafanaTime(std::string_view text, int64_t now_ms);

//! Grafana's interval ("1m", "15s", "100ms", "2h", "1d", "1w"; no unit: seconds)
//! in milliseconds.
Result<int64_t> ParseIntervalMs(std::string_view text);

//! The Prometheus data source's query interval ($__interval, and the step of a
//! range query): the range divided by `max_data_points` (the panel's width in
//! pixels when it sets none), rounded to Grafana's ladder (roundInterval), or
//! `min_interval_ms` (the panel's minimum interval, else the data source's
//! scrape interval) when that is larger; never below ceil(range / 11000) (the
//! data source's safe resolution).
int64_t PrometheusIntervalMs(const TimeRange& range, int64_t max_data_points,
                             int64_t min_interval_ms);

//! $__rate_interval: max($__interval + scrape interval, 4 × scrape interval).
int64_t RateIntervalMs(int64_t interval_ms, int64_t scrape_interval_ms);

//! `expr` with the dashboard's variables replaced by `values` (Grafana's
//! Prometheus escaping: a single-value variable's backslashes and quotes; a
//! multi-value or include-all variable's values regex-escaped, several joined
//! as "(a|b)"; a custom All value as written), then $__interval,
//! $__interval_ms, $__rate_interval, $__rate_interval_ms, $__range,
//! $__range_s, $__range_ms, $__from and $__to. Fails on a variable neither
//! defined nor built in, or a ${name:format} (no format is implemented).
Result<std::string> ExpandPromQL(std::string_view expr, const Dashboard& dashboard,
                                 const VariableValues& values, const TimeRange& range,
                                 int64_t interval_ms, int64_t scrape_interval_ms);

//! `sql` as the PostgreSQL data source runs it: template variables replaced
//! (Grafana's SQL escaping: a single value with its quotes doubled, a multi-
//! value or include-all variable as 'quoted','literals'), $__interval and
//! $__interval_ms, then the macros $__time, $__timeEpoch, $__timeFilter,
//! $__timeFrom, $__timeTo, $__timeGroup (with its pre-5.3 alias rule),
//! $__timeGroupAlias, $__unixEpochFilter, $__unixEpochFrom, $__unixEpochTo,
//! $__unixEpochGroup and $__unixEpochGroupAlias exactly as
//! grafana-postgresql-datasource expands them (times as RFC 3339 UTC; no
//! TimescaleDB). Fails on an unknown variable or macro.
Result<std::string> ExpandSql(std::string_view sql, const Dashboard& dashboard,
                              const VariableValues& values, const TimeRange& range,
                              int64_t interval_ms);

//! A query variable's label_values(<selector>, <label>) or label_values(<label>).
struct LabelValuesQuery {
  std::string selector;  //!< a series selector; empty: every series
  std::string label;
};
//! Parses an (expanded) label_values query; other variable queries fail.
Result<LabelValuesQuery> ParseLabelValues(std::string_view query);

//! One label matcher of a vector selector.
struct LabelMatcher {
  std::string label;
  std::string op;     //!< =, !=, =~, !~
  std::string value;  //!< as PromQL reads it (string escapes undone)
};

//! One vector selector: metric{matchers}.
struct VectorSelector {
  std::string metric;  //!< empty for {…} without a metric name or __name__="x"
  std::vector<LabelMatcher> matchers;  //!< __name__ excluded
};

//! The names a PromQL expression references.
struct PromQLNames {
  std::set<std::string> metrics;  //!< metric names of vector selectors (and __name__="x")
  std::set<std::string> labels;   //!< label names in matchers and by/without/on/ignoring/group_x
  std::vector<VectorSelector> selectors;  //!< in order of appearance
  std::set<std::string> functions;        //!< functions and aggregations called
};
//! Reads the names of a PromQL expression with a small lexer (strings,
//! durations in [], label matchers in {}, grouping lists). Fails on a function
//! Prometheus 2.42 does not have, or on malformed matchers.
Result<PromQLNames> ReferencedNames(std::string_view expr);

//! The names a Prometheus text exposition (/metrics) exports.
struct MetricsExposition {
  //! Sample name (histograms: name_bucket, _sum, _count) → its label names.
  std::map<std::string, std::set<std::string>> samples;
  //! Family name (# TYPE) → type.
  std::map<std::string, std::string> families;

  //! Adds another exposition's names (several scrape targets).
  void Merge(const MetricsExposition& other);
  //! True when `name` is a sample name exported, or a family's name.
  bool Exports(const std::string& name) const;
};
//! Parses the text format (0.0.4): # TYPE lines and samples with their labels.
Result<MetricsExposition> ParseExposition(std::string_view text);

}  // namespace eventflow::testing::grafana
