// ParseClientStatistics against a report written from librdkafka's
// STATISTICS.md (every exported field checked against the text), malformed
// input, and a real report from a client of the linked librdkafka delivered
// through StatisticsMailbox by the statistics callback.
#include "eventflow/kafka/client_statistics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

constexpr std::string_view kReport = R"({
  "name": "app-inst-0-consumer#consumer-1", "client_id": "app-inst-0-consumer",
  "type": "consumer", "ts": 123456789, "time": 1700000000, "age": 5000000,
  "replyq": 3, "msg_cnt": 7, "msg_size": 700, "msg_max": 100000, "msg_size_max": 1073741824,
  "simple_cnt": 0, "metadata_cache_cnt": 2,
  "brokers": {
    "127.0.0.1:9092/1": {
      "name": "127.0.0.1:9092/1", "nodeid": 1, "nodename": "127.0.0.1:9092", "source": "learned",
      "state": "UP", "stateage": 100, "outbuf_cnt": 2, "outbuf_msg_cnt": 0, "waitresp_cnt": 1,
      "waitresp_msg_cnt": 0, "tx": 50, "txbytes": 5000, "txerrs": 1, "txretries": 0,
      "req_timeouts": 4, "rx": 49, "rxbytes": 9000, "rxerrs": 2, "connects": 3, "disconnects": 2,
      "int_latency": {"min": 1, "max": 9, "avg": 5, "sum": 50, "cnt": 10, "p50": 4, "p95": 8, "p99": 9},
      "outbuf_latency": {"min": 1, "max": 3, "avg": 2, "cnt": 4, "p50": 2, "p95": 3, "p99": 3},
      "rtt": {"min": 100, "max": 900, "avg": 250, "sum": 2500, "cnt": 10, "stddev": 3,
              "p50": 200, "p75": 300, "p90": 500, "p95": 700, "p99": 900, "p99_99": 900},
      "req": {"Fetch": 40, "Produce": 0},
      "toppars": {"orders-0": {"topic": "orders", "partition": 0}}
    },
    "127.0.0.1:9092/bootstrap": {"name": "127.0.0.1:9092/bootstrap", "nodeid": -1, "state": "INIT"}
  },
  "topics": {
    "orders": {
      "topic": "orders", "age": 10, "metadata_age": 10,
      "batchsize": {"avg": 0}, "batchcnt": {"avg": 0},
      "partitions": {
        "0": {"partition": 0, "broker": 1, "leader": 1, "desired": true, "unknown": false,
              "msgq_cnt": 0, "fetchq_cnt": 12, "fetch_state": "active", "query_offset": -2,
              "next_offset": 120, "app_offset": 108, "stored_offset": -1001,
              "committed_offset": -1001, "eof_offset": 100, "lo_offset": 0, "hi_offset": 125,
              "ls_offset": 121, "consumer_lag": -1, "consumer_lag_stored": 13,
              "txmsgs": 0, "txbytes": 0, "rxmsgs": 120, "rxbytes": 24000},
        "-1": {"partition": -1, "broker": -1, "leader": -1, "msgq_cnt": 5, "txmsgs": 0}
      }
    }
  },
  "cgrp": {"state": "up", "stateage": 1000, "join_state": "steady", "rebalance_age": 900,
           "rebalance_cnt": 2, "rebalance_reason": "", "assignment_size": 3},
  "eos": {"idemp_state": "Assigned", "txn_state": "InTransaction"},
  "tx": 50, "tx_bytes": 5000, "rx": 49, "rx_bytes": 9000,
  "txmsgs": 0, "txmsg_bytes": 0, "rxmsgs": 120, "rxmsg_bytes": 24000
})";

TEST(ClientStatisticsTest, ParsesTheDocumentedFields) {
  auto parsed = ParseClientStatistics(kReport);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ClientStatistics& s = *parsed;
  EXPECT_EQ(s.name, "app-inst-0-consumer#consumer-1");
  EXPECT_EQ(s.client_id, "app-inst-0-consumer");
  EXPECT_EQ(s.type, "consumer");
  EXPECT_EQ(s.ts, 123456789);
  EXPECT_EQ(s.time, 1700000000);
  EXPECT_EQ(s.replyq, 3);
  EXPECT_EQ(s.msg_cnt, 7);
  EXPECT_EQ(s.msg_size, 700);
  EXPECT_EQ(s.msg_max, 100000);
  EXPECT_EQ(s.msg_size_max, 1073741824);
  EXPECT_EQ(s.tx, 50);
  EXPECT_EQ(s.tx_bytes, 5000);
  EXPECT_EQ(s.rx, 49);
  EXPECT_EQ(s.rx_bytes, 9000);
  EXPECT_EQ(s.rxmsgs, 120);
  EXPECT_EQ(s.rxmsg_bytes, 24000);
  EXPECT_EQ(s.cgrp_state, "up");
  EXPECT_EQ(s.rebalance_cnt, 2);
  EXPECT_EQ(s.txn_state, "InTransaction");

  ASSERT_EQ(s.brokers.size(), 2u);
  const BrokerStatistics& b = s.brokers[0].nodeid == 1 ? s.brokers[0] : s.brokers[1];
  EXPECT_EQ(b.name, "127.0.0.1:9092/1");
  EXPECT_EQ(b.state, "UP");
  EXPECT_EQ(b.outbuf_cnt, 2);
  EXPECT_EQ(b.waitresp_cnt, 1);
  EXPECT_EQ(b.tx, 50);
  EXPECT_EQ(b.txbytes, 5000);
  EXPECT_EQ(b.txerrs, 1);
  EXPECT_EQ(b.rx, 49);
  EXPECT_EQ(b.rxbytes, 9000);
  EXPECT_EQ(b.rxerrs, 2);
  EXPECT_EQ(b.req_timeouts, 4);
  EXPECT_EQ(b.connects, 3);
  EXPECT_EQ(b.disconnects, 2);
  EXPECT_EQ(b.rtt.avg, 250);
  EXPECT_EQ(b.rtt.p50, 200);
  EXPECT_EQ(b.rtt.p95, 700);
  EXPECT_EQ(b.rtt.p99, 900);
  EXPECT_EQ(b.rtt.cnt, 10);
  EXPECT_EQ(b.int_latency.p99, 9);
  EXPECT_EQ(b.outbuf_latency.avg, 2);
  const BrokerStatistics& boot = s.brokers[0].nodeid == 1 ? s.brokers[1] : s.brokers[0];
  EXPECT_EQ(boot.nodeid, -1);
  EXPECT_EQ(boot.state, "INIT");

  ASSERT_EQ(s.topics.size(), 1u);
  EXPECT_EQ(s.topics[0].topic, "orders");
  const PartitionStatistics* p = s.Find("orders", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->fetch_state, "active");
  EXPECT_EQ(p->fetchq_cnt, 12);
  EXPECT_EQ(p->next_offset, 120);
  EXPECT_EQ(p->app_offset, 108);
  EXPECT_EQ(p->committed_offset, -1001);
  EXPECT_EQ(p->eof_offset, 100);
  EXPECT_EQ(p->lo_offset, 0);
  EXPECT_EQ(p->hi_offset, 125);
  EXPECT_EQ(p->ls_offset, 121);
  EXPECT_EQ(p->rxmsgs, 120);
  EXPECT_EQ(p->rxbytes, 24000);
  const PartitionStatistics* ua = s.Find("orders", -1);
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(ua->msgq_cnt, 5);
  EXPECT_EQ(ua->hi_offset, -1001);  // missing: the default
  EXPECT_EQ(s.Find("orders", 1), nullptr);
  EXPECT_EQ(s.Find("other", 0), nullptr);
}

TEST(ClientStatisticsTest, RejectsWhatIsNotAJsonObject) {
  EXPECT_EQ(ParseClientStatistics("{\"name\": ").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ParseClientStatistics("[1, 2]").status().code(), StatusCode::kCorruption);
  auto empty = ParseClientStatistics("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->brokers.empty());
}

TEST(ClientStatisticsTest, MailboxParsesOncePerReport) {
  StatisticsMailbox box;
  EXPECT_EQ(box.Latest(), nullptr);
  box.Put(kReport);
  auto first = box.Latest();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->client_id, "app-inst-0-consumer");
  EXPECT_EQ(box.Latest(), first);  // nothing new: the same parse
  box.Put("not json");             // skipped: the last good report stays
  EXPECT_EQ(box.Latest(), first);
  box.Put(R"({"client_id": "next"})");
  auto next = box.Latest();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->client_id, "next");
  EXPECT_EQ(box.received(), 3u);
}

int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<StatisticsMailbox*>(opaque)->Put(std::string_view(json, len));
  return 0;  // librdkafka frees the text
}

TEST(ClientStatisticsTest, ParsesWhatTheLinkedLibrdkafkaEmits) {
  KafkaProperties props;
  props.Set("bootstrap.servers", "127.0.0.1:1");
  props.Set("client.id", "stats-test");
  props.Set("statistics.interval.ms", "100");
  auto conf = BuildKafkaConf(props);
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  StatisticsMailbox box;
  rd_kafka_conf_set_opaque(conf->get(), &box);
  rd_kafka_conf_set_stats_cb(conf->get(), &OnStats);
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (box.received() == 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(producer->get(), 50);  // the callback runs in here
  }
  auto stats = box.Latest();
  ASSERT_NE(stats, nullptr) << "no statistics within 10 s";
  EXPECT_EQ(stats->client_id, "stats-test");
  EXPECT_EQ(stats->type, "producer");
  EXPECT_GT(stats->ts, 0);
  EXPECT_GT(stats->time, 1600000000);
  ASSERT_FALSE(stats->brokers.empty());
  EXPECT_NE(stats->brokers[0].name.find("127.0.0.1:1"), std::string::npos);
  EXPECT_FALSE(stats->brokers[0].state.empty());
  EXPECT_NE(stats->brokers[0].state, "UP");
}

}  // namespace
}  // namespace eventflow::kafka
