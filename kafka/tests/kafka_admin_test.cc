// Topic administration helpers (kafka_admin.h) on librdkafka's mock cluster
// (no broker): what the mock honours — partition leaders and the offsets a
// leader answers with.
#include "eventflow/kafka/kafka_admin.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <thread>
#include <vector>

#include "eventflow/kafka/handles.h"
#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

using namespace std::chrono_literals;

// A consumer on a mock cluster of three brokers with topic "t" (one
// partition, three replicas, led by broker 1).
class MockClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KafkaProperties props;
    props.Set("test.mock.num.brokers", "3");
    props.Set("group.id", "kafka-admin-test");
    auto client = CreateKafkaClient(RD_KAFKA_CONSUMER, props);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    mock_ = rd_kafka_handle_mock_cluster(client_.get());
    ASSERT_NE(mock_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "t", 1, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  KafkaHandle client_;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

// librdkafka 2.0.2 asks the leader its metadata cache names and does not
// refresh the cache when that broker answers "not the leader" (a leader
// moved when a broker of a cluster went down): QueryWatermarks does.
TEST_F(MockClusterTest, WatermarksFollowALeaderThatMoved) {
  auto before = QueryWatermarks(client_.get(), "t", 0, 10s);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  int64_t low = -1, high = -1;
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 2), RD_KAFKA_RESP_ERR_NO_ERROR);
  // The bare librdkafka call keeps asking broker 1.
  EXPECT_EQ(rd_kafka_query_watermark_offsets(client_.get(), "t", 0, &low, &high, 5'000),
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  const auto start = std::chrono::steady_clock::now();
  auto after = QueryWatermarks(client_.get(), "t", 0, 10s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->low, before->low);
  EXPECT_EQ(after->high, before->high);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// The leader a client cached goes down and another broker takes over: the
// query follows within an attempt's time-out and a metadata refresh
// (librdkafka 2.0.2's rd_kafka_query_watermark_offsets would wait for the
// dead broker to come back).
TEST_F(MockClusterTest, WatermarksFollowALeaderThatMovedOffABrokerThatIsDown) {
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto before = QueryWatermarks(client_.get(), "t", 0, 10s);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mock_, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto start = std::chrono::steady_clock::now();
  auto after = QueryWatermarks(client_.get(), "t", 0, 30s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->high, before->high);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

// Admin clients are producer handles: the same query works on them.
TEST_F(MockClusterTest, WatermarksOfAProducerHandle) {
  KafkaProperties props;
  props.Set("bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock_));
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const char value[] = "v";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value), 1),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto marks = QueryWatermarks(producer->get(), "t", 0, 10s);
  ASSERT_TRUE(marks.ok()) << marks.status().ToString();
  EXPECT_EQ(marks->low, 0);
  EXPECT_EQ(marks->high, 3);
}

// Many partitions at once, one of them led by a broker that is down (asked
// again alone once the leader moved): each answer is that partition's own,
// in the order asked.
TEST_F(MockClusterTest, WatermarksOfManyPartitionsAtOnce) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "u", 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  KafkaProperties props;
  props.Set("bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock_));
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const char value[] = "v";
  // u[p] gets p + 1 records, t[0] gets 4.
  std::vector<PartitionOffset> asked = {{"u", 2, 0}, {"t", 0, 0}, {"u", 0, 0}, {"u", 1, 0}};
  const std::vector<int64_t> expected_high = {3, 4, 1, 2};
  for (size_t i = 0; i < asked.size(); ++i) {
    for (int64_t n = 0; n < expected_high[i]; ++n) {
      ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(asked[i].topic.c_str()),
                                  RD_KAFKA_V_PARTITION(asked[i].partition),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(value), 1),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto marks = QueryWatermarksOf(producer->get(), asked, 10s);
  ASSERT_TRUE(marks.ok()) << marks.status().ToString();
  ASSERT_EQ(marks->size(), asked.size());
  for (size_t i = 0; i < asked.size(); ++i) {
    EXPECT_EQ((*marks)[i].low, 0) << asked[i].topic << " " << asked[i].partition;
    EXPECT_EQ((*marks)[i].high, expected_high[i]) << asked[i].topic << " " << asked[i].partition;
  }
  // t[0]'s leader goes down and moves: the batch answers the rest, t[0] alone.
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(QueryWatermarks(producer->get(), "t", 0, 10s).ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mock_, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "t", 0, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int p = 0; p < 3; ++p) {
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(mock_, "u", p, 1 + p % 2),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  auto after = QueryWatermarksOf(producer->get(), asked, 30s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  for (size_t i = 0; i < asked.size(); ++i) {
    EXPECT_EQ((*after)[i].high, expected_high[i]) << asked[i].topic << " " << asked[i].partition;
  }
}

// A group request whose coordinator cannot be found within the caller's
// time-out waits for the lookup instead of timing out under it: librdkafka
// 2.0.2 aborts the process (rd_kafka_enq_once_del_source_return: "eonce->refcnt
// > 0"; librdkafka issues 4605 and 3663) when the coordinator is found after
// the request timed out — seen when an instance described its group while a
// new 3-broker cluster was still electing the coordinator. Without
// GroupRequestDeadline the request times out at 1 s and this test fails
// (librdkafka's late path may then abort it).
//
// The request is AlterConsumerGroupOffsets (an OffsetCommit, which the mock
// cluster serves). Any request the coordinator path fails to send walks the
// same double release in 2.0.2 (rd_kafka_admin_coord_request destroys the
// request and rd_kafka_coord_req_fail then answers it again), so a request the
// mock does not serve (DescribeGroups, DeleteGroups) cannot be used here: that
// path is librdkafka's use-after-free whatever the deadline.
TEST_F(MockClusterTest, AGroupRequestWaitsOutItsCoordinatorLookupInsteadOfAborting) {
  KafkaProperties props;
  props.Set("bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock_));
  auto admin = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  ASSERT_TRUE(QueryWatermarks(admin->get(), "t", 0, 10s).ok());  // connected, metadata known
  for (int32_t broker = 1; broker <= 3; ++broker) {
    ASSERT_EQ(rd_kafka_mock_broker_set_down(mock_, broker), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  const auto start = std::chrono::steady_clock::now();
  std::thread brokers_back([&] {
    std::this_thread::sleep_for(3s);
    for (int32_t broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_up(mock_, broker);
  });
  // Asked with a 1 s time-out; answered once the brokers are back.
  const std::vector<PartitionOffset> offsets = {{"t", 0, 42}};
  const Status altered = AlterConsumerGroupOffsets(admin->get(), "g", offsets, 1s);
  const auto took = std::chrono::steady_clock::now() - start;
  brokers_back.join();
  ASSERT_TRUE(altered.ok()) << altered.ToString();
  EXPECT_GE(took, 2900ms);
  EXPECT_LT(took, 60s);
  std::this_thread::sleep_for(2s);  // any late path of the request runs now

  // The offset is the group's: a consumer of group "g" reads it back.
  KafkaProperties consumer_props;
  consumer_props.Set("bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock_));
  consumer_props.Set("group.id", "g");
  auto consumer = CreateKafkaClient(RD_KAFKA_CONSUMER, consumer_props);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), "t", 0);
  ASSERT_EQ(rd_kafka_committed(consumer->get(), list.get(), 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(list->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(list->elems[0].offset, 42);
}

}  // namespace
}  // namespace eventflow::kafka
