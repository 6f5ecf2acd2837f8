// The report formatters: aligned text (display width, escaping), CSV (RFC 4180
// quoting, read back by a parser written here) and JSON (escaping, value kinds,
// read back by simdjson); and the settings parsers of the reports.
#include "eventflow/analytics/format.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "csv_reader.h"
#include "eventflow/analytics/reports.h"

namespace eventflow::analytics {
namespace {

using Row = std::vector<std::optional<std::string>>;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  EXPECT_EQ(start, text.size()) << "output must end with a newline";
  return lines;
}

// Display column at which byte offset `byte` of `line` starts.
size_t ColumnAt(const std::string& line, size_t byte) {
  return DisplayWidth(std::string_view(line).substr(0, byte));
}

Report OneTable(std::vector<ResultColumn> columns, std::vector<Row> rows) {
  return Report{{ResultTable{"t", "title", std::move(columns), std::move(rows)}}, {}};
}

TEST(DisplayWidthTest, CountsTerminalColumns) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("na\xC3\xAFve"), 5u);              // naïve, precomposed
  EXPECT_EQ(DisplayWidth("e\xCC\x81"), 1u);                 // e + combining acute
  EXPECT_EQ(DisplayWidth("\xE6\x97\xA5\xE6\x9C\xAC"), 4u);  // 日本
  EXPECT_EQ(DisplayWidth("\xEC\x95\x88"), 2u);              // 안 (Hangul)
  EXPECT_EQ(DisplayWidth("\xF0\x9F\x8E\x89"), 2u);          // 🎉
  EXPECT_EQ(DisplayWidth("\xEF\xBC\xA1"), 2u);              // fullwidth A
  EXPECT_EQ(DisplayWidth("a\xFF"
                         "b"),
            3u);                            // invalid byte: one U+FFFD
  EXPECT_EQ(DisplayWidth("\xE6\x97"), 2u);  // truncated sequence: two U+FFFD
  EXPECT_EQ(DisplayWidth("\xC0\xAF"), 2u);  // overlong '/': rejected
}

TEST(FormatTextTest, AlignsColumnsByDisplayWidth) {
  const std::vector<std::string> names = {"u1", "\xE6\x97\xA5\xE6\x9C\xAC", "e\xCC\x81t\xC3\xA9",
                                          "\xF0\x9F\x8E\x89party", "a_much_longer_user_id"};
  const std::vector<std::string> amounts = {"1.00", "12345.67", "0.50", "-3.00", "99.99"};
  std::vector<Row> rows;
  for (size_t i = 0; i < names.size(); ++i) {
    rows.push_back({names[i], amounts[i], std::to_string(i * 1000)});
  }
  const Report report = OneTable(
      {{"user_id", CellKind::kText}, {"total", CellKind::kDecimal}, {"orders", CellKind::kInteger}},
      rows);
  const std::vector<std::string> lines = Lines(FormatText(report));
  ASSERT_EQ(lines.size(), 3 + names.size());  // title, header, rule, rows
  EXPECT_EQ(lines[0], "title");
  const std::string& rule = lines[2];
  EXPECT_EQ(rule.find_first_not_of('-'), std::string::npos);
  const size_t name_width = DisplayWidth("a_much_longer_user_id");
  const size_t total_width = std::string("12345.67").size();
  const size_t orders_width = std::string("orders").size();
  EXPECT_EQ(rule.size(), name_width + 2 + total_width + 2 + orders_width);
  // Every line spans the rule (numbers are right-aligned up to the last column),
  // and each value ends where its column ends.
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(DisplayWidth(lines[i]), rule.size()) << lines[i];
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& line = lines[3 + i];
    EXPECT_EQ(line.rfind(names[i], 0), 0u) << "text is left-aligned: " << line;
    const size_t amount_at = line.find(" " + amounts[i] + " ") + 1;
    EXPECT_EQ(ColumnAt(line, amount_at) + amounts[i].size(), name_width + 2 + total_width) << line;
  }
  EXPECT_EQ(lines[1].find("user_id"), 0u);
  EXPECT_EQ(ColumnAt(lines[1], lines[1].find("total")) + 5, name_width + 2 + total_width);
}

TEST(FormatTextTest, EscapesControlCharactersAndShowsNull) {
  const Report report = OneTable({{"user_id", CellKind::kText}, {"rate", CellKind::kFloat}},
                                 {{std::string("evil\n\x1b[31mred\t\r\x7f\xC2\x9B"
                                               "x"),
                                   "0.5"},
                                  {std::string("bad\xFFutf8"), std::nullopt}});
  const std::string text = FormatText(report);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\t'), std::string::npos);
  EXPECT_EQ(text.find("\xC2\x9B"), std::string::npos);  // C1 control (CSI)
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[3].find("evil\\n\\x1b[31mred\\t\\r\\x7f\\x9bx"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find("bad\xEF\xBF\xBDutf8"), std::string::npos) << lines[4];
  EXPECT_EQ(lines[4].substr(lines[4].size() - 4), "NULL");
}

TEST(FormatTextTest, FloatsAreRoundedForPeopleButNotInJsonOrCsv) {
  const std::vector<std::string> cells = {"0.3333333333333333", "0.6666666666666666", "2",
                                          "12.345678901234567", "1e-05", "-1e-09",
                                          "NaN", "Infinity"};
  std::vector<Row> rows;
  for (const std::string& cell : cells) rows.push_back({cell});
  const Report report = OneTable({{"rate", CellKind::kFloat}}, rows);
  const std::vector<std::string> lines = Lines(FormatText(report));
  ASSERT_EQ(lines.size(), 3 + cells.size());
  // Rounded half away from zero at the 4th decimal; every value right-aligned.
  const std::vector<std::string> shown = {"0.3333",  "0.6667", "2.0000", "12.3457",
                                          "0.0000",  "0.0000", "NaN",    "Infinity"};
  const size_t width = std::string("Infinity").size();
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(lines[3 + i], std::string(width - shown[i].size(), ' ') + shown[i]) << cells[i];
  }
  // Machines get every digit.
  const std::string csv = FormatCsv(report);
  const std::string json = FormatJson(report);
  for (const std::string& cell : {cells[0], cells[1], cells[3]}) {
    EXPECT_NE(csv.find(cell), std::string::npos) << csv;
    EXPECT_NE(json.find(cell), std::string::npos) << json;
  }
}

TEST(FormatTextTest, EmptyTableAndSeveralTables) {
  Report report = OneTable({{"a", CellKind::kText}}, {});
  report.tables.push_back(ResultTable{"u", "second", {{"b", CellKind::kInteger}}, {{"7"}}});
  EXPECT_EQ(FormatText(report), "title\na\n-\n(no rows)\n\nsecond\nb\n-\n7\n");
}

TEST(FormatCsvTest, QuotesWhatNeedsQuotingAndReadsBack) {
  const std::vector<Row> rows = {
      {"plain", "1"},
      {"with,comma", "2"},
      {"with \"quotes\"", "3"},
      {"line\nbreak", "4"},
      {"carriage\rreturn", "5"},
      {" leading space", "6"},
      {"trailing space ", "7"},
      {std::string("nul\x01"
                   "ctl\x7f"),
       "8"},
      {"", std::nullopt},
      {std::nullopt, "10"},
      {"\xE6\x97\xA5\xE6\x9C\xAC", "11"},
  };
  const Report report = OneTable({{"user,id", CellKind::kText}, {"n", CellKind::kInteger}}, rows);
  const std::string csv = FormatCsv(report);
  EXPECT_EQ(csv.rfind("\"user,id\",n\nplain,1\n\"with,comma\",2\n\"with \"\"quotes\"\"\",3\n", 0),
            0u)
      << csv;
  EXPECT_NE(csv.find("\n\"\",\n,10\n"), std::string::npos) << "empty string vs NULL: " << csv;
  const auto blocks = testing::ReadCsvBlocks(csv);
  ASSERT_EQ(blocks.size(), 1u);
  const auto& read = blocks[0];
  ASSERT_EQ(read.size(), rows.size() + 1);
  EXPECT_EQ(read[0], (Row{"user,id", "n"}));
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(read[i + 1], rows[i]) << "row " << i;
}

TEST(FormatCsvTest, SeveralTablesAreBlocksSeparatedByAnEmptyLine) {
  Report report = OneTable({{"a", CellKind::kText}, {"b", CellKind::kText}}, {{"1", "2"}});
  report.tables.push_back(ResultTable{"u", "second", {{"c", CellKind::kInteger}}, {}});
  const std::string csv = FormatCsv(report);
  EXPECT_EQ(csv, "a,b\n1,2\n\nc\n");
  const auto blocks = testing::ReadCsvBlocks(csv);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], (std::vector<Row>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(blocks[1], (std::vector<Row>{{"c"}}));
}

TEST(FormatJsonTest, EscapesStringsAndKeepsValueKinds) {
  std::string nasty = "q\"b\\s/n\nr\rt\tb\bf\f";
  for (char c = 1; c < 0x20; ++c) nasty.push_back(c);
  nasty += "\x7f \xE6\x97\xA5 \xF0\x9F\x8E\x89";
  const std::vector<Row> rows = {
      {nasty, "42", "59.99", "0.3333333333333333", "2025-11-30T11:00:00Z"},
      {"bad\xFF", std::nullopt, std::nullopt, "NaN", std::nullopt},
      {"inf", "-7", "-0.50", "1e-05", "2025-11-30T12:00:00Z"},
  };
  Report report = OneTable({{"user_id", CellKind::kText},
                            {"n", CellKind::kInteger},
                            {"price", CellKind::kDecimal},
                            {"rate", CellKind::kFloat},
                            {"hour", CellKind::kTimestamp}},
                           rows);
  report.tables.push_back(ResultTable{"empty", "e", {{"x", CellKind::kText}}, {}});
  report.notes = {"a \"note\"\n"};
  const std::string json = FormatJson(report);
  ASSERT_EQ(json.back(), '\n');
  for (unsigned char c : json) {
    if (c != '\n' && c != ' ') {
      EXPECT_GE(c, 0x20) << "raw control character in JSON";
    }
  }
  EXPECT_EQ(json.find('\x7f'), std::string::npos);

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::array t = doc["reports"]["t"].get_array();
  ASSERT_EQ(t.size(), rows.size());
  EXPECT_EQ(std::string(std::string_view(t.at(0)["user_id"].get_string())), nasty);
  EXPECT_EQ(int64_t(t.at(0)["n"].get_int64()), 42);
  EXPECT_EQ(std::string(std::string_view(t.at(0)["price"].get_string())), "59.99");
  EXPECT_DOUBLE_EQ(double(t.at(0)["rate"].get_double()), 1.0 / 3.0);
  EXPECT_EQ(std::string(std::string_view(t.at(0)["hour"].get_string())), "2025-11-30T11:00:00Z");
  EXPECT_EQ(std::string(std::string_view(t.at(1)["user_id"].get_string())), "bad\xEF\xBF\xBD");
  EXPECT_TRUE(t.at(1)["n"].is_null());
  EXPECT_TRUE(t.at(1)["price"].is_null());
  EXPECT_EQ(std::string(std::string_view(t.at(1)["rate"].get_string())), "NaN");
  EXPECT_TRUE(t.at(1)["hour"].is_null());
  EXPECT_EQ(int64_t(t.at(2)["n"].get_int64()), -7);
  EXPECT_EQ(std::string(std::string_view(t.at(2)["price"].get_string())), "-0.50");
  EXPECT_DOUBLE_EQ(double(t.at(2)["rate"].get_double()), 1e-05);
  EXPECT_EQ(doc["reports"]["empty"].get_array().size(), 0u);
  simdjson::dom::array notes = doc["notes"].get_array();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(std::string(std::string_view(notes.at(0).get_string())), "a \"note\"\n");
  // Column order is kept.
  EXPECT_LT(json.find("\"user_id\""), json.find("\"n\""));
  EXPECT_LT(json.find("\"rate\""), json.find("\"hour\""));
}

TEST(FormatJsonTest, EmptyReportIsValid) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(FormatJson(Report{})).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["notes"].get_array().size(), 0u);
}

TEST(SettingsTest, ParsersNameTheSetting) {
  EXPECT_EQ(*ParseOutputFormat("csv", "--format"), OutputFormat::kCsv);
  auto bad_format = ParseOutputFormat("xml", "--format");
  ASSERT_FALSE(bad_format.ok());
  EXPECT_TRUE(bad_format.status().IsInvalidArgument());
  EXPECT_NE(bad_format.status().message().find("--format"), std::string::npos);
  EXPECT_NE(bad_format.status().message().find("xml"), std::string::npos);

  auto all = ParseReports("all", "--report");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), std::size(kAllReports));
  for (ReportKind kind : kAllReports) {
    auto one = ParseReports(ReportName(kind), "--report");
    ASSERT_TRUE(one.ok()) << ReportName(kind);
    EXPECT_EQ(*one, std::vector<ReportKind>{kind});
  }
  auto bad_report = ParseReports("revenue", "--report");
  ASSERT_FALSE(bad_report.ok());
  EXPECT_NE(bad_report.status().message().find("--report"), std::string::npos);
  EXPECT_NE(bad_report.status().message().find("revenue-by-hour"), std::string::npos);

  AnalyticsOptions options;
  EXPECT_TRUE(options.Validate().ok());
  options.top = 0;
  EXPECT_NE(options.Validate().message().find("--top"), std::string::npos);
  options.top = 5;
  options.since_ms = 1000;
  options.until_ms = 1000;
  EXPECT_NE(options.Validate().message().find("--until"), std::string::npos);
}

TEST(SettingsTest, RateTableCoversThePipelineCurrencies) {
  for (std::string_view currency : {"USD", "EUR", "GBP", "JPY", "INR"}) {
    bool found = false;
    for (const UsdRate& rate : UsdRates()) found = found || rate.currency == currency;
    EXPECT_TRUE(found) << currency;
  }
}

}  // namespace
}  // namespace eventflow::analytics
