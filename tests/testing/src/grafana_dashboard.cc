#include "eventflow/testing/grafana_dashboard.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace eventflow::testing::grafana {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// ----------------------------------------------------------------- JSON model

std::string StringMember(element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

bool BoolMember(element e, const char* key) {
  bool v = false;
  if (e[key].get_bool().get(v) == simdjson::SUCCESS) return v;
  return false;
}

int64_t IntMember(element e, const char* key, int64_t fallback) {
  int64_t v = 0;
  if (e[key].get_int64().get(v) == simdjson::SUCCESS) return v;
  double d = 0;
  if (e[key].get_double().get(d) == simdjson::SUCCESS) return static_cast<int64_t>(d);
  return fallback;
}

DatasourceRef ReadDatasource(element e) {
  DatasourceRef ref;
  element ds;
  if (e["datasource"].get(ds) != simdjson::SUCCESS || ds.is_null()) return ref;
  ref.present = true;
  if (ds.is_string()) {
    // Before schema 33 a data source was referenced by name: kept as the uid
    // with no type, which StructureProblems reports.
    ref.uid = std::string(ds.get_string().value());
    return ref;
  }
  ref.type = StringMember(ds, "type");
  ref.uid = StringMember(ds, "uid");
  return ref;
}

Panel ReadPanel(element p) {
  Panel panel;
  panel.id = IntMember(p, "id", -1);
  panel.type = StringMember(p, "type");
  panel.title = StringMember(p, "title");
  panel.description = StringMember(p, "description");
  panel.datasource = ReadDatasource(p);
  panel.max_data_points = IntMember(p, "maxDataPoints", 0);
  panel.interval = StringMember(p, "interval");
  element grid;
  if (p["gridPos"].get(grid) == simdjson::SUCCESS && grid.is_object()) {
    panel.has_grid_pos = true;
    panel.grid_x = IntMember(grid, "x", 0);
    panel.grid_y = IntMember(grid, "y", 0);
    panel.grid_w = IntMember(grid, "w", 0);
    panel.grid_h = IntMember(grid, "h", 0);
  }
  array targets;
  if (p["targets"].get_array().get(targets) == simdjson::SUCCESS) {
    for (element t : targets) {
      Target target;
      target.ref_id = StringMember(t, "refId");
      target.datasource = ReadDatasource(t);
      target.expr = StringMember(t, "expr");
      target.instant = BoolMember(t, "instant");
      target.range = BoolMember(t, "range");
      target.raw_sql = StringMember(t, "rawSql");
      target.raw_query = BoolMember(t, "rawQuery");
      target.format = StringMember(t, "format");
      panel.targets.push_back(std::move(target));
    }
  }
  return panel;
}

// ----------------------------------------------------------------- intervals

// Grafana's roundInterval (rangeutil): the "nice" interval for `ms`.
int64_t RoundInterval(int64_t ms) {
  static constexpr std::pair<int64_t, int64_t> kLadder[] = {
      {10, 1},           {15, 10},          {35, 20},          {75, 50},
      {150, 100},        {350, 200},        {750, 500},        {1500, 1000},
      {3500, 2000},      {7500, 5000},      {12500, 10000},    {17500, 15000},
      {25000, 20000},    {45000, 30000},    {90000, 60000},    {210000, 120000},
      {450000, 300000},  {750000, 600000},  {1050000, 900000}, {1500000, 1200000},
      {2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000}, {16200000, 10800000},
      {32400000, 21600000}, {86400000, 43200000}, {604800000, 86400000},
      {1814400000, 604800000}, {3628800000, 2592000000}};
  for (const auto& [below, nice] : kLadder) {
    if (ms < below) return nice;
  }
  return 31536000000;
}

// gtime.FormatInterval: the largest whole unit.
std::string FormatInterval(int64_t ms) {
  constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute,
                    kDay = 24 * kHour, kYear = 365 * kDay;
  if (ms >= kYear) return std::to_string(ms / kYear) + "y";
  if (ms >= kDay) return std::to_string(ms / kDay) + "d";
  if (ms >= kHour) return std::to_string(ms / kHour) + "h";
  if (ms >= kMinute) return std::to_string(ms / kMinute) + "m";
  if (ms >= kSecond) return std::to_string(ms / kSecond) + "s";
  if (ms >= 1) return std::to_string(ms) + "ms";
  return "1ms";
}

// Go's time.Duration.String() for whole milliseconds: "4s", "1m0s", "1.5s", "500ms".
std::string GoDuration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const int64_t hours = ms / 3600000;
  const int64_t minutes = (ms / 60000) % 60;
  const int64_t millis = ms % 60000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  std::string seconds = std::to_string(millis / 1000);
  if (millis % 1000 != 0) {
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(millis % 1000));
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    seconds += f;
  }
  return out + seconds + "s";
}

// Go's %v of a float64 number of seconds (strconv 'g' shortest): "300", "0.5".
std::string GoSeconds(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms) / 1000.0);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  return s;
}

// time.RFC3339Nano of a UTC instant with millisecond precision (trailing zeros dropped).
std::string Rfc3339Nano(int64_t ms) {
  const int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int millis = static_cast<int>(ms - seconds * 1000);
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (millis != 0) {
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03d", millis);
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

// ----------------------------------------------------------------- variables

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One template-variable reference found in a query.
struct VariableRef {
  size_t begin = 0, end = 0;  // [begin, end) in the text
  std::string name;
  std::string format;  // ${name:format} / [[name:format]]; empty: none
  bool has_field = false;  // ${name.field}
};

// Grafana's variable regex: $name | [[name(:format)]] | ${name(.field)(:format)}.
std::vector<VariableRef> FindVariableRefs(std::string_view text) {
  std::vector<VariableRef> refs;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) break;
      std::string_view inner = text.substr(i + 2, close - i - 2);
      VariableRef ref;
      ref.begin = i;
      ref.end = close + 1;
      const size_t colon = inner.find(':');
      std::string_view head = inner.substr(0, colon);
      if (colon != std::string_view::npos) ref.format = std::string(inner.substr(colon + 1));
      const size_t dot = head.find('.');
      if (dot != std::string_view::npos) {
        ref.has_field = true;
        head = head.substr(0, dot);
      }
      ref.name = std::string(head);
      refs.push_back(std::move(ref));
      i = close + 1;
    } else if (text[i] == '$' && i + 1 < text.size() && IsWordChar(text[i + 1])) {
      size_t j = i + 1;
      while (j < text.size() && IsWordChar(text[j])) ++j;
      refs.push_back({i, j, std::string(text.substr(i + 1, j - i - 1)), {}, false});
      i = j;
    } else if (text.substr(i, 2) == "[[") {
      const size_t close = text.find("]]", i + 2);
      std::string_view inner =
          close == std::string_view::npos ? std::string_view() : text.substr(i + 2, close - i - 2);
      const bool word = !inner.empty() && std::all_of(inner.begin(), inner.end(), [](char c) {
        return IsWordChar(c) || c == ':';
      });
      if (!word) {
        ++i;
        continue;
      }
      VariableRef ref;
      ref.begin = i;
      ref.end = close + 2;
      const size_t colon = inner.find(':');
      ref.name = std::string(inner.substr(0, colon));
      if (colon != std::string_view::npos) ref.format = std::string(inner.substr(colon + 1));
      refs.push_back(std::move(ref));
      i = close + 2;
    } else {
      ++i;
    }
  }
  return refs;
}

// Grafana's prometheusRegularEscape (classic): backslashes and single quotes.
std::string PrometheusRegularEscape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\'') {
      out += "\\\\'";
    } else {
      out += c;
    }
  }
  return out;
}

// Grafana's prometheusSpecialRegexEscape: a backslash becomes four, and each of
// $^*{}[]'+?.()| gets two backslashes before it (one after PromQL's string
// unescaping, as the regex needs).
std::string PrometheusSpecialRegexEscape(std::string_view v) {
  static constexpr std::string_view kSpecial = "$^*{}[]'+?.()|";
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\\\\\";
    } else if (kSpecial.find(c) != std::string_view::npos) {
      out += "\\\\";
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

// A dashboard variable's value for a Prometheus query (interpolateQueryExpr).
Result<std::string> PrometheusValue(const Variable& var, const VariableValues& values) {
  auto it = values.find(var.name);
  if (it == values.end() || it->second.empty()) {
    return Status::InvalidArgument("no value chosen for variable $" + var.name);
  }
  const std::vector<std::string>& v = it->second;
  if (!var.multi && !var.include_all) {
    if (v.size() != 1) {
      return Status::InvalidArgument("variable $" + var.name + " takes one value");
    }
    return PrometheusRegularEscape(v[0]);
  }
  if (v.size() == 1) return PrometheusSpecialRegexEscape(v[0]);
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? "|" : "") + PrometheusSpecialRegexEscape(v[i]);
  }
  return out + ")";
}

std::string SqlQuoteLiteral(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// A dashboard variable's value for a SQL query (the SQL data sources'
// interpolateVariable).
Result<std::string> SqlValue(const Variable& var, const VariableValues& values) {
  auto it = values.find(var.name);
  if (it == values.end() || it->second.empty()) {
    return Status::InvalidArgument("no value chosen for variable $" + var.name);
  }
  const std::vector<std::string>& v = it->second;
  if (!var.multi && !var.include_all) {
    if (v.size() != 1) {
      return Status::InvalidArgument("variable $" + var.name + " takes one value");
    }
    std::string out;
    for (char c : v[0]) {
      out += c;
      if (c == '\'') out += '\'';
    }
    return out;
  }
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + SqlQuoteLiteral(v[i]);
  return out;
}

// Replaces the template variables of `text`. `builtin` answers the built-in
// ones (nullopt: not built in); `keep` says a reference is left for a later
// stage (the SQL macros).
template <typename Builtin, typename Keep, typename ValueOf>
Result<std::string> ReplaceVariables(std::string_view text, const Dashboard& dashboard,
                                     const Builtin& builtin, const Keep& keep,
                                     const ValueOf& value_of) {
  std::string out;
  size_t pos = 0;
  for (const VariableRef& ref : FindVariableRefs(text)) {
    out.append(text.substr(pos, ref.begin - pos));
    pos = ref.end;
    const std::string_view written = text.substr(ref.begin, ref.end - ref.begin);
    if (keep(ref, text)) {
      out.append(written);
      continue;
    }
    if (!ref.format.empty() || ref.has_field) {
      return Status::InvalidArgument("variable " + std::string(written) +
                                     ": formats and fields are not implemented by this check");
    }
    if (std::optional<std::string> b = builtin(ref.name)) {
      out.append(*b);
      continue;
    }
    const Variable* var = dashboard.FindVariable(ref.name);
    if (var == nullptr) {
      return Status::InvalidArgument("variable " + std::string(written) + " is not defined");
    }
    auto v = value_of(*var);
    if (!v.ok()) return v.status();
    out.append(*v);
  }
  out.append(text.substr(pos));
  return out;
}

// ----------------------------------------------------------------- PromQL lexer

const std::set<std::string_view>& PromFunctions() {
  static const std::set<std::string_view> kFunctions = {
      "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
      "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
      "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
      "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
      "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
      "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
      "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
      "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
      "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
      "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
      "start", "end"};
  return kFunctions;
}

const std::set<std::string_view>& PromAggregations() {
  static const std::set<std::string_view> kAggregations = {
      "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
      "bottomk", "topk", "quantile"};
  return kAggregations;
}

bool IsGroupingKeyword(std::string_view w) {
  return w == "by" || w == "without" || w == "on" || w == "ignoring" || w == "group_left" ||
         w == "group_right";
}

bool IsOtherKeyword(std::string_view w) {
  return w == "bool" || w == "and" || w == "or" || w == "unless" || w == "atan2" ||
         w == "offset";
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

class PromLexer {
 public:
  explicit PromLexer(std::string_view text) : s_(text) {}

  Result<PromQLNames> Run() {
    PromQLNames names;
    while (true) {
      SkipSpace();
      if (i_ >= s_.size()) break;
      const char c = s_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        auto str = ReadString();
        if (!str.ok()) return str.status();
      } else if (c == '[') {
        const size_t close = s_.find(']', i_);
        if (close == std::string_view::npos) return Error("unclosed [");
        i_ = close + 1;
      } else if (c == '{') {
        // A selector with no metric name: {__name__="x", ...} or {label=...}.
        VectorSelector selector;
        EVENTFLOW_RETURN_IF_ERROR(ReadMatchers(&selector));
        if (!selector.metric.empty()) names.metrics.insert(selector.metric);
        for (const LabelMatcher& m : selector.matchers) names.labels.insert(m.label);
        names.selectors.push_back(std::move(selector));
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
        SkipNumber();
      } else if (IsIdentStart(c)) {
        const std::string word = ReadIdent();
        SkipSpace();
        const bool call = i_ < s_.size() && s_[i_] == '(';
        std::string lower = word;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (IsGroupingKeyword(word)) {
          if (call) {
            auto labels = ReadLabelList();
            if (!labels.ok()) return labels.status();
            names.labels.insert(labels->begin(), labels->end());
          }
        } else if (PromAggregations().count(word) &&
                   (call || NextWordIs("by") || NextWordIs("without"))) {
          names.functions.insert(word);
        } else if (call) {
          if (!PromFunctions().count(word)) {
            return Error("unknown function " + word + "()");
          }
          names.functions.insert(word);
        } else if (IsOtherKeyword(word) || lower == "inf" || lower == "nan") {
          // operators, modifiers and number literals
        } else {
          names.metrics.insert(word);
          VectorSelector selector;
          if (i_ < s_.size() && s_[i_] == '{') {
            EVENTFLOW_RETURN_IF_ERROR(ReadMatchers(&selector));
            if (!selector.metric.empty()) return Error(word + " named twice (__name__)");
          }
          selector.metric = word;
          for (const LabelMatcher& m : selector.matchers) names.labels.insert(m.label);
          names.selectors.push_back(std::move(selector));
        }
      } else {
        ++i_;  // operators, parentheses, commas, @
      }
    }
    return names;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("PromQL at offset " + std::to_string(i_) + ": " + what +
                                   " in: " + std::string(s_));
  }

  void SkipSpace() {
    while (i_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[i_]))) {
        ++i_;
      } else if (s_[i_] == '#') {  // a comment to the end of the line
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  bool NextWordIs(std::string_view w) const {
    size_t j = i_;
    while (j < s_.size() && std::isspace(static_cast<unsigned char>(s_[j]))) ++j;
    if (s_.substr(j, w.size()) != w) return false;
    const size_t after = j + w.size();
    return after >= s_.size() || !IsIdentChar(s_[after]);
  }

  std::string ReadIdent() {
    const size_t start = i_;
    while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  void SkipNumber() {
    if (s_.substr(i_, 2) == "0x" || s_.substr(i_, 2) == "0X") i_ += 2;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.') {
        ++i_;
        if ((c == 'e' || c == 'E') && i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      } else {
        break;
      }
    }
  }

  Result<std::string> ReadString() {
    const char quote = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\' && quote != '`' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) return Error("unterminated string");
    ++i_;
    return out;
  }

  // {name op "value", ...} into `selector` (a __name__="x" as its metric).
  Status ReadMatchers(VectorSelector* selector) {
    ++i_;  // {
    while (true) {
      SkipSpace();
      if (i_ >= s_.size()) return Error("unclosed {");
      if (s_[i_] == '}') {
        ++i_;
        return Status::OK();
      }
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (!IsIdentStart(s_[i_])) return Error("a label name expected");
      const std::string label = ReadIdent();
      SkipSpace();
      std::string op;
      while (i_ < s_.size() && (s_[i_] == '=' || s_[i_] == '!' || s_[i_] == '~')) op += s_[i_++];
      if (op != "=" && op != "!=" && op != "=~" && op != "!~") {
        return Error("a matcher operator expected after " + label);
      }
      SkipSpace();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'' && s_[i_] != '`')) {
        return Error("a string expected after " + label + op);
      }
      auto value = ReadString();
      if (!value.ok()) return value.status();
      if (label == "__name__") {
        if (op != "=") return Error("__name__ matched by " + op + " (names must be literal)");
        selector->metric = *value;
      } else {
        selector->matchers.push_back({label, op, *value});
      }
    }
  }

  // (a, b, c) after a grouping keyword.
  Result<std::vector<std::string>> ReadLabelList() {
    std::vector<std::string> labels;
    ++i_;  // (
    while (true) {
      SkipSpace();
      if (i_ >= s_.size()) return Error("unclosed (");
      if (s_[i_] == ')') {
        ++i_;
        return labels;
      }
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (!IsIdentStart(s_[i_])) return Error("a label name expected in a grouping list");
      labels.push_back(ReadIdent());
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

// ----------------------------------------------------------------- SQL macros

std::vector<std::string> SplitArgs(std::string_view args) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = args.find(',', start);
    std::string_view a = args.substr(start, comma == std::string_view::npos ? args.npos
                                                                            : comma - start);
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
    out.emplace_back(a);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string TrimQuotes(std::string_view v) {
  while (!v.empty() && v.front() == '\'') v.remove_prefix(1);
  while (!v.empty() && v.back() == '\'') v.remove_suffix(1);
  return std::string(v);
}

Result<std::string> EvaluateMacro(const std::string& name, const std::vector<std::string>& args,
                                  const TimeRange& range) {
  auto need_column = [&]() -> Status {
    if (args.empty() || args[0].empty()) {
      return Status::InvalidArgument("missing time column argument for macro $" + name);
    }
    return Status::OK();
  };
  auto group = [&](bool epoch) -> Result<std::string> {
    if (args.size() < 2) {
      return Status::InvalidArgument("macro $" + name +
                                     " needs time column and interval and optional fill value");
    }
    auto ms = ParseIntervalMs(TrimQuotes(args[1]));
    if (!ms.ok()) return Status::InvalidArgument("error parsing interval " + args[1]);
    const std::string s = GoSeconds(*ms);
    if (epoch) return "floor((" + args[0] + ")/" + s + ")*" + s;
    return "floor(extract(epoch from " + args[0] + ")/" + s + ")*" + s;
  };
  const std::string from = Rfc3339Nano(range.from_ms), to = Rfc3339Nano(range.to_ms);
  const int64_t from_s = range.from_ms / 1000, to_s = range.to_ms / 1000;
  if (name == "__time") {
    EVENTFLOW_RETURN_IF_ERROR(need_column());
    return args[0] + " AS \"time\"";
  }
  if (name == "__timeEpoch") {
    EVENTFLOW_RETURN_IF_ERROR(need_column());
    return "extract(epoch from " + args[0] + ") as \"time\"";
  }
  if (name == "__timeFilter") {
    EVENTFLOW_RETURN_IF_ERROR(need_column());
    return args[0] + " BETWEEN '" + from + "' AND '" + to + "'";
  }
  if (name == "__timeFrom") return "'" + from + "'";
  if (name == "__timeTo") return "'" + to + "'";
  if (name == "__timeGroup") return group(false);
  if (name == "__timeGroupAlias") {
    auto g = group(false);
    if (!g.ok()) return g.status();
    return *g + " AS \"time\"";
  }
  if (name == "__unixEpochFilter") {
    EVENTFLOW_RETURN_IF_ERROR(need_column());
    return args[0] + " >= " + std::to_string(from_s) + " AND " + args[0] +
           " <= " + std::to_string(to_s);
  }
  if (name == "__unixEpochFrom") return std::to_string(from_s);
  if (name == "__unixEpochTo") return std::to_string(to_s);
  if (name == "__unixEpochGroup") return group(true);
  if (name == "__unixEpochGroupAlias") {
    auto g = group(true);
    if (!g.ok()) return g.status();
    return *g + " AS \"time\"";
  }
  return Status::InvalidArgument("unknown macro \"" + name + "\"");
}

// The macro engine: \$(\w+)\(([^)]*)\) replaced left to right.
Result<std::string> ExpandMacros(const std::string& sql, const TimeRange& range) {
  std::string out;
  size_t i = 0;
  while (i < sql.size()) {
    if (sql[i] == '$' && i + 1 < sql.size() && IsWordChar(sql[i + 1])) {
      size_t j = i + 1;
      while (j < sql.size() && IsWordChar(sql[j])) ++j;
      const size_t close = j < sql.size() && sql[j] == '(' ? sql.find(')', j) : std::string::npos;
      if (close != std::string::npos) {
        std::string name = sql.substr(i + 1, j - i - 1);
        // Pre-5.3 compatibility: $__timeGroup(...) directly followed by ','
        // adds AS "time".
        if (name == "__timeGroup" && close + 1 < sql.size() && sql[close + 1] == ',') {
          name = "__timeGroupAlias";
        }
        auto value = EvaluateMacro(name, SplitArgs(std::string_view(sql).substr(
                                             j + 1, close - j - 1)),
                                   range);
        if (!value.ok()) return value.status();
        out += *value;
        i = close + 1;
        continue;
      }
      return Status::InvalidArgument("unexpanded reference " + sql.substr(i, j - i) +
                                     " (not a variable, not a macro call)");
    }
    out += sql[i++];
  }
  return out;
}

}  // namespace

// ----------------------------------------------------------------- public

const Variable* Dashboard::FindVariable(std::string_view name) const {
  for (const Variable& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Result<Dashboard> ParseDashboard(std::string_view json) {
  simdjson::dom::parser parser;
  element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc); err != simdjson::SUCCESS) {
    return Status::Corruption(std::string("not JSON: ") + simdjson::error_message(err));
  }
  if (!doc.is_object()) return Status::Corruption("a dashboard is a JSON object");
  Dashboard d;
  d.uid = StringMember(doc, "uid");
  d.title = StringMember(doc, "title");
  d.schema_version = IntMember(doc, "schemaVersion", 0);
  element time;
  if (doc["time"].get(time) == simdjson::SUCCESS && time.is_object()) {
    d.time_from = StringMember(time, "from");
    d.time_to = StringMember(time, "to");
  }
  array list;
  if (doc["templating"]["list"].get_array().get(list) == simdjson::SUCCESS) {
    for (element v : list) {
      Variable var;
      var.name = StringMember(v, "name");
      var.type = StringMember(v, "type");
      var.label = StringMember(v, "label");
      element query;
      if (v["query"].get(query) == simdjson::SUCCESS) {
        if (query.is_string()) {
          var.query = std::string(query.get_string().value());
        } else if (query.is_object()) {
          var.query = StringMember(query, "query");
        }
      }
      var.datasource = ReadDatasource(v);
      var.multi = BoolMember(v, "multi");
      var.include_all = BoolMember(v, "includeAll");
      std::string_view all;
      if (v["allValue"].get_string().get(all) == simdjson::SUCCESS && !all.empty()) {
        var.all_value = std::string(all);
      }
      d.variables.push_back(std::move(var));
    }
  }
  array panels;
  if (doc["panels"].get_array().get(panels) == simdjson::SUCCESS) {
    for (element p : panels) {
      d.panels.push_back(ReadPanel(p));
      array nested;
      if (p["panels"].get_array().get(nested) == simdjson::SUCCESS) {
        for (element n : nested) d.panels.push_back(ReadPanel(n));
      }
    }
  }
  return d;
}

Result<Dashboard> LoadDashboard(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  auto d = ParseDashboard(text.str());
  if (!d.ok()) return d.status().WithContext(file.string());
  return d;
}

std::vector<std::string> StructureProblems(const Dashboard& d) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& what) { problems.push_back(what); };
  if (d.uid.empty()) problem("no uid");
  if (d.uid.size() > 40) problem("uid longer than Grafana's 40 characters");
  if (d.title.empty()) problem("no title");
  if (d.schema_version < 36) {
    problem("schemaVersion " + std::to_string(d.schema_version) +
            " < 36 (data sources referenced by object)");
  }
  if (d.time_from.empty() || d.time_to.empty()) problem("no default time range");

  // Variables.
  std::set<std::string> names;
  static const std::set<std::string> kTypes = {"datasource", "query",    "custom",
                                               "constant",   "interval", "textbox"};
  for (size_t i = 0; i < d.variables.size(); ++i) {
    const Variable& v = d.variables[i];
    const std::string where = "variable $" + v.name;
    if (v.name.empty()) problem("a variable without a name");
    if (!names.insert(v.name).second) problem(where + " defined twice");
    if (!kTypes.count(v.type)) problem(where + " has unknown type \"" + v.type + "\"");
    if (v.type == "datasource" && v.query != kPrometheus && v.query != kPostgres) {
      problem(where + " lists data sources of plugin \"" + v.query + "\"");
    }
    if (v.type == "query") {
      if (v.query.empty()) problem(where + " has no query");
      // Its data source and the variables it uses come before it.
      for (const VariableRef& ref : FindVariableRefs(v.query)) {
        bool earlier = false;
        for (size_t j = 0; j < i; ++j) earlier |= d.variables[j].name == ref.name;
        if (!earlier) problem(where + " uses $" + ref.name + ", not defined before it");
      }
    }
  }

  // A data source reference resolves to a datasource variable of its plugin.
  auto check_ref = [&](const DatasourceRef& ref, const std::string& where) {
    if (!ref.present) {
      problem(where + " has no data source");
      return;
    }
    if (ref.type.empty()) {
      problem(where + " references data source \"" + ref.uid + "\" by name (no type)");
      return;
    }
    std::string name = ref.uid;
    if (name.size() > 3 && name.rfind("${", 0) == 0 && name.back() == '}') {
      name = name.substr(2, name.size() - 3);
    } else if (name.size() > 1 && name[0] == '$') {
      name = name.substr(1);
    } else {
      problem(where + " references the fixed data source uid \"" + ref.uid +
              "\" (use a datasource variable: dashboards are imported into other Grafanas)");
      return;
    }
    const Variable* var = d.FindVariable(name);
    if (var == nullptr || var->type != "datasource") {
      problem(where + " references $" + name + ", not a datasource variable");
    } else if (var->query != ref.type) {
      problem(where + " is of type " + ref.type + " but $" + name + " lists " + var->query);
    }
  };
  for (const Variable& v : d.variables) {
    if (v.type == "query") check_ref(v.datasource, "variable $" + v.name);
  }

  // Panels.
  std::set<int64_t> ids;
  for (const Panel& p : d.panels) {
    const std::string where = "panel \"" + p.title + "\"";
    if (p.id < 0) {
      problem(where + " has no id");
    } else if (!ids.insert(p.id).second) {
      problem(where + " reuses id " + std::to_string(p.id));
    }
    if (p.title.empty()) problem("panel " + std::to_string(p.id) + " has no title");
    if (!p.has_grid_pos || p.grid_w <= 0 || p.grid_h <= 0 || p.grid_x < 0 ||
        p.grid_x + p.grid_w > 24 || p.grid_y < 0) {
      problem(where + " is not inside the 24-column grid");
    }
    if (p.type == "row") {
      if (!p.targets.empty()) problem(where + ": a row with queries");
      continue;
    }
    if (p.type.empty()) problem(where + " has no type");
    if (p.targets.empty()) problem(where + " has no queries");
    check_ref(p.datasource, where);
    std::set<std::string> ref_ids;
    for (const Target& t : p.targets) {
      const std::string twhere = where + " query " + t.ref_id;
      if (t.ref_id.empty()) problem(where + ": a query without refId");
      if (!ref_ids.insert(t.ref_id).second) problem(twhere + ": refId used twice");
      check_ref(t.datasource, twhere);
      if (t.datasource.type != p.datasource.type || t.datasource.uid != p.datasource.uid) {
        problem(twhere + " runs on another data source than its panel's");
      }
      std::string_view text;
      if (t.datasource.type == kPrometheus) {
        if (t.expr.empty()) problem(twhere + " has no expression");
        if (t.instant && t.range) problem(twhere + " is both instant and range");
        text = t.expr;
      } else if (t.datasource.type == kPostgres) {
        if (t.raw_sql.empty() || !t.raw_query) problem(twhere + " has no raw SQL");
        if (t.format != "time_series" && t.format != "table") {
          problem(twhere + " has format \"" + t.format + "\" (time_series or table)");
        }
        text = t.raw_sql;
      }
      for (const VariableRef& ref : FindVariableRefs(text)) {
        if (ref.name.rfind("__", 0) == 0) continue;  // built-ins and macros: expanded later
        if (d.FindVariable(ref.name) == nullptr) {
          problem(twhere + " uses $" + ref.name + ", not defined");
        }
      }
    }
  }
  return problems;
}

Result<int64_t> ParseGrafanaTime(std::string_view text, int64_t now_ms) {
  if (text == "now") return now_ms;
  if (text.rfind("now-", 0) == 0) {
    auto ms = ParseIntervalMs(text.substr(4));
    if (!ms.ok()) return ms.status().WithContext("time \"" + std::string(text) + "\"");
    return now_ms - *ms;
  }
  if (!text.empty() && std::all_of(text.begin(), text.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::stoll(std::string(text));
  }
  return Status::InvalidArgument("time \"" + std::string(text) +
                                 "\": only now, now-<interval> and epoch milliseconds");
}

Result<int64_t> ParseIntervalMs(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 12) {
    return Status::InvalidArgument("interval \"" + std::string(text) + "\"");
  }
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  static const std::map<std::string_view, int64_t> kUnits = {
      {"", 1000},          {"ms", 1},          {"s", 1000},         {"m", 60000},
      {"h", 3600000},      {"d", 86400000},    {"w", 604800000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Status::InvalidArgument("interval \"" + std::string(text) + "\": unknown unit");
  }
  return n * it->second;
}

int64_t PrometheusIntervalMs(const TimeRange& range, int64_t max_data_points,
                             int64_t min_interval_ms) {
  const int64_t span = range.to_ms - range.from_ms;
  const int64_t resolution = max_data_points > 0 ? max_data_points : 1500;
  const int64_t calculated = span / resolution;
  const int64_t interval = calculated < min_interval_ms ? min_interval_ms : RoundInterval(calculated);
  const int64_t safe = RoundInterval(span / 11000);
  return std::max(interval, safe);
}

int64_t RateIntervalMs(int64_t interval_ms, int64_t scrape_interval_ms) {
  return std::max(interval_ms + scrape_interval_ms, 4 * scrape_interval_ms);
}

Result<std::string> ExpandPromQL(std::string_view expr, const Dashboard& dashboard,
                                 const VariableValues& values, const TimeRange& range,
                                 int64_t interval_ms, int64_t scrape_interval_ms) {
  const int64_t range_ms = range.to_ms - range.from_ms;
  const int64_t range_s = static_cast<int64_t>(std::llround(static_cast<double>(range_ms) / 1000.0));
  const int64_t rate_ms = RateIntervalMs(interval_ms, scrape_interval_ms);
  auto builtin = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "__interval") return FormatInterval(interval_ms);
    if (name == "__interval_ms") return std::to_string(interval_ms);
    if (name == "__rate_interval") return GoDuration(rate_ms);
    if (name == "__rate_interval_ms") return std::to_string(rate_ms);
    if (name == "__range") return std::to_string(range_s) + "s";
    if (name == "__range_s") return std::to_string(range_s);
    if (name == "__range_ms") return std::to_string(range_ms);
    if (name == "__from") return std::to_string(range.from_ms);
    if (name == "__to") return std::to_string(range.to_ms);
    return std::nullopt;
  };
  auto keep = [](const VariableRef&, std::string_view) { return false; };
  auto value_of = [&](const Variable& var) -> Result<std::string> {
    if (var.all_value) {
      auto it = values.find(var.name);
      if (it != values.end() && it->second.size() > 1) return *var.all_value;
    }
    return PrometheusValue(var, values);
  };
  return ReplaceVariables(expr, dashboard, builtin, keep, value_of);
}

Result<std::string> ExpandSql(std::string_view sql, const Dashboard& dashboard,
                              const VariableValues& values, const TimeRange& range,
                              int64_t interval_ms) {
  auto builtin = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "__interval") return FormatInterval(interval_ms);
    if (name == "__interval_ms") return std::to_string(interval_ms);
    return std::nullopt;
  };
  // A $__name( is a macro call, left for the macro engine.
  auto keep = [](const VariableRef& ref, std::string_view text) {
    return ref.name.rfind("__", 0) == 0 && ref.end < text.size() && text[ref.end] == '(' &&
           text[ref.begin + 1] != '{';
  };
  auto value_of = [&](const Variable& var) { return SqlValue(var, values); };
  auto replaced = ReplaceVariables(sql, dashboard, builtin, keep, value_of);
  if (!replaced.ok()) return replaced.status();
  return ExpandMacros(*replaced, range);
}

Result<LabelValuesQuery> ParseLabelValues(std::string_view query) {
  constexpr std::string_view kPrefix = "label_values(";
  std::string_view q = query;
  while (!q.empty() && std::isspace(static_cast<unsigned char>(q.front()))) q.remove_prefix(1);
  while (!q.empty() && std::isspace(static_cast<unsigned char>(q.back()))) q.remove_suffix(1);
  if (q.rfind(kPrefix, 0) != 0 || q.back() != ')') {
    return Status::InvalidArgument("not a label_values() query: " + std::string(query));
  }
  std::string_view inner = q.substr(kPrefix.size(), q.size() - kPrefix.size() - 1);
  // The label is after the last comma outside braces and quotes.
  int depth = 0;
  bool quoted = false;
  size_t split = std::string_view::npos;
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == '"' && (i == 0 || inner[i - 1] != '\\')) quoted = !quoted;
    if (quoted) continue;
    if (c == '{' || c == '(') ++depth;
    if (c == '}' || c == ')') --depth;
    if (c == ',' && depth == 0) split = i;
  }
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
  };
  LabelValuesQuery out;
  if (split == std::string_view::npos) {
    out.label = trim(inner);
  } else {
    out.selector = trim(inner.substr(0, split));
    out.label = trim(inner.substr(split + 1));
  }
  if (out.label.empty() || !std::all_of(out.label.begin(), out.label.end(), IsIdentChar)) {
    return Status::InvalidArgument("label_values() without a label name: " + std::string(query));
  }
  return out;
}

Result<PromQLNames> ReferencedNames(std::string_view expr) { return PromLexer(expr).Run(); }

void MetricsExposition::Merge(const MetricsExposition& other) {
  for (const auto& [name, labels] : other.samples) samples[name].insert(labels.begin(), labels.end());
  families.insert(other.families.begin(), other.families.end());
}

bool MetricsExposition::Exports(const std::string& name) const {
  return samples.count(name) > 0 || families.count(name) > 0;
}

Result<MetricsExposition> ParseExposition(std::string_view text) {
  MetricsExposition out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    auto bad = [&](const std::string& what) {
      return Status::Corruption("/metrics line " + std::to_string(line_no) + ": " + what + ": " +
                                std::string(line.substr(0, 200)));
    };
    if (line[0] == '#') {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::string_view rest = line.substr(7);
        const size_t space = rest.find(' ');
        if (space == std::string_view::npos) return bad("TYPE without a type");
        out.families[std::string(rest.substr(0, space))] = std::string(rest.substr(space + 1));
      }
      continue;
    }
    size_t i = 0;
    while (i < line.size() && IsIdentChar(line[i])) ++i;
    if (i == 0) return bad("no metric name");
    std::set<std::string>& labels = out.samples[std::string(line.substr(0, i))];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        if (line[i] == ',' || line[i] == ' ') {
          ++i;
          continue;
        }
        const size_t start = i;
        while (i < line.size() && IsIdentChar(line[i])) ++i;
        if (i == start || i >= line.size() || line[i] != '=') return bad("malformed label");
        labels.insert(std::string(line.substr(start, i - start)));
        ++i;
        if (i >= line.size() || line[i] != '"') return bad("label value not quoted");
        ++i;
        while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
        if (i >= line.size()) return bad("unterminated label value");
        ++i;
      }
      if (i >= line.size()) return bad("unclosed {");
    }
  }
  return out;
}

}  // namespace eventflow::testing::grafana
