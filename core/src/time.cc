#include "eventflow/core/time.h"

#include <cassert>
#include <cstddef>

namespace eventflow {
namespace {

constexpr int64_t kMillisPerSecond = 1000;
constexpr int64_t kMillisPerDay = 86'400'000;
constexpr int kMinYear = 1970;
constexpr size_t kMaxFractionDigits = 9;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil;
// valid for every year >= 0, which is all this file needs).
constexpr int64_t DaysFromCivil(int year, int month, int day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = y / 400;
  const int yoe = y - era * 400;                                                  // [0, 399]
  const int doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                          // [0, 146096]
  return int64_t{era} * 146097 + doe - 719468;
}

struct CivilDate {
  int year;
  int month;
  int day;
};

// The inverse of DaysFromCivil for days >= 0.
constexpr CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = z / 146097;
  const int doe = static_cast<int>(z - era * 146097);                     // [0, 146096]
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int day = doy - (153 * mp + 2) / 5 + 1;
  const int month = mp < 10 ? mp + 3 : mp - 9;
  const int year = static_cast<int>(yoe + era * 400) + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(10000, 1, 1) * kMillisPerDay - 1 == kMaxTimestampMillis);
static_assert(CivilFromDays(DaysFromCivil(2000, 2, 29)).day == 29);

constexpr bool IsLeapYear(int year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

constexpr int DaysInMonth(int year, int month) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Why a timestamp was rejected. Parsing records only this (no strings), so the
// success path never allocates; Explain() turns it into a message.
enum class Problem : uint8_t {
  kNone,
  kEmpty,
  kExpectedDigits,  // `what`, `count`
  kExpectedChar,    // `expected`, `what`
  kYearBefore1970,
  kMonthOutOfRange,
  kDayOutOfRange,
  kHourOutOfRange,
  kMinuteOutOfRange,
  kLeapSecond,
  kSecondOutOfRange,
  kFractionTooLong,
  kFractionEmpty,
  kNoZone,
  kNumericOffset,
  kExpectedZone,
  kTrailing,
};

struct Parsed {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t millis = 0;  // fraction of the second, truncated to milliseconds
  Problem problem = Problem::kNone;
  size_t offset = 0;      // where the problem is
  const char* what = "";  // the component being read
  size_t count = 0;       // digits expected
  char expected = '\0';   // separator expected
};

// Reads exactly `count` digits at text[pos..]; on failure records where.
bool ReadDigits(std::string_view text, size_t pos, size_t count, const char* what, int* value,
                Parsed* parsed) {
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (i >= text.size() || !IsDigit(text[i])) {
      parsed->problem = Problem::kExpectedDigits;
      parsed->offset = i;
      parsed->what = what;
      parsed->count = count;
      return false;
    }
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

bool ReadChar(std::string_view text, size_t pos, char expected, const char* what, Parsed* parsed) {
  if (pos < text.size() && text[pos] == expected) return true;
  parsed->problem = Problem::kExpectedChar;
  parsed->offset = pos;
  parsed->expected = expected;
  parsed->what = what;
  return false;
}

bool Fail(Problem problem, size_t offset, Parsed* parsed) {
  parsed->problem = problem;
  parsed->offset = offset;
  return false;
}

bool Parse(std::string_view text, Parsed* p) {
  if (text.empty()) return Fail(Problem::kEmpty, 0, p);
  if (!ReadDigits(text, 0, 4, "year", &p->year, p)) return false;
  if (p->year < kMinYear) return Fail(Problem::kYearBefore1970, 0, p);
  if (!ReadChar(text, 4, '-', "after the year", p)) return false;
  if (!ReadDigits(text, 5, 2, "month", &p->month, p)) return false;
  if (p->month < 1 || p->month > 12) return Fail(Problem::kMonthOutOfRange, 5, p);
  if (!ReadChar(text, 7, '-', "after the month", p)) return false;
  if (!ReadDigits(text, 8, 2, "day", &p->day, p)) return false;
  if (p->day < 1 || p->day > DaysInMonth(p->year, p->month)) {
    return Fail(Problem::kDayOutOfRange, 8, p);
  }
  if (text.size() <= 10 || (text[10] != 'T' && text[10] != 't')) {
    // Reported like a missing separator: "expected 'T' between date and time".
    return ReadChar(text, 10, 'T', "between date and time", p);
  }
  if (!ReadDigits(text, 11, 2, "hour", &p->hour, p)) return false;
  if (p->hour > 23) return Fail(Problem::kHourOutOfRange, 11, p);
  if (!ReadChar(text, 13, ':', "after the hour", p)) return false;
  if (!ReadDigits(text, 14, 2, "minute", &p->minute, p)) return false;
  if (p->minute > 59) return Fail(Problem::kMinuteOutOfRange, 14, p);
  if (!ReadChar(text, 16, ':', "after the minute", p)) return false;
  if (!ReadDigits(text, 17, 2, "second", &p->second, p)) return false;
  if (p->second == 60) return Fail(Problem::kLeapSecond, 17, p);
  if (p->second > 60) return Fail(Problem::kSecondOutOfRange, 17, p);

  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    const size_t first = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (pos - first == kMaxFractionDigits) return Fail(Problem::kFractionTooLong, pos, p);
      if (pos - first < 3) p->millis = p->millis * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == first) return Fail(Problem::kFractionEmpty, pos, p);
    for (size_t n = pos - first; n < 3; ++n) p->millis *= 10;
  }

  if (pos >= text.size()) return Fail(Problem::kNoZone, pos, p);
  const char zone = text[pos];
  if (zone == '+' || zone == '-') return Fail(Problem::kNumericOffset, pos, p);
  if (zone != 'Z' && zone != 'z') return Fail(Problem::kExpectedZone, pos, p);
  if (pos + 1 != text.size()) return Fail(Problem::kTrailing, pos + 1, p);
  return true;
}

// Describes text[pos] for an error message: "'x'", "byte 0x01" or "the end of the text".
std::string Found(std::string_view text, size_t pos) {
  if (pos >= text.size()) return "the end of the text";
  const auto c = static_cast<unsigned char>(text[pos]);
  if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xf];
}

std::string TwoDigits(int v) {
  return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
}

// The message for a failed Parse: "<problem> (at offset <n>)".
Status Explain(std::string_view text, const Parsed& p) {
  std::string msg;
  switch (p.problem) {
    case Problem::kNone:
      return Status::Internal("timestamp parse failed without a reason");
    case Problem::kEmpty:
      msg = "timestamp is empty";
      break;
    case Problem::kExpectedDigits:
      msg = "expected " + std::to_string(p.count) + "-digit " + p.what + ", found " +
            Found(text, p.offset);
      break;
    case Problem::kExpectedChar:
      msg = std::string("expected '") + p.expected + "' " + p.what + ", found " +
            Found(text, p.offset);
      break;
    case Problem::kYearBefore1970:
      msg = "year " + std::to_string(p.year) +
            " is before 1970-01-01; event times must not be negative";
      break;
    case Problem::kMonthOutOfRange:
      msg = "month " + TwoDigits(p.month) + " is out of range 01..12";
      break;
    case Problem::kDayOutOfRange:
      msg = "day " + TwoDigits(p.day) + " is out of range for " + std::to_string(p.year) + "-" +
            TwoDigits(p.month) + " (01.." + TwoDigits(DaysInMonth(p.year, p.month)) + ")";
      break;
    case Problem::kHourOutOfRange:
      msg = "hour " + TwoDigits(p.hour) + " is out of range 00..23";
      break;
    case Problem::kMinuteOutOfRange:
      msg = "minute " + TwoDigits(p.minute) + " is out of range 00..59";
      break;
    case Problem::kLeapSecond:
      msg =
          "second 60 is a leap second, which is not supported (epoch milliseconds have no "
          "leap seconds)";
      break;
    case Problem::kSecondOutOfRange:
      msg = "second " + TwoDigits(p.second) + " is out of range 00..59";
      break;
    case Problem::kFractionTooLong:
      msg = "fraction of a second has more than 9 digits";
      break;
    case Problem::kFractionEmpty:
      msg = "expected a digit after '.', found " + Found(text, p.offset);
      break;
    case Problem::kNoZone:
      msg = "timestamp has no zone designator; expected 'Z'";
      break;
    case Problem::kNumericOffset:
      msg = "timestamp has a numeric UTC offset; it must be UTC with 'Z'";
      break;
    case Problem::kExpectedZone:
      msg = "expected zone designator 'Z', found " + Found(text, p.offset);
      break;
    case Problem::kTrailing:
      msg = "unexpected " + Found(text, p.offset) + " after the zone designator";
      break;
  }
  msg.append(" (at offset ").append(std::to_string(p.offset)).append(")");
  return Status::InvalidArgument(std::move(msg));
}

// Writes `width` decimal digits of v (zero-padded) at p; returns the end.
char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

}  // namespace

Result<int64_t> ParseTimestampMillis(std::string_view text) {
  Parsed p;
  if (!Parse(text, &p)) return Explain(text, p);
  const int64_t seconds =
      DaysFromCivil(p.year, p.month, p.day) * 86'400 + p.hour * 3'600 + p.minute * 60 + p.second;
  return seconds * kMillisPerSecond + p.millis;
}

void AppendTimestamp(int64_t epoch_ms, std::string* out) {
  assert(epoch_ms >= 0 && epoch_ms <= kMaxTimestampMillis);
  if (epoch_ms < 0) epoch_ms = 0;
  if (epoch_ms > kMaxTimestampMillis) epoch_ms = kMaxTimestampMillis;

  const int64_t days = epoch_ms / kMillisPerDay;
  const int64_t ms_of_day = epoch_ms % kMillisPerDay;
  const CivilDate date = CivilFromDays(days);
  const int64_t millis = ms_of_day % kMillisPerSecond;
  const int64_t secs = ms_of_day / kMillisPerSecond;

  char buf[sizeof("YYYY-MM-DDThh:mm:ss.mmmZ")];
  char* p = PutDigits(buf, date.year, 4);
  *p++ = '-';
  p = PutDigits(p, date.month, 2);
  *p++ = '-';
  p = PutDigits(p, date.day, 2);
  *p++ = 'T';
  p = PutDigits(p, secs / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, secs / 60 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, secs % 60, 2);
  if (millis != 0) {
    *p++ = '.';
    p = PutDigits(p, millis, 3);
  }
  *p++ = 'Z';
  out->append(buf, p);
}

std::string FormatTimestamp(int64_t epoch_ms) {
  std::string out;
  AppendTimestamp(epoch_ms, &out);
  return out;
}

}  // namespace eventflow
