#include "eventflow/testing/pipeline_contract.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "eventflow/core/time.h"

namespace eventflow::testing {
namespace {

constexpr int64_t kWindowMs = kContractWindowMs;
constexpr int64_t kGraceMs = kContractGraceMs;
constexpr int64_t kAttributionMs = kContractAttributionMs;
constexpr int64_t kJoinGraceMs = kContractJoinGraceMs;


int64_t EventTime(const std::string& json) {
  auto t = ParseTimestampMillis(JsonField(json, "timestamp"));
  if (!t.ok()) throw std::runtime_error(t.status().ToString() + " in " + json);
  return *t;
}

struct InputEvent {
  bool is_order = false;
  std::string user, product;
  std::string order_id, currency;  // orders only
  int64_t price_cents = 0;         // orders only
  int64_t time = 0;
  bool late_window = false;  // excluded from the windowed tables
  bool late_join = false;    // excluded from the attribution
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

std::string TsText(const char* column) {
  return std::string("to_char(") + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace

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

std::string RowKey(int table, const std::vector<std::string>& cells) {
  const size_t keys = (table == 1 || table == 2) ? 2 : 1;
  std::string k;
  for (size_t c = 0; c < keys; ++c) k += cells[c] + "|";
  return k;
}

Expected Recompute(const std::vector<ConsumedRecord>& view_records,
                   const std::vector<ConsumedRecord>& order_records,
                   bool record_timestamps_are_event_times) {
  Expected x;
  std::vector<InputEvent> views, orders;
  for (const ConsumedRecord& r : view_records) {
    InputEvent e;
    e.user = JsonField(r.value, "userId");
    e.product = JsonField(r.value, "productId");
    e.time = EventTime(r.value);
    if (record_timestamps_are_event_times) {
      EXPECT_EQ(e.time, r.timestamp_ms) << "record timestamp = event time, partition "
                                        << r.partition << " offset " << r.offset;
    }
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
    if (record_timestamps_are_event_times) {
      EXPECT_EQ(e.time, r.timestamp_ms) << "record timestamp = event time, partition "
                                        << r.partition << " offset " << r.offset;
    }
    orders.push_back(std::move(e));
  }
  MarkLateness(views, view_records, &x);
  MarkLateness(orders, order_records, &x);
  x.views = static_cast<int64_t>(views.size());
  x.orders = static_cast<int64_t>(orders.size());
  for (const char* t : kContractTables) x.tables[t];

  // orders_raw: every order.
  std::set<std::string> order_ids;
  for (const InputEvent& o : orders) {
    EXPECT_TRUE(order_ids.insert(o.order_id).second) << "order id " << o.order_id << " twice";
    std::vector<std::string> row = {o.order_id, o.user, o.product, Money(o.price_cents),
                                    o.currency, Ts(o.time)};
    x.tables[kContractTables[0]][RowKey(0, row)] = row;
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
    x.tables[kContractTables[1]][RowKey(1, row)] = row;
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
    x.tables[kContractTables[2]][RowKey(2, row)] = row;
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
    x.tables[kContractTables[3]][RowKey(3, row)] = row;
  }
  return x;
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
    auto& table = out[kContractTables[t]];
    auto rows = conn.Query(queries[t], {});
    EXPECT_TRUE(rows.ok()) << kContractTables[t] << ": " << rows.status().ToString();
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

std::string JoinCells(const std::vector<std::string>& cells) {
  std::string s;
  for (const auto& c : cells) s += (s.empty() ? "" : ",") + c;
  return s;
}

void ExpectTablesEqual(const Tables& expected, const Tables& actual) {
  for (const char* t : kContractTables) {
    const auto& e = expected.at(t);
    const auto& a = actual.at(t);
    EXPECT_EQ(a.size(), e.size()) << t << ": row count";
    size_t shown = 0;
    for (const auto& [key, row] : e) {
      auto it = a.find(key);
      if (it == a.end()) {
        if (shown++ < 5) ADD_FAILURE() << t << ": missing row " << JoinCells(row);
      } else if (it->second != row) {
        if (shown++ < 5) {
          ADD_FAILURE() << t << ": row " << key << " is " << JoinCells(it->second) << "; expected "
                        << JoinCells(row);
        }
      }
    }
    for (const auto& [key, row] : a) {
      if (!e.count(key) && shown++ < 5) ADD_FAILURE() << t << ": unexpected row " << JoinCells(row);
    }
    if (shown > 5) ADD_FAILURE() << t << ": " << shown << " rows differ in all";
  }
}

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

}  // namespace eventflow::testing
