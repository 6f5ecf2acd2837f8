// The whole EventFlow pipeline end to end, on the real broker and PostgreSQL
// (labels integration, kafka, postgres): a deterministic generated input
// (eventflow-produce: fixed seed, several 5-minute windows of event time, every
// currency, bounded disorder within the grace period and a few events hours
// late) → two `eventflow run` instances of one application → eventflow-sink →
// the four tables of DESIGN.md's data contract, in a schema of the test's own.
//
// The expected tables are recomputed here in plain code from the input records
// read back from the input topics (with their partitions and offsets), from
// the contract's words alone, never from the pipeline's code:
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
// The late events are hours late (before the whole input's time range), so they
// can only be excluded, whatever the instances' relative speed; the in-grace
// disorder can never be excluded. The same input therefore has one correct
// result, and a variant kill -9s one instance and the sink mid-run and must get
// identical tables. Both check that eventflow_sink_offsets equals the output
// topics' end offsets and that the late events were counted
// (eventflow_records_dropped_total{reason="late"} on the instances' /metrics).
//
// Every wait is bounded; everything listens on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eventflow/core/time.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/streams/kafka_admin.h"
#include "eventflow/streams/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::FreePort;
using testing::HttpGet;
using testing::ConsumedRecord;
using testing::KafkaBootstrap;
using testing::UniqueName;

// The data contract (DESIGN.md, "The EventFlow pipeline").
constexpr int64_t kWindowMs = 5 * 60'000;
constexpr int64_t kGraceMs = 10 * 60'000;
constexpr int64_t kAttributionMs = 5 * 60'000;  // views up to 5 min before the order
constexpr int64_t kJoinGraceMs = 10 * 60'000;   // the attribution join's grace
const char* const kTables[] = {"orders_raw", "revenue_by_currency_5min", "conversion_funnel_5min",
                               "order_attribution"};
const char* const kCurrencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};

// The input, in two runs of the generator:
//  1. 36,000 events 100 ms apart (an hour of event time: 12 windows), lagging
//     the generator's clock by up to 4 minutes (within grace), 1% of them 3
//     hours late, interleaved (--late-fraction 0.01 --late-by 3h);
//  2. once the application has read all of that, 300 events continuing the
//     clock, every one 3 hours late (--late-fraction 1 --late-by 3h).
// ~60% of events are views and ~15% orders, the rest user events the
// topologies do not read. A record is late by its own input partition's
// stream time, so the interleaved late records are excluded whatever the
// other partitions' progress (even while a partition not yet read holds the
// task's watermark back).
constexpr int kPartitions = 3;
constexpr int64_t kEvents = 36'000;
constexpr int64_t kLateEvents = 300;
constexpr uint64_t kSeed = 5;
constexpr int64_t kSpacingMs = 100;
constexpr char kMaxDisorder[] = "4m";
constexpr int64_t kMaxDisorderMs = 4 * 60'000;
constexpr char kLateBy[] = "3h";
static_assert(kMaxDisorderMs < kGraceMs && kMaxDisorderMs < kJoinGraceMs,
              "the disordered events must stay within grace");

// --- Small helpers -----------------------------------------------------------------

std::string Money(int64_t cents) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>(std::abs(cents) / 100),
                static_cast<long long>(std::abs(cents) % 100));
  return buf;
}

// "YYYY-MM-DDThh:mm:ss.mmmZ", as the table read-back below prints timestamps.
std::string Ts(int64_t epoch_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds(epoch_ms)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd(day);
  const hh_mm_ss<milliseconds> hms(tp - day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::string NormalDouble(const std::string& text) {
  if (text == "NULL") return text;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", std::stod(text));
  return buf;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The raw text of a top-level field of the generator's flat JSON object: the
// string's characters (escapes are not expected in generated ids) or the
// number's token. Throws naming the field when absent.
std::string JsonField(const std::string& json, std::string_view name) {
  const std::string needle = "\"" + std::string(name) + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) throw std::runtime_error("no field " + std::string(name) + " in " + json);
  at += needle.size();
  while (at < json.size() && json[at] == ' ') ++at;
  if (at < json.size() && json[at] == '"') {
    const size_t end = json.find('"', at + 1);
    const std::string s = json.substr(at + 1, end - at - 1);
    if (end == std::string::npos || s.find('\\') != std::string::npos) {
      throw std::runtime_error("unexpected string in field " + std::string(name) + " of " + json);
    }
    return s;
  }
  size_t end = at;
  while (end < json.size() && json[end] != ',' && json[end] != '}' && json[end] != ' ') ++end;
  return json.substr(at, end - at);
}

// A JSON number with at most two decimals, as exact cents.
int64_t ParseCents(const std::string& text) {
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || frac.size() > 2 ||
      whole.find_first_not_of("0123456789") != std::string::npos ||
      frac.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error("not a price with at most two decimals: " + text);
  }
  while (frac.size() < 2) frac += '0';
  return std::stoll(whole) * 100 + std::stoll(frac);
}

int64_t EventTime(const std::string& json) {
  auto t = ParseTimestampMillis(JsonField(json, "timestamp"));
  if (!t.ok()) throw std::runtime_error(t.status().ToString() + " in " + json);
  return *t;
}

// --- The input, read back, and the contract recomputed ---------------------------

struct InputEvent {
  bool is_order = false;
  std::string user, product;
  std::string order_id, currency;  // orders only
  int64_t price_cents = 0;         // orders only
  int64_t time = 0;
  bool late_window = false;  // excluded from the windowed tables
  bool late_join = false;    // excluded from the attribution
};

// table -> key (the key columns joined) -> row cells as PostgreSQL prints them.
using Tables = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

std::string RowKey(int table, const std::vector<std::string>& cells) {
  const size_t keys = (table == 1 || table == 2) ? 2 : 1;
  std::string k;
  for (size_t c = 0; c < keys; ++c) k += cells[c] + "|";
  return k;
}

struct Expected {
  Tables tables;
  int64_t views = 0, orders = 0;
  int64_t late_views = 0, late_orders = 0;  // beyond the windows' grace
  int64_t disordered = 0;                   // behind their partition's stream time, in grace
  //! The least number of late drops the application must count: every late
  //! event's update of a windowed count (an order: revenue and funnel; a view: funnel).
  int64_t MinLateDrops() const { return 2 * late_orders + late_views; }
};

// Marks lateness per input partition, in offset order (ReadAll's order).
void MarkLateness(std::vector<InputEvent>& events, const std::vector<ConsumedRecord>& records,
                  Expected* expected) {
  std::map<int32_t, int64_t> stream_time;
  for (size_t i = 0; i < events.size(); ++i) {
    InputEvent& e = events[i];
    auto [it, inserted] = stream_time.try_emplace(records[i].partition, e.time);
    if (e.time < it->second) ++expected->disordered;
    it->second = std::max(it->second, e.time);
    const int64_t window_end = FloorDiv(e.time, kWindowMs) * kWindowMs + kWindowMs;
    e.late_window = window_end + kGraceMs <= it->second;
    e.late_join = e.time + kJoinGraceMs < it->second;
    if (e.late_window) ++(e.is_order ? expected->late_orders : expected->late_views);
  }
}

Expected Recompute(const std::vector<ConsumedRecord>& view_records,
                   const std::vector<ConsumedRecord>& order_records) {
  Expected x;
  std::vector<InputEvent> views, orders;
  for (const ConsumedRecord& r : view_records) {
    InputEvent e;
    e.user = JsonField(r.value, "userId");
    e.product = JsonField(r.value, "productId");
    e.time = EventTime(r.value);
    EXPECT_EQ(e.time, r.timestamp_ms) << "record timestamp = event time, partition " << r.partition
                                      << " offset " << r.offset;
    views.push_back(std::move(e));
  }
  for (const ConsumedRecord& r : order_records) {
    InputEvent e;
    e.is_order = true;
    e.order_id = JsonField(r.value, "orderId");
    e.user = JsonField(r.value, "userId");
    e.product = JsonField(r.value, "productId");
    e.currency = JsonField(r.value, "currency");
    e.price_cents = ParseCents(JsonField(r.value, "price"));
    e.time = EventTime(r.value);
    EXPECT_EQ(e.time, r.timestamp_ms) << "record timestamp = event time, partition " << r.partition
                                      << " offset " << r.offset;
    orders.push_back(std::move(e));
  }
  MarkLateness(views, view_records, &x);
  MarkLateness(orders, order_records, &x);
  x.views = static_cast<int64_t>(views.size());
  x.orders = static_cast<int64_t>(orders.size());
  for (const char* t : kTables) x.tables[t];

  // orders_raw: every order.
  std::set<std::string> order_ids;
  for (const InputEvent& o : orders) {
    EXPECT_TRUE(order_ids.insert(o.order_id).second) << "order id " << o.order_id << " twice";
    std::vector<std::string> row = {o.order_id, o.user, o.product, Money(o.price_cents),
                                    o.currency, Ts(o.time)};
    x.tables[kTables[0]][RowKey(0, row)] = row;
  }
  // revenue_by_currency_5min and conversion_funnel_5min.
  struct Revenue {
    int64_t cents = 0, count = 0;
  };
  std::map<std::pair<int64_t, std::string>, Revenue> revenue;
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> funnel;  // views, orders
  for (const InputEvent& v : views) {
    if (!v.late_window) ++funnel[{FloorDiv(v.time, kWindowMs) * kWindowMs, v.user}].first;
  }
  for (const InputEvent& o : orders) {
    if (o.late_window) continue;
    const int64_t start = FloorDiv(o.time, kWindowMs) * kWindowMs;
    Revenue& r = revenue[{start, o.currency}];
    r.cents += o.price_cents;
    ++r.count;
    ++funnel[{start, o.user}].second;
  }
  for (const auto& [key, r] : revenue) {
    const int64_t avg = (2 * r.cents + r.count) / (2 * r.count);  // half away from zero (cents >= 0)
    std::vector<std::string> row = {Ts(key.first),   key.second,    Ts(key.first + kWindowMs),
                                    Money(r.cents), std::to_string(r.count), Money(avg)};
    x.tables[kTables[1]][RowKey(1, row)] = row;
  }
  for (const auto& [key, counts] : funnel) {
    const auto [v, o] = counts;
    std::string rate = "NULL";
    if (v > 0) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(o) / static_cast<double>(v));
      rate = buf;
    }
    std::vector<std::string> row = {Ts(key.first), key.second, Ts(key.first + kWindowMs),
                                    std::to_string(v), std::to_string(o), rate};
    x.tables[kTables[2]][RowKey(2, row)] = row;
  }
  // order_attribution: views of the same user and product in [t - 5 min, t].
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> view_times;
  for (const InputEvent& v : views) {
    if (!v.late_join) view_times[{v.user, v.product}].push_back(v.time);
  }
  for (const InputEvent& o : orders) {
    if (o.late_join) continue;
    auto it = view_times.find({o.user, o.product});
    if (it == view_times.end()) continue;
    int64_t count = 0, last = 0;
    for (int64_t t : it->second) {
      if (o.time - kAttributionMs <= t && t <= o.time) {
        ++count;
        last = count == 1 ? t : std::max(last, t);
      }
    }
    if (count == 0) continue;
    std::vector<std::string> row = {o.order_id, o.user, o.product, Ts(o.time),
                                    std::to_string(count), Ts(last)};
    x.tables[kTables[3]][RowKey(3, row)] = row;
  }
  return x;
}

// The input must exercise what the test is about; a change of the generator
// that stopped doing so would otherwise pass silently.
void CheckInputCoverage(const Expected& x) {
  std::printf("input: %lld views, %lld orders; beyond grace: %lld views, %lld orders; %lld "
              "disordered within grace; expected rows: %zu, %zu, %zu, %zu\n",
              static_cast<long long>(x.views), static_cast<long long>(x.orders),
              static_cast<long long>(x.late_views), static_cast<long long>(x.late_orders),
              static_cast<long long>(x.disordered), x.tables.at(kTables[0]).size(),
              x.tables.at(kTables[1]).size(), x.tables.at(kTables[2]).size(),
              x.tables.at(kTables[3]).size());
  std::set<std::string> currencies, windows;
  for (const auto& [key, row] : x.tables.at(kTables[1])) {
    currencies.insert(row[1]);
    windows.insert(row[0]);
  }
  for (const char* c : kCurrencies) EXPECT_TRUE(currencies.count(c)) << "no revenue in " << c;
  EXPECT_GE(windows.size(), 10u) << "the input should span many 5-minute windows";
  EXPECT_GE(x.views + x.orders, kEvents / 2);
  EXPECT_GT(x.late_views, 0) << "no view beyond grace";
  EXPECT_GT(x.late_orders, 0) << "no order beyond grace";
  EXPECT_GT(x.disordered, x.views / 4) << "too little disorder within grace";
  EXPECT_GT(x.tables.at(kTables[3]).size(), 100u) << "too few attributed orders";
  size_t null_rates = 0;
  for (const auto& [key, row] : x.tables.at(kTables[2])) null_rates += row[5] == "NULL";
  EXPECT_GT(null_rates, 0u) << "no funnel row with orders but no views";
}

// --- PostgreSQL read-back -----------------------------------------------------------

sinks::PgConnection Connect(const std::string& url) {
  auto conn = sinks::PgConnection::Connect(url);
  if (!conn.ok()) throw std::runtime_error(conn.status().ToString());
  return std::move(*conn);
}

std::string TsText(const char* column) {
  return std::string("to_char(") + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

Tables ReadTables(sinks::PgConnection& conn) {
  const std::string queries[] = {
      "SELECT order_id, user_id, product_id, price::text, currency, " + TsText("event_time") +
          " FROM orders_raw",
      "SELECT " + TsText("window_start") + ", currency, " + TsText("window_end") +
          ", total_revenue::text, order_count::text, avg_order_value::text FROM "
          "revenue_by_currency_5min",
      "SELECT " + TsText("window_start") + ", user_id, " + TsText("window_end") +
          ", views::text, orders::text, conversion_rate::text FROM conversion_funnel_5min",
      "SELECT order_id, user_id, product_id, " + TsText("order_time") +
          ", views_before_order::text, " + TsText("last_view_time") + " FROM order_attribution",
  };
  Tables out;
  for (int t = 0; t < 4; ++t) {
    auto& table = out[kTables[t]];
    auto rows = conn.Query(queries[t], {});
    EXPECT_TRUE(rows.ok()) << kTables[t] << ": " << rows.status().ToString();
    if (!rows.ok()) continue;
    for (int r = 0; r < rows->rows(); ++r) {
      std::vector<std::string> cells;
      for (int c = 0; c < rows->columns(); ++c) {
        cells.push_back(rows->IsNull(r, c) ? "NULL" : std::string(rows->Get(r, c)));
      }
      if (t == 2) cells[5] = NormalDouble(cells[5]);
      table[RowKey(t, cells)] = cells;
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& cells) {
  std::string s;
  for (const auto& c : cells) s += (s.empty() ? "" : ",") + c;
  return s;
}

void ExpectTablesEqual(const Tables& expected, const Tables& actual) {
  for (const char* t : kTables) {
    const auto& e = expected.at(t);
    const auto& a = actual.at(t);
    EXPECT_EQ(a.size(), e.size()) << t << ": row count";
    size_t shown = 0;
    for (const auto& [key, row] : e) {
      auto it = a.find(key);
      if (it == a.end()) {
        if (shown++ < 5) ADD_FAILURE() << t << ": missing row " << Join(row);
      } else if (it->second != row) {
        if (shown++ < 5) {
          ADD_FAILURE() << t << ": row " << key << " is " << Join(it->second) << "; expected "
                        << Join(row);
        }
      }
    }
    for (const auto& [key, row] : a) {
      if (!e.count(key) && shown++ < 5) ADD_FAILURE() << t << ": unexpected row " << Join(row);
    }
    if (shown > 5) ADD_FAILURE() << t << ": " << shown << " rows differ in all";
  }
}

using PartitionOffsets = std::map<std::pair<std::string, int>, int64_t>;

PartitionOffsets StoredOffsets(sinks::PgConnection& conn) {
  PartitionOffsets stored;
  auto rows = conn.Query("SELECT topic, partition, next_offset FROM eventflow_sink_offsets", {});
  if (!rows.ok()) return stored;  // the sink may not have created it yet
  for (int r = 0; r < rows->rows(); ++r) {
    stored[{std::string(rows->Get(r, 0)), std::stoi(std::string(rows->Get(r, 1)))}] =
        std::stoll(std::string(rows->Get(r, 2)));
  }
  return stored;
}

int64_t Sum(const PartitionOffsets& offsets) {
  int64_t sum = 0;
  for (const auto& [tp, o] : offsets) sum += o;
  return sum;
}

// --- Metrics -------------------------------------------------------------------------

// The sum of eventflow_records_dropped_total samples with reason="late" (over
// every other label) in a Prometheus text exposition.
double LateDrops(const std::string& exposition) {
  double sum = 0;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string::npos) end = exposition.size();
    const std::string_view line(exposition.data() + at, end - at);
    at = end + 1;
    if (!line.starts_with("eventflow_records_dropped_total{") ||
        line.find("reason=\"late\"") == std::string_view::npos) {
      continue;
    }
    const size_t brace = line.rfind('}');
    sum += std::stod(std::string(line.substr(brace + 1)));
  }
  return sum;
}

// --- The pipeline under test ----------------------------------------------------------

std::vector<std::string> TopicsStartingWith(const std::string& prefix) {
  std::vector<std::string> names;
  auto client = streams::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  if (!client.ok()) return names;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(client->get(), 1, nullptr, &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return names;
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string name = md->topics[i].topic;
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  rd_kafka_metadata_destroy(md);
  return names;
}

PartitionOffsets EndOffsetsOf(const std::vector<std::string>& topics) {
  PartitionOffsets ends;
  for (const std::string& topic : topics) {
    auto e = testing::EndOffsets(topic);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) continue;
    for (size_t p = 0; p < e->size(); ++p) ends[{topic, static_cast<int>(p)}] = (*e)[p];
  }
  return ends;
}

bool Exited(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  const size_t paren = content.rfind(')');
  return content.empty() || paren == std::string::npos || paren + 2 >= content.size() ||
         content[paren + 2] == 'Z';
}

// Input and output topics under a unique prefix, a schema of its own, and the
// processes: two application instances, the sink, the generator. Logs in
// <dir>/*.log (named in failures); the directory, the topics (internal ones
// included) and the schema are removed afterwards.
class Pipeline {
 public:
  Pipeline()
      : prefix_(UniqueName("e2e") + "-"),
        app_id_(prefix_ + "app"),
        dir_(std::filesystem::temp_directory_path() / prefix_),
        topics_(MakeTopics(prefix_)),
        conn_(Connect(schema_.url())) {
    std::filesystem::create_directories(dir_);
    // An hour-aligned start two hours ago: recent enough for every retention
    // and the applications' future-skew check, and windows are whole.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    start_ms_ = (now / 3'600'000 - 2) * 3'600'000;
  }

  ~Pipeline() {
    for (auto& app : apps_) app.reset();
    sink_.reset();
    auto client = streams::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    const std::vector<std::string> internal = TopicsStartingWith(app_id_ + "-");
    if (client.ok() && !internal.empty()) {
      Status s = streams::DeleteTopics(client->get(), internal, 30s);
      if (!s.ok()) std::fprintf(stderr, "pipeline_e2e_test: leftover topics: %s\n", s.ToString().c_str());
    }
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }

  static std::vector<streams::NewTopic> MakeTopics(const std::string& prefix) {
    std::vector<streams::NewTopic> topics;
    for (const char* t : {"user-events", "product-view", "orders"}) {
      topics.push_back({prefix + t, kPartitions, 1, {}});
    }
    for (const char* t : kTables) topics.push_back({prefix + t, kPartitions, 1, {}});
    topics.push_back({prefix + "sink-dlq", 1, 1, {}});
    return topics;
  }

  std::string Log(const std::string& name) const { return (dir_ / (name + ".log")).string(); }

  // eventflow-produce's arguments for part 1 of the input (on time, with
  // disorder) or part 2 (`late`: hours late); paced at `rate` events/s or as
  // fast as possible (0).
  std::vector<std::string> ProduceArgs(bool late, int rate) const {
    const int64_t start = late ? start_ms_ + kEvents * kSpacingMs : start_ms_;
    std::vector<std::string> argv = {testing::ToolDir() + "/eventflow-produce",
                                     "--bootstrap-servers", KafkaBootstrap(),
                                     "--topic-prefix", prefix_,
                                     "--partitions", std::to_string(kPartitions),
                                     "--seed", std::to_string(late ? kSeed + 1 : kSeed),
                                     "--count", std::to_string(late ? kLateEvents : kEvents),
                                     "--start-time", Ts(start),
                                     "--event-spacing", std::to_string(kSpacingMs) + "ms",
                                     "--max-disorder", late ? "0" : kMaxDisorder,
                                     "--late-fraction", late ? "1" : "0.01",
                                     "--late-by", kLateBy,
                                     "--progress", "off"};
    if (rate > 0) {
      argv.insert(argv.end(), {"--rate", std::to_string(rate)});
    } else {
      argv.push_back("--max-rate");
    }
    return argv;
  }

  // Produces part 1 or 2 of the input as fast as possible.
  void ProduceAll(bool late) {
    testing::ProcessResult r = testing::RunProcess(ProduceArgs(late, 0));
    ASSERT_EQ(r.exit_code, 0) << "eventflow-produce failed: " << r.err;
  }

  // Starts producing part 1 at `rate` events/s in the background.
  void StartProducer(int rate) {
    producer_ = std::make_unique<ChildProcess>(ProduceArgs(false, rate), Log("produce"));
  }

  int WaitProducer() { return testing::WaitForExit(*producer_, 180s); }

  // Starts (or restarts) application instance i (0 or 1): same application id,
  // its own instance id, state directory and metrics port.
  // Instances started after this use a short consumer session timeout, so a
  // killed instance's tasks move to the other one within seconds.
  void UseShortSessionTimeout() { short_session_ = true; }

  void StartApp(int i) {
    if (ports_[i] == 0) ports_[i] = FreePort();
    std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow", "run",
        "--bootstrap-servers", KafkaBootstrap(),
        "--application-id", app_id_,
        "--instance-id", "i" + std::to_string(i),
        "--threads", "1",
        "--state-dir", (dir_ / ("state-" + std::to_string(i))).string(),
        "--processing-guarantee", "exactly_once_v2",
        "--commit-interval-ms", "100",
        "--emit", "update",
        "--http-port", std::to_string(ports_[i]),
        "--topology", "eventflow",
        "--topic-prefix", prefix_};
    if (short_session_) argv.push_back("--kafka.session.timeout.ms=6000");
    apps_[i] = std::make_unique<ChildProcess>(argv, Log("app-" + std::to_string(i)));
    late_seen_[i].push_back(0);  // a new lifetime of the instance's counters
  }

  // kill -9 of instance i, right after reading its late-drop count.
  void KillApp(int i) {
    ScrapeLate(i);
    apps_[i]->Signal(SIGKILL);
    EXPECT_EQ(apps_[i]->Wait(), 128 + SIGKILL);
  }

  // SIGTERM: a graceful stop must exit 0.
  void StopApp(int i) {
    apps_[i]->Signal(SIGTERM);
    EXPECT_EQ(testing::WaitForExit(*apps_[i], 60s), 0) << "see " << Log("app-" + std::to_string(i));
  }

  void StartSink() {
    const std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow-sink", "--bootstrap-servers", KafkaBootstrap(),
        "--postgres-url", schema_.url(), "--group", prefix_ + "sink", "--topic-prefix", prefix_,
        "--dlq-topic", prefix_ + "sink-dlq", "--batch-ms", "50ms",
        // A killed sink's partitions move once its session times out.
        "--kafka.session.timeout.ms=6000"};
    sink_ = std::make_unique<ChildProcess>(argv, Log("sink"));
  }

  void KillSink() {
    sink_->Signal(SIGKILL);
    EXPECT_EQ(sink_->Wait(), 128 + SIGKILL);
  }

  void StopSink() {
    sink_->Signal(SIGTERM);
    EXPECT_EQ(testing::WaitForExit(*sink_, 60s), 0) << "see " << Log("sink");
  }

  // Reads instance i's late-drop count (keeps the largest seen in this lifetime).
  void ScrapeLate(int i) {
    auto body = HttpGet(ports_[i], "/metrics");
    if (body.ok()) late_seen_[i].back() = std::max(late_seen_[i].back(), LateDrops(*body));
  }

  // Late drops counted over every lifetime of both instances.
  double LateDropsCounted() const {
    double sum = 0;
    for (const auto& lifetimes : late_seen_) {
      for (double v : lifetimes) sum += v;
    }
    return sum;
  }

  // Input records the application has committed (views and orders).
  int64_t InputCommitted() const {
    int64_t sum = 0;
    for (const char* t : {"product-view", "orders"}) {
      auto c = testing::CommittedOffsets(app_id_, prefix_ + t);
      if (!c.ok()) continue;
      for (int64_t o : *c) sum += std::max<int64_t>(o, 0);
    }
    return sum;
  }

  // Polls `done` every 100 ms (scraping the instances' metrics) until it holds
  // or `timeout` passes; then fails naming `what`.
  template <typename F>
  bool AwaitUntil(const std::string& what, std::chrono::seconds timeout, F done) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      for (int i = 0; i < 2; ++i) {
        if (apps_[i] && apps_[i]->running()) ScrapeLate(i);
      }
      for (int i = 0; i < 2; ++i) {
        if (apps_[i] && apps_[i]->running() && Exited(apps_[i]->pid())) {
          ADD_FAILURE() << "application instance " << i << " exited while waiting for " << what
                        << "; see " << Log("app-" + std::to_string(i));
          return false;
        }
      }
      if (sink_ && sink_->running() && Exited(sink_->pid())) {
        ADD_FAILURE() << "the sink exited while waiting for " << what << "; see " << Log("sink");
        return false;
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what
                  << "; logs in " << dir_;
    return false;
  }

  // Waits until the application has committed the input topics to their ends.
  bool AwaitInputCommitted(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (const char* t : {"product-view", "orders"}) {
      const std::string topic = prefix_ + t;
      auto ends = testing::EndOffsets(topic);
      if (!ends.ok()) {
        ADD_FAILURE() << ends.status().ToString();
        return false;
      }
      const std::vector<int64_t> target = *ends;
      const auto left = std::max<std::chrono::seconds>(
          1s, std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()));
      if (!AwaitUntil("the application to commit " + topic + " to its end", left, [&] {
            auto c = testing::CommittedOffsets(app_id_, topic);
            if (!c.ok() || c->size() != target.size()) return false;
            for (size_t p = 0; p < target.size(); ++p) {
              if ((*c)[p] < target[p]) return false;
            }
            return true;
          })) {
        return false;
      }
    }
    return true;
  }

  // Waits until the application has consumed all its input (the input topics to
  // their ends; then its repartition and output topics settle: their end
  // offsets and the group's committed offsets unchanged for 2 s) and the sink
  // has stored the output topics' end offsets. Returns those end offsets.
  std::optional<PartitionOffsets> AwaitDone(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    if (!AwaitInputCommitted(timeout)) return std::nullopt;
    std::vector<std::string> outputs, repartition;
    for (const char* t : kTables) outputs.push_back(prefix_ + t);
    for (const std::string& topic : TopicsStartingWith(app_id_ + "-")) {
      if (topic.ends_with("-repartition")) repartition.push_back(topic);
    }
    // Every input offset is committed, so every transaction writing a
    // repartition topic has ended; what is left is downstream processing.
    auto snapshot = [&] {
      std::vector<std::string> all = repartition;
      all.insert(all.end(), outputs.begin(), outputs.end());
      PartitionOffsets s = EndOffsetsOf(all);
      for (const std::string& topic : repartition) {
        auto c = testing::CommittedOffsets(app_id_, topic);
        if (!c.ok()) return PartitionOffsets{};
        for (size_t p = 0; p < c->size(); ++p) s[{"committed " + topic, static_cast<int>(p)}] = (*c)[p];
      }
      return s;
    };
    PartitionOffsets last;
    int stable = 0;
    auto stable_since = Clock::now();
    if (!AwaitUntil("the application's repartition and output topics to settle",
                    std::max<std::chrono::seconds>(1s, std::chrono::duration_cast<std::chrono::seconds>(
                                                           deadline - Clock::now())),
                    [&] {
                      if (Clock::now() < stable_since + 500ms * stable) return false;
                      PartitionOffsets now = snapshot();
                      if (!now.empty() && now == last) {
                        ++stable;
                      } else {
                        stable = 0;
                        stable_since = Clock::now();
                        last = std::move(now);
                      }
                      return stable >= 4;
                    })) {
      return std::nullopt;
    }
    PartitionOffsets nonempty;
    for (const auto& [tp, end] : EndOffsetsOf(outputs)) {
      if (end > 0) nonempty[tp] = end;
    }
    if (!AwaitUntil("the sink to store the output topics' end offsets",
                    std::max<std::chrono::seconds>(1s, std::chrono::duration_cast<std::chrono::seconds>(
                                                           deadline - Clock::now())),
                    [&] { return StoredOffsets(conn_) == nonempty; })) {
      return std::nullopt;
    }
    return nonempty;
  }

  // Reads the input back and recomputes the tables.
  Expected Recomputed() {
    auto views = testing::ReadAll(prefix_ + "product-view", false, 60s);
    auto orders = testing::ReadAll(prefix_ + "orders", false, 60s);
    if (!views.ok() || !orders.ok()) {
      ADD_FAILURE() << "reading the input back: " << views.status().ToString() << "; "
                    << orders.status().ToString();
      return {};
    }
    return Recompute(*views, *orders);
  }

  // The checks common to both tests, once everything has stopped.
  void CheckResults(const Expected& expected, const PartitionOffsets& output_ends) {
    ExpectTablesEqual(expected.tables, ReadTables(conn_));
    EXPECT_EQ(StoredOffsets(conn_), output_ends) << "eventflow_sink_offsets";
    std::vector<std::string> outputs;
    for (const char* t : kTables) outputs.push_back(prefix_ + t);
    PartitionOffsets ends;
    for (const auto& [tp, end] : EndOffsetsOf(outputs)) {
      if (end > 0) ends[tp] = end;
    }
    EXPECT_EQ(ends, output_ends) << "output written after the pipeline was done";
    EXPECT_GE(LateDropsCounted(), static_cast<double>(expected.MinLateDrops()))
        << "eventflow_records_dropped_total{reason=\"late\"} over both instances; "
        << expected.late_orders << " late orders, " << expected.late_views << " late views";
    auto sink_dlq = testing::ReadAll(prefix_ + "sink-dlq", false, 30s);
    ASSERT_TRUE(sink_dlq.ok()) << sink_dlq.status().ToString();
    EXPECT_EQ(sink_dlq->size(), 0u) << "rows the sink rejected; first: "
                                    << (sink_dlq->empty() ? "" : sink_dlq->front().value);
    for (const std::string& topic : TopicsStartingWith(app_id_ + "-")) {
      if (!topic.ends_with("-dlq")) continue;
      auto dlq = testing::ReadAll(topic, true, 30s);
      ASSERT_TRUE(dlq.ok()) << dlq.status().ToString();
      EXPECT_EQ(dlq->size(), 0u) << "input records the application dead-lettered ("
                                 << topic << "); first error: "
                                 << (dlq->empty() ? "" : dlq->front().Header("eventflow.error"));
    }
  }

 private:
  std::string prefix_;
  std::string app_id_;
  std::filesystem::path dir_;
  testing::ScopedSchema schema_;
  testing::ScopedTopics topics_;
  bool short_session_ = false;
  sinks::PgConnection conn_;
  int64_t start_ms_ = 0;
  std::unique_ptr<ChildProcess> apps_[2];
  std::unique_ptr<ChildProcess> sink_;
  std::unique_ptr<ChildProcess> producer_;
  int ports_[2] = {0, 0};
  std::vector<double> late_seen_[2];

 public:
  sinks::PgConnection& conn() { return conn_; }
};

// --- Tests ---------------------------------------------------------------------------

// The input's on-time part produced first (a backlog), then two instances and
// the sink; the late part once they have read it.
TEST(PipelineE2eTest, TwoInstancesAndSinkEqualTheRecomputedContract) {
  Pipeline pipeline;
  pipeline.ProduceAll(/*late=*/false);
  pipeline.StartApp(0);
  pipeline.StartApp(1);
  pipeline.StartSink();
  ASSERT_TRUE(pipeline.AwaitInputCommitted(180s));
  pipeline.ProduceAll(/*late=*/true);
  const Expected expected = pipeline.Recomputed();
  CheckInputCoverage(expected);
  const auto ends = pipeline.AwaitDone(180s);
  ASSERT_TRUE(ends.has_value());
  for (int i = 0; i < 2; ++i) pipeline.ScrapeLate(i);
  pipeline.StopApp(0);
  pipeline.StopApp(1);
  pipeline.StopSink();
  pipeline.CheckResults(expected, *ends);
}

// The input produced live while the pipeline runs; one instance and the sink
// are kill -9'ed mid-run and restarted. The tables must be identical.
// The killed instance stays down longer than its session timeout, so its
// tasks move to the other instance (a full restore there, processing a
// backlog) and move back when it returns (a tail replay): the path that once
// lost funnel counts (a cached windowed update flushed after the other
// table's window had closed in the same commit interval).
TEST(PipelineE2eTest, KillNineOfAnInstanceAndTheSinkMidRunGivesIdenticalTables) {
  Pipeline pipeline;
  pipeline.UseShortSessionTimeout();
  pipeline.StartApp(0);
  pipeline.StartApp(1);
  pipeline.StartSink();
  pipeline.StartProducer(/*rate=*/2500);  // ~15 s of input

  // Input volume that reaches the topologies: ~75% of the events.
  const int64_t input_estimate = kEvents * 3 / 4;
  ASSERT_TRUE(pipeline.AwaitUntil("a quarter of the input committed", 120s,
                                  [&] { return pipeline.InputCommitted() >= input_estimate / 4; }));
  pipeline.KillApp(1);
  const int64_t committed_at_app_kill = pipeline.InputCommitted();
  std::this_thread::sleep_for(10s);  // > the 6 s session timeout: its tasks move
  pipeline.StartApp(1);

  int64_t stored_at_sink_kill = 0;
  ASSERT_TRUE(pipeline.AwaitUntil("half of the input committed and some output stored", 120s, [&] {
    return pipeline.InputCommitted() >= input_estimate / 2 &&
           (stored_at_sink_kill = Sum(StoredOffsets(pipeline.conn()))) > 0;
  }));
  pipeline.KillSink();
  stored_at_sink_kill = Sum(StoredOffsets(pipeline.conn()));
  const int64_t committed_at_sink_kill = pipeline.InputCommitted();
  std::this_thread::sleep_for(1s);
  pipeline.StartSink();

  ASSERT_EQ(pipeline.WaitProducer(), 0) << "eventflow-produce failed";
  ASSERT_TRUE(pipeline.AwaitInputCommitted(180s));
  pipeline.ProduceAll(/*late=*/true);
  const auto ends = pipeline.AwaitDone(180s);
  ASSERT_TRUE(ends.has_value());
  for (int i = 0; i < 2; ++i) pipeline.ScrapeLate(i);
  pipeline.StopApp(0);
  pipeline.StopApp(1);
  pipeline.StopSink();

  const Expected expected = pipeline.Recomputed();
  CheckInputCoverage(expected);
  // The kills happened mid-run.
  EXPECT_LT(committed_at_app_kill, expected.views + expected.orders);
  EXPECT_LT(committed_at_sink_kill, expected.views + expected.orders);
  EXPECT_LT(stored_at_sink_kill, Sum(*ends));
  pipeline.CheckResults(expected, *ends);
  // The killed instance's tasks did move: the other instance restored them.
  std::ifstream other(pipeline.Log("app-0"));
  const std::string text((std::istreambuf_iterator<char>(other)), {});
  bool moved = false;
  for (size_t at = text.find("full restore of "); at != std::string::npos;
       at = text.find("full restore of ", at + 1)) {
    moved = moved || text.compare(at + 16, 2, "0 ") != 0;
  }
  EXPECT_TRUE(moved) << "no task of the killed instance was restored by the other; see "
                     << pipeline.Log("app-0");
}

}  // namespace
}  // namespace eventflow
