#include "prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace eventflow::tools {
namespace {

void AppendEscaped(std::string* out, std::string_view value, bool quote) {
  // The usual case: nothing to escape, one append.
  bool plain = true;
  for (const char c : value) {
    if (c == '\\' || c == '\n' || (quote && c == '"')) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->append(value);
    return;
  }
  for (const char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote) {
      *out += "\\\"";
    } else {
      out->push_back(c);
    }
  }
}

// Writes `value` into `buf`; returns the end.
char* WriteValue(char* buf, char* end, double value) {
  if (std::isnan(value)) return std::copy_n("NaN", 3, buf);
  if (std::isinf(value)) return std::copy_n(value > 0 ? "+Inf" : "-Inf", 4, buf);
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_chars(buf, end, static_cast<long long>(value)).ptr;
  }
  return std::to_chars(buf, end, value).ptr;
}

}  // namespace

const Labels PrometheusText::kNoLabels;

std::string FormatValue(double value) {
  char buf[64];
  return std::string(buf, WriteValue(buf, buf + sizeof buf, value));
}

PrometheusText::PrometheusText(const Labels& common) {
  bool first = true;
  for (const auto& [key, value] : common) AppendLabel(key, value, &first);
  common_ = std::exchange(out_, {});
  out_.reserve(128 * 1024);
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(&out_, help, /*quote=*/false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::AppendLabel(std::string_view key, std::string_view value, bool* first) {
  if (!*first) out_ += ',';
  *first = false;
  out_ += key;
  out_ += "=\"";
  AppendEscaped(&out_, value, /*quote=*/true);
  out_ += '"';
}

void PrometheusText::Head(std::string_view name, const Labels& base,
                          std::initializer_list<Label> extra, std::string_view le) {
  out_ += name;
  if (common_.empty() && base.empty() && extra.size() == 0 && le.empty()) return;
  out_ += '{';
  out_ += common_;
  bool first = common_.empty();
  for (const auto& [key, value] : base) AppendLabel(key, value, &first);
  for (const auto& [key, value] : extra) AppendLabel(key, value, &first);
  if (!le.empty()) AppendLabel("le", le, &first);
  out_ += '}';
}

void PrometheusText::Value(double value) {
  char buf[64];
  out_ += ' ';
  out_.append(buf, WriteValue(buf, buf + sizeof buf, value));
  out_ += '\n';
}

void PrometheusText::Sample(std::string_view name, const Labels& base,
                            std::initializer_list<Label> extra, double value) {
  Head(name, base, extra, {});
  Value(value);
}

void PrometheusText::Histogram(std::string_view name, const Labels& base,
                               std::initializer_list<Label> extra,
                               const eventflow::Histogram::Snapshot& h) {
  char bucket[160];
  const size_t n = std::min(name.size(), sizeof bucket - 8);
  std::copy_n(name.data(), n, bucket);
  auto with = [&](std::string_view suffix) {
    std::copy_n(suffix.data(), suffix.size(), bucket + n);
    return std::string_view(bucket, n + suffix.size());
  };
  uint64_t cumulative = 0;
  char le[64];
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const std::string_view bound =
        i < h.bounds.size() ? std::string_view(le, WriteValue(le, le + sizeof le, h.bounds[i]))
                            : std::string_view("+Inf");
    Head(with("_bucket"), base, extra, bound);
    Value(static_cast<double>(cumulative));
  }
  if (h.counts.empty()) {
    Head(with("_bucket"), base, extra, "+Inf");
    Value(0);
  }
  Head(with("_sum"), base, extra, {});
  Value(h.sum);
  Head(with("_count"), base, extra, {});
  Value(static_cast<double>(cumulative));
}

}  // namespace eventflow::tools
