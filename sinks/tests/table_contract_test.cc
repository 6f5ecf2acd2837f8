// The output-topic contract (table_contract.h): every column kind decodes to
// the PostgreSQL text the sink writes, and every kind of bad row is rejected
// with an error naming the table and the field.
#include "eventflow/sinks/table_contract.h"

#include <gtest/gtest.h>

#include <string>

#include "eventflow/core/time.h"

namespace eventflow::sinks {
namespace {

const TableSpec& Table(std::string_view name) {
  const TableSpec* t = FindTable(name);
  EXPECT_NE(t, nullptr) << name;
  return *t;
}

// The row's cells as "a|b|NULL|...".
std::string Cells(const RowBuffer& rows, size_t row) {
  std::string out;
  for (size_t c = 0; c < rows.columns(); ++c) {
    if (c) out += "|";
    out += rows.IsNull(row, c) ? std::string("NULL") : std::string(rows.Value(row, c));
  }
  return out;
}

TEST(TableContractTest, TablesFollowTheDesign) {
  const auto& tables = PipelineTables();
  ASSERT_EQ(tables.size(), 4u);
  EXPECT_EQ(tables[0].name, "orders_raw");
  EXPECT_EQ(tables[1].name, "revenue_by_currency_5min");
  EXPECT_EQ(tables[2].name, "conversion_funnel_5min");
  EXPECT_EQ(tables[3].name, "order_attribution");
  auto names = [](const TableSpec& t) {
    std::string out;
    for (const ColumnSpec& c : t.columns) out += std::string(c.name) + ":" + std::string(c.sql_type) + ",";
    return out;
  };
  EXPECT_EQ(names(tables[0]),
            "order_id:text,user_id:text,product_id:text,price:numeric(12,2),currency:text,"
            "event_time:timestamp with time zone,");
  EXPECT_EQ(names(tables[1]),
            "window_start:timestamp with time zone,currency:text,window_end:timestamp with time "
            "zone,total_revenue:numeric(14,2),order_count:bigint,avg_order_value:numeric(14,2),");
  EXPECT_EQ(names(tables[2]),
            "window_start:timestamp with time zone,user_id:text,window_end:timestamp with time "
            "zone,views:bigint,orders:bigint,conversion_rate:double precision,");
  EXPECT_EQ(names(tables[3]),
            "order_id:text,user_id:text,product_id:text,order_time:timestamp with time zone,"
            "views_before_order:integer,last_view_time:timestamp with time zone,");
  EXPECT_EQ(tables[0].key_columns, 1u);
  EXPECT_EQ(tables[1].key_columns, 2u);
  EXPECT_EQ(tables[2].key_columns, 2u);
  EXPECT_EQ(tables[3].key_columns, 1u);
}

TEST(TableContractTest, EncodersWriteTheContractForms) {
  std::string out;
  AppendContractTimestamp(1764501420000, &out);  // whole second: still .000
  EXPECT_EQ(out, "2025-11-30T11:17:00.000Z");
  out.clear();
  AppendContractTimestamp(1764501420007, &out);
  EXPECT_EQ(out, "2025-11-30T11:17:00.007Z");
  out.clear();
  AppendContractDecimal(5999, &out);
  out += ",";
  AppendContractDecimal(50, &out);
  out += ",";
  AppendContractDecimal(-300, &out);
  out += ",";
  AppendContractDecimal(0, &out);
  EXPECT_EQ(out, "59.99,0.50,-3.00,0.00");
}

TEST(TableContractTest, DecodesEveryColumnKind) {
  RowDecoder decoder;
  const TableSpec& orders = Table("orders_raw");
  RowBuffer rows(orders.columns.size());
  ASSERT_TRUE(decoder
                  .DecodeValue(orders,
                               R"({"event_time":"2025-11-30T11:17:00Z","order_id":"o\"7","extra":[1,{"x":null}],)"
                               R"("user_id":"u1","product_id":"p10","price":"59.99","currency":"EUR"})",
                               &rows)
                  .ok());
  EXPECT_EQ(Cells(rows, 0), "o\"7|u1|p10|59.99|EUR|2025-11-30T11:17:00.000Z");

  const TableSpec& revenue = Table("revenue_by_currency_5min");
  RowBuffer rrows(revenue.columns.size());
  Status s = decoder.DecodeValue(
      revenue,
      R"({"window_start":"2025-11-30T11:15:00.000Z","currency":"JPY","window_end":"2025-11-30T11:20:00.000Z",)"
      R"("total_revenue":"123456789012.34","order_count":9007199254740993,"avg_order_value":"0.05"})",
      &rrows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Cells(rrows, 0),
            "2025-11-30T11:15:00.000Z|JPY|2025-11-30T11:20:00.000Z|123456789012.34|"
            "9007199254740993|0.05");

  const TableSpec& funnel = Table("conversion_funnel_5min");
  RowBuffer frows(funnel.columns.size());
  const std::string base =
      R"({"window_start":"2025-11-30T11:15:00.000Z","user_id":"u1","window_end":"2025-11-30T11:20:00.000Z",)";
  ASSERT_TRUE(decoder.DecodeValue(funnel, base + R"("views":3,"orders":1,"conversion_rate":0.3333333333333333})", &frows).ok());
  ASSERT_TRUE(decoder.DecodeValue(funnel, base + R"("views":0,"orders":2,"conversion_rate":null})", &frows).ok());
  ASSERT_TRUE(decoder.DecodeValue(funnel, base + R"("views":2,"orders":2,"conversion_rate":1})", &frows).ok());
  EXPECT_EQ(frows.rows(), 3u);
  EXPECT_EQ(std::stod(std::string(frows.Value(0, 5))), 1.0 / 3.0);  // round-trips exactly
  EXPECT_TRUE(frows.IsNull(1, 5));
  EXPECT_EQ(frows.Value(2, 5), "1");

  const TableSpec& attribution = Table("order_attribution");
  RowBuffer arows(attribution.columns.size());
  ASSERT_TRUE(decoder
                  .DecodeValue(attribution,
                               R"({"order_id":"o1","user_id":"u1","product_id":"p1","order_time":"2025-11-30T11:17:00.123Z",)"
                               R"("views_before_order":2147483647,"last_view_time":"2025-11-30T11:16:10.5Z"})",
                               &arows)
                  .ok());
  EXPECT_EQ(Cells(arows, 0),
            "o1|u1|p1|2025-11-30T11:17:00.123Z|2147483647|2025-11-30T11:16:10.500Z");
}

TEST(TableContractTest, KeysDecodeAndMustMatchTheValue) {
  RowDecoder decoder;
  const TableSpec& revenue = Table("revenue_by_currency_5min");
  RowBuffer rows(revenue.columns.size());
  ASSERT_TRUE(decoder.DecodeKey(revenue, R"({"window_start":"2025-11-30T11:15:00Z","currency":"EUR"})", &rows).ok());
  EXPECT_EQ(Cells(rows, 0), "2025-11-30T11:15:00.000Z|EUR|NULL|NULL|NULL|NULL");

  const std::string value =
      R"({"window_start":"2025-11-30T11:15:00.000Z","currency":"EUR","window_end":"2025-11-30T11:20:00.000Z",)"
      R"("total_revenue":"10.00","order_count":1,"avg_order_value":"10.00"})";
  ASSERT_TRUE(decoder.DecodeValue(revenue, value, &rows).ok());
  // Same key in another spelling of the same instant: matches.
  EXPECT_TRUE(decoder.CheckKey(revenue, R"({"currency":"EUR","window_start":"2025-11-30T11:15:00Z"})", rows, 1).ok());
  Status s = decoder.CheckKey(revenue, R"({"window_start":"2025-11-30T11:15:00.000Z","currency":"GBP"})", rows, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("field \"currency\""), std::string::npos) << s.message();
  s = decoder.CheckKey(revenue, R"({"window_start":"2025-11-30T11:15:00.000Z"})", rows, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("revenue_by_currency_5min key: field \"currency\": missing"), std::string::npos) << s.message();
}

struct BadCase {
  const char* table;
  std::string json;
  std::string expected;  // substring of the error
};

TEST(TableContractTest, BadRowsAreRejectedNamingTheField) {
  const std::string order_tail = R"(,"currency":"EUR","event_time":"2025-11-30T11:17:00.000Z"})";
  const std::string order_head = R"({"order_id":"o1","user_id":"u1","product_id":"p1")";
  const std::string funnel_head =
      R"({"window_start":"2025-11-30T11:15:00.000Z","user_id":"u1","window_end":"2025-11-30T11:20:00.000Z")";
  const std::string attribution_head =
      R"({"order_id":"o1","user_id":"u1","product_id":"p1","order_time":"2025-11-30T11:17:00.000Z","last_view_time":"2025-11-30T11:16:00.000Z")";
  const BadCase cases[] = {
      {"orders_raw", "", "orders_raw value: empty"},
      {"orders_raw", "{\"order_id\":", "orders_raw value: invalid JSON"},
      {"orders_raw", "[1,2]", "expected a JSON object, got array"},
      {"orders_raw", order_head + R"(,"price":"1.00"} trailing)", "invalid JSON"},
      {"orders_raw", order_head + R"(,"price":"1.00")" + order_tail.substr(0, 17) + "}", "field \"event_time\": missing"},
      {"orders_raw", order_head + R"(,"price":59.99)" + order_tail, "field \"price\": expected a decimal string with exactly two decimals (e.g. \"59.99\"), got number"},
      {"orders_raw", order_head + R"(,"price":"59.9")" + order_tail, "field \"price\": expected a decimal"},
      {"orders_raw", order_head + R"(,"price":"59.999")" + order_tail, "field \"price\": expected a decimal"},
      {"orders_raw", order_head + R"(,"price":"1e3")" + order_tail, "field \"price\": expected a decimal"},
      {"orders_raw", order_head + R"(,"price":"059.99")" + order_tail, "leading zero"},
      {"orders_raw", order_head + R"(,"price":"12345678901.00")" + order_tail, "more than 10 digits before the point"},
      {"orders_raw", order_head + R"(,"price":null)" + order_tail, "field \"price\": must not be null"},
      {"orders_raw", R"({"order_id":7,"user_id":"u1","product_id":"p1","price":"1.00")" + order_tail, "field \"order_id\": expected a string, got integer"},
      {"orders_raw", R"({"order_id":"o\u0000","user_id":"u1","product_id":"p1","price":"1.00")" + order_tail, "field \"order_id\": string contains a NUL"},
      {"orders_raw", order_head + R"(,"user_id":"u2","price":"1.00")" + order_tail, "field \"user_id\": appears twice"},
      {"orders_raw", order_head + R"(,"price":"1.00","currency":"EUR","event_time":"2025-11-30 11:17:00Z"})", "field \"event_time\": invalid timestamp"},
      {"orders_raw", order_head + R"(,"price":"1.00","currency":"EUR","event_time":"2025-11-30T11:17:00+01:00"})", "field \"event_time\": invalid timestamp"},
      {"orders_raw", order_head + R"(,"price":"1.00","currency":"EUR","event_time":1764501420000})", "field \"event_time\": expected an RFC 3339 UTC timestamp string"},
      {"conversion_funnel_5min", funnel_head + R"(,"views":1.5,"orders":0,"conversion_rate":0})", "field \"views\": expected an integer, got number with a fraction or exponent"},
      {"conversion_funnel_5min", funnel_head + R"(,"views":"1","orders":0,"conversion_rate":0})", "field \"views\": expected an integer, got string"},
      {"conversion_funnel_5min", funnel_head + R"(,"views":18446744073709551615,"orders":0,"conversion_rate":0})", "field \"views\": integer is out of range"},
      {"conversion_funnel_5min", funnel_head + R"(,"views":1,"orders":0,"conversion_rate":"0.5"})", "field \"conversion_rate\": expected a number, got string"},
      {"conversion_funnel_5min", funnel_head + R"(,"views":1,"orders":0})", "field \"conversion_rate\": missing"},
      {"order_attribution", attribution_head + R"(,"views_before_order":2147483648})", "field \"views_before_order\": integer 2147483648 is out of the range of integer"},
      {"order_attribution", attribution_head + R"(,"views_before_order":true})", "field \"views_before_order\": expected an integer, got boolean"},
  };
  RowDecoder decoder;
  for (const BadCase& c : cases) {
    const TableSpec& table = Table(c.table);
    RowBuffer rows(table.columns.size());
    Status s = decoder.DecodeValue(table, c.json, &rows);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(c.expected), std::string::npos)
        << "json: " << c.json << "\nerror: " << s.message() << "\nexpected: " << c.expected;
    EXPECT_EQ(s.message().rfind(std::string(c.table), 0), 0u) << s.message();
    EXPECT_EQ(rows.rows(), 0u) << "a bad row must not leave cells behind: " << c.json;
  }
}

TEST(TableContractTest, FailedDecodeLeavesEarlierRowsIntact) {
  RowDecoder decoder;
  const TableSpec& orders = Table("orders_raw");
  RowBuffer rows(orders.columns.size());
  const std::string good =
      R"({"order_id":"o1","user_id":"u1","product_id":"p1","price":"1.00","currency":"EUR","event_time":"2025-11-30T11:17:00.000Z"})";
  ASSERT_TRUE(decoder.DecodeValue(orders, good, &rows).ok());
  // Fails at the last column, after appending the others.
  ASSERT_FALSE(decoder.DecodeValue(orders, R"({"order_id":"o2","user_id":"u1","product_id":"p1","price":"1.00","currency":"EUR","event_time":"x"})", &rows).ok());
  ASSERT_TRUE(decoder.DecodeValue(orders, good, &rows).ok());
  ASSERT_EQ(rows.rows(), 2u);
  EXPECT_EQ(Cells(rows, 0), Cells(rows, 1));
  rows.DropLast();
  EXPECT_EQ(rows.rows(), 1u);
  EXPECT_EQ(Cells(rows, 0), "o1|u1|p1|1.00|EUR|2025-11-30T11:17:00.000Z");
}

}  // namespace
}  // namespace eventflow::sinks
