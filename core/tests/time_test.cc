#include "eventflow/core/time.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace eventflow {
namespace {

// Expected values computed independently (Python's datetime, UTC).
struct Known {
  const char* text;
  int64_t epoch_ms;
};

constexpr Known kKnown[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01T00:00:00.001Z", 1},
    {"1970-03-01T00:00:00Z", 5'097'600'000},
    {"1972-12-31T23:59:59Z", 94'694'399'000},
    {"1999-12-31T23:59:59.999Z", 946'684'799'999},
    {"2000-02-29T00:00:00Z", 951'782'400'000},
    {"2024-02-29T12:34:56.789Z", 1'709'210'096'789},
    {"2025-11-30T11:15:32Z", 1'764'501'332'000},
    {"2025-11-30T11:16:10Z", 1'764'501'370'000},
    {"2025-11-30T11:17:00Z", 1'764'501'420'000},
    {"2038-01-19T03:14:07Z", 2'147'483'647'000},
    {"2038-01-19T03:14:08Z", 2'147'483'648'000},
    {"2100-02-28T23:59:59Z", 4'107'542'399'000},
    {"2100-03-01T00:00:00Z", 4'107'542'400'000},
    {"2400-02-29T00:00:00Z", 13'574'563'200'000},
    {"9999-12-31T23:59:59.999Z", 253'402'300'799'999},
};

TEST(TimeTest, ParsesKnownTimestamps) {
  for (const Known& k : kKnown) {
    Result<int64_t> parsed = ParseTimestampMillis(k.text);
    ASSERT_TRUE(parsed.ok()) << k.text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, k.epoch_ms) << k.text;
  }
}

TEST(TimeTest, FormatsKnownTimestamps) {
  for (const Known& k : kKnown) {
    EXPECT_EQ(FormatTimestamp(k.epoch_ms), k.text);
  }
}

TEST(TimeTest, MaxTimestampConstant) {
  EXPECT_EQ(kMaxTimestampMillis, 253'402'300'799'999);
  EXPECT_EQ(FormatTimestamp(kMaxTimestampMillis), "9999-12-31T23:59:59.999Z");
}

TEST(TimeTest, AcceptsLowercaseSeparatorAndZone) {
  EXPECT_EQ(*ParseTimestampMillis("2025-11-30t11:17:00Z"), 1'764'501'420'000);
  EXPECT_EQ(*ParseTimestampMillis("2025-11-30T11:17:00z"), 1'764'501'420'000);
  EXPECT_EQ(*ParseTimestampMillis("2025-11-30t11:17:00.5z"), 1'764'501'420'500);
}

TEST(TimeTest, FractionsOfOneToNineDigitsTruncateToMilliseconds) {
  const int64_t base = 1'764'501'420'000;  // 2025-11-30T11:17:00Z
  const struct {
    const char* fraction;
    int64_t millis;
  } cases[] = {
      {"1", 100},       {"12", 120},      {"123", 123},      {"1234", 123},      {"12345", 123},
      {"123456", 123},  {"1234567", 123}, {"12345678", 123}, {"123456789", 123}, {"999999999", 999},
      {"000000001", 0}, {"0", 0},         {"05", 50},        {"009", 9},         {"9", 900},
  };
  for (const auto& c : cases) {
    const std::string text = std::string("2025-11-30T11:17:00.") + c.fraction + "Z";
    Result<int64_t> parsed = ParseTimestampMillis(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, base + c.millis) << text;
  }
}

TEST(TimeTest, FormatsMillisecondsOnlyWhenPresent) {
  EXPECT_EQ(FormatTimestamp(1'764'501'420'000), "2025-11-30T11:17:00Z");
  EXPECT_EQ(FormatTimestamp(1'764'501'420'001), "2025-11-30T11:17:00.001Z");
  EXPECT_EQ(FormatTimestamp(1'764'501'420'010), "2025-11-30T11:17:00.010Z");
  EXPECT_EQ(FormatTimestamp(1'764'501'420'100), "2025-11-30T11:17:00.100Z");
  EXPECT_EQ(FormatTimestamp(1'764'501'420'999), "2025-11-30T11:17:00.999Z");
}

TEST(TimeTest, AppendTimestampAppends) {
  std::string out = "ts=";
  AppendTimestamp(0, &out);
  out.push_back(' ');
  AppendTimestamp(1, &out);
  EXPECT_EQ(out, "ts=1970-01-01T00:00:00Z 1970-01-01T00:00:00.001Z");
}

// Walks every day from 1970-01-01 to 9999-12-31 with a plain calendar counter (an
// oracle independent of the code under test) and checks both directions.
TEST(TimeTest, EveryDayFrom1970To9999RoundTrips) {
  constexpr int64_t kMillisPerDay = 86'400'000;
  int year = 1970, month = 1, day = 1;
  int64_t days = 0;
  char expected[64];
  std::string formatted;
  for (;; ++days) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int month_days[] = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    // A time of day that varies with the date, so hours, minutes, seconds and
    // milliseconds are all exercised.
    const int64_t ms_of_day = (days * 7'919'993) % kMillisPerDay;
    const int64_t epoch_ms = days * kMillisPerDay + ms_of_day;
    const int hh = static_cast<int>(ms_of_day / 3'600'000);
    const int mm = static_cast<int>(ms_of_day / 60'000 % 60);
    const int ss = static_cast<int>(ms_of_day / 1000 % 60);
    const int ms = static_cast<int>(ms_of_day % 1000);
    if (ms == 0) {
      std::snprintf(expected, sizeof(expected), "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day,
                    hh, mm, ss);
    } else {
      std::snprintf(expected, sizeof(expected), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month,
                    day, hh, mm, ss, ms);
    }
    formatted.clear();
    AppendTimestamp(epoch_ms, &formatted);
    ASSERT_EQ(formatted, expected) << "day " << days;
    Result<int64_t> parsed = ParseTimestampMillis(expected);
    ASSERT_TRUE(parsed.ok()) << expected << ": " << parsed.status().ToString();
    ASSERT_EQ(*parsed, epoch_ms) << expected;

    if (year == 9999 && month == 12 && day == 31) break;
    if (++day > month_days[month - 1]) {
      day = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }
  EXPECT_EQ(days, 2'932'896);  // 1970-01-01 .. 9999-12-31
}

TEST(TimeTest, RoundTripsManyMillisecondValues) {
  for (int64_t ms = 0; ms <= kMaxTimestampMillis; ms += 9'876'543'210'987 / 1000 + 7) {
    Result<int64_t> parsed = ParseTimestampMillis(FormatTimestamp(ms));
    ASSERT_TRUE(parsed.ok()) << ms;
    EXPECT_EQ(*parsed, ms);
  }
  for (int64_t ms : {int64_t{0}, int64_t{999}, int64_t{1000}, int64_t{86'399'999},
                     int64_t{86'400'000}, kMaxTimestampMillis - 1, kMaxTimestampMillis}) {
    EXPECT_EQ(*ParseTimestampMillis(FormatTimestamp(ms)), ms);
  }
}

TEST(TimeTest, LeapYearRules) {
  EXPECT_TRUE(ParseTimestampMillis("2000-02-29T00:00:00Z").ok());  // divisible by 400
  EXPECT_TRUE(ParseTimestampMillis("2024-02-29T00:00:00Z").ok());  // divisible by 4
  EXPECT_TRUE(ParseTimestampMillis("2400-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestampMillis("2100-02-29T00:00:00Z").ok());  // divisible by 100
  EXPECT_FALSE(ParseTimestampMillis("1900-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestampMillis("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestampMillis("2024-02-30T00:00:00Z").ok());
}

// Each rejected input, with text the message must contain (the problem and its offset).
struct Rejected {
  const char* text;
  std::vector<std::string> message_parts;
};

TEST(TimeTest, RejectsWithMessageNamingProblemAndOffset) {
  const std::vector<Rejected> cases = {
      {"", {"timestamp is empty", "offset 0"}},
      {"2025-11-30T11:17:00", {"timestamp has no zone designator; expected 'Z'", "offset 19"}},
      {"2025-11-30T11:17:00.123", {"no zone designator", "offset 23"}},
      {"2025-11-30T11:17:00+01:00", {"must be UTC with 'Z'", "offset 19"}},
      {"2025-11-30T11:17:00+00:00", {"must be UTC with 'Z'", "offset 19"}},
      {"2025-11-30T11:17:00-05:00", {"must be UTC with 'Z'", "offset 19"}},
      {"2025-11-30T11:17:00.5+00:00", {"must be UTC with 'Z'", "offset 21"}},
      {"2025-13-01T00:00:00Z", {"month 13 is out of range 01..12", "offset 5"}},
      {"2025-00-01T00:00:00Z", {"month 00 is out of range", "offset 5"}},
      {"2025-02-30T00:00:00Z", {"day 30 is out of range for 2025-02 (01..28)", "offset 8"}},
      {"2023-02-29T00:00:00Z", {"day 29 is out of range for 2023-02 (01..28)", "offset 8"}},
      {"2024-02-30T00:00:00Z", {"day 30 is out of range for 2024-02 (01..29)", "offset 8"}},
      {"2025-04-31T00:00:00Z", {"day 31 is out of range for 2025-04 (01..30)"}},
      {"2025-01-00T00:00:00Z", {"day 00 is out of range", "offset 8"}},
      {"2025-11-30T24:00:00Z", {"hour 24 is out of range 00..23", "offset 11"}},
      {"2025-11-30T11:60:00Z", {"minute 60 is out of range 00..59", "offset 14"}},
      {"2016-12-31T23:59:60Z", {"second 60 is a leap second", "not supported", "offset 17"}},
      {"2025-11-30T11:17:61Z", {"second 61 is out of range 00..59", "offset 17"}},
      {"1969-12-31T23:59:59Z", {"year 1969 is before 1970-01-01", "offset 0"}},
      {"0000-01-01T00:00:00Z", {"before 1970-01-01"}},
      {"2025-11-30T11:17:00.1234567890Z", {"more than 9 digits", "offset 29"}},
      {"2025-11-30T11:17:00.Z", {"expected a digit after '.'", "found 'Z'", "offset 20"}},
      {"2025-11-30T11:17:00ZZ", {"unexpected 'Z' after the zone designator", "offset 20"}},
      {"2025-11-30T11:17:00Z ", {"unexpected ' ' after the zone designator", "offset 20"}},
      {"2025-11-30T11:17:00Zjunk", {"after the zone designator", "offset 20"}},
      {"2025-11-30T11:17:00 Z", {"expected zone designator 'Z', found ' '", "offset 19"}},
      {" 2025-11-30T11:17:00Z", {"expected 4-digit year, found ' '", "offset 0"}},
      {"2025-11-30 11:17:00Z", {"expected 'T' between date and time, found ' '", "offset 10"}},
      {"2025-11-30", {"expected 'T' between date and time", "the end of the text", "offset 10"}},
      {"2025-11-30T", {"expected 2-digit hour", "offset 11"}},
      {"2025-11-30T11:17", {"expected ':' after the minute", "offset 16"}},
      {"2025/11/30T11:17:00Z", {"expected '-' after the year, found '/'", "offset 4"}},
      {"25-11-30T11:17:00Z", {"expected 4-digit year, found '-'", "offset 2"}},
      {"2025-1-30T11:17:00Z", {"expected 2-digit month", "offset 6"}},
      {"2025-11-30T1:17:00Z", {"expected 2-digit hour", "offset 12"}},
      {"2025-11-30T11:17:0Z", {"expected 2-digit second", "offset 18"}},
      {"22025-11-30T11:17:00Z", {"expected '-' after the year, found '5'", "offset 4"}},
      {"2025-11-30T11:17:00\x01Z", {"found byte 0x01", "offset 19"}},
      {"2025-11-30T11:17:00.12ZZ", {"after the zone designator", "offset 23"}},
      {"Z", {"expected 4-digit year", "offset 0"}},
  };
  for (const Rejected& c : cases) {
    Result<int64_t> parsed = ParseTimestampMillis(c.text);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << c.text;
    EXPECT_TRUE(parsed.status().IsInvalidArgument()) << c.text;
    for (const std::string& part : c.message_parts) {
      EXPECT_NE(parsed.status().message().find(part), std::string::npos)
          << "input " << c.text << "\nmessage: " << parsed.status().message()
          << "\nmissing: " << part;
    }
  }
}

TEST(TimeTest, RejectsEveryProperPrefixOfAValidTimestamp) {
  const std::string valid = "2025-11-30T11:17:00.123456789Z";
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_FALSE(ParseTimestampMillis(valid.substr(0, n)).ok()) << valid.substr(0, n);
  }
  EXPECT_TRUE(ParseTimestampMillis(valid).ok());
}

TEST(TimeTest, RejectsEmbeddedNulAndNonAscii) {
  EXPECT_FALSE(ParseTimestampMillis(std::string("2025-11-30T11:17:00Z\0", 21)).ok());
  EXPECT_FALSE(ParseTimestampMillis("２０２５-11-30T11:17:00Z").ok());  // full-width digits
}

}  // namespace
}  // namespace eventflow
