// The memory model of an application instance: how its one memory budget
// (StreamsConfig::memory_budget_bytes, memory.budget.bytes, 256 MiB by
// default) is split among the large buffers of the instance.
//
//   part               share (default)    bounds                         own setting
//   consumer prefetch  1/16 (16 MiB)      the stream threads' consumers' consumer_prefetch_bytes
//                                         fetch queues, all threads
//   restore prefetch   1/16 (16 MiB)      the restore consumers' fetch   restore_prefetch_bytes
//                                         queues (restores, standbys)
//   producer buffers   1/32 (8 MiB)       the producers' queues of       producer_buffer_bytes
//                                         unsent/unacknowledged records
//   state              the rest (27/32,   RocksDB block cache and        state_memory_bytes
//                      216 MiB)           memtables of every store, and
//                                         the record caches
//                                         (record_cache_ratio, 10 %)
//
// Why the prefetch can be small: librdkafka 2.0.2's fetcher stops asking for
// a partition whose queue is over its bound and looks again only when its
// broker thread next wakes up — on network traffic or after up to 1 s (its
// rd_kafka_max_block_ms; later releases add fetch.queue.backoff.ms). The
// stream thread's consumer wakes it as soon as a queue drains (FetchWaker in
// rdkafka_consumer.cc), so a queue need only hold what the thread processes
// while a fetch is under way: ~700 KiB of payload per partition kept the
// pass-through at 350-500k records/s in 62-66 MB of peak RSS
// (docs/architecture.md "Memory" has the figures).
//
// A part set explicitly (non-zero) is used as given; the state part, when not
// set, is the budget minus the three others (explicit or derived), so setting
// one Kafka part larger takes it from the state. An explicit state part is
// used as given even when the parts then add up to more than the budget.
// librdkafka settings the user passes ("kafka.<property>") win over the values
// derived here (they are defaults of kafka::BuildClientConfig's first layer).
//
// How a part becomes client settings (kafka/client_config.h):
//   - consumer prefetch / the source partitions of the application (every
//     partition of every topic the topology reads, repartition topics
//     included: one instance may hold them all) is each partition queue's
//     bound (kafka::FetchQueueProperties): the stream threads read each
//     partition from its own queue, so librdkafka applies its limits per
//     partition;
//   - restore prefetch / threads bounds each thread's restore consumer (one
//     queue for all its partitions);
//   - producer buffers / threads bounds each thread's producer
//     (kafka::ProducerQueueProperties);
//   - state: state::StateMemoryBudget (one shared block cache and write
//     buffer manager; record_cache_ratio of it for the record caches).
// Not in the budget: the task buffers (max_buffered_records_per_partition
// records per partition, taken from the partition queues: records, not bytes,
// as in Kafka Streams), the process itself (code, libraries, thread stacks,
// allocator slack: ~35 MB measured for one stream thread) and RocksDB's
// memory outside its block cache (table readers, iterators, compaction).
// docs/architecture.md "Memory" has the measured figures.
//
// Thread-safety: pure functions over plain values.
#pragma once

#include <cstddef>

#include "eventflow/core/status.h"

namespace eventflow::streams {

struct StreamsConfig;

//! The default memory.budget.bytes: 256 MiB, for a 512 MiB container
//! (the rest is the process and what the budget does not bound).
inline constexpr size_t kDefaultMemoryBudgetBytes = size_t{256} << 20;
//! The consumer prefetch's share of the budget when not set: 1/16.
inline constexpr size_t kConsumerPrefetchDivisor = 16;
//! The restore prefetch's share when not set: 1/16.
inline constexpr size_t kKafkaPartDivisor = 16;
//! The producer buffers' share when not set: 1/32.
inline constexpr size_t kProducerBufferDivisor = 32;

//! The budget's parts in bytes (see the file comment).
struct MemorySplit {
  size_t consumer_prefetch_bytes = 0;  //!< all stream threads' consumers' fetch queues
  size_t restore_prefetch_bytes = 0;   //!< all restore consumers' fetch queues
  size_t producer_buffer_bytes = 0;    //!< all producers' queues
  size_t state_bytes = 0;              //!< RocksDB and record caches (StateMemoryBudget)

  //! Returns the fetch queue bound of one source partition when the
  //! application reads `source_partitions` partitions (at least 1).
  size_t PrefetchBytesPerPartition(int source_partitions) const;
  //! Returns one thread's restore consumer's queue bound among `threads`.
  size_t RestorePrefetchBytesPerThread(int threads) const;
  //! Returns one thread's producer queue bound among `threads`.
  size_t ProducerBufferBytesPerThread(int threads) const;
};

//! Returns the split of `config`'s budget, explicit parts as given.
//! InvalidArgument naming memory.budget.bytes when the explicit Kafka parts
//! leave less than 1 MiB of it for the state part (and that part is not set).
Result<MemorySplit> SplitMemoryBudget(const StreamsConfig& config);

}  // namespace eventflow::streams
