// PrometheusText: writes metrics in Prometheus' text exposition format
// (version 0.0.4) — what the tools' /metrics endpoints serve.
//
//   PrometheusText out({{"application_id", "eventflow"}, {"instance", "a"}});
//   out.Family("eventflow_records_processed_total", "counter", "Records processed");
//   out.Sample("eventflow_records_processed_total", {{"task", "0_1"}}, 42);
//   out.Histogram("eventflow_commit_duration_seconds", {}, snapshot);
//   std::string body = out.Take();
//
// Every sample carries the writer's common labels first, then its own. A
// family's samples follow its Family() line (the format wants them grouped);
// label values are escaped (backslash, quote, newline); numbers are written
// exactly (integers as integers, doubles in shortest round-trip form).
//
// Our own writer rather than prometheus-cpp's registry: series come and go
// with tasks, partitions and brokers, and every value is read from the
// runtime's probes at scrape time, so a registry would only add a copy and
// the bookkeeping of removing series.
//
// Thread-safety: one writer per scrape.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/histogram.h"

namespace eventflow::tools {

//! Label name/value pairs, in output order.
using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  //! The Content-Type of the output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  //! `common` labels go on every sample.
  explicit PrometheusText(Labels common = {}) : common_(std::move(common)) {}

  //! Starts a family: "# HELP" and "# TYPE" (counter, gauge, histogram).
  void Family(std::string_view name, std::string_view type, std::string_view help);
  //! Writes one sample of the current family (`name` may carry a suffix
  //! such as _bucket).
  void Sample(std::string_view name, const Labels& labels, double value);
  //! Writes the _bucket (cumulative, le), _sum and _count samples of a histogram.
  void Histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& h);
  //! Returns the text written so far and starts over.
  std::string Take() { return std::exchange(out_, {}); }

 private:
  void Head(std::string_view name, const Labels& labels);

  Labels common_;
  std::string out_;
};

//! Returns `value` as the format writes numbers ("3", "0.25", "+Inf", "NaN").
std::string FormatValue(double value);

}  // namespace eventflow::tools
