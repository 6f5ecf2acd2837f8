// How eventflow-state (and `eventflow state-lag`) print: aligned text tables
// for people, JSON lines for programs — one JSON object per line, no
// whitespace inside, so every line parses on its own.
//
// Thread-safety: none; one per output.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace eventflow::inspector {

//! --output: table (default) or jsonl.
enum class OutputFormat { kTable, kJsonLines };

//! A table printed with left-aligned columns two spaces apart, under a header.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  //! Adds a row (as many cells as the header).
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  //! Returns the number of rows.
  size_t size() const { return rows_.size(); }
  //! Writes the header and the rows (trailing spaces trimmed).
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

//! One JSON object on one line, built field by field in order.
class JsonLine {
 public:
  //! Adds "name": "value" (escaped; value must be UTF-8).
  JsonLine& String(std::string_view name, std::string_view value);
  //! Adds "name": value.
  JsonLine& Int(std::string_view name, int64_t value);
  //! Adds "name": value, or null.
  JsonLine& OptionalInt(std::string_view name, std::optional<int64_t> value);
  //! Adds "name": true/false.
  JsonLine& Bool(std::string_view name, bool value);
  //! Adds "name": null.
  JsonLine& Null(std::string_view name);
  //! Adds "name": <json>, `json` already a JSON value.
  JsonLine& Raw(std::string_view name, std::string_view json);
  //! Adds "name": ["a","b"].
  JsonLine& Strings(std::string_view name, const std::vector<std::string>& values);
  //! Writes the object and a newline.
  void Print(std::ostream& out);

 private:
  void Name(std::string_view name);
  std::string text_ = "{";
};

}  // namespace eventflow::inspector
