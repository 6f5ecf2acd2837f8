// The Grafana dashboards in dashboards/ (label dashboards, unit): their JSON
// structure (the uids and titles users know, unique panel ids, data sources
// only through datasource variables, the application/instance variables, every
// PromQL selector filtered by them), and the expansion rules the live check in
// tests/integration/prometheus_test.cc relies on, against Grafana's documented
// results (the PostgreSQL macros' documented expansions, the Prometheus data
// source's escaping and interval rules).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "eventflow/testing/grafana_dashboard.h"

namespace eventflow::testing::grafana {
namespace {

std::filesystem::path DashboardDir() {
  return std::filesystem::path(EVENTFLOW_SOURCE_DIR) / "dashboards";
}

std::map<std::string, Dashboard> LoadAll() {
  std::map<std::string, Dashboard> out;
  for (const auto& entry : std::filesystem::directory_iterator(DashboardDir())) {
    if (entry.path().extension() != ".json") continue;
    auto d = LoadDashboard(entry.path());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (d.ok()) out[entry.path().filename().string()] = std::move(*d);
  }
  return out;
}

bool UsesDatasource(const Dashboard& d, std::string_view type) {
  for (const Panel& p : d.panels) {
    if (p.datasource.type == type) return true;
  }
  return false;
}

TEST(DashboardsTest, TheFourDashboardsHaveTheirNamesAndUids) {
  const std::map<std::string, Dashboard> all = LoadAll();
  std::map<std::string, std::string> titles;  // uid -> title
  for (const auto& [file, d] : all) {
    titles[d.uid] = d.title;
    EXPECT_EQ(file, d.uid + ".json") << "one file per dashboard, named by its uid";
  }
  const std::map<std::string, std::string> expected = {
      {"eventflow-realtime", "EventFlow - Real-Time Pipeline"},
      {"eventflow-kafka", "EventFlow - Kafka Health & Performance"},
      {"eventflow-revenue", "EventFlow - Revenue Analytics"},
      {"eventflow-state", "EventFlow - State & Recovery"},
  };
  EXPECT_EQ(titles, expected);
}

TEST(DashboardsTest, EveryDashboardIsWellFormed) {
  for (const auto& [file, d] : LoadAll()) {
    SCOPED_TRACE(file);
    for (const std::string& problem : StructureProblems(d)) ADD_FAILURE() << problem;
    EXPECT_GE(d.schema_version, 39);
    int queries = 0;
    for (const Panel& p : d.panels) queries += static_cast<int>(p.targets.size());
    EXPECT_GE(queries, 8) << "a dashboard worth the name";
    // Every panel says what it shows.
    for (const Panel& p : d.panels) {
      if (p.type != "row") {
        EXPECT_FALSE(p.description.empty()) << p.title << ": no description";
      }
    }
  }
}

TEST(DashboardsTest, PrometheusDashboardsAreFilteredByApplicationAndInstance) {
  for (const auto& [file, d] : LoadAll()) {
    if (!UsesDatasource(d, kPrometheus)) continue;
    SCOPED_TRACE(file);
    const Variable* ds = d.FindVariable("datasource");
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(ds->type, "datasource");
    EXPECT_EQ(ds->query, kPrometheus);
    const Variable* application = d.FindVariable("application");
    ASSERT_NE(application, nullptr);
    EXPECT_EQ(application->type, "query");
    EXPECT_EQ(application->query, "label_values(eventflow_up, application_id)");
    EXPECT_FALSE(application->multi);
    const Variable* instance = d.FindVariable("instance");
    ASSERT_NE(instance, nullptr);
    EXPECT_EQ(instance->type, "query");
    EXPECT_EQ(instance->query, "label_values(eventflow_up{application_id=\"$application\"}, instance)");
    EXPECT_TRUE(instance->multi && instance->include_all);
    EXPECT_FALSE(instance->all_value) << "All = every instance listed, not a regex";

    // Every vector selector of every expression: the application's series of
    // the chosen instances, or the chosen sink groups' (the sink exports no
    // application_id).
    for (const Panel& p : d.panels) {
      for (const Target& t : p.targets) {
        if (t.datasource.type != kPrometheus) continue;
        auto names = ReferencedNames(t.expr);
        ASSERT_TRUE(names.ok()) << names.status().ToString();
        EXPECT_FALSE(names->selectors.empty()) << p.title;
        for (const VectorSelector& s : names->selectors) {
          std::set<std::string> filters;
          for (const LabelMatcher& m : s.matchers) filters.insert(m.label + m.op + m.value);
          const bool application_filtered = filters.count("application_id=$application") &&
                                            filters.count("instance=~$instance");
          const bool sink_filtered = filters.count("group=~$sink");
          EXPECT_TRUE(application_filtered || sink_filtered)
              << p.title << " " << t.ref_id << ": " << s.metric << " is not filtered by "
              << "$application and $instance (or $sink) in " << t.expr;
          EXPECT_EQ(s.metric.rfind("eventflow_", 0), 0u) << p.title << ": " << s.metric;
        }
      }
    }
  }
}

TEST(DashboardsTest, RevenueAnalyticsRunsOnPostgreSQL) {
  for (const auto& [file, d] : LoadAll()) {
    if (d.uid != "eventflow-revenue") continue;
    const Variable* pg = d.FindVariable("postgres");
    ASSERT_NE(pg, nullptr);
    EXPECT_EQ(pg->query, kPostgres);
    for (const Panel& p : d.panels) {
      if (p.type == "row") continue;
      EXPECT_EQ(p.datasource.type, kPostgres) << p.title;
      for (const Target& t : p.targets) {
        EXPECT_NE(t.raw_sql.find("$__timeFilter("), std::string::npos)
            << p.title << ": follows the dashboard's time range";
      }
    }
    return;
  }
  FAIL() << "no eventflow-revenue dashboard";
}

// --- the structure checks catch what they should

constexpr std::string_view kSmall = R"json({
  "uid": "u", "title": "T", "schemaVersion": 39, "time": {"from": "now-1h", "to": "now"},
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "pg", "type": "datasource", "query": "grafana-postgresql-datasource"},
    {"name": "app", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": {"query": "label_values(eventflow_up, application_id)"}},
    {"name": "inst", "type": "query", "multi": true, "includeAll": true,
     "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": "label_values(eventflow_up{application_id=\"$app\"}, instance)"}
  ]},
  "panels": [
    {"id": 1, "type": "row", "title": "R", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
     "panels": [
       {"id": 2, "type": "stat", "title": "P", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 4},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                     "expr": "sum(eventflow_up{application_id=\"$app\",instance=~\"$inst\"})"}]}
     ]},
    {"id": 3, "type": "table", "title": "S", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 4},
     "datasource": {"type": "grafana-postgresql-datasource", "uid": "${pg}"},
     "targets": [{"refId": "A", "datasource": {"type": "grafana-postgresql-datasource", "uid": "${pg}"},
                  "rawQuery": true, "format": "table", "rawSql": "SELECT 1 WHERE $__timeFilter(t)"}]}
  ]
})json";

TEST(DashboardModelTest, ASmallDashboardIsReadAndHasNoProblems) {
  auto d = ParseDashboard(kSmall);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->uid, "u");
  ASSERT_EQ(d->panels.size(), 3u) << "the row's nested panel is listed after it";
  EXPECT_EQ(d->panels[1].title, "P");
  EXPECT_EQ(d->panels[1].targets[0].expr, "sum(eventflow_up{application_id=\"$app\",instance=~\"$inst\"})");
  EXPECT_EQ(d->FindVariable("app")->query, "label_values(eventflow_up, application_id)");
  EXPECT_TRUE(StructureProblems(*d).empty());
}

std::vector<std::string> ProblemsAfter(const std::string& from, const std::string& to) {
  std::string json(kSmall);
  const size_t at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  json.replace(at, from.size(), to);
  auto d = ParseDashboard(json);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? StructureProblems(*d) : std::vector<std::string>{};
}

bool Mentions(const std::vector<std::string>& problems, std::string_view text) {
  for (const std::string& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(DashboardModelTest, StructureProblemsAreFound) {
  EXPECT_TRUE(Mentions(ProblemsAfter("\"id\": 3", "\"id\": 2"), "reuses id 2"));
  // The first "${pg}" reference is the table panel's.
  EXPECT_TRUE(Mentions(ProblemsAfter(R"("uid": "${pg}"})", R"("uid": "P1809F7CD0C75ACF3"})"),
                       "fixed data source uid"));
  EXPECT_TRUE(Mentions(ProblemsAfter(R"("uid": "${pg}"})", R"("uid": "${datasource}"})"),
                       "lists prometheus"));
  EXPECT_TRUE(Mentions(ProblemsAfter(R"("uid": "${pg}"})", R"("uid": "${app}"})"),
                       "not a datasource variable"));
  EXPECT_TRUE(Mentions(ProblemsAfter("instance=~\\\"$inst\\\"", "instance=~\\\"$nope\\\""),
                       "uses $nope, not defined"));
  EXPECT_TRUE(Mentions(ProblemsAfter("\"x\": 12, \"y\": 1", "\"x\": 14, \"y\": 1"),
                       "24-column grid"));
  EXPECT_TRUE(Mentions(ProblemsAfter("\"format\": \"table\"", "\"format\": \"logs\""),
                       "format \"logs\""));
  EXPECT_TRUE(Mentions(ProblemsAfter("\"uid\": \"u\"", "\"uid\": \"\""), "no uid"));
  // A variable used before it is defined.
  EXPECT_TRUE(Mentions(ProblemsAfter("application_id=\\\"$app\\\"}, instance", "application_id=\\\"$later\\\"}, instance"),
                       "uses $later, not defined before it"));
}

// --- expansion, against Grafana's rules

Dashboard Small() {
  auto d = ParseDashboard(kSmall);
  EXPECT_TRUE(d.ok());
  return d.ok() ? *d : Dashboard{};
}

TEST(ExpandPromQLTest, VariablesAreEscapedAsTheDataSourceDoes) {
  const Dashboard d = Small();
  const TimeRange range{0, 3600 * 1000};
  // A single-value variable: backslashes doubled, quotes escaped (classic
  // prometheusRegularEscape); a multi-value variable regex-escaped and joined.
  auto e = ExpandPromQL("x{application_id=\"$app\",instance=~\"${inst}\"}", d,
                        {{"app", {"my.app"}}, {"inst", {"i.0", "i|1"}}}, range, 15000, 15000);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e, R"q(x{application_id="my.app",instance=~"(i\\.0|i\\|1)"})q");
  e = ExpandPromQL("x{instance=~\"$inst\"}", d, {{"app", {"a"}}, {"inst", {"i-0"}}}, range, 15000,
                   15000);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, R"(x{instance=~"i-0"})") << "one value of a multi-value variable: no group";
  e = ExpandPromQL("x{a=\"$app\"}", d, {{"app", {R"(a\b'c)"}}}, range, 15000, 15000);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, R"(x{a="a\\b\\'c"})");
  EXPECT_FALSE(ExpandPromQL("x{a=\"$undefined\"}", d, {}, range, 15000, 15000).ok());
  EXPECT_FALSE(ExpandPromQL("x{a=\"${app:csv}\"}", d, {{"app", {"a"}}}, range, 15000, 15000).ok());
  EXPECT_FALSE(ExpandPromQL("x{a=\"$app\"}", d, {}, range, 15000, 15000).ok()) << "no value chosen";
}

TEST(ExpandPromQLTest, IntervalsFollowTheDataSourceRules) {
  const Dashboard d = Small();
  const TimeRange hour{1'000'000, 1'000'000 + 3600 * 1000};
  auto e = ExpandPromQL("rate(x[$__rate_interval]) $__interval $__interval_ms $__range $__range_s "
                        "$__range_ms ${__rate_interval}",
                        d, {}, hour, 15000, 15000);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // rate interval = max(15s + 15s, 4 × 15s) = 1m, formatted as Go does.
  EXPECT_EQ(*e, "rate(x[1m0s]) 15s 15000 3600s 3600 3600000 1m0s");
  e = ExpandPromQL("[$__rate_interval]", d, {}, hour, 120000, 15000);
  EXPECT_EQ(*e, "[2m15s]");
  e = ExpandPromQL("[$__rate_interval] $__interval", d, {}, hour, 1000, 1000);
  EXPECT_EQ(*e, "[4s] 1s");
  e = ExpandPromQL("$__interval", d, {}, hour, 90000, 15000);
  EXPECT_EQ(*e, "1m") << "gtime.FormatInterval keeps the largest whole unit";

  // The query interval: range / max data points, rounded; the minimum wins.
  EXPECT_EQ(PrometheusIntervalMs(hour, 1000, 15000), 15000);
  EXPECT_EQ(PrometheusIntervalMs(hour, 1000, 1000), 5000) << "3.6 s rounds to 5 s";
  EXPECT_EQ(PrometheusIntervalMs({0, 86400 * 1000}, 1000, 15000), 60000) << "86.4 s rounds to 1m";
  EXPECT_EQ(PrometheusIntervalMs({0, 120 * 1000}, 1000, 1000), 1000);
  EXPECT_EQ(PrometheusIntervalMs({0, 400LL * 86400 * 1000}, 100000, 1000), 3600000)
      << "never above 11000 points";
}

TEST(ExpandSqlTest, MacrosExpandAsGrafanaPostgreSQLDocumentsThem) {
  const Dashboard d = Small();
  // 2017-04-21T05:01:17Z .. 05:06:17.5Z
  const TimeRange range{1492750877000, 1492751177500};
  auto e = ExpandSql("WHERE $__timeFilter(created_at) AND t > $__timeFrom() AND t < $__timeTo()",
                     d, {}, range, 1000);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e,
            "WHERE created_at BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17.5Z' AND t > "
            "'2017-04-21T05:01:17Z' AND t < '2017-04-21T05:06:17.5Z'");
  e = ExpandSql("SELECT $__timeGroupAlias(t, '5m'), $__timeGroup(t, '1h') FROM x GROUP BY "
                "$__timeGroup(t,'1h') ORDER BY $__time(t)",
                d, {}, range, 1000);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e,
            "SELECT floor(extract(epoch from t)/300)*300 AS \"time\", "
            "floor(extract(epoch from t)/3600)*3600 FROM x GROUP BY "
            "floor(extract(epoch from t)/3600)*3600 ORDER BY t AS \"time\"");
  // $__timeGroup directly followed by ',' gets the alias (pre-5.3 dashboards).
  e = ExpandSql("SELECT $__timeGroup(t,'1m'), 1", d, {}, range, 1000);
  EXPECT_EQ(*e, "SELECT floor(extract(epoch from t)/60)*60 AS \"time\", 1");
  e = ExpandSql("$__unixEpochFilter(ts) $__unixEpochFrom() $__unixEpochTo() $__timeEpoch(t)", d,
                {}, range, 1000);
  EXPECT_EQ(*e,
            "ts >= 1492750877 AND ts <= 1492751177 1492750877 1492751177 "
            "extract(epoch from t) as \"time\"");
  e = ExpandSql("$__unixEpochGroupAlias(ts, '30s') $__interval $__interval_ms", d, {}, range,
                2000);
  EXPECT_EQ(*e, "floor((ts)/30)*30 AS \"time\" 2s 2000");
  EXPECT_FALSE(ExpandSql("$__nope(t)", d, {}, range, 1000).ok());
  EXPECT_FALSE(ExpandSql("$__timeFilter()", d, {}, range, 1000).ok());
  EXPECT_FALSE(ExpandSql("$__timeGroup(t)", d, {}, range, 1000).ok());
  EXPECT_FALSE(ExpandSql("WHERE x = '$nope'", d, {}, range, 1000).ok());
}

TEST(ExpandSqlTest, VariablesAreQuotedAsTheSqlDataSourcesDo) {
  const Dashboard d = Small();
  const TimeRange range{0, 1000};
  auto e = ExpandSql("a = '$app' AND b IN ($inst)", d, {{"app", {"o'k"}}, {"inst", {"x", "y'z"}}},
                     range, 1000);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e, "a = 'o''k' AND b IN ('x','y''z')");
}

TEST(GrafanaTimeTest, RelativeTimesAndIntervals) {
  EXPECT_EQ(ParseGrafanaTime("now", 1000000).value(), 1000000);
  EXPECT_EQ(ParseGrafanaTime("now-1h", 4000000).value(), 400000);
  EXPECT_EQ(ParseGrafanaTime("now-6h", 6 * 3600000).value(), 0);
  EXPECT_EQ(ParseGrafanaTime("12345", 0).value(), 12345);
  EXPECT_FALSE(ParseGrafanaTime("now/d", 0).ok());
  EXPECT_EQ(ParseIntervalMs("5m").value(), 300000);
  EXPECT_EQ(ParseIntervalMs("100ms").value(), 100);
  EXPECT_EQ(ParseIntervalMs("30").value(), 30000);
  EXPECT_FALSE(ParseIntervalMs("5x").ok());
}

TEST(ReferencedNamesTest, MetricsLabelsAndFunctions) {
  auto n = ReferencedNames(
      R"(histogram_quantile(0.99, sum by (le, topic) (rate(eventflow_e2e_latency_seconds_bucket{application_id="a",topic=~".*orders_raw"}[1m0s]))))"
      R"( / on (instance) group_left (x) sum without (thread) (eventflow_up offset 5m) > bool 0)"
      R"( or {__name__="eventflow_ready", instance!~"i\"}"} unless count(eventflow_x) by (task) * 1e-3 + Inf)");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->metrics, (std::set<std::string>{"eventflow_e2e_latency_seconds_bucket", "eventflow_up",
                                               "eventflow_ready", "eventflow_x"}));
  EXPECT_EQ(n->labels, (std::set<std::string>{"le", "topic", "application_id", "instance", "x",
                                              "thread", "task"}));
  EXPECT_EQ(n->functions, (std::set<std::string>{"histogram_quantile", "sum", "rate", "count"}));
  ASSERT_EQ(n->selectors.size(), 4u);
  EXPECT_EQ(n->selectors[0].matchers.size(), 2u);
  EXPECT_EQ(n->selectors[0].matchers[1].label, "topic");
  EXPECT_EQ(n->selectors[0].matchers[1].op, "=~");
  EXPECT_EQ(n->selectors[0].matchers[1].value, ".*orders_raw");
  EXPECT_EQ(n->selectors[2].metric, "eventflow_ready");
  EXPECT_EQ(n->selectors[2].matchers[0].value, "i\"}") << "escapes inside strings";
  EXPECT_FALSE(ReferencedNames("rates(x[1m])").ok()) << "no such function";
  EXPECT_FALSE(ReferencedNames("x{a=b}").ok()) << "unquoted matcher value";
  EXPECT_FALSE(ReferencedNames("x{a=\"b\"").ok()) << "unclosed selector";
}

TEST(ParseLabelValuesTest, SelectorAndLabel) {
  auto q = ParseLabelValues(R"(label_values(eventflow_up{application_id="a,b"}, instance))");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->selector, R"(eventflow_up{application_id="a,b"})");
  EXPECT_EQ(q->label, "instance");
  q = ParseLabelValues("label_values(group)");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->selector, "");
  EXPECT_EQ(q->label, "group");
  EXPECT_FALSE(ParseLabelValues("query_result(up)").ok());
}

TEST(ParseExpositionTest, SamplesFamiliesAndLabels) {
  auto e = ParseExposition(
      "# HELP eventflow_up 1 while attached\n"
      "# TYPE eventflow_up gauge\n"
      "eventflow_up{application_id=\"a\",instance=\"i,\\\"0\\\"}\"} 1\n"
      "# TYPE eventflow_commit_duration_seconds histogram\n"
      "eventflow_commit_duration_seconds_bucket{thread=\"t\",le=\"+Inf\"} 3\n"
      "eventflow_commit_duration_seconds_count 3\n");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->families.at("eventflow_commit_duration_seconds"), "histogram");
  EXPECT_EQ(e->samples.at("eventflow_up"), (std::set<std::string>{"application_id", "instance"}));
  EXPECT_EQ(e->samples.at("eventflow_commit_duration_seconds_bucket"),
            (std::set<std::string>{"thread", "le"}));
  EXPECT_TRUE(e->Exports("eventflow_commit_duration_seconds_count"));
  EXPECT_TRUE(e->Exports("eventflow_commit_duration_seconds"));
  EXPECT_FALSE(e->Exports("eventflow_commit_duration_seconds_sum"));
  EXPECT_FALSE(ParseExposition("x{a=\"1} 2\n").ok());
}

}  // namespace
}  // namespace eventflow::testing::grafana
