// The output-topic contract's column encoders (eventflow/core/table_format.h),
// checked against hand-written expected text.
#include "eventflow/core/table_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace eventflow {
namespace {

TEST(TableFormatTest, TimestampsAlwaysHaveMilliseconds) {
  std::string out = "x";
  AppendContractTimestamp(1764501420000, &out);  // whole second: still .000
  EXPECT_EQ(out, "x2025-11-30T11:17:00.000Z");
  out.clear();
  AppendContractTimestamp(1764501420007, &out);
  EXPECT_EQ(out, "2025-11-30T11:17:00.007Z");
  out.clear();
  AppendContractTimestamp(0, &out);
  EXPECT_EQ(out, "1970-01-01T00:00:00.000Z");
  out.clear();
  AppendContractTimestamp(1764501420999, &out);
  EXPECT_EQ(out, "2025-11-30T11:17:00.999Z");
}

TEST(TableFormatTest, DecimalsHaveExactlyTwoDecimals) {
  std::string out;
  for (int64_t cents : std::initializer_list<int64_t>{5999, 50, -300, 0, 1, -1, 100, 999999999999}) {
    AppendContractDecimal(cents, &out);
    out += ",";
  }
  EXPECT_EQ(out, "59.99,0.50,-3.00,0.00,0.01,-0.01,1.00,9999999999.99,");
  out.clear();
  AppendContractDecimal(INT64_MIN, &out);
  EXPECT_EQ(out, "-92233720368547758.08");
}

TEST(TableFormatTest, JsonStringsAreQuotedAndEscaped) {
  std::string out;
  AppendJsonString("u1", &out);
  AppendJsonString("a\"b\\c\n\x01", &out);
  AppendJsonString("\xc3\xa9", &out);  // UTF-8 passes through
  EXPECT_EQ(out, "\"u1\"\"a\\\"b\\\\c\\u000a\\u0001\"\"\xc3\xa9\"");
}

}  // namespace
}  // namespace eventflow
