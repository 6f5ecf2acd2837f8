#include "prometheus_text.h"

#include <charconv>
#include <cmath>

namespace eventflow::tools {
namespace {

void AppendEscaped(std::string* out, std::string_view value, bool quote) {
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

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(value));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
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

void PrometheusText::Head(std::string_view name, const Labels& labels) {
  out_ += name;
  if (common_.empty() && labels.empty()) return;
  out_ += '{';
  bool first = true;
  const Labels* sets[] = {&common_, &labels};
  for (const Labels* set : sets) {
    for (const auto& [key, value] : *set) {
      if (!first) out_ += ',';
      first = false;
      out_ += key;
      out_ += "=\"";
      AppendEscaped(&out_, value, /*quote=*/true);
      out_ += '"';
    }
  }
  out_ += '}';
}

void PrometheusText::Sample(std::string_view name, const Labels& labels, double value) {
  Head(name, labels);
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void PrometheusText::Histogram(std::string_view name, const Labels& labels,
                               const eventflow::Histogram::Snapshot& h) {
  const std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    with_le.back().second =
        i < h.bounds.size() ? FormatValue(h.bounds[i]) : std::string("+Inf");
    Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  if (h.counts.empty()) {
    with_le.back().second = "+Inf";
    Sample(bucket, with_le, 0);
  }
  Sample(std::string(name) + "_sum", labels, h.sum);
  Sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

}  // namespace eventflow::tools
