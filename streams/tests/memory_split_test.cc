// The instance memory model (memory_split.h): the split of the budget is the
// one the header's table and docs/architecture.md "Memory" state, explicit
// parts win over their shares, and the librdkafka settings derived from the
// parts (kafka::FetchQueueProperties, ProducerQueueProperties) lose to the
// user's kafka.* settings.
#include "eventflow/streams/memory_split.h"

#include <gtest/gtest.h>

#include "eventflow/kafka/client_config.h"
#include "eventflow/streams/streams_config.h"

namespace eventflow::streams {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

StreamsConfig Config() {
  StreamsConfig c;
  c.application_id = "app";
  c.bootstrap_servers = "127.0.0.1:1";
  return c;
}

TEST(MemorySplitTest, DefaultBudgetIsSplitAsDocumented) {
  const StreamsConfig config = Config();
  EXPECT_EQ(config.memory_budget_bytes, 256 * kMiB);
  auto split = SplitMemoryBudget(config);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  // The table of memory_split.h and docs/architecture.md: 1/16, 1/16, 1/32, the rest state.
  EXPECT_EQ(split->consumer_prefetch_bytes, 16 * kMiB);
  EXPECT_EQ(split->restore_prefetch_bytes, 16 * kMiB);
  EXPECT_EQ(split->producer_buffer_bytes, 8 * kMiB);
  EXPECT_EQ(split->state_bytes, 216 * kMiB);
  EXPECT_EQ(split->consumer_prefetch_bytes + split->restore_prefetch_bytes +
                split->producer_buffer_bytes + split->state_bytes,
            config.memory_budget_bytes);
  EXPECT_TRUE(config.Validate().ok());
}

TEST(MemorySplitTest, SharesFollowTheBudget) {
  StreamsConfig config = Config();
  config.memory_budget_bytes = 1024 * kMiB;
  auto split = SplitMemoryBudget(config);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->consumer_prefetch_bytes, 64 * kMiB);
  EXPECT_EQ(split->restore_prefetch_bytes, 64 * kMiB);
  EXPECT_EQ(split->producer_buffer_bytes, 32 * kMiB);
  EXPECT_EQ(split->state_bytes, 864 * kMiB);
}

TEST(MemorySplitTest, ExplicitPartsWin) {
  StreamsConfig config = Config();
  config.consumer_prefetch_bytes = 100 * kMiB;
  config.producer_buffer_bytes = 4 * kMiB;
  auto split = SplitMemoryBudget(config);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->consumer_prefetch_bytes, 100 * kMiB);
  EXPECT_EQ(split->restore_prefetch_bytes, 16 * kMiB);  // still its share
  EXPECT_EQ(split->producer_buffer_bytes, 4 * kMiB);
  EXPECT_EQ(split->state_bytes, (256 - 100 - 16 - 4) * kMiB) << "the state takes what is left";

  // An explicit state part is used as given, even beyond the budget.
  config.state_memory_bytes = 512 * kMiB;
  split = SplitMemoryBudget(config);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->state_bytes, 512 * kMiB);
  EXPECT_EQ(split->consumer_prefetch_bytes, 100 * kMiB);
  EXPECT_TRUE(config.Validate().ok());
}

TEST(MemorySplitTest, ABudgetTooSmallForItsExplicitPartsIsRefused) {
  StreamsConfig config = Config();
  config.memory_budget_bytes = 8 * kMiB;
  config.consumer_prefetch_bytes = 8 * kMiB;
  auto split = SplitMemoryBudget(config);
  ASSERT_FALSE(split.ok());
  EXPECT_TRUE(split.status().IsInvalidArgument());
  EXPECT_NE(split.status().message().find("memory.budget.bytes 8388608 leaves less than 1 MiB"),
            std::string::npos)
      << split.status().ToString();
  EXPECT_FALSE(config.Validate().ok());
  config.state_memory_bytes = 64 * kMiB;  // then the budget does not bound the state
  EXPECT_TRUE(SplitMemoryBudget(config).ok());
}

TEST(MemorySplitTest, PerClientBounds) {
  auto split = SplitMemoryBudget(Config());
  ASSERT_TRUE(split.ok());
  // 16 MiB over 6 source partitions; a floor of 256 KiB per partition.
  EXPECT_EQ(split->PrefetchBytesPerPartition(6), 16 * kMiB / 6);
  EXPECT_EQ(split->PrefetchBytesPerPartition(1000), size_t{256} << 10);
  EXPECT_EQ(split->PrefetchBytesPerPartition(0), 16 * kMiB);
  EXPECT_EQ(split->RestorePrefetchBytesPerThread(4), 4 * kMiB);
  EXPECT_EQ(split->ProducerBufferBytesPerThread(2), 4 * kMiB);
}

// What the stream thread's clients get from the default budget with one
// thread and 6 source partitions, and that the user's kafka.* settings win.
TEST(MemorySplitTest, ClientSettingsFromTheBudgetLoseToUserSettings) {
  auto split = SplitMemoryBudget(Config());
  ASSERT_TRUE(split.ok());
  kafka::ClientSettings consumer;
  consumer.group_id = "app";
  consumer.fetch_queue_bytes = split->PrefetchBytesPerPartition(6);  // 2796202 bytes
  kafka::KafkaProperties none;
  auto props = kafka::BuildClientConfig(kafka::ClientRole::kMainConsumer, consumer, none);
  ASSERT_TRUE(props.ok()) << props.status().ToString();
  // A quarter each: 699050 bytes → 682 KiB of queued payload and fetches of 699050 bytes.
  EXPECT_EQ(*props->Find("queued.max.messages.kbytes"), "682");
  EXPECT_EQ(*props->Find("max.partition.fetch.bytes"), "699050");

  kafka::KafkaProperties user;
  user.Set("queued.max.messages.kbytes", "8192");
  user.Set("queue.buffering.max.messages", "7");
  props = kafka::BuildClientConfig(kafka::ClientRole::kMainConsumer, consumer, user);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(*props->Find("queued.max.messages.kbytes"), "8192") << "the user's setting wins";
  EXPECT_EQ(*props->Find("max.partition.fetch.bytes"), "699050") << "the one not set stays";

  kafka::ClientSettings producer;
  producer.transactional_id = "app-0";
  producer.producer_queue_bytes = split->ProducerBufferBytesPerThread(1);
  props = kafka::BuildClientConfig(kafka::ClientRole::kTransactionalProducer, producer, none);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(*props->Find("queue.buffering.max.kbytes"), "8192");
  EXPECT_EQ(*props->Find("queue.buffering.max.messages"), "16384");  // 8 MiB / 512 bytes
  props = kafka::BuildClientConfig(kafka::ClientRole::kTransactionalProducer, producer, user);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(*props->Find("queue.buffering.max.messages"), "7") << "the user's setting wins";
  EXPECT_EQ(*props->Find("queue.buffering.max.kbytes"), "8192");
}

}  // namespace
}  // namespace eventflow::streams
