#include "eventflow/analytics/format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace eventflow::analytics {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at s[*pos] and advances *pos; an invalid or truncated
// sequence (overlong forms, surrogates, > U+10FFFF) yields U+FFFD and skips one byte.
char32_t NextCodePoint(std::string_view s, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(*pos);
  if (b0 < 0x80) {
    ++*pos;
    return b0;
  }
  size_t len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++*pos;
    return kReplacement;
  }
  if (*pos + len > s.size()) {
    ++*pos;
    return kReplacement;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((byte(*pos + i) & 0xC0) != 0x80) {
      ++*pos;
      return kReplacement;
    }
    cp = (cp << 6) | (byte(*pos + i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*pos;
    return kReplacement;
  }
  *pos += len;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool InRanges(char32_t cp, std::initializer_list<std::pair<char32_t, char32_t>> ranges) {
  for (const auto& [lo, hi] : ranges) {
    if (cp >= lo && cp <= hi) return true;
  }
  return false;
}

// Terminal columns of one printable code point: a compact version of the
// Unicode East Asian Width (W, F) and zero-width (Mn, Me, Cf) properties,
// covering the blocks a user id or product name plausibly holds.
int CodePointWidth(char32_t cp) {
  if (InRanges(cp, {{0x0300, 0x036F},
                    {0x0483, 0x0489},
                    {0x0591, 0x05BD},
                    {0x0610, 0x061A},
                    {0x064B, 0x065F},
                    {0x0E31, 0x0E31},
                    {0x0E34, 0x0E3A},
                    {0x0E47, 0x0E4E},
                    {0x1AB0, 0x1AFF},
                    {0x1DC0, 0x1DFF},
                    {0x200B, 0x200F},
                    {0x2060, 0x2064},
                    {0x20D0, 0x20FF},
                    {0xFE00, 0xFE0F},
                    {0xFE20, 0xFE2F},
                    {0xFEFF, 0xFEFF},
                    {0xE0100, 0xE01EF}})) {
    return 0;
  }
  if (InRanges(cp,
               {{0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
                {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x26AA, 0x26AB},
                {0x26BD, 0x26BE},   {0x26F5, 0x26F5},   {0x26FA, 0x26FA},   {0x2705, 0x2705},
                {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274C},   {0x2753, 0x2755},
                {0x2757, 0x2757},   {0x2795, 0x2797},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},
                {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
                {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
                {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},
                {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
                {0x1F200, 0x1F2FF}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB},
                {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}})) {
    return 2;
  }
  return 1;
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp < 0xA0); }

// The cell as a terminal shows it: control characters escaped, invalid UTF-8 replaced.
std::string TerminalSafe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const char32_t cp = NextCodePoint(s, &pos);
    if (!IsControl(cp)) {
      AppendUtf8(cp, &out);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), cp < 0x100 ? "\\x%02x" : "\\u%04x",
                    static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out;
}

bool RightAligned(CellKind kind) { return kind != CellKind::kText; }

// A float cell as people read it: rounded to kTextFloatDecimals decimals
// ("0.3333", not "0.3333333333333333"). Anything that is not a finite
// number ("NaN", "Infinity") is shown as PostgreSQL printed it.
std::string RoundedForPeople(const std::string& cell) {
  double value = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(value)) {
    return cell;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", kTextFloatDecimals, value);
  std::string shown = buf;
  // A negative value that rounds to zero is shown as zero.
  if (shown.starts_with("-") && shown.find_first_not_of("-0.") == std::string::npos) {
    shown.erase(0, 1);
  }
  return shown;
}

void AppendPadded(std::string_view cell, size_t width, bool right, bool last, std::string* out) {
  const size_t pad = width - std::min(width, DisplayWidth(cell));
  if (right) out->append(pad, ' ');
  out->append(cell);
  if (!right && !last) out->append(pad, ' ');
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t pos = 0; pos < s.size();) {
    const char32_t cp = NextCodePoint(s, &pos);
    switch (cp) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
          *out += buf;
        } else {
          AppendUtf8(cp, out);
        }
    }
  }
  out->push_back('"');
}

// RFC 8259 number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

bool CsvNeedsQuotes(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return true;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ',' || c == '"' || u < 0x20 || u == 0x7F) return true;
  }
  return false;
}

void AppendCsvField(const std::optional<std::string>& cell, std::string* out) {
  if (!cell) return;  // SQL NULL: an empty unquoted field
  if (!CsvNeedsQuotes(*cell)) {
    out->append(*cell);
    return;
  }
  out->push_back('"');
  for (char c : *cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view text, std::string_view setting) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  return Status::InvalidArgument(std::string(setting) + ": unknown format \"" + std::string(text) +
                                 "\" (expected table, json or csv)");
}

size_t DisplayWidth(std::string_view utf8) {
  size_t width = 0;
  for (size_t pos = 0; pos < utf8.size();) width += CodePointWidth(NextCodePoint(utf8, &pos));
  return width;
}

std::string FormatText(const Report& report) {
  std::string out;
  for (size_t t = 0; t < report.tables.size(); ++t) {
    const ResultTable& table = report.tables[t];
    if (t > 0) out.push_back('\n');
    out += TerminalSafe(table.title);
    out.push_back('\n');
    const size_t n = table.columns.size();
    std::vector<std::vector<std::string>> cells;
    cells.reserve(table.rows.size());
    std::vector<size_t> width(n, 0);
    for (size_t c = 0; c < n; ++c) width[c] = DisplayWidth(table.columns[c].name);
    for (const auto& row : table.rows) {
      std::vector<std::string>& shown = cells.emplace_back();
      for (size_t c = 0; c < n; ++c) {
        if (!row[c]) {
          shown.emplace_back("NULL");
        } else if (table.columns[c].kind == CellKind::kFloat) {
          shown.push_back(TerminalSafe(RoundedForPeople(*row[c])));
        } else {
          shown.push_back(TerminalSafe(*row[c]));
        }
        width[c] = std::max(width[c], DisplayWidth(shown.back()));
      }
    }
    const auto append_line = [&](const auto& cell_of) {
      for (size_t c = 0; c < n; ++c) {
        if (c > 0) out += "  ";
        AppendPadded(cell_of(c), width[c], RightAligned(table.columns[c].kind), c + 1 == n, &out);
      }
      out.push_back('\n');
    };
    append_line([&](size_t c) { return std::string_view(table.columns[c].name); });
    size_t rule = 0;
    for (size_t c = 0; c < n; ++c) rule += width[c] + (c > 0 ? 2 : 0);
    out.append(rule, '-');
    out.push_back('\n');
    for (const auto& row : cells) append_line([&](size_t c) { return std::string_view(row[c]); });
    if (table.rows.empty()) out += "(no rows)\n";
  }
  return out;
}

std::string FormatJson(const Report& report) {
  std::string out = "{\"reports\":{";
  for (size_t t = 0; t < report.tables.size(); ++t) {
    const ResultTable& table = report.tables[t];
    if (t > 0) out.push_back(',');
    out += "\n  ";
    AppendJsonString(table.name, &out);
    out += ":[";
    for (size_t r = 0; r < table.rows.size(); ++r) {
      out += r > 0 ? ",\n    {" : "\n    {";
      for (size_t c = 0; c < table.columns.size(); ++c) {
        if (c > 0) out.push_back(',');
        AppendJsonString(table.columns[c].name, &out);
        out.push_back(':');
        const std::optional<std::string>& cell = table.rows[r][c];
        const CellKind kind = table.columns[c].kind;
        if (!cell) {
          out += "null";
        } else if ((kind == CellKind::kInteger || kind == CellKind::kFloat) &&
                   IsJsonNumber(*cell)) {
          out += *cell;
        } else {
          AppendJsonString(*cell, &out);
        }
      }
      out.push_back('}');
    }
    out += table.rows.empty() ? "]" : "\n  ]";
  }
  out += report.tables.empty() ? "},\"notes\":[" : "\n},\"notes\":[";
  for (size_t i = 0; i < report.notes.size(); ++i) {
    out += i > 0 ? ",\n  " : "\n  ";
    AppendJsonString(report.notes[i], &out);
  }
  out += report.notes.empty() ? "]}\n" : "\n]}\n";
  return out;
}

std::string FormatCsv(const Report& report) {
  std::string out;
  for (size_t t = 0; t < report.tables.size(); ++t) {
    const ResultTable& table = report.tables[t];
    if (t > 0) out.push_back('\n');
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (c > 0) out.push_back(',');
      AppendCsvField(table.columns[c].name, &out);
    }
    out.push_back('\n');
    for (const auto& row : table.rows) {
      for (size_t c = 0; c < row.size(); ++c) {
        if (c > 0) out.push_back(',');
        AppendCsvField(row[c], &out);
      }
      out.push_back('\n');
    }
  }
  return out;
}

std::string FormatReport(const Report& report, OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson:
      return FormatJson(report);
    case OutputFormat::kCsv:
      return FormatCsv(report);
    case OutputFormat::kTable:
      break;
  }
  return FormatText(report);
}

}  // namespace eventflow::analytics
