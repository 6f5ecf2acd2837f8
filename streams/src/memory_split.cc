#include "eventflow/streams/memory_split.h"

#include <algorithm>
#include <string>

#include "eventflow/streams/streams_config.h"

namespace eventflow::streams {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
// Below this a partition queue's bound is its fetch size anyway
// (kafka::FetchQueueProperties: at least 64 KiB fetched per partition).
constexpr size_t kMinPrefetchPerPartition = size_t{256} << 10;

// `explicit_bytes` when set, else the budget's 1/divisor.
size_t PartOf(size_t explicit_bytes, size_t budget, size_t divisor) {
  return explicit_bytes != 0 ? explicit_bytes : budget / divisor;
}

std::string MiB(size_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

size_t MemorySplit::PrefetchBytesPerPartition(int source_partitions) const {
  const size_t n = static_cast<size_t>(std::max(1, source_partitions));
  return std::max(kMinPrefetchPerPartition, consumer_prefetch_bytes / n);
}

size_t MemorySplit::RestorePrefetchBytesPerThread(int threads) const {
  return restore_prefetch_bytes / static_cast<size_t>(std::max(1, threads));
}

size_t MemorySplit::ProducerBufferBytesPerThread(int threads) const {
  return producer_buffer_bytes / static_cast<size_t>(std::max(1, threads));
}

Result<MemorySplit> SplitMemoryBudget(const StreamsConfig& config) {
  const size_t budget = config.memory_budget_bytes;
  MemorySplit split;
  split.consumer_prefetch_bytes =
      PartOf(config.consumer_prefetch_bytes, budget, kConsumerPrefetchDivisor);
  split.restore_prefetch_bytes = PartOf(config.restore_prefetch_bytes, budget, kKafkaPartDivisor);
  split.producer_buffer_bytes = PartOf(config.producer_buffer_bytes, budget, kProducerBufferDivisor);
  if (config.state_memory_bytes != 0) {
    split.state_bytes = config.state_memory_bytes;
    return split;
  }
  const size_t kafka =
      split.consumer_prefetch_bytes + split.restore_prefetch_bytes + split.producer_buffer_bytes;
  if (kafka + kMiB > budget) {
    return Status::InvalidArgument(
        "memory.budget.bytes " + std::to_string(budget) + " leaves less than 1 MiB for the state " +
        "after the consumer prefetch (" + MiB(split.consumer_prefetch_bytes) +
        "), restore prefetch (" + MiB(split.restore_prefetch_bytes) + ") and producer buffers (" +
        MiB(split.producer_buffer_bytes) + "): raise it or set statestore.memory.bytes");
  }
  split.state_bytes = budget - kafka;
  return split;
}

}  // namespace eventflow::streams
