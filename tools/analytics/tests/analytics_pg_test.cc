// Every report on the real PostgreSQL, in a private schema, against a
// recomputation: the test fills the sink's four tables (created by the sink's
// own EnsureSinkSchema) with seeded random rows, then computes each report with
// plain loops over the rows it inserted and compares, cell by cell, with the
// library's tables and with the binary's CSV and JSON output.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "csv_reader.h"
#include "eventflow/analytics/format.h"
#include "eventflow/analytics/reports.h"
#include "eventflow/core/time.h"
#include "eventflow/sinks/sink_schema.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/postgres_fixture.h"

namespace eventflow::analytics {
namespace {

using sinks::PgConnection;
using Cells = std::vector<std::optional<std::string>>;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kBase = 1764489600000;  // 2025-11-30T08:00:00Z
constexpr int64_t kSpan = 6 * kHour;
const std::vector<std::string> kCurrencies = {"USD", "EUR", "GBP", "JPY", "INR"};

struct Order {
  std::string id, user, product;
  int64_t cents;
  std::string currency;
  int64_t ms;
};

struct FunnelRow {
  int64_t window_start;
  std::string user;
  int64_t views, orders;
  std::optional<double> rate;  // as inserted into conversion_rate
};

struct Data {
  std::vector<Order> orders;
  std::vector<FunnelRow> funnel;
};

std::string Cents(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>(std::llabs(cents) / 100),
                static_cast<long long>(std::llabs(cents) % 100));
  return buf;
}

// Round-half-away-from-zero of num/den for num >= 0, den > 0.
int64_t RoundDiv(int64_t num, int64_t den) { return (2 * num + den) / (2 * den); }

// The rate table in 1/10000 USD per unit (the library's published contract).
std::map<std::string, int64_t> RatesE4() {
  std::map<std::string, int64_t> rates;
  for (const UsdRate& rate : UsdRates()) {
    const std::string text(rate.usd);
    const size_t dot = text.find('.');
    EXPECT_EQ(text.size() - dot - 1, 4u) << text;
    rates[std::string(rate.currency)] = std::stoll(text.substr(0, dot) + text.substr(dot + 1));
  }
  return rates;
}

// Seeded rows: every currency plus one without a USD rate, six hours, users
// whose spend is exactly at and one cent around each segment threshold, funnel
// windows with views = 0 (NULL conversion_rate), a user with only such windows,
// users tied on conversion rate, user ids that need quoting.
Data Generate(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<std::string> users;
  for (int i = 0; i < 60; ++i) users.push_back("u" + std::to_string(100 + i));
  users.push_back("u\"quoted, with comma");
  users.push_back("\xE3\x83\xA6\xE3\x83\xBC\xE3\x82\xB6\xE3\x83\xBC");  // ユーザー
  users.push_back("line\nbreak");
  Data d;
  int next_id = 0;
  auto add_order = [&](const std::string& user, int64_t cents, const std::string& currency,
                       int64_t ms) {
    d.orders.push_back({"o" + std::to_string(next_id++), user, "p" + std::to_string(uniform(1, 40)),
                        cents, currency, ms});
  };
  for (int i = 0; i < 1500; ++i) {
    const std::string& currency = kCurrencies[uniform(0, kCurrencies.size() - 1)];
    const int64_t max_cents = currency == "JPY" || currency == "INR" ? 2'000'000 : 40'000;
    add_order(users[uniform(0, users.size() - 1)], uniform(1, max_cents), currency,
              kBase + uniform(0, kSpan - 1));
  }
  for (int i = 0; i < 7; ++i) {  // a currency the rate table lacks
    add_order(users[uniform(0, 4)], uniform(100, 9000), "CHF", kBase + uniform(0, kSpan - 1));
  }
  // Threshold users: random orders in other currencies that convert to whole
  // cents, topped up in USD to exactly T - 0.01, T or T + 0.01 dollars.
  const auto rates = RatesE4();
  for (int64_t threshold : {100, 500, 1000}) {
    for (int delta : {-1, 0, 1}) {
      const std::string user = "t" + std::to_string(threshold) +
                               (delta < 0   ? "-minus"
                                : delta > 0 ? "-plus"
                                            : "-exact");
      const int64_t target_cents = threshold * 100 + delta;
      int64_t usd_cents = 0;
      for (int k = 0; k < 3; ++k) {
        const std::string& currency = kCurrencies[uniform(1, kCurrencies.size() - 1)];
        int64_t cents;
        do {
          cents = uniform(1, currency == "JPY" || currency == "INR" ? 1'000'000 : 8'000);
        } while ((cents * rates.at(currency)) % 10'000 != 0);
        const int64_t converted = cents * rates.at(currency) / 10'000;
        if (usd_cents + converted >= target_cents) continue;
        usd_cents += converted;
        add_order(user, cents, currency, kBase + uniform(0, kSpan - 1));
      }
      add_order(user, target_cents - usd_cents, "USD", kBase + uniform(0, kSpan - 1));
    }
  }
  add_order("t1000-exact", 5000, "CHF", kBase + 10 * kMinute);  // not converted: stays exact

  // Funnel: random windows per user; both counts 0 never happens (full outer join).
  auto add_window = [&](const std::string& user, int64_t start, int64_t views, int64_t orders) {
    std::optional<double> rate;
    if (views > 0) rate = static_cast<double>(orders) / static_cast<double>(views);
    d.funnel.push_back({start, user, views, orders, rate});
  };
  for (const std::string& user : users) {
    for (int64_t start = kBase; start < kBase + kSpan; start += 5 * kMinute) {
      if (uniform(0, 99) >= 25) continue;
      int64_t views = uniform(0, 3) == 0 ? 0 : uniform(1, 12);
      int64_t orders = uniform(0, 4);
      if (views == 0 && orders == 0) orders = 1;
      add_window(user, start, views, orders);
    }
  }
  add_window("no-views-at-all", kBase, 0, 2);
  add_window("no-views-at-all", kBase + kHour, 0, 1);
  add_window("tie-b", kBase + 5 * kMinute, 4, 2);
  add_window("tie-a", kBase + 5 * kMinute, 4, 2);
  add_window("tie-c", kBase, 2, 1);  // same rate, fewer views
  return d;
}

void Insert(PgConnection& conn, const Data& d) {
  ASSERT_TRUE(conn.Execute("BEGIN").ok());
  for (const Order& o : d.orders) {
    const std::string price = Cents(o.cents), time = FormatTimestamp(o.ms);
    const std::optional<std::string_view> params[] = {o.id,  o.user,     o.product,
                                                      price, o.currency, time};
    auto r = conn.Query(
        "INSERT INTO orders_raw (order_id, user_id, product_id, price, currency, event_time) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  for (const FunnelRow& f : d.funnel) {
    const std::string start = FormatTimestamp(f.window_start),
                      end = FormatTimestamp(f.window_start + 5 * kMinute),
                      views = std::to_string(f.views), orders = std::to_string(f.orders);
    char rate[40] = "";
    if (f.rate) std::snprintf(rate, sizeof(rate), "%.17g", *f.rate);
    const std::optional<std::string_view> params[] = {
        start, f.user, end,
        views, orders, f.rate ? std::optional<std::string_view>(rate) : std::nullopt};
    auto r = conn.Query(
        "INSERT INTO conversion_funnel_5min (window_start, user_id, window_end, views, orders, "
        "conversion_rate) VALUES ($1, $2, $3, $4, $5, $6)",
        params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // order_attribution: filled as the pipeline would (no report reads it).
  for (size_t i = 0; i < d.orders.size(); i += 3) {
    const Order& o = d.orders[i];
    const std::string time = FormatTimestamp(o.ms), last = FormatTimestamp(o.ms - 1000 * (i % 300));
    const std::string views = std::to_string(1 + i % 4);
    const std::optional<std::string_view> params[] = {o.id, o.user, o.product, time, views, last};
    auto r = conn.Query(
        "INSERT INTO order_attribution (order_id, user_id, product_id, order_time, "
        "views_before_order, last_view_time) VALUES ($1, $2, $3, $4, $5, $6)",
        params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_TRUE(conn.Execute("COMMIT").ok());
}

// ---- the independent computation -------------------------------------------

struct Expected {
  std::map<std::string, std::vector<Cells>> tables;  // by ResultTable::name
  std::vector<std::string> unconverted;              // currencies named in notes
};

std::string Num(int64_t v) { return std::to_string(v); }

std::optional<std::string> Double(std::optional<double> v) {
  if (!v) return std::nullopt;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", *v);
  return buf;
}

Expected Recompute(const Data& d, const AnalyticsOptions& opt) {
  const auto in_range = [&](int64_t ms) {
    return (!opt.since_ms || ms >= *opt.since_ms) && (!opt.until_ms || ms < *opt.until_ms);
  };
  const size_t top = static_cast<size_t>(opt.top);
  Expected e;

  // revenue_by_currency and revenue_by_hour.
  std::map<std::string, std::pair<int64_t, int64_t>> by_currency;  // sum cents, count
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> by_hour;
  for (const Order& o : d.orders) {
    if (!in_range(o.ms)) continue;
    auto& c = by_currency[o.currency];
    c.first += o.cents, c.second += 1;
    auto& h = by_hour[{o.ms / kHour * kHour, o.currency}];
    h.first += o.cents, h.second += 1;
  }
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> ranked(by_currency.begin(),
                                                                          by_currency.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first > b.second.first : a.first < b.first;
  });
  auto& rbc = e.tables["revenue_by_currency"];
  for (size_t i = 0; i < ranked.size() && i < top; ++i) {
    const auto& [currency, sc] = ranked[i];
    rbc.push_back(
        {currency, Cents(sc.first), Num(sc.second), Cents(RoundDiv(sc.first, sc.second))});
  }
  auto& rbh = e.tables["revenue_by_hour"];
  for (const auto& [key, sc] : by_hour) {
    rbh.push_back({FormatTimestamp(key.first), key.second, Cents(sc.first), Num(sc.second)});
  }

  // conversion_overall and conversion_by_user.
  struct UserFunnel {
    int64_t windows = 0, views = 0, orders = 0, rated = 0;
    double rate_sum = 0;
  };
  std::map<std::string, UserFunnel> funnel;
  int64_t windows = 0, views = 0, orders = 0;
  for (const FunnelRow& f : d.funnel) {
    if (!in_range(f.window_start)) continue;
    UserFunnel& u = funnel[f.user];
    u.windows += 1, u.views += f.views, u.orders += f.orders;
    if (f.rate) u.rated += 1, u.rate_sum += *f.rate;
    windows += 1, views += f.views, orders += f.orders;
  }
  const auto ratio = [](int64_t num, int64_t den) {
    return den == 0 ? std::nullopt
                    : std::optional<double>(static_cast<double>(num) / static_cast<double>(den));
  };
  e.tables["conversion_overall"] = {
      {Num(funnel.size()), Num(windows), Num(views), Num(orders), Double(ratio(orders, views))}};
  std::vector<std::pair<std::string, UserFunnel>> users(funnel.begin(), funnel.end());
  std::sort(users.begin(), users.end(), [&](const auto& a, const auto& b) {
    const auto ra = ratio(a.second.orders, a.second.views);
    const auto rb = ratio(b.second.orders, b.second.views);
    if (ra.has_value() != rb.has_value()) return ra.has_value();  // NULLs last
    if (ra && *ra != *rb) return *ra > *rb;
    if (a.second.views != b.second.views) return a.second.views > b.second.views;
    return a.first < b.first;
  });
  auto& cbu = e.tables["conversion_by_user"];
  for (size_t i = 0; i < users.size() && i < top; ++i) {
    const auto& [user, u] = users[i];
    cbu.push_back({user, Num(u.windows), Num(u.views), Num(u.orders),
                   Double(ratio(u.orders, u.views)),
                   Double(u.rated ? std::optional<double>(u.rate_sum / u.rated) : std::nullopt)});
  }

  // segments and top_spenders: exact micro-dollars.
  const auto rates = RatesE4();
  std::map<std::string, std::pair<int64_t, int64_t>> spend;  // micro-USD, orders
  std::set<std::string> unconverted;
  for (const Order& o : d.orders) {
    if (!in_range(o.ms)) continue;
    auto rate = rates.find(o.currency);
    if (rate == rates.end()) {
      unconverted.insert(o.currency);
      continue;
    }
    auto& s = spend[o.user];
    s.first += o.cents * rate->second, s.second += 1;
  }
  e.unconverted.assign(unconverted.begin(), unconverted.end());
  const auto segment_of = [](int64_t micro) {
    if (micro > 1000'000'000) return "VIP";
    if (micro > 500'000'000) return "Premium";
    if (micro > 100'000'000) return "Regular";
    return "New";
  };
  const auto micro_to_cents = [](int64_t micro) { return RoundDiv(micro, 10'000); };
  auto& seg = e.tables["segments"];
  for (const char* name : {"VIP", "Premium", "Regular", "New"}) {
    int64_t count = 0, micro = 0;
    for (const auto& [user, s] : spend) {
      if (std::string(segment_of(s.first)) == name) count += 1, micro += s.first;
    }
    seg.push_back({name, Num(count), Cents(micro_to_cents(micro))});
  }
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> spenders(spend.begin(),
                                                                            spend.end());
  std::sort(spenders.begin(), spenders.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first > b.second.first : a.first < b.first;
  });
  auto& tsp = e.tables["top_spenders"];
  for (size_t i = 0; i < spenders.size() && i < top; ++i) {
    const auto& [user, s] = spenders[i];
    tsp.push_back({user, Num(s.second), Cents(micro_to_cents(s.first)), segment_of(s.first)});
  }
  return e;
}

// Floats compare as numbers (PostgreSQL prints the shortest round-trip form;
// the mean is summed in another order), everything else as text.
void ExpectCells(const std::string& table, const std::vector<ResultColumn>& columns,
                 const std::vector<Cells>& got, const std::vector<Cells>& want) {
  ASSERT_EQ(got.size(), want.size()) << table;
  for (size_t r = 0; r < want.size(); ++r) {
    ASSERT_EQ(got[r].size(), columns.size()) << table << " row " << r;
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto& g = got[r][c];
      const auto& w = want[r][c];
      const std::string where = table + " row " + std::to_string(r) + " " + columns[c].name;
      if (columns[c].kind == CellKind::kFloat && g && w) {
        const double gv = std::strtod(g->c_str(), nullptr), wv = std::strtod(w->c_str(), nullptr);
        EXPECT_NEAR(gv, wv, 1e-12 * std::max(1.0, std::fabs(wv))) << where;
        if (columns[c].name == "conversion_rate") {
          EXPECT_EQ(gv, wv) << where << " (exact ratio)";
        }
      } else {
        EXPECT_EQ(g, w) << where;
      }
    }
  }
}

void ExpectReport(const Report& report, const Expected& want) {
  std::vector<std::string> names;
  for (const ResultTable& t : report.tables) {
    names.push_back(t.name);
    auto it = want.tables.find(t.name);
    ASSERT_NE(it, want.tables.end()) << t.name;
    ExpectCells(t.name, t.columns, t.rows, it->second);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"revenue_by_currency", "conversion_overall",
                                             "conversion_by_user", "revenue_by_hour", "segments",
                                             "top_spenders"}));
  ASSERT_EQ(report.notes.size(), want.unconverted.size());
  for (size_t i = 0; i < want.unconverted.size(); ++i) {
    EXPECT_NE(report.notes[i].find("\"" + want.unconverted[i] + "\""), std::string::npos)
        << report.notes[i];
  }
}

class AnalyticsPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Connect(schema_.url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_.emplace(std::move(*conn));
    ASSERT_TRUE(sinks::EnsureSinkSchema(*conn_).ok());
  }

  Result<Report> Run(const AnalyticsOptions& options) {
    return RunReports(*conn_, kAllReports, options);
  }

  eventflow::testing::ScopedSchema schema_;
  std::optional<PgConnection> conn_;
};

TEST_F(AnalyticsPgTest, EveryReportMatchesARecomputation) {
  const Data data = Generate(20251130);
  Insert(*conn_, data);
  for (int64_t top : {1000, 3}) {
    AnalyticsOptions options;
    options.top = top;
    auto report = Run(options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const Expected want = Recompute(data, options);
    ExpectReport(*report, want);
    // The data set is meant to cover these; a generator change must not lose them.
    if (top == 1000) {
      EXPECT_EQ(report->tables[0].rows.size(), kCurrencies.size() + 1);  // and CHF
      EXPECT_EQ(want.unconverted, std::vector<std::string>{"CHF"});
      EXPECT_FALSE(report->tables[1].rows[0][4]->empty());
      bool null_rate = false;
      for (const auto& row : report->tables[2].rows) null_rate = null_rate || !row[4];
      EXPECT_TRUE(null_rate) << "a user with only NULL conversion rates";
      for (const auto& row : want.tables.at("segments")) EXPECT_NE(row[1], "0") << *row[0];
    }
  }
}

TEST_F(AnalyticsPgTest, ThresholdUsersLandInTheDocumentedSegments) {
  const Data data = Generate(7);
  Insert(*conn_, data);
  AnalyticsOptions options;
  options.top = 100000;
  auto report = Run(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::map<std::string, std::pair<std::string, std::string>> got;  // user -> spend, segment
  for (const auto& row : report->tables[5].rows) got[*row[0]] = {*row[2], *row[3]};
  const std::map<std::string, std::pair<std::string, std::string>> want = {
      {"t100-minus", {"99.99", "New"}},       {"t100-exact", {"100.00", "New"}},
      {"t100-plus", {"100.01", "Regular"}},   {"t500-minus", {"499.99", "Regular"}},
      {"t500-exact", {"500.00", "Regular"}},  {"t500-plus", {"500.01", "Premium"}},
      {"t1000-minus", {"999.99", "Premium"}}, {"t1000-exact", {"1000.00", "Premium"}},
      {"t1000-plus", {"1000.01", "VIP"}},
  };
  for (const auto& [user, spend_segment] : want) {
    ASSERT_TRUE(got.count(user)) << user;
    EXPECT_EQ(got[user], spend_segment) << user;
  }
}

TEST_F(AnalyticsPgTest, TimeRangeIsHalfOpen) {
  Data data = Generate(99);
  const int64_t since = kBase + 90 * kMinute, until = kBase + 4 * kHour;
  data.orders.push_back({"edge-since", "edge-user", "p1", 12345, "EUR", since});
  data.orders.push_back({"edge-until", "edge-user", "p1", 54321, "EUR", until});
  data.orders.push_back({"edge-before", "edge-user", "p1", 777, "GBP", until - 1});
  data.funnel.push_back({since, "edge-user", 3, 1, 1.0 / 3.0});
  data.funnel.push_back({until, "edge-user", 5, 5, 1.0});
  Insert(*conn_, data);
  AnalyticsOptions options;
  options.top = 1000;
  options.since_ms = since;
  options.until_ms = until;
  auto report = Run(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ExpectReport(*report, Recompute(data, options));
  for (const auto& row : report->tables[2].rows) {
    if (*row[0] == "edge-user") {
      EXPECT_EQ(row[2], "3");  // the window at `until` is out
    }
  }
  options.until_ms.reset();  // open end
  report = Run(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ExpectReport(*report, Recompute(data, options));
}

TEST_F(AnalyticsPgTest, EmptyTablesGiveEmptyReports) {
  AnalyticsOptions options;
  auto report = Run(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ExpectReport(*report, Recompute(Data{}, options));
}

TEST_F(AnalyticsPgTest, BinaryPrintsTheSameInCsvJsonAndTable) {
  const Data data = Generate(4242);
  Insert(*conn_, data);
  const std::string tool = eventflow::testing::ToolDir() + "/eventflow-analytics";
  AnalyticsOptions options;
  options.top = 7;
  options.since_ms = kBase + kHour;
  const Expected want = Recompute(data, options);
  const std::vector<std::string> base = {
      tool,       "--postgres-url", eventflow::testing::PostgresUrl(),
      "--schema", schema_.name(),   "--top",
      "7",        "--since",        FormatTimestamp(*options.since_ms)};

  auto csv_args = base;
  csv_args.insert(csv_args.end(), {"--format", "csv"});
  const auto csv = eventflow::testing::RunProcess(csv_args);
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.err.find("note: segments:"), std::string::npos) << csv.err;
  const auto blocks = testing::ReadCsvBlocks(csv.out);
  // The same tables the library returns, through the CSV writer and reader.
  auto report = RunReports(*conn_, kAllReports, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(blocks.size(), report->tables.size());
  for (size_t t = 0; t < blocks.size(); ++t) {
    const ResultTable& table = report->tables[t];
    ASSERT_FALSE(blocks[t].empty());
    Cells header;
    for (const auto& column : table.columns) header.push_back(column.name);
    EXPECT_EQ(blocks[t][0], header) << table.name;
    ExpectCells(table.name + " (csv)", table.columns,
                std::vector<Cells>(blocks[t].begin() + 1, blocks[t].end()),
                want.tables.at(table.name));
  }

  auto json_args = base;
  json_args.insert(json_args.end(), {"--format", "json", "--report", "conversion"});
  const auto json = eventflow::testing::RunProcess(json_args);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json.out).get(doc), simdjson::SUCCESS) << json.out;
  simdjson::dom::array by_user = doc["reports"]["conversion_by_user"].get_array();
  const auto& want_users = want.tables.at("conversion_by_user");
  ASSERT_EQ(by_user.size(), want_users.size());
  for (size_t i = 0; i < want_users.size(); ++i) {
    simdjson::dom::element row = by_user.at(i);
    EXPECT_EQ(std::string(std::string_view(row["user_id"].get_string())), *want_users[i][0]);
    EXPECT_EQ(std::to_string(int64_t(row["views"].get_int64())), *want_users[i][2]);
    if (want_users[i][4]) {
      EXPECT_EQ(double(row["conversion_rate"].get_double()),
                std::strtod(want_users[i][4]->c_str(), nullptr));
    } else {
      EXPECT_TRUE(row["conversion_rate"].is_null());
    }
  }
  EXPECT_FALSE(doc["reports"]["revenue_by_hour"].error() == simdjson::SUCCESS);

  auto table_args = base;
  table_args.insert(table_args.end(), {"--report", "segments"});
  const auto text = eventflow::testing::RunProcess(table_args);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("User segments by total spend in USD", 0), 0u) << text.out;
  for (const auto& row : want.tables.at("segments")) {
    EXPECT_NE(text.out.find(*row[2]), std::string::npos) << *row[0];
  }
}

TEST_F(AnalyticsPgTest, MissingTablesAndSchemasAreNamed) {
  eventflow::testing::ScopedSchema empty;
  auto conn = PgConnection::Connect(empty.url());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto all = RunReports(*conn, kAllReports, AnalyticsOptions{});
  ASSERT_FALSE(all.ok());
  EXPECT_TRUE(all.status().IsNotFound()) << all.status().ToString();
  EXPECT_NE(all.status().message().find("orders_raw"), std::string::npos);
  EXPECT_NE(all.status().message().find(empty.name()), std::string::npos) << "the search_path";
  const ReportKind conversion[] = {ReportKind::kConversion};
  auto funnel = RunReports(*conn, conversion, AnalyticsOptions{});
  ASSERT_FALSE(funnel.ok());
  EXPECT_NE(funnel.status().message().find("conversion_funnel_5min"), std::string::npos);
  // The connection is usable afterwards (the snapshot was rolled back).
  ASSERT_TRUE(conn->Execute("SELECT 1").ok());

  const std::string tool = eventflow::testing::ToolDir() + "/eventflow-analytics";
  const auto missing = eventflow::testing::RunProcess(
      {tool, "--postgres-url", eventflow::testing::PostgresUrl(), "--schema", empty.name()});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("table orders_raw"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.err.find("secret"), std::string::npos) << "password in: " << missing.err;
  const auto no_schema = eventflow::testing::RunProcess(
      {tool, "--postgres-url", eventflow::testing::PostgresUrl(), "--schema", "no_such_schema_x"});
  EXPECT_EQ(no_schema.exit_code, 2) << no_schema.err;
  EXPECT_NE(no_schema.err.find("--schema"), std::string::npos) << no_schema.err;
  EXPECT_NE(no_schema.err.find("no_such_schema_x"), std::string::npos) << no_schema.err;
}

}  // namespace
}  // namespace eventflow::analytics
