// WriteKafkaClientMetrics: the librdkafka figures users chart, per client,
// from its latest statistics report (kafka::ClientStatistics) — shared by
// the eventflow binary (each stream thread's consumer and producer) and the
// sink (its consumer).
//
// Families (labels: the writer's common ones, the entry's — e.g. thread and
// client — and broker / topic / direction where they apply):
//   eventflow_kafka_client_queue_messages, _queue_bytes     producer queue now
//   eventflow_kafka_client_queue_max_messages, _max_bytes   its limits
//   eventflow_kafka_client_reply_queue                      ops waiting for poll
//   eventflow_kafka_client_messages_total{direction}        messages out/in
//   eventflow_kafka_client_message_bytes_total{direction}
//   eventflow_kafka_broker_up{broker}, eventflow_kafka_broker_state{broker,state}
//   eventflow_kafka_broker_rtt_seconds{broker,stat}         request round trip
//   eventflow_kafka_broker_internal_latency_seconds{broker,stat}  produce()
//                                                           to broker queue
//     (stat = avg, p50, p95, p99 over librdkafka's window)
//   eventflow_kafka_broker_outbuf_requests, _waitresp_requests{broker}
//   eventflow_kafka_broker_requests_total, _request_timeouts_total,
//   _errors_total{direction}, _connects_total, _disconnects_total,
//   _sent_bytes_total, _received_bytes_total{broker}
//   eventflow_kafka_topic_messages_total, _bytes_total{topic,direction}
// Bootstrap entries (no broker id) are left out: once the cluster's brokers
// are known librdkafka keeps them idle, which is not a broker being down.
// Latencies are librdkafka's rolling windows (statistics.interval.ms), written
// only when the window has samples.
#pragma once

#include <memory>
#include <vector>

#include "eventflow/kafka/client_statistics.h"
#include "prometheus_text.h"

namespace eventflow::tools {

struct KafkaClientEntry {
  Labels labels;  //!< identifies the client, e.g. {{"thread", "a-0"}, {"client", "consumer"}}
  std::shared_ptr<const kafka::ClientStatistics> stats;  //!< nullptr: not reported yet
};

//! Writes the families above for every entry with statistics.
void WriteKafkaClientMetrics(PrometheusText& out, const std::vector<KafkaClientEntry>& clients);

}  // namespace eventflow::tools
