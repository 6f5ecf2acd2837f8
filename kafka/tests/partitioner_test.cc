// KeyPartitioner agrees with the producer: records produced by a real
// librdkafka producer (to the library's mock cluster, no broker) with each
// keyed `partitioner` land in the partition KeyPartitioner computes; murmur2
// matches the values Kafka's Java client computes (its UtilsTest vectors);
// partitioners that do not place keys, and unknown ones, are refused naming
// the setting.
#include "eventflow/kafka/partitioner.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace eventflow::kafka {
namespace {

constexpr char kTopic[] = "keys";

// The partition each key's record was delivered to, by a producer with
// `partitioner` on a mock cluster whose topic has `partitions` partitions.
std::map<std::string, int32_t> Produce(const std::string& partitioner, int partitions,
                                       const std::vector<std::string>& keys) {
  std::map<std::string, int32_t> delivered;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err),
            RD_KAFKA_CONF_OK);
  EXPECT_EQ(rd_kafka_conf_set(conf, "partitioner", partitioner.c_str(), err, sizeof err),
            RD_KAFKA_CONF_OK)
      << err;
  rd_kafka_conf_set_opaque(conf, &delivered);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* out = static_cast<std::map<std::string, int32_t>*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (*out)[std::string(static_cast<const char*>(m->key), m->key_len)] = m->partition;
    }
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  if (rk == nullptr) return delivered;
  EXPECT_EQ(rd_kafka_mock_topic_create(rd_kafka_handle_mock_cluster(rk), kTopic, partitions, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  for (const std::string& key : keys) {
    EXPECT_EQ(
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_KEY(key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>("v"), 1), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  EXPECT_EQ(rd_kafka_flush(rk, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
  return delivered;
}

std::vector<std::string> RandomKeys(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    std::string key(1 + rng() % 24, ' ');
    for (char& c : key) c = static_cast<char>(rng() % 256);
    keys.push_back(key);
  }
  keys.push_back("u1");
  keys.push_back("EUR");
  return keys;
}

TEST(KeyPartitionerTest, AgreesWithTheProducersPartitioner) {
  for (const std::string name :
       {"murmur2_random", "murmur2", "consistent_random", "consistent", "fnv1a_random", "fnv1a"}) {
    SCOPED_TRACE(name);
    auto partitioner = KeyPartitioner::Named(name, "kafka.partitioner");
    ASSERT_TRUE(partitioner.ok()) << partitioner.status().ToString();
    for (int partitions : {1, 3, 7}) {
      const std::vector<std::string> keys = RandomKeys(static_cast<uint32_t>(partitions), 200);
      const std::map<std::string, int32_t> delivered = Produce(name, partitions, keys);
      ASSERT_EQ(delivered.size(), std::set<std::string>(keys.begin(), keys.end()).size());
      for (const auto& [key, partition] : delivered) {
        ASSERT_EQ(partitioner->Partition(key, partitions), partition) << "key " << key;
      }
    }
  }
}

TEST(KeyPartitionerTest, Murmur2IsJavasMurmur2) {
  // Kafka's Java client: partition = (murmur2(key) & 0x7fffffff) % partitions,
  // with these murmur2 values (org.apache.kafka.common.utils.UtilsTest).
  const std::map<std::string, int32_t> java = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  auto partitioner = KeyPartitioner::Named("murmur2_random", "kafka.partitioner");
  ASSERT_TRUE(partitioner.ok());
  for (const auto& [key, hash] : java) {
    for (int32_t partitions : {3, 10, 1000}) {
      const auto positive = static_cast<int32_t>(static_cast<uint32_t>(hash) & 0x7fffffffu);
      EXPECT_EQ(partitioner->Partition(key, partitions), positive % partitions) << key;
    }
  }
}

TEST(KeyPartitionerTest, PartitionersThatDoNotPlaceKeysAreRefusedNamingTheSetting) {
  for (const char* name : {"random", "my_partitioner"}) {
    auto partitioner = KeyPartitioner::Named(name, "kafka.partitioner");
    ASSERT_FALSE(partitioner.ok());
    EXPECT_TRUE(partitioner.status().IsInvalidArgument());
    EXPECT_NE(partitioner.status().message().find("kafka.partitioner"), std::string::npos);
  }
  KafkaProperties user;
  EXPECT_EQ(KeyPartitioner::ForDataProducers(user)->name(), "murmur2_random");
  user.Set("partitioner", "fnv1a");
  EXPECT_EQ(KeyPartitioner::ForDataProducers(user)->name(), "fnv1a");
}

}  // namespace
}  // namespace eventflow::kafka
