// PrometheusText's output checked line by line (escaping, number formats,
// cumulative buckets whose +Inf equals _count) and the librdkafka client
// families written from a hand-made statistics report.
#include <gtest/gtest.h>

#include <sstream>

#include "kafka_client_metrics.h"
#include "prometheus_text.h"

namespace eventflow::tools {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool Has(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

TEST(PrometheusTextTest, WritesFamiliesSamplesAndEscapes) {
  PrometheusText out({{"application_id", "app"}, {"instance", "i\"1\\\n"}});
  out.Family("eventflow_x_total", "counter", "Things, with a \\ and\na newline");
  out.Sample("eventflow_x_total", {{"task", "0_1"}}, 42);
  out.Sample("eventflow_x_total", {}, 0.25);
  PrometheusText bare;
  bare.Sample("up", {}, 1);
  EXPECT_EQ(bare.Take(), "up 1\n");
  EXPECT_EQ(out.Take(),
            "# HELP eventflow_x_total Things, with a \\\\ and\\na newline\n"
            "# TYPE eventflow_x_total counter\n"
            "eventflow_x_total{application_id=\"app\",instance=\"i\\\"1\\\\\\n\",task=\"0_1\"} 42\n"
            "eventflow_x_total{application_id=\"app\",instance=\"i\\\"1\\\\\\n\"} 0.25\n");
  EXPECT_EQ(out.Take(), "");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-7), "-7");
  EXPECT_EQ(FormatValue(1e-6), "1e-06");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(0.1), "0.1");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.ObserveN(0.5, 2);
  h.Observe(7);
  PrometheusText out(Labels{{"a", "b"}});
  out.Family("eventflow_d_seconds", "histogram", "D");
  out.Histogram("eventflow_d_seconds", {{"thread", "t"}}, h.Read());
  const std::string text = out.Take();
  EXPECT_TRUE(Has(text, "eventflow_d_seconds_bucket{a=\"b\",thread=\"t\",le=\"0.1\"} 1")) << text;
  EXPECT_TRUE(Has(text, "eventflow_d_seconds_bucket{a=\"b\",thread=\"t\",le=\"1\"} 4")) << text;
  EXPECT_TRUE(Has(text, "eventflow_d_seconds_bucket{a=\"b\",thread=\"t\",le=\"+Inf\"} 5")) << text;
  EXPECT_TRUE(Has(text, "eventflow_d_seconds_sum{a=\"b\",thread=\"t\"} 8.55")) << text;
  EXPECT_TRUE(Has(text, "eventflow_d_seconds_count{a=\"b\",thread=\"t\"} 5")) << text;
}

TEST(KafkaClientMetricsTest, WritesTheReportsFigures) {
  auto stats = kafka::ParseClientStatistics(R"({
    "client_id": "c", "type": "producer", "msg_cnt": 12, "msg_size": 3400, "msg_max": 100,
    "msg_size_max": 1000, "replyq": 2, "txmsgs": 50, "txmsg_bytes": 5000,
    "brokers": {
      "h:1/1": {"name": "h:1/1", "nodeid": 1, "state": "UP", "outbuf_cnt": 3, "waitresp_cnt": 4,
                "tx": 10, "txbytes": 100, "rx": 9, "rxbytes": 90, "txerrs": 1, "rxerrs": 2,
                "req_timeouts": 5, "connects": 6, "disconnects": 7,
                "rtt": {"cnt": 3, "p50": 1500, "p95": 2500, "p99": 4000},
                "int_latency": {"cnt": 0, "p50": 9}},
      "h:1/bootstrap": {"name": "h:1/bootstrap", "nodeid": -1, "state": "INIT"}},
    "topics": {"out": {"topic": "out", "partitions": {
      "0": {"partition": 0, "txmsgs": 20, "txbytes": 2000},
      "1": {"partition": 1, "txmsgs": 30, "txbytes": 3000},
      "-1": {"partition": -1, "txmsgs": 0}}}}})");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  PrometheusText out(Labels{{"instance", "i"}});
  WriteKafkaClientMetrics(
      out, {{{{"client", "producer"}},
             std::make_shared<const kafka::ClientStatistics>(std::move(*stats))},
            {{{"client", "none-yet"}}, nullptr}});
  const std::string text = out.Take();
  const std::string c = "instance=\"i\",client=\"producer\"";
  const std::string b = c + ",broker=\"h:1/1\"";
  for (const std::string& line : {
           "eventflow_kafka_client_queue_messages{" + c + "} 12",
           "eventflow_kafka_client_queue_bytes{" + c + "} 3400",
           "eventflow_kafka_client_queue_max_messages{" + c + "} 100",
           "eventflow_kafka_client_reply_queue{" + c + "} 2",
           "eventflow_kafka_client_messages_total{" + c + ",direction=\"out\"} 50",
           "eventflow_kafka_client_message_bytes_total{" + c + ",direction=\"out\"} 5000",
           "eventflow_kafka_broker_up{" + b + "} 1",
           "eventflow_kafka_broker_state{" + b + ",state=\"UP\"} 1",
           "eventflow_kafka_broker_rtt_seconds{" + b + ",stat=\"p50\"} 0.0015",
           "eventflow_kafka_broker_rtt_seconds{" + b + ",stat=\"p99\"} 0.004",
           "eventflow_kafka_broker_outbuf_requests{" + b + "} 3",
           "eventflow_kafka_broker_waitresp_requests{" + b + "} 4",
           "eventflow_kafka_broker_requests_total{" + b + "} 10",
           "eventflow_kafka_broker_request_timeouts_total{" + b + "} 5",
           "eventflow_kafka_broker_connects_total{" + b + "} 6",
           "eventflow_kafka_broker_disconnects_total{" + b + "} 7",
           "eventflow_kafka_broker_errors_total{" + b + ",direction=\"rx\"} 2",
           "eventflow_kafka_topic_messages_total{" + c + ",topic=\"out\",direction=\"out\"} 50",
           "eventflow_kafka_topic_bytes_total{" + c + ",topic=\"out\",direction=\"out\"} 5000",
       }) {
    EXPECT_TRUE(Has(text, line)) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("bootstrap"), std::string::npos) << "bootstrap entries are left out";
  EXPECT_EQ(text.find("none-yet"), std::string::npos) << "clients without a report are skipped";
  EXPECT_EQ(text.find("internal_latency_seconds{"), std::string::npos) << "empty window";
}

}  // namespace
}  // namespace eventflow::tools
