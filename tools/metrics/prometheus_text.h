// PrometheusText: writes metrics in Prometheus' text exposition format
// (version 0.0.4) — what the tools' /metrics endpoints serve.
//
//   PrometheusText out(Labels{{"application_id", "eventflow"}, {"instance", "a"}});
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
// A scrape writes a thousand lines or so (about 90 KB for the pipeline):
// labels are passed as views and written straight into the output, numbers
// formatted on the stack — no allocation per sample.
//
// Our own writer rather than prometheus-cpp's registry: series come and go
// with tasks, partitions and brokers, and every value is read from the
// runtime's probes at scrape time, so a registry would only add a copy and
// the bookkeeping of removing series.
//
// Thread-safety: one writer per scrape.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/histogram.h"

namespace eventflow::tools {

//! Label name/value pairs, in output order.
using Labels = std::vector<std::pair<std::string, std::string>>;
//! One label given in place (views: nothing is copied until written).
using Label = std::pair<std::string_view, std::string_view>;

class PrometheusText {
 public:
  //! The Content-Type of the output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  //! `common` labels go on every sample (rendered once, here).
  explicit PrometheusText(const Labels& common = {});

  //! Starts a family: "# HELP" and "# TYPE" (counter, gauge, histogram).
  void Family(std::string_view name, std::string_view type, std::string_view help);
  //! Writes one sample of the current family (`name` may carry a suffix
  //! such as _bucket), labelled `labels` after the common ones.
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    Sample(name, kNoLabels, labels, value);
  }
  //! The same with the labels `base` then `extra`.
  void Sample(std::string_view name, const Labels& base, std::initializer_list<Label> extra,
              double value);
  //! Writes the _bucket (cumulative, le), _sum and _count samples of a histogram.
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const Histogram::Snapshot& h) {
    Histogram(name, kNoLabels, labels, h);
  }
  //! The same with the labels `base` then `extra`.
  void Histogram(std::string_view name, const Labels& base, std::initializer_list<Label> extra,
                 const Histogram::Snapshot& h);
  //! Returns the text written so far and starts over.
  std::string Take() { return std::exchange(out_, {}); }

 private:
  static const Labels kNoLabels;
  // Writes `name{common,base,extra[,le]}` (no braces when there is no label).
  void Head(std::string_view name, const Labels& base, std::initializer_list<Label> extra,
            std::string_view le);
  void AppendLabel(std::string_view key, std::string_view value, bool* first);
  void Value(double value);

  std::string common_;  // the common labels, rendered
  std::string out_;
};

//! Returns `value` as the format writes numbers ("3", "0.25", "+Inf", "NaN").
std::string FormatValue(double value);

}  // namespace eventflow::tools
