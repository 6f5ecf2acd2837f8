#include "kafka_client_metrics.h"

#include <functional>
#include <map>
#include <string>

namespace eventflow::tools {
namespace {

using Stats = kafka::ClientStatistics;
using Broker = kafka::BrokerStatistics;

constexpr double kMicros = 1e-6;

}  // namespace

void WriteKafkaClientMetrics(PrometheusText& out, const std::vector<KafkaClientEntry>& clients) {
  std::vector<const KafkaClientEntry*> reported;
  for (const KafkaClientEntry& c : clients) {
    if (c.stats) reported.push_back(&c);
  }
  if (reported.empty()) return;

  // Client-level figures.
  auto client_gauge = [&](const char* name, const char* type, const char* help,
                          const std::function<double(const Stats&)>& value) {
    out.Family(name, type, help);
    for (const KafkaClientEntry* c : reported) out.Sample(name, c->labels, {}, value(*c->stats));
  };
  client_gauge("eventflow_kafka_client_queue_messages", "gauge",
               "Messages in the producer's queues (waiting to be sent or acknowledged)",
               [](const Stats& s) { return double(s.msg_cnt); });
  client_gauge("eventflow_kafka_client_queue_bytes", "gauge", "Bytes in the producer's queues",
               [](const Stats& s) { return double(s.msg_size); });
  client_gauge("eventflow_kafka_client_queue_max_messages", "gauge",
               "queue.buffering.max.messages of the producer",
               [](const Stats& s) { return double(s.msg_max); });
  client_gauge("eventflow_kafka_client_queue_max_bytes", "gauge",
               "queue.buffering.max.kbytes of the producer, in bytes",
               [](const Stats& s) { return double(s.msg_size_max); });
  client_gauge("eventflow_kafka_client_reply_queue", "gauge",
               "Callbacks and events waiting for the application's poll",
               [](const Stats& s) { return double(s.replyq); });
  out.Family("eventflow_kafka_client_messages_total", "counter",
             "Messages the client sent (out) or consumed (in)");
  for (const KafkaClientEntry* c : reported) {
    out.Sample("eventflow_kafka_client_messages_total", c->labels, {{"direction", "out"}},
               double(c->stats->txmsgs));
    out.Sample("eventflow_kafka_client_messages_total", c->labels, {{"direction", "in"}},
               double(c->stats->rxmsgs));
  }
  out.Family("eventflow_kafka_client_message_bytes_total", "counter",
             "Message bytes the client sent (out) or consumed (in)");
  for (const KafkaClientEntry* c : reported) {
    out.Sample("eventflow_kafka_client_message_bytes_total", c->labels, {{"direction", "out"}},
               double(c->stats->txmsg_bytes));
    out.Sample("eventflow_kafka_client_message_bytes_total", c->labels, {{"direction", "in"}},
               double(c->stats->rxmsg_bytes));
  }

  // Per broker: `fn` gets the client's labels and the broker's.
  auto each_broker =
      [&](const std::function<void(const Labels&, const Broker&, std::string_view)>& fn) {
        for (const KafkaClientEntry* c : reported) {
          for (const Broker& b : c->stats->brokers) {
            if (b.nodeid >= 0) fn(c->labels, b, b.name);
          }
        }
      };
  out.Family("eventflow_kafka_broker_up", "gauge",
             "1 while the client's connection to the broker is up (state UP or UPDATE)");
  each_broker([&](const Labels& l, const Broker& b, std::string_view broker) {
    out.Sample("eventflow_kafka_broker_up", l, {{"broker", broker}},
               b.state == "UP" || b.state == "UPDATE" ? 1 : 0);
  });
  out.Family("eventflow_kafka_broker_state", "gauge",
             "The client's connection state to the broker (1 for the current state)");
  each_broker([&](const Labels& l, const Broker& b, std::string_view broker) {
    out.Sample("eventflow_kafka_broker_state", l, {{"broker", broker}, {"state", b.state}}, 1);
  });
  auto window = [&](const char* name, const char* help,
                    const std::function<const kafka::WindowStatistics&(const Broker&)>& pick) {
    out.Family(name, "gauge", help);
    each_broker([&](const Labels& l, const Broker& b, std::string_view broker) {
      const kafka::WindowStatistics& w = pick(b);
      if (w.cnt <= 0) return;
      // Not a Prometheus summary (the window's figures are not cumulative):
      // the statistic is a label of its own.
      for (const auto& [stat, v] : {std::pair<const char*, int64_t>{"avg", w.avg},
                                    {"p50", w.p50},
                                    {"p95", w.p95},
                                    {"p99", w.p99}}) {
        out.Sample(name, l, {{"broker", broker}, {"stat", stat}}, double(v) * kMicros);
      }
    });
  };
  window("eventflow_kafka_broker_rtt_seconds",
         "Request round-trip time to the broker (produce and fetch requests included), over "
         "librdkafka's statistics window",
         [](const Broker& b) -> const kafka::WindowStatistics& { return b.rtt; });
  window("eventflow_kafka_broker_internal_latency_seconds",
         "Producer: time from produce() to the broker's send queue, over the statistics window",
         [](const Broker& b) -> const kafka::WindowStatistics& { return b.int_latency; });
  auto broker_value = [&](const char* name, const char* type, const char* help,
                          const std::function<double(const Broker&)>& value) {
    out.Family(name, type, help);
    each_broker([&](const Labels& l, const Broker& b, std::string_view broker) {
      out.Sample(name, l, {{"broker", broker}}, value(b));
    });
  };
  broker_value("eventflow_kafka_broker_outbuf_requests", "gauge",
               "Requests waiting to be sent to the broker",
               [](const Broker& b) { return double(b.outbuf_cnt); });
  broker_value("eventflow_kafka_broker_waitresp_requests", "gauge",
               "Requests sent to the broker, waiting for their response",
               [](const Broker& b) { return double(b.waitresp_cnt); });
  broker_value("eventflow_kafka_broker_requests_total", "counter", "Requests sent to the broker",
               [](const Broker& b) { return double(b.tx); });
  broker_value("eventflow_kafka_broker_request_timeouts_total", "counter",
               "Requests to the broker that timed out",
               [](const Broker& b) { return double(b.req_timeouts); });
  broker_value("eventflow_kafka_broker_connects_total", "counter",
               "Connections made to the broker", [](const Broker& b) { return double(b.connects); });
  broker_value("eventflow_kafka_broker_disconnects_total", "counter",
               "Connections to the broker lost or closed",
               [](const Broker& b) { return double(b.disconnects); });
  broker_value("eventflow_kafka_broker_sent_bytes_total", "counter", "Bytes sent to the broker",
               [](const Broker& b) { return double(b.txbytes); });
  broker_value("eventflow_kafka_broker_received_bytes_total", "counter",
               "Bytes received from the broker", [](const Broker& b) { return double(b.rxbytes); });
  out.Family("eventflow_kafka_broker_errors_total", "counter",
             "Transmission (tx) and receive (rx) errors with the broker");
  each_broker([&](const Labels& l, const Broker& b, std::string_view broker) {
    out.Sample("eventflow_kafka_broker_errors_total", l, {{"broker", broker}, {"direction", "tx"}},
               double(b.txerrs));
    out.Sample("eventflow_kafka_broker_errors_total", l, {{"broker", broker}, {"direction", "rx"}},
               double(b.rxerrs));
  });

  // Per topic: the partitions summed.
  struct TopicSums {
    double out_msgs = 0, out_bytes = 0, in_msgs = 0, in_bytes = 0;
  };
  std::vector<std::pair<const KafkaClientEntry*, std::map<std::string, TopicSums>>> topics;
  for (const KafkaClientEntry* c : reported) {
    auto& sums = topics.emplace_back(c, std::map<std::string, TopicSums>{}).second;
    for (const kafka::TopicStatistics& t : c->stats->topics) {
      TopicSums& s = sums[t.topic];
      for (const kafka::PartitionStatistics& p : t.partitions) {
        s.out_msgs += double(p.txmsgs);
        s.out_bytes += double(p.txbytes);
        s.in_msgs += double(p.rxmsgs);
        s.in_bytes += double(p.rxbytes);
      }
    }
  }
  out.Family("eventflow_kafka_topic_messages_total", "counter",
             "Messages the client sent to (out) or fetched from (in) the topic");
  for (const auto& [c, sums] : topics) {
    for (const auto& [topic, s] : sums) {
      out.Sample("eventflow_kafka_topic_messages_total", c->labels,
                 {{"topic", topic}, {"direction", "out"}}, s.out_msgs);
      out.Sample("eventflow_kafka_topic_messages_total", c->labels,
                 {{"topic", topic}, {"direction", "in"}}, s.in_msgs);
    }
  }
  out.Family("eventflow_kafka_topic_bytes_total", "counter",
             "Bytes the client sent to (out) or fetched from (in) the topic");
  for (const auto& [c, sums] : topics) {
    for (const auto& [topic, s] : sums) {
      out.Sample("eventflow_kafka_topic_bytes_total", c->labels,
                 {{"topic", topic}, {"direction", "out"}}, s.out_bytes);
      out.Sample("eventflow_kafka_topic_bytes_total", c->labels,
                 {{"topic", topic}, {"direction", "in"}}, s.in_bytes);
    }
  }
}

}  // namespace eventflow::tools
