// Durations as written in flags (duration.h): units, fractions, and the
// errors naming the setting.
#include "eventflow/core/duration.h"

#include <gtest/gtest.h>

namespace eventflow {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ParseDurationTest, UnitsAndBareNumbersAreMilliseconds) {
  EXPECT_EQ(*ParseDuration("250", "x"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("250ms", "x"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1.5s", "x"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("5m", "x"), milliseconds(300'000));
  EXPECT_EQ(*ParseDuration("2min", "x"), milliseconds(120'000));
  EXPECT_EQ(*ParseDuration("3h", "x"), milliseconds(10'800'000));
  EXPECT_EQ(*ParseDuration("1d", "x"), milliseconds(86'400'000));
  EXPECT_EQ(*ParseDuration("0.5ms", "x"), milliseconds(0));  // truncated
}

TEST(ParseDurationTest, MicrosecondsOnlyWhereAsked) {
  auto us = ParseDuration("500us", "--commit-interval");
  ASSERT_FALSE(us.ok());
  EXPECT_NE(us.status().message().find("--commit-interval"), std::string::npos);
  EXPECT_NE(us.status().message().find("unknown unit \"us\""), std::string::npos);
  EXPECT_EQ(*ParseDurationMicros("500us", "x"), microseconds(500));
  EXPECT_EQ(*ParseDurationMicros("0.3ms", "x"), microseconds(300));
  EXPECT_EQ(*ParseDurationMicros("2ms", "x"), microseconds(2000));
  EXPECT_EQ(*ParseDurationMicros("2", "x"), microseconds(2000));
  EXPECT_EQ(*ParseDurationMicros("1.5s", "x"), microseconds(1'500'000));
}

TEST(ParseDurationTest, BadInputNamesTheSettingAndWhatIsWrong) {
  for (const char* bad : {"", "-1ms", "ms", "1.2.3s", "5 s", "1e3ms", "10x"}) {
    auto d = ParseDuration(bad, "--event-spacing");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(d.status().message().find("--event-spacing: invalid duration"), std::string::npos)
        << d.status().ToString();
    EXPECT_FALSE(ParseDurationMicros(bad, "--event-spacing").ok()) << bad;
  }
  EXPECT_FALSE(ParseDuration("9999999999999999d", "x").ok());
  EXPECT_FALSE(ParseDurationMicros("200000d", "x").ok());  // beyond int64 microseconds
}

}  // namespace
}  // namespace eventflow
