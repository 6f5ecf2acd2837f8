#include "eventflow/inspector/output.h"

#include <simdjson.h>

#include <algorithm>

#include "eventflow/core/table_format.h"
#include "eventflow/inspector/codec.h"

namespace eventflow::inspector {

void TextTable::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line.append(row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

void JsonLine::Name(std::string_view name) {
  if (text_.size() > 1) text_.push_back(',');
  AppendJsonString(name, &text_);
  text_.push_back(':');
}

JsonLine& JsonLine::String(std::string_view name, std::string_view value) {
  Name(name);
  if (simdjson::validate_utf8(value.data(), value.size())) {
    AppendJsonString(value, &text_);
  } else {  // e.g. a path with bytes that are not UTF-8: keep the line valid JSON
    std::string escaped;
    AppendEscaped(value, &escaped);
    AppendJsonString(escaped, &text_);
  }
  return *this;
}

JsonLine& JsonLine::Int(std::string_view name, int64_t value) {
  Name(name);
  text_.append(std::to_string(value));
  return *this;
}

JsonLine& JsonLine::OptionalInt(std::string_view name, std::optional<int64_t> value) {
  return value ? Int(name, *value) : Null(name);
}

JsonLine& JsonLine::Bool(std::string_view name, bool value) {
  Name(name);
  text_.append(value ? "true" : "false");
  return *this;
}

JsonLine& JsonLine::Null(std::string_view name) {
  Name(name);
  text_.append("null");
  return *this;
}

JsonLine& JsonLine::Raw(std::string_view name, std::string_view json) {
  Name(name);
  text_.append(json);
  return *this;
}

JsonLine& JsonLine::Strings(std::string_view name, const std::vector<std::string>& values) {
  Name(name);
  text_.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text_.push_back(',');
    AppendJsonString(values[i], &text_);
  }
  text_.push_back(']');
  return *this;
}

void JsonLine::Print(std::ostream& out) {
  text_.push_back('}');
  out << text_ << '\n';
  text_.clear();  // (not `= "{"`: GCC 12 warns falsely about that assignment)
  text_.push_back('{');
}

}  // namespace eventflow::inspector
