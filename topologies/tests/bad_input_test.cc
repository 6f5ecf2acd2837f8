// The bad-input catalogue (issue 6): a table of malformed, hostile and
// borderline records piped through the whole pipeline ("eventflow", all four
// topologies) with TopologyTestDriver. Each case is a short sequence of
// records, each with the outcome the test expects and checks:
//
//   accepted       the four output tables (decoded with the sink's RowDecoder,
//                  latest record per key) equal a recomputation, here, of
//                  DESIGN.md's definitions over the accepted records; nothing
//                  is dead-lettered or dropped;
//   dead-lettered  exactly one record on "<app>-dlq" with the input's key and
//                  value unchanged, the headers naming the error (field and
//                  problem), the stage and the source topic/partition/offset;
//                  the task's dead_lettered counter goes up by one; no output
//                  record; no task's watermark and no partition time moves;
//   late           beyond grace: each windowed operator the record passes
//                  drops it and counts it (dropped_late); an order still
//                  reaches orders_raw, nothing else changes.
//
// Conservation: every input record is accounted for, from what is observed,
// as an output effect, a DLQ record or a counted late drop, and the totals
// add up to the number of records piped.
//
// What the decoder's rules make of a 900 KB record: the decoder has no size
// limit of its own (simdjson accepts up to 4 GiB), so a 900 KB record is
// accepted when it is otherwise valid (the bulk in an unknown field) and
// dead-lettered whole when a rule rejects it (a 900 KB userId is over
// kMaxIdBytes). The only size limit is the producer's message.max.bytes (the
// driver's max_record_bytes, 1 000 000): a bad record larger than that cannot
// be dead-lettered, so the task stops naming it (the last test).
#include <gtest/gtest.h>

// GCC 12 reports a false "may be used uninitialized" inside std::variant<...
// UserEvent ...> when an Event is built from an Order or a ProductView at -O2.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "eventflow/core/event.h"
#include "eventflow/core/event_codec.h"
#include "eventflow/core/time.h"
#include "eventflow/sinks/table_contract.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/topology_test_driver.h"
#include "eventflow/topologies/pipeline.h"
#include "eventflow/topologies/registry.h"

namespace eventflow::topologies {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kWindowMs = 5 * kMinute;
constexpr int64_t kStart = 1764460800000;  // 2025-11-30T00:00:00Z
// The driver's mock wall clock: max_future_skew (24 h) is measured from it.
constexpr int64_t kWallClock = kStart + 2 * kHour;
constexpr const char* kPrefix = "t.";
constexpr const char* kOrders = "orders";
constexpr const char* kViews = "product-view";

// Each windowed operator a record passes drops and counts it once when it is
// beyond grace: an order passes the revenue window, the funnel's order count
// and the attribution join; a view the funnel's view count and the join.
constexpr uint64_t kLateDropsPerOrder = 3;
constexpr uint64_t kLateDropsPerView = 2;

const std::string& DlqTopic() {
  static const std::string topic = streams::DeadLetterTopic("test-app");
  return topic;
}

// ---------------------------------------------------------------------------
// Building inputs.

// `s` as a JSON string literal; quotes, backslashes and control characters escaped.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// Millisecond event time as RFC 3339 (gmtime, printf: independent of core's formatter).
std::string Rfc3339(int64_t ms, bool with_millis) {
  const auto seconds = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (with_millis) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms % 1000));
    out.append(buf);
  }
  return out + "Z";
}

// A JSON object written field by field, so that a case changes one field of a
// valid record and the test can find the byte offsets the errors must name.
// Keys are written as given (they may hold escapes); values are raw JSON.
class JsonObject {
 public:
  //! Replaces the value of `key`, or appends the field.
  JsonObject& Set(const std::string& key, std::string raw) {
    for (auto& [k, v] : fields_) {
      if (k == key) {
        v = std::move(raw);
        return *this;
      }
    }
    return Add(key, std::move(raw));
  }
  //! Appends a field even when the key is already there.
  JsonObject& Add(std::string key, std::string raw) {
    fields_.emplace_back(std::move(key), std::move(raw));
    return *this;
  }
  JsonObject& Remove(std::string_view key) {
    std::erase_if(fields_, [&](const auto& f) { return f.first == key; });
    return *this;
  }
  std::string Text() const {
    std::string out = "{";
    for (const auto& [k, v] : fields_) {
      if (out.size() > 1) out.push_back(',');
      out.append("\"").append(k).append("\":").append(v);
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

JsonObject OrderJson(const Order& o) {
  JsonObject j;
  char price[32];
  std::snprintf(price, sizeof price, "%" PRId64 ".%02" PRId64, o.price_cents / 100,
                o.price_cents % 100);
  j.Set("eventType", "\"ORDER\"")
      .Set("orderId", JsonString(o.order_id))
      .Set("userId", JsonString(o.user_id))
      .Set("productId", JsonString(o.product_id))
      .Set("price", price)
      .Set("currency", JsonString(Name(o.currency)))
      .Set("timestamp", JsonString(Rfc3339(o.timestamp_ms, o.timestamp_ms % 1000 != 0)));
  return j;
}

JsonObject ViewJson(const ProductView& v) {
  JsonObject j;
  j.Set("eventType", "\"VIEW\"")
      .Set("userId", JsonString(v.user_id))
      .Set("productId", JsonString(v.product_id))
      .Set("category", JsonString(Name(v.category)))
      .Set("timestamp", JsonString(Rfc3339(v.timestamp_ms, v.timestamp_ms % 1000 != 0)));
  return j;
}

Order BaseOrder(int64_t t = kStart + kMinute) {
  return Order{"o1", "u1", "p1", 5999, Currency::kEur, t};
}
ProductView BaseView(int64_t t = kStart + 30 * kSecond) {
  return ProductView{"u1", "p1", Category::kBooks, t};
}

// ---------------------------------------------------------------------------
// The catalogue.

enum class Outcome { kAccepted, kDeadLettered, kLate };

struct Step {
  std::string topic;  // without prefix
  std::optional<std::string> key;
  std::optional<std::string> value;
  Outcome outcome = Outcome::kAccepted;
  std::optional<Event> event;       // accepted, late: what the decoder must read
  std::string stage;                // dead-lettered: eventflow.error.stage
  std::vector<std::string> errors;  // dead-lettered: parts of eventflow.error
};

struct Case {
  std::string name;
  std::vector<Step> steps;
};

Step Accepted(const std::string& value, const Event& event) {
  const bool view = std::holds_alternative<ProductView>(event);
  return Step{view ? kViews : kOrders,
              std::string(UserIdOf(event)),
              value,
              Outcome::kAccepted,
              event,
              "",
              {}};
}
Step Accepted(const Order& o) { return Accepted(OrderJson(o).Text(), o); }
Step Accepted(const ProductView& v) { return Accepted(ViewJson(v).Text(), v); }

Step Late(const Event& event) {
  const bool view = std::holds_alternative<ProductView>(event);
  const std::string value = view ? ViewJson(std::get<ProductView>(event)).Text()
                                 : OrderJson(std::get<Order>(event)).Text();
  return Step{
      view ? kViews : kOrders, std::string(UserIdOf(event)), value, Outcome::kLate, event, "", {}};
}

Step DeadLettered(std::string topic, std::optional<std::string> key,
                  std::optional<std::string> value, std::string stage,
                  std::vector<std::string> errors) {
  return Step{std::move(topic), std::move(key),   std::move(value), Outcome::kDeadLettered,
              std::nullopt,     std::move(stage), std::move(errors)};
}
// An order value rejected by the decoder.
Step BadOrder(std::string value, std::vector<std::string> errors) {
  errors.insert(errors.begin(), "invalid ORDER event");
  return DeadLettered(kOrders, "u1", std::move(value), "deserialization", std::move(errors));
}
// The same, where the decoder names `field` at the byte where its value,
// starting with `token`, starts.
Step BadOrderField(const std::string& value, const std::string& field, const std::string& token,
                   std::string problem) {
  const std::string written = "\"" + field + "\":" + token;
  const size_t at = value.find(written);
  EXPECT_NE(at, std::string::npos) << written << " not in " << value.substr(0, 200);
  return BadOrder(value, {"field \"" + field + "\" at byte " +
                              std::to_string(at + written.size() - token.size()) + ": ",
                          std::move(problem)});
}

// "[[[...]]]" nested `depth` deep.
std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::vector<Case> Catalogue() {
  std::vector<Case> cases;
  auto add = [&](std::string name, std::vector<Step> steps) {
    cases.push_back(Case{std::move(name), std::move(steps)});
  };
  const Order base = BaseOrder();
  const std::string order = OrderJson(base).Text();
  auto with = [&](const std::string& key, const std::string& raw) {
    return OrderJson(base).Set(key, raw).Text();
  };
  auto order_with = [&](auto change) {
    Order o = base;
    change(o);
    return o;
  };

  // --- Bytes and JSON structure.
  {
    const std::string v = with("userId", "\"u\xC3\x28\"");  // 0xC3 needs a continuation byte
    add("invalid UTF-8 (a lead byte without its continuation)",
        {BadOrder(v, {"invalid UTF-8 at byte " + std::to_string(v.find('\xC3'))})});
    const std::string overlong = with("productId", "\"p\xC0\xAF\"");  // "/" in two bytes
    add("invalid UTF-8 (overlong encoding)",
        {BadOrder(overlong, {"invalid UTF-8 at byte " + std::to_string(overlong.find('\xC0'))})});
    const std::string surrogate = with("orderId", "\"o\xED\xA0\x80\"");  // U+D800 encoded
    add("invalid UTF-8 (an encoded UTF-16 surrogate)",
        {BadOrder(surrogate, {"invalid UTF-8 at byte " + std::to_string(surrogate.find('\xED'))})});
  }
  {
    const std::string v = with("userId", R"("u\ud800")");
    add("a lone UTF-16 surrogate escape",
        {BadOrderField(v, "userId", R"("u\ud800")", "invalid JSON string (bad escape sequence)")});
  }
  add("truncated JSON (the object not closed)",
      {BadOrder(order.substr(0, order.size() - 1),
                {"truncated JSON: the object starting at byte 0 is not closed"})});
  {
    const std::string cut = order.substr(0, order.find("EUR") + 2);
    add("truncated JSON (inside a string)",
        {BadOrder(cut, {"truncated JSON: the string starting at byte " +
                        std::to_string(cut.find("\"EU")) + " is not closed"})});
  }
  add("non-object JSON: an array",
      {BadOrder("[" + order + "]", {"top level at byte 0 is an array, not a JSON object"})});
  add("non-object JSON: a string",
      {BadOrder("\"ORDER\"", {"top level at byte 0 is a string, not a JSON object"})});
  add("non-object JSON: a number",
      {BadOrder(" 59.99", {"top level at byte 1 is a number, not a JSON object"})});
  add("non-object JSON: the literal null",
      {BadOrder("null", {"top level at byte 0 is null, not a JSON object"})});
  add("empty value", {BadOrder("", {"empty input; expected a JSON object"})});
  add("whitespace-only value", {BadOrder(" \n\t", {"input has no JSON value"})});
  add("null value (Kafka null)", {DeadLettered(kOrders, "u1", std::nullopt, "deserialization",
                                               {"orders record without a value (Kafka null)"})});
  add("null value on product-view",
      {DeadLettered(kViews, "u1", std::nullopt, "deserialization",
                    {"product-view record without a value (Kafka null)"})});
  // The contract's key is the userId; the topologies read it only through the
  // string serde, which refuses a Kafka null.
  add("null key", {DeadLettered(kOrders, std::nullopt, order, "deserialization",
                                {"key (string serde)", "null"})});
  // The contract's key is the userId: a record keyed otherwise is bad input.
  add("key differs from the payload's userId",
      {DeadLettered(kOrders, std::string("someone-else"), order, "timestamp",
                    {"record key \"someone-else\" differs from the payload's userId"})});
  add("trailing content after the object",
      {BadOrder(order + " {}", {"trailing content at byte " + std::to_string(order.size() + 1)})});

  // --- Fields.
  {
    const std::string v = OrderJson(base).Remove("price").Text();
    add("missing field (price)",
        {BadOrder(v, {"missing required field \"price\" for eventType \"ORDER\""})});
    add("missing field (eventType)", {BadOrder(OrderJson(base).Remove("eventType").Text(),
                                               {"missing required field \"eventType\""})});
  }
  {
    const std::string v = with("price", "\"59.99\"");
    add("wrongly typed field (price as a string)",
        {BadOrderField(v, "price", "\"59.99\"", "expected a number, got string")});
    const std::string n = with("userId", "1");
    add("wrongly typed field (userId as a number)",
        {BadOrderField(n, "userId", "1", "expected a string, got number")});
    const std::string null_price = with("price", "null");
    add("wrongly typed field (price null)",
        {BadOrderField(null_price, "price", "null", "expected a number, got null")});
    const std::string empty_id = with("orderId", "\"\"");
    add("empty orderId", {BadOrderField(empty_id, "orderId", "\"\"", "must not be empty")});
  }
  {
    const std::string v = ViewJson(BaseView()).Text();
    add("a VIEW on the orders topic",
        {BadOrderField(v, "eventType", "\"VIEW\"", "does not belong on topic orders")});
  }
  add("unknown currency", {BadOrderField(with("currency", "\"XYZ\""), "currency", "\"XYZ\"",
                                         "unknown currency \"XYZ\"")});
  add("currency in lower case", {BadOrderField(with("currency", "\"eur\""), "currency", "\"eur\"",
                                               "unknown currency \"eur\"")});
  {
    const std::string v = ViewJson(BaseView()).Set("category", "\"garden\"").Text();
    const size_t at = v.find("\"garden\"");
    add("unknown category",
        {DeadLettered(kViews, "u1", v, "deserialization",
                      {"invalid VIEW event", "field \"category\" at byte " + std::to_string(at),
                       "unknown category \"garden\""})});
  }

  // --- Prices.
  add("negative price",
      {BadOrderField(with("price", "-5.00"), "price", "-5.00", "price -5.00 is negative")});
  add("NaN price", {BadOrderField(with("price", "NaN"), "price", "NaN", "invalid JSON value")});
  add("Infinity price",
      {BadOrderField(with("price", "Infinity"), "price", "Infinity", "invalid JSON value")});
  add("huge price", {BadOrderField(with("price", "10000000000.00"), "price", "10000000000.00",
                                   "exceeds 9999999999.99")});
  add("huge price in exponent notation",
      {BadOrderField(with("price", "1e400"), "price", "1e400", "exceeds 9999999999.99")});
  add("price in exponent notation",
      {BadOrderField(with("price", "5.999e1"), "price", "5.999e1", "exponent notation")});
  add("over-precise price", {BadOrderField(with("price", "59.999"), "price", "59.999",
                                           "has more than 2 decimal places")});
  add("largest price (numeric(12,2))",
      {Accepted(with("price", "9999999999.99"),
                order_with([](Order& o) { o.price_cents = kMaxPriceCents; }))});
  add("price with trailing zeros beyond the cents", {Accepted(with("price", "59.9900"), base)});
  add("negative zero price",
      {Accepted(with("price", "-0.00"), order_with([](Order& o) { o.price_cents = 0; }))});

  // --- Duplicate keys.
  {
    const std::string v = OrderJson(base).Add("price", "1.00").Text();
    const size_t first = v.find("\"price\"");
    const size_t second = v.find("\"price\"", first + 1);
    add("duplicate key (price twice)",
        {BadOrder(v, {"field \"price\" appears twice (keys at byte " + std::to_string(first) +
                      " and byte " + std::to_string(second) + ")"})});
    const std::string escaped = OrderJson(base).Add(R"(pr\u0069ce)", "1.00").Text();
    add("duplicate key spelled with an escape",
        {BadOrder(escaped, {"field \"price\" appears twice"})});
    add("duplicate unknown key (ignored)",
        {Accepted(OrderJson(base).Add("note", "1").Add("note", "\"x\"").Text(), base)});
  }

  // --- Nesting and size.
  add("nesting 64 deep in an unknown field (the limit)",
      {Accepted(OrderJson(base).Add("extra", Nested(kMaxUnknownNestingDepth)).Text(), base)});
  // The error names the container that starts the 65th level; the decoder's
  // limit applies long before simdjson's own (1024 levels).
  for (const int depth : {kMaxUnknownNestingDepth + 1, 100000}) {
    const std::string v = OrderJson(base).Add("extra", Nested(depth)).Text();
    const size_t too_deep = v.find("\"extra\":[") + 8 + kMaxUnknownNestingDepth;
    add("nesting " + std::to_string(depth) + " deep in an unknown field",
        {BadOrder(v, {"field \"extra\" at byte " + std::to_string(too_deep) +
                      ": nested deeper than 64 levels of arrays and objects"})});
  }
  add("900 KB record, the bulk in an unknown field",
      {Accepted(OrderJson(base).Add("blob", JsonString(std::string(900 * 1024, 'x'))).Text(),
                base)});
  {
    const std::string v = with("userId", JsonString(std::string(900 * 1024, 'u')));
    add("900 KB record, the bulk in userId",
        {BadOrderField(v, "userId", "\"uuu",
                       "string of 921600 bytes is longer than the limit of 256 bytes")});
  }

  // --- Timestamps.
  add("timestamp without zone",
      {BadOrderField(with("timestamp", "\"2025-11-30T00:01:00\""), "timestamp",
                     "\"2025-11-30T00:01:00\"", "has no zone designator")});
  add("timestamp with a numeric offset",
      {BadOrderField(with("timestamp", "\"2025-11-30T00:01:00+00:00\""), "timestamp",
                     "\"2025-11-30T00:01:00+00:00\"", "numeric UTC offset")});
  add("timestamp in year 9999 (beyond max_future_skew)",
      {DeadLettered(kOrders, "u1", with("timestamp", "\"9999-12-31T23:59:59.999Z\""), "timestamp",
                    {"timestamp: event time " + std::to_string(kMaxTimestampMillis) +
                     " is implausibly far in the future"})});
  add("timestamp before 1970",
      {BadOrderField(with("timestamp", "\"1969-12-31T23:59:59Z\""), "timestamp", "\"1969-12-31",
                     "invalid timestamp \"1969-12-31T23:59:59Z\"")});
  add("timestamp with nanoseconds (truncated to milliseconds)",
      {Accepted(with("timestamp", "\"2025-11-30T00:01:00.123456789Z\""),
                order_with([](Order& o) { o.timestamp_ms += 123; }))});
  add("timestamp with lower-case t and z (RFC 3339 allows them)",
      {Accepted(with("timestamp", "\"2025-11-30t00:01:00z\""), base)});
  add("timestamp with 10 fraction digits",
      {BadOrderField(with("timestamp", "\"2025-11-30T00:01:00.1234567890Z\""), "timestamp",
                     "\"2025-11-30T00:01:00.1234567890Z\"", "more than 9 digits")});
  add("timestamp as epoch nanoseconds (a number)",
      {BadOrderField(with("timestamp", "1764460860000000000"), "timestamp", "1764460860000000000",
                     "expected a string, got number")});
  add("timestamp with a leap second",
      {BadOrderField(with("timestamp", "\"2016-12-31T23:59:60Z\""), "timestamp",
                     "\"2016-12-31T23:59:60Z\"", "invalid timestamp")});

  // --- Text that must reach the tables intact.
  {
    Order o = base;
    o.order_id = "o\x01\x1f\t\n\r\"\\/";
    o.user_id = "u\b\f";
    o.product_id = "p\x7f";
    ProductView v{o.user_id, o.product_id, Category::kToys, o.timestamp_ms - kMinute};
    add("control characters (escaped) in ids", {Accepted(v), Accepted(o)});
  }
  {
    Order o = base;
    o.order_id = "o'); DROP TABLE orders_raw; --";
    o.user_id = "u' OR '1'='1";
    o.product_id = "p\"; DELETE FROM order_attribution WHERE ''=''; /*";
    ProductView v{o.user_id, o.product_id, Category::kHome, o.timestamp_ms - kMinute};
    add("SQL-like text in ids", {Accepted(v), Accepted(o)});
  }
  {
    Order o = base;
    o.user_id = "u\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80";  // ü € 😀 written raw
    // The same text written with escapes, a surrogate pair for the emoji.
    const std::string v = with("userId", R"("u\u00fc\u20ac\ud83d\ude00")");
    add("non-ASCII text, raw and escaped",
        {Accepted(OrderJson(base).Set("userId", JsonString(o.user_id)).Text(), o), Accepted(v, o)});
  }
  {
    const std::string v = with("orderId", std::string("\"o\x01\""));
    add("unescaped control character in a string",
        {BadOrder(v, {"unescaped control character 0x01 in a string at byte " +
                      std::to_string(v.find('\x01'))})});
  }
  add("NUL character (\\u0000) in an id",
      {BadOrderField(with("productId", R"("p\u0000")"), "productId", R"("p\u0000")",
                     "NUL character")});

  // --- Unknown fields.
  add("unknown extra fields of every JSON type (ignored)",
      {Accepted(OrderJson(base)
                    .Add("coupon", R"({"code":"X","tags":[1,-2.5e3,null,true,"a\"b"]})")
                    .Add("note", "null")
                    .Add("qty", "3")
                    .Add("\xC3\xA9t\xC3\xA9", "false")
                    .Text(),
                base)});
  add("fields of another event type (ignored)",
      {Accepted(OrderJson(base).Add("country", "\"DE\"").Add("category", "17").Text(), base)});

  // --- Event time.
  {
    const int64_t s = kStart + 30 * kMinute;
    Order first = BaseOrder(s), late = BaseOrder(s - 2 * kHour),
          in_grace = BaseOrder(s - 9 * kMinute);
    late.order_id = "o-late";
    in_grace.order_id = "o-in-grace";
    add("late order beyond grace (and one within grace)",
        {Accepted(first), Accepted(BaseView(s)), Late(late), Accepted(in_grace)});
    ProductView late_view = BaseView(s - 2 * kHour);
    late_view.product_id = "p-late";
    add("late view beyond grace", {Accepted(BaseView(s)), Accepted(first), Late(late_view),
                                   Accepted(BaseView(s - 8 * kMinute))});
  }
  {
    const int64_t s = kStart + 30 * kMinute;
    Order future = BaseOrder(kWallClock + 25 * kHour);
    future.order_id = "o-future";
    Order after = BaseOrder(s - 9 * kMinute);
    after.order_id = "o-after";
    const std::string future_json = OrderJson(future).Text();
    // Had the future record advanced stream time, `after` would be ~27 h late.
    add("future event beyond max_future_skew does not advance stream time",
        {Accepted(BaseOrder(s)), Accepted(BaseView(s)),
         DeadLettered(kOrders, "u1", future_json, "timestamp",
                      {"timestamp: event time " + std::to_string(future.timestamp_ms) +
                       " is implausibly far in the future (limit " +
                       std::to_string(kWallClock + 24 * kHour) + ")"}),
         Accepted(after)});
  }
  return cases;
}

// ---------------------------------------------------------------------------
// The expected tables, recomputed from DESIGN.md's definitions.

using Row = std::vector<std::string>;  // PostgreSQL text of each column, NULL as "NULL"
using Table = std::map<Row, Row>;      // key columns -> row

std::string Money(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return buf;
}
std::string Ts(int64_t ms) { return Rfc3339(ms, true); }

Row OrdersRawRow(const Order& o) {
  return {o.order_id,
          o.user_id,
          o.product_id,
          Money(o.price_cents),
          std::string(Name(o.currency)),
          Ts(o.timestamp_ms)};
}

// The funnel counts a record under its Kafka key, which the topology checks
// equals the payload's userId (the case "key differs from the payload's
// userId" goes to the dead-letter topic).
struct Model {
  std::vector<Order> raw;                             // every decoded order, late ones included
  std::vector<std::pair<Order, std::string>> orders;  // within grace, with their keys
  std::vector<std::pair<ProductView, std::string>> views;  // within grace, with their keys

  std::map<std::string, Table> Tables() const {
    std::map<std::string, Table> t;
    for (const Order& o : raw) t["orders_raw"][{o.order_id}] = OrdersRawRow(o);
    std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> revenue, funnel;
    for (const auto& [o, key] : orders) {
      const int64_t w = o.timestamp_ms - o.timestamp_ms % kWindowMs;
      auto& r = revenue[{w, std::string(Name(o.currency))}];
      r.first += o.price_cents;
      ++r.second;
      ++funnel[{w, key}].second;
    }
    for (const auto& [v, key] : views) {
      ++funnel[{v.timestamp_ms - v.timestamp_ms % kWindowMs, key}].first;
    }
    for (const auto& [k, r] : revenue) {
      const int64_t rem = r.first % r.second;
      const int64_t avg = r.first / r.second + (2 * rem >= r.second ? 1 : 0);
      t["revenue_by_currency_5min"][{Ts(k.first), k.second}] = {
          Ts(k.first), k.second, Ts(k.first + kWindowMs), Money(r.first), std::to_string(r.second),
          Money(avg)};
    }
    for (const auto& [k, c] : funnel) {
      std::string rate = "NULL";
      if (c.first > 0) {
        char buf[32];
        auto [end, ec] = std::to_chars(
            buf, buf + sizeof buf, static_cast<double>(c.second) / static_cast<double>(c.first));
        rate.assign(buf, end);
      }
      t["conversion_funnel_5min"][{Ts(k.first), k.second}] = {Ts(k.first),
                                                              k.second,
                                                              Ts(k.first + kWindowMs),
                                                              std::to_string(c.first),
                                                              std::to_string(c.second),
                                                              rate};
    }
    for (const auto& [o, order_key] : orders) {
      int64_t n = 0, last = -1;
      for (const auto& [v, view_key] : views) {
        if (v.user_id == o.user_id && v.product_id == o.product_id &&
            v.timestamp_ms <= o.timestamp_ms && v.timestamp_ms >= o.timestamp_ms - 5 * kMinute) {
          ++n;
          last = std::max(last, v.timestamp_ms);
        }
      }
      if (n > 0) {
        t["order_attribution"][{o.order_id}] = {o.order_id,         o.user_id,         o.product_id,
                                                Ts(o.timestamp_ms), std::to_string(n), Ts(last)};
      }
    }
    return t;
  }
};

// ---------------------------------------------------------------------------
// Running a case.

const std::vector<std::string>& OutputTables() {
  static const std::vector<std::string> names = {"orders_raw", "revenue_by_currency_5min",
                                                 "conversion_funnel_5min", "order_attribution"};
  return names;
}

// Decodes `record` of `table` with the sink's decoder into (key, row or nullopt).
std::pair<Row, std::optional<Row>> DecodeOutput(const std::string& table,
                                                const streams::TestRecord& record) {
  const sinks::TableSpec* spec = sinks::FindTable(table);
  EXPECT_NE(spec, nullptr) << table;
  if (spec == nullptr || !record.key) {
    ADD_FAILURE() << table << ": record without key";
    return {};
  }
  sinks::RowDecoder decoder;
  sinks::RowBuffer rows(spec->columns.size());
  const Status decoded = record.value ? decoder.DecodeValue(*spec, *record.value, &rows)
                                      : decoder.DecodeKey(*spec, *record.key, &rows);
  EXPECT_TRUE(decoded.ok()) << table << ": " << decoded.ToString();
  if (!decoded.ok()) return {};
  if (record.value) {
    const Status key = decoder.CheckKey(*spec, *record.key, rows, 0);
    EXPECT_TRUE(key.ok()) << table << ": " << key.ToString();
  }
  Row row;
  for (size_t c = 0; c < spec->columns.size(); ++c) {
    row.push_back(rows.IsNull(0, c) ? "NULL" : std::string(rows.Value(0, c)));
  }
  Row key(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(spec->key_columns));
  if (!record.value) return {key, std::nullopt};
  return {key, row};
}

// How each input record was accounted for, from what was observed.
struct Tally {
  size_t inputs = 0;
  size_t with_output = 0;    // accepted: changed the output tables
  size_t dead_lettered = 0;  // a DLQ record
  size_t dropped_late = 0;   // counted late drops (an order's orders_raw row aside)
  uint64_t dead_lettered_counter = 0;
  uint64_t dropped_late_counter = 0;
  size_t expected_dead_lettered = 0;
  size_t expected_late = 0;
};

struct Counters {
  uint64_t dead_lettered = 0, dropped_late = 0;
  std::vector<int64_t> watermarks;
  std::map<std::string, int64_t> partition_times;  // source topic -> latest over tasks
};

Counters Read(const streams::TopologyTestDriver& driver, size_t tasks) {
  Counters c;
  for (size_t i = 0; i < tasks; ++i) {
    const auto& task = driver.Task(static_cast<int>(i));
    c.dead_lettered += task.counters().dead_lettered;
    c.dropped_late += task.counters().dropped_late;
    c.watermarks.push_back(task.watermark());
    for (const char* topic : {kOrders, kViews}) {
      auto& t = c.partition_times[topic];
      t = std::max(t, task.PartitionTime(std::string(kPrefix) + topic, 0));
    }
  }
  return c;
}

void RunCase(const Case& c, Tally* tally) {
  const NamedTopology* entry = FindTopology(kDefaultTopology);
  ASSERT_NE(entry, nullptr);
  const streams::Topology topology = entry->Build({kPrefix, EmitMode::kUpdate});
  const size_t tasks = topology.SubTopologies().size();
  streams::TestDriverOptions options;
  options.initial_wall_clock_ms = kWallClock;
  streams::TopologyTestDriver driver(topology, options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  Model model;
  std::map<std::string, Table> actual;
  std::map<std::string, int64_t> offsets;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& step = c.steps[i];
    SCOPED_TRACE("step " + std::to_string(i));
    const Counters before = Read(driver, tasks);
    const std::string topic = kPrefix + step.topic;
    const auto view = [](const std::optional<std::string>& s) {
      return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    // The Kafka record timestamp is not the event time: the payload's is.
    const Status piped = driver.PipeRaw(topic, view(step.key), view(step.value), kStart, {});
    ASSERT_TRUE(piped.ok()) << piped.ToString();
    const int64_t offset = offsets[step.topic]++;
    const Counters after = Read(driver, tasks);
    const uint64_t dlq_delta = after.dead_lettered - before.dead_lettered;
    const uint64_t late_delta = after.dropped_late - before.dropped_late;

    std::map<std::string, size_t> written;  // output records per table
    for (const std::string& table : OutputTables()) {
      auto& queue = driver.OutputQueue(kPrefix + table);
      written[table] = queue.size();
      for (const streams::TestRecord& r : queue) {
        auto [key, row] = DecodeOutput(table, r);
        if (row) {
          actual[table][key] = *row;
        } else {
          actual[table].erase(key);
        }
        const Order* order = step.event ? std::get_if<Order>(&*step.event) : nullptr;
        if (table == "orders_raw" && order != nullptr && row) {
          // The row holds exactly what the input said (control characters,
          // quotes and SQL-like text included).
          EXPECT_EQ(*row, OrdersRawRow(*order));
        }
      }
      queue.clear();
    }
    auto& dlq = driver.OutputQueue(DlqTopic());
    size_t outputs = 0;
    for (const auto& [table, n] : written) outputs += n;

    // What was observed accounts for the record in exactly one way.
    ++tally->inputs;
    tally->dead_lettered_counter += dlq_delta;
    tally->dropped_late_counter += late_delta;
    if (!dlq.empty()) {
      ++tally->dead_lettered;
    } else if (late_delta > 0) {
      ++tally->dropped_late;
    } else if (outputs > 0) {
      ++tally->with_output;
    } else {
      ADD_FAILURE() << c.name << ": the record left no trace (no output, DLQ or late drop)";
    }

    switch (step.outcome) {
      case Outcome::kDeadLettered: {
        ++tally->expected_dead_lettered;
        EXPECT_EQ(dlq_delta, 1u);
        EXPECT_EQ(late_delta, 0u);
        EXPECT_EQ(outputs, 0u);
        // A rejected record moves no time.
        EXPECT_EQ(after.watermarks, before.watermarks);
        EXPECT_EQ(after.partition_times, before.partition_times);
        ASSERT_EQ(dlq.size(), 1u);
        const streams::TestRecord& r = dlq.front();
        EXPECT_EQ(r.key, step.key);
        EXPECT_TRUE(r.value == step.value) << "the DLQ record's value differs from the input's";
        const std::string* error = r.headers.LastValue(streams::kDlqErrorHeader);
        const std::string* stage = r.headers.LastValue(streams::kDlqStageHeader);
        const std::string* source = r.headers.LastValue(streams::kDlqTopicHeader);
        const std::string* partition = r.headers.LastValue(streams::kDlqPartitionHeader);
        const std::string* at = r.headers.LastValue(streams::kDlqOffsetHeader);
        ASSERT_TRUE(error && stage && source && partition && at) << "missing DLQ header";
        for (const std::string& part : step.errors) {
          EXPECT_NE(error->find(part), std::string::npos)
              << "error header lacks: " << part << "\n  header: " << *error;
        }
        EXPECT_EQ(*stage, step.stage) << *error;
        EXPECT_EQ(*source, topic);
        EXPECT_EQ(*partition, "0");
        EXPECT_EQ(*at, std::to_string(offset));
        dlq.clear();
        break;
      }
      case Outcome::kAccepted:
      case Outcome::kLate: {
        const bool late = step.outcome == Outcome::kLate;
        EXPECT_EQ(dlq_delta, 0u);
        if (!dlq.empty()) {
          const std::string* error = dlq.front().headers.LastValue(streams::kDlqErrorHeader);
          ADD_FAILURE() << "dead-lettered: " << (error ? *error : "?");
          dlq.clear();
        }
        const Event& event = *step.event;
        if (const auto* o = std::get_if<Order>(&event)) {
          EXPECT_EQ(written["orders_raw"], 1u);
          model.raw.push_back(*o);
          if (!late) model.orders.emplace_back(*o, step.key.value_or(""));
        } else if (!late) {
          model.views.emplace_back(std::get<ProductView>(event), step.key.value_or(""));
        }
        if (late) {
          ++tally->expected_late;
          const bool is_order = std::holds_alternative<Order>(event);
          EXPECT_EQ(late_delta, is_order ? kLateDropsPerOrder : kLateDropsPerView);
          EXPECT_EQ(outputs, is_order ? 1u : 0u) << "a late record changed a windowed table";
        } else {
          EXPECT_EQ(late_delta, 0u);
          EXPECT_GT(outputs, 0u);
        }
        const auto expected = model.Tables();
        for (const std::string& table : OutputTables()) {
          const Table none;
          const Table& want = expected.count(table) ? expected.at(table) : none;
          const Table& got = actual.count(table) ? actual.at(table) : none;
          EXPECT_EQ(got, want) << table;
        }
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------

TEST(BadInputCatalogueTest, EveryCaseHasItsOutcomeAndNothingIsLost) {
  const std::vector<Case> cases = Catalogue();
  ASSERT_GE(cases.size(), 25u);
  Tally tally;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RunCase(c, &tally);
  }
  // Conservation, from what was observed: every input record is an output
  // effect, a DLQ record or a counted late drop, and the counters agree.
  EXPECT_EQ(tally.inputs, tally.with_output + tally.dead_lettered + tally.dropped_late);
  EXPECT_EQ(tally.dead_lettered, tally.expected_dead_lettered);
  EXPECT_EQ(tally.dead_lettered_counter, tally.dead_lettered);
  EXPECT_EQ(tally.dropped_late, tally.expected_late);
  std::printf(
      "bad-input catalogue: %zu cases, %zu records: %zu with output, %zu dead-lettered, "
      "%zu dropped late (%" PRIu64 " window drops counted)\n",
      cases.size(), tally.inputs, tally.with_output, tally.dead_lettered, tally.dropped_late,
      tally.dropped_late_counter);
}

TEST(BadInputCatalogueTest, CaseNamesAreUnique) {
  std::map<std::string, int> names;
  for (const Case& c : Catalogue()) EXPECT_EQ(++names[c.name], 1) << c.name;
}

// Over the producer's message.max.bytes (the driver's max_record_bytes): a
// valid record is processed (its outputs are small); a bad one cannot be
// dead-lettered, so the task stops with an error naming the record rather
// than lose it (under Kafka, its offset is not committed).
TEST(BadInputCatalogueTest, BadRecordOverTheProducerLimitStopsTheTaskNamingIt) {
  const NamedTopology* entry = FindTopology(kDefaultTopology);
  ASSERT_NE(entry, nullptr);
  streams::TestDriverOptions options;
  options.initial_wall_clock_ms = kWallClock;
  const std::string big(1'100'000, 'x');
  {
    streams::TopologyTestDriver driver(entry->Build({kPrefix, EmitMode::kUpdate}), options);
    ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
    const std::string valid = OrderJson(BaseOrder()).Add("blob", JsonString(big)).Text();
    ASSERT_TRUE(driver.PipeRaw("t.orders", std::string_view("u1"), valid, kStart, {}).ok());
    EXPECT_EQ(driver.OutputQueue("t.orders_raw").size(), 1u);
  }
  streams::TopologyTestDriver driver(entry->Build({kPrefix, EmitMode::kUpdate}), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  const std::string bad = OrderJson(BaseOrder()).Set("userId", JsonString(big)).Text();
  const Status piped = driver.PipeRaw("t.orders", std::string_view("u1"), bad, kStart, {});
  ASSERT_FALSE(piped.ok());
  EXPECT_NE(piped.message().find("cannot dead-letter the bad record"), std::string::npos)
      << piped.ToString();
  EXPECT_NE(piped.message().find("topic t.orders, partition 0, offset 0"), std::string::npos)
      << piped.ToString();
  EXPECT_NE(piped.message().find("userId"), std::string::npos) << piped.ToString();
  EXPECT_TRUE(driver.OutputQueue(DlqTopic()).empty());
}

}  // namespace
}  // namespace eventflow::topologies
