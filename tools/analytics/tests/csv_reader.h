// Test-only: an RFC 4180 reader written independently of FormatCsv, to read the
// analytics' CSV back. Unquoted empty fields read as std::nullopt (SQL NULL),
// quoted empty fields as "". An empty line outside quotes ends a block (one
// table). Fails the calling test on malformed input.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace eventflow::analytics::testing {

using CsvRow = std::vector<std::optional<std::string>>;
using CsvBlock = std::vector<CsvRow>;  // header row first

inline std::vector<CsvBlock> ReadCsvBlocks(const std::string& csv) {
  std::vector<CsvBlock> blocks(1);
  CsvRow row;
  std::string field;
  bool quoted = false, was_quoted = false, line_empty = true;
  auto end_field = [&] {
    row.push_back(field.empty() && !was_quoted ? std::nullopt : std::optional<std::string>(field));
    field.clear();
    was_quoted = false;
  };
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
      continue;
    }
    if (c == '\n') {
      if (line_empty) {
        blocks.emplace_back();  // empty line: the next table
        continue;
      }
      end_field();
      blocks.back().push_back(std::move(row));
      row.clear();
      line_empty = true;
      continue;
    }
    line_empty = false;
    if (c == '"') {
      EXPECT_TRUE(field.empty() && !was_quoted) << "stray quote at byte " << i;
      quoted = was_quoted = true;
    } else if (c == ',') {
      end_field();
    } else {
      field.push_back(c);
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(line_empty) << "CSV must end with a newline";
  return blocks;
}

}  // namespace eventflow::analytics::testing
