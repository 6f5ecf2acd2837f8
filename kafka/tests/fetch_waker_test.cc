// QueueDrainWatch (when a partition queue counts as drained) and FetchWaker's
// life on librdkafka's mock cluster. That a woken queue is refilled at once,
// and loses or repeats nothing, is shown on a real broker by
// StreamsRuntimeTest.TinyPartitionQueuesRefilledByTheFetchWakerLoseAndRepeatNothing.
#include "eventflow/kafka/fetch_waker.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <thread>
#include <utility>

#include "eventflow/kafka/handles.h"
#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

using namespace std::chrono_literals;

TEST(QueueDrainWatchTest, ABusyBatchThenAShortOneIsADrain) {
  QueueDrainWatch w;
  EXPECT_FALSE(w.OnBatch(512, 0));    // nothing yet
  EXPECT_FALSE(w.OnBatch(512, 512));  // busy
  EXPECT_TRUE(w.OnBatch(512, 100));   // then short: drained
  EXPECT_TRUE(w.OnBatch(512, 0));     // 100 >= kBusyBatch was busy too
  EXPECT_FALSE(w.OnBatch(512, 0));    // stays drained: asks once
  EXPECT_FALSE(w.OnBatch(512, 3));    // trickling in live: never
  EXPECT_FALSE(w.OnBatch(512, 5));
  EXPECT_FALSE(w.OnBatch(512, 64));   // busy again (the threshold)
  EXPECT_TRUE(w.OnBatch(512, 63));
}

TEST(QueueDrainWatchTest, AllThatWasAskedIsBusyWhateverTheSize) {
  QueueDrainWatch w;
  EXPECT_FALSE(w.OnBatch(10, 10));  // a task with room for 10 got 10
  EXPECT_TRUE(w.OnBatch(10, 2));
  EXPECT_FALSE(w.OnBatch(0, 0));    // asked nothing: neither busy nor drained
  EXPECT_FALSE(w.OnBatch(10, 2));
}

// A consumer on a one-broker mock cluster with topic "t" (two partitions).
class FetchWakerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KafkaProperties props;
    props.Set("test.mock.num.brokers", "1");
    props.Set("group.id", "fetch-waker-test");
    auto consumer = CreateKafkaClient(RD_KAFKA_CONSUMER, props);
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    consumer_ = std::move(*consumer);
    mock_ = rd_kafka_handle_mock_cluster(consumer_.get());
    ASSERT_NE(mock_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "t", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  KafkaHandle consumer_;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

TEST_F(FetchWakerTest, AsksThePartitionsLeaderAndStopsCleanly) {
  FetchWaker waker(consumer_.get());
  EXPECT_EQ(waker.rounds(), 0u);
  waker.Request("t", 0);
  waker.Request("t", 1);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (waker.rounds() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(waker.rounds(), 1u);
  EXPECT_LE(waker.rounds(), 2u);
  waker.Stop();
  const uint64_t after_stop = waker.rounds();
  waker.Request("t", 0);  // ignored once stopped
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(waker.rounds(), after_stop);
  waker.Stop();  // twice is fine
}

// A waker stopped before it was asked anything, and one whose partition's
// leader is down: Stop() returns within the request's time-out.
TEST_F(FetchWakerTest, StopDoesNotWaitForADownLeader) {
  { FetchWaker idle(consumer_.get()); }

  FetchWaker waker(consumer_.get());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mock_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  waker.Request("t", 0);
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  waker.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  rd_kafka_mock_broker_set_up(mock_, 1);
}

}  // namespace
}  // namespace eventflow::kafka
