// Facts about the real broker that the runtime relies on, checked with
// librdkafka 2.0.2 against the local Kafka (scripts/kafka): transactions hide
// aborted records from read_committed consumers (the mock cluster does not),
// offsets sent in a transaction commit or abort with it, the range assignor
// splits a group's partitions, and lz4/zstd/gzip/snappy really compress.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using kafka::CreateKafkaClient;
using kafka::FromKafkaError;
using kafka::KafkaError;
using kafka::KafkaHandle;
using kafka::KafkaProperties;
using testing::ReadAll;
using testing::ScopedTopics;
using testing::TestKafkaProperties;
using testing::UniqueName;

constexpr int kTimeoutMs = 30'000;

KafkaHandle TransactionalProducer(const std::string& transactional_id) {
  KafkaProperties props = TestKafkaProperties();
  props.Set("transactional.id", transactional_id);
  props.Set("linger.ms", "5");
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  EXPECT_TRUE(producer.ok()) << producer.status().ToString();
  KafkaError err(rd_kafka_init_transactions(producer->get(), kTimeoutMs));
  EXPECT_TRUE(FromKafkaError(err.get(), "init_transactions").ok())
      << FromKafkaError(err.get(), "init_transactions").ToString();
  return std::move(*producer);
}

void Produce(rd_kafka_t* rk, const std::string& topic, int32_t partition,
             const std::string& key, const std::string& value) {
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
}

void ExpectOk(rd_kafka_error_t* raw, const char* what) {
  KafkaError err(raw);
  const Status s = FromKafkaError(err.get(), what);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(BrokerTest, ReadCommittedConsumerNeverSeesAbortedRecords) {
  ScopedTopics topics({{UniqueName("txn"), 2, -1, {}}});
  const std::string& topic = topics.name(0);
  KafkaHandle producer = TransactionalProducer(UniqueName("txn-id"));

  ExpectOk(rd_kafka_begin_transaction(producer.get()), "begin");
  for (int i = 0; i < 10; ++i) Produce(producer.get(), topic, i % 2, "k", "aborted-" + std::to_string(i));
  // Deliver them to the broker first: aborting would otherwise purge them unsent.
  ASSERT_EQ(rd_kafka_flush(producer.get(), kTimeoutMs), RD_KAFKA_RESP_ERR_NO_ERROR);
  ExpectOk(rd_kafka_abort_transaction(producer.get(), kTimeoutMs), "abort");

  ExpectOk(rd_kafka_begin_transaction(producer.get()), "begin");
  for (int i = 0; i < 5; ++i) Produce(producer.get(), topic, i % 2, "k", "committed-" + std::to_string(i));
  ExpectOk(rd_kafka_commit_transaction(producer.get(), kTimeoutMs), "commit");

  auto committed = ReadAll(topic, /*read_committed=*/true);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  std::multiset<std::string> seen;
  for (const auto& r : *committed) seen.insert(r.value);
  EXPECT_EQ(seen, (std::multiset<std::string>{"committed-0", "committed-1", "committed-2",
                                              "committed-3", "committed-4"}));

  // The aborted records are in the log: a read_uncommitted consumer sees all 15.
  // (The librdkafka mock cluster would show them to read_committed too.)
  auto uncommitted = ReadAll(topic, /*read_committed=*/false);
  ASSERT_TRUE(uncommitted.ok()) << uncommitted.status().ToString();
  EXPECT_EQ(uncommitted->size(), 15u);
}

TEST(BrokerTest, OffsetsSentInATransactionCommitAndAbortWithIt) {
  ScopedTopics topics({{UniqueName("in"), 1, -1, {}}, {UniqueName("out"), 1, -1, {}}});
  const std::string group = UniqueName("eos-group");

  KafkaProperties cprops = TestKafkaProperties();
  cprops.Set("group.id", group);
  cprops.Set("enable.auto.commit", "false");
  auto consumer = CreateKafkaClient(RD_KAFKA_CONSUMER, cprops);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  kafka::KafkaGroupMetadata metadata(rd_kafka_consumer_group_metadata(consumer->get()));

  KafkaHandle producer = TransactionalProducer(UniqueName("eos-id"));
  auto offsets_at = [&](int64_t offset) {
    kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topics.name(0).c_str(), 0)->offset = offset;
    return list;
  };
  auto committed_offset = [&]() -> int64_t {
    kafka::KafkaPartitionList list = offsets_at(RD_KAFKA_OFFSET_INVALID);
    EXPECT_EQ(rd_kafka_committed(consumer->get(), list.get(), kTimeoutMs),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    return list->elems[0].offset;
  };

  // Aborted: output and offsets both vanish.
  ExpectOk(rd_kafka_begin_transaction(producer.get()), "begin");
  Produce(producer.get(), topics.name(1), 0, "k", "aborted");
  ASSERT_EQ(rd_kafka_flush(producer.get(), kTimeoutMs), RD_KAFKA_RESP_ERR_NO_ERROR);
  ExpectOk(rd_kafka_send_offsets_to_transaction(producer.get(), offsets_at(5).get(),
                                                metadata.get(), kTimeoutMs),
           "send_offsets");
  ExpectOk(rd_kafka_abort_transaction(producer.get(), kTimeoutMs), "abort");
  EXPECT_EQ(committed_offset(), RD_KAFKA_OFFSET_INVALID);

  // Committed: output and offsets both appear, with the offset metadata string
  // (where the runtime will keep a partition's stream time).
  ExpectOk(rd_kafka_begin_transaction(producer.get()), "begin");
  Produce(producer.get(), topics.name(1), 0, "k", "committed");
  kafka::KafkaPartitionList offsets = offsets_at(7);
  static const char kMeta[] = "st=1764460800000";
  offsets->elems[0].metadata = const_cast<char*>(kMeta);
  offsets->elems[0].metadata_size = sizeof(kMeta) - 1;
  ExpectOk(rd_kafka_send_offsets_to_transaction(producer.get(), offsets.get(), metadata.get(),
                                                kTimeoutMs),
           "send_offsets");
  offsets->elems[0].metadata = nullptr;  // not ours to free
  offsets->elems[0].metadata_size = 0;
  ExpectOk(rd_kafka_commit_transaction(producer.get(), kTimeoutMs), "commit");
  EXPECT_EQ(committed_offset(), 7);

  kafka::KafkaPartitionList check = offsets_at(RD_KAFKA_OFFSET_INVALID);
  ASSERT_EQ(rd_kafka_committed(consumer->get(), check.get(), kTimeoutMs),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_NE(check->elems[0].metadata, nullptr);
  EXPECT_EQ(std::string(static_cast<const char*>(check->elems[0].metadata),
                        check->elems[0].metadata_size),
            kMeta);

  auto out = ReadAll(topics.name(1), true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].value, "committed");
  rd_kafka_consumer_close(consumer->get());
}

TEST(BrokerTest, RangeAssignorSplitsPartitionsBetweenGroupMembers) {
  ScopedTopics topics({{UniqueName("grp"), 4, -1, {}}});
  const std::string group = UniqueName("range-group");
  auto make_member = [&] {
    KafkaProperties props = TestKafkaProperties();
    props.Set("group.id", group);
    props.Set("partition.assignment.strategy", "range");
    props.Set("session.timeout.ms", "10000");
    props.Set("enable.auto.commit", "false");
    auto c = CreateKafkaClient(RD_KAFKA_CONSUMER, props);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    rd_kafka_poll_set_consumer(c->get());
    kafka::KafkaPartitionList sub(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(sub.get(), topics.name(0).c_str(), RD_KAFKA_PARTITION_UA);
    EXPECT_EQ(rd_kafka_subscribe(c->get(), sub.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
    return std::move(*c);
  };
  KafkaHandle a = make_member();
  KafkaHandle b = make_member();

  auto assigned = [](rd_kafka_t* rk) {
    std::set<int32_t> parts;
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(rk, &raw) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      kafka::KafkaPartitionList list(raw);
      for (int i = 0; i < list->cnt; ++i) parts.insert(list->elems[i].partition);
    }
    return parts;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::set<int32_t> pa, pb;
  while (std::chrono::steady_clock::now() < deadline) {
    kafka::KafkaMessage ma(rd_kafka_consumer_poll(a.get(), 100));
    kafka::KafkaMessage mb(rd_kafka_consumer_poll(b.get(), 100));
    pa = assigned(a.get());
    pb = assigned(b.get());
    if (pa.size() == 2 && pb.size() == 2) break;
  }
  EXPECT_EQ(pa.size(), 2u);
  EXPECT_EQ(pb.size(), 2u);
  std::set<int32_t> all(pa);
  all.insert(pb.begin(), pb.end());
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3}));
  // Range gives each member a contiguous block.
  EXPECT_EQ(*pa.rbegin() - *pa.begin(), 1);
  rd_kafka_consumer_close(a.get());
  rd_kafka_consumer_close(b.get());
}

// librdkafka 2.0.2 decides gzip/snappy/lz4 support from the broker's Produce
// v0 entry in ApiVersions; Kafka 4.x still advertises it (KAFKA-18659), so
// every codec must really compress. Measured as bytes sent to the broker
// (statistics "tx_bytes") relative to the same records uncompressed.
TEST(BrokerTest, EveryCompressionCodecReallyCompresses) {
  ScopedTopics topics({{UniqueName("codec"), 1, -1, {}}});
  std::string value;
  for (int i = 0; i < 8; ++i) {
    value += R"({"eventType":"VIEW","userId":"u12","productId":"p7","category":"books","timestamp":"2025-11-30T11:16:10Z"})";
  }
  constexpr int kRecords = 3000;

  auto bytes_sent = [&](const char* codec) -> int64_t {
    struct Stats {
      std::mutex mu;
      std::string last;
    } stats;
    KafkaProperties props = TestKafkaProperties();
    props.Set("compression.type", codec);
    props.Set("linger.ms", "50");
    props.Set("statistics.interval.ms", "100");
    auto conf = kafka::BuildKafkaConf(props);
    EXPECT_TRUE(conf.ok());
    rd_kafka_conf_set_opaque(conf->get(), &stats);
    rd_kafka_conf_set_stats_cb(conf->get(), [](rd_kafka_t*, char* json, size_t len, void* opaque) {
      auto* s = static_cast<Stats*>(opaque);
      std::lock_guard<std::mutex> lock(s->mu);
      s->last.assign(json, len);
      return 0;
    });
    auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
    EXPECT_TRUE(producer.ok());
    // Warm up the connection so the measured bytes are the batches.
    for (int i = 0; i < kRecords; ++i) Produce(producer->get(), topics.name(0), 0, "u12", value);
    EXPECT_EQ(rd_kafka_flush(producer->get(), kTimeoutMs), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; i < 5; ++i) rd_kafka_poll(producer->get(), 100);  // fresh statistics
    std::lock_guard<std::mutex> lock(stats.mu);
    const size_t at = stats.last.find("\"tx_bytes\":");
    EXPECT_NE(at, std::string::npos);
    return std::stoll(stats.last.substr(at + 11));
  };

  const int64_t plain = bytes_sent("none");
  ASSERT_GT(plain, static_cast<int64_t>(kRecords * value.size()));
  for (const char* codec : {"lz4", "zstd", "gzip", "snappy"}) {
    const int64_t compressed = bytes_sent(codec);
    std::printf("%-6s %8lld bytes sent, uncompressed %lld (ratio %.3f)\n", codec,
                static_cast<long long>(compressed), static_cast<long long>(plain),
                static_cast<double>(compressed) / static_cast<double>(plain));
    EXPECT_LT(compressed * 4, plain) << codec << " sent " << compressed << " bytes, uncompressed "
                                     << plain << ": the broker did not get compressed batches";
  }
  // And the broker serves them back intact.
  auto records = ReadAll(topics.name(0), false);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 5u * kRecords);
  for (const auto& r : *records) ASSERT_EQ(r.value, value);
}

}  // namespace
}  // namespace eventflow
