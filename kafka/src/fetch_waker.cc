#include "eventflow/kafka/fetch_waker.h"

#include <librdkafka/rdkafka.h>

namespace eventflow::kafka {

FetchWaker::FetchWaker(rd_kafka_t* consumer) : consumer_(consumer), thread_([this] { Run(); }) {}

FetchWaker::~FetchWaker() { Stop(); }

void FetchWaker::Request(const std::string& topic, int32_t partition) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    for (const auto& [t, p] : pending_) {
      if (p == partition && t == topic) return;
    }
    pending_.emplace_back(topic, partition);
  }
  cv_.notify_one();
}

void FetchWaker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void FetchWaker::Run() {
  std::vector<std::pair<std::string, int32_t>> work;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (stop_) return;
    work.swap(pending_);
    lock.unlock();
    // One ListOffsets request per leader for the partitions' ends; the answer
    // is not needed. rd_kafka_offsets_for_times, not
    // rd_kafka_query_watermark_offsets: in 2.0.2 the latter ignores its
    // time-out while the leader is down (kafka_admin.cc), which would hold up
    // Stop().
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(work.size())));
    for (const auto& [topic, partition] : work) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
          RD_KAFKA_OFFSET_END;
    }
    rd_kafka_offsets_for_times(consumer_, list.get(), kQueryTimeoutMs);
    sent_.fetch_add(1, std::memory_order_relaxed);
    work.clear();
    lock.lock();
  }
}

}  // namespace eventflow::kafka
