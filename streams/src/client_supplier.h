// The client seam of the Kafka runtime: the thin interfaces a stream thread
// calls on its Kafka clients, and KafkaClientSupplier, where it gets them
// (Kafka Streams' KafkaClientSupplier).
//
// The interfaces cover exactly what the runtime calls on librdkafka: a group
// consumer (subscribe, poll with rebalance callbacks, assign, committed
// offsets, seek, per-partition queues, group metadata), a restore consumer
// (manual assignment, batches of records), a producer (send — it is the
// tasks' RecordCollector — and the transactional calls), watermarks and
// DeleteRecords. The default supplier (NewDefaultClientSupplier) wraps
// librdkafka and is the one place where the runtime's clients are created and
// configured; tests supply fake clients (streams/tests/fake_kafka.h) to drive
// TaskManager and StreamThread through commits, aborts, fencing, lost
// assignments and restores without a broker.
//
// Hot path: records cross the seam in batches (PartitionQueue::Consume,
// ConsumerClient::PollBatch), so a virtual call is paid per batch, not per
// record; a record is sent with one virtual call (ProducerClient is the
// RecordCollector the tasks hold), as before the seam existed. Only the
// consumer queue (ConsumerClient::Poll: rebalances, errors, and the few
// records fetched before a partition's queue is detached) is read one item
// per call, since a rebalance may run inside any poll.
//
// Types crossing the seam are our own (TopicPartitionOffset, ConsumerItem)
// except librdkafka's error codes and offsets constants, the group metadata
// object and BufferedRecord's message handle, which fakes create without a
// client.
//
// Thread-safety: a client is used by the stream thread that owns it;
// suppliers may be called from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/kafka/client_statistics.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/streams_config.h"

namespace eventflow::streams {

//! A partition with an offset and offset metadata, as handed to and from the
//! clients (assignments, positions, committed offsets, seeks).
struct TopicPartitionOffset {
  TopicPartitionOffset() = default;
  TopicPartitionOffset(std::string t, int32_t p, int64_t o = RD_KAFKA_OFFSET_INVALID,
                       std::string m = {})
      : topic(std::move(t)), partition(p), offset(o), metadata(std::move(m)) {}

  std::string topic;      //!< topic name
  int32_t partition = 0;  //!< partition number
  //! An offset, RD_KAFKA_OFFSET_BEGINNING, or RD_KAFKA_OFFSET_INVALID (none
  //! committed, unset).
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
  std::string metadata;  //!< offset commit metadata (FormatOffsetMetadata)
  //! The per-partition outcome of Committed() and Seek().
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};
using TopicPartitionOffsets = std::vector<TopicPartitionOffset>;

//! One item handed out by a consumer: a record (err == NO_ERROR), or an event
//! about a partition — end of partition, an out-of-range position
//! (RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET), a fatal error — with its topic,
//! partition and offset in record.raw (topic empty when it names none).
struct ConsumerItem {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  //! The record, owning its bytes (a librdkafka message, or copies in fakes).
  BufferedRecord record;
  //! Identifies the record's topic without comparing names (librdkafka's topic
  //! handle; nullptr from fakes).
  const void* topic_handle = nullptr;
};

//! Receives a group consumer's rebalances; called from inside
//! ConsumerClient::Poll, on the polling thread. As with librdkafka's
//! rebalance callback, the listener must Assign() the partitions (with their
//! start positions) after OnPartitionsAssigned and Unassign() after
//! OnPartitionsRevoked.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  //! The group gave these partitions to this member.
  virtual void OnPartitionsAssigned(const TopicPartitionOffsets& partitions) = 0;
  //! The group takes these partitions away (ConsumerClient::AssignmentLost()
  //! tells whether the session expired first).
  virtual void OnPartitionsRevoked(const TopicPartitionOffsets& partitions) = 0;
};

//! One assigned partition's own queue, detached from the consumer queue so
//! that the thread takes its records at its own pace (backpressure: what is
//! not taken waits in the client, whose fetcher stops when the queue is full).
//! Destroying it forwards the partition to the consumer queue again (a
//! partition assigned later is never left with a queue nobody reads,
//! librdkafka#1335); it must not outlive its consumer.
class PartitionQueue {
 public:
  virtual ~PartitionQueue() = default;
  //! Moves up to `max` items into `out` (appending) without waiting; returns how many.
  virtual size_t Consume(size_t max, std::vector<ConsumerItem>* out) = 0;
};

//! A consumer: the stream thread's group consumer or its restore consumer
//! (manual assignment). See the file comment.
class ConsumerClient {
 public:
  virtual ~ConsumerClient() = default;

  // Group membership (main consumer).
  //! Subscribes to `topics`; rebalances go to `listener` (not owned) from Poll().
  virtual Status Subscribe(const std::vector<std::string>& topics, RebalanceListener* listener) = 0;
  //! Takes the next item of the consumer queue, waiting up to `timeout` for
  //! one; runs rebalance callbacks meanwhile. Returns false when there is none.
  virtual bool Poll(std::chrono::milliseconds timeout, ConsumerItem* item) = 0;
  //! Returns the member's current group metadata (KIP-447 fencing).
  virtual kafka::KafkaGroupMetadata GroupMetadata() = 0;
  //! True when the assignment was lost (the session expired) and not given back since.
  virtual bool AssignmentLost() = 0;
  //! Returns the client's fatal error (NO_ERROR when none) and its reason.
  virtual rd_kafka_resp_err_t FatalError(std::string* reason) = 0;
  //! Reads the group's committed offsets (and metadata) of `partitions` into
  //! them (RD_KAFKA_OFFSET_INVALID: none). Returns the request's error.
  virtual Status Committed(TopicPartitionOffsets* partitions,
                           std::chrono::milliseconds timeout) = 0;
  //! Commits `offsets` (with metadata) synchronously (at-least-once).
  virtual Status CommitOffsets(const TopicPartitionOffsets& offsets) = 0;
  //! Leaves the group (static members keep their partitions for the session time-out).
  virtual void Close() = 0;

  // Assignment and positions.
  //! Replaces the assignment; each partition starts at its offset.
  virtual Status Assign(const TopicPartitionOffsets& partitions) = 0;
  //! Drops the assignment.
  virtual Status Unassign() = 0;
  //! Moves each partition's position to its offset. Returns the request's
  //! error; each partition's own outcome is set in its `err`.
  virtual Status Seek(TopicPartitionOffsets* partitions, std::chrono::milliseconds timeout) = 0;
  //! Detaches the partition's queue from the consumer queue (see
  //! PartitionQueue); nullptr when the client has no such partition.
  virtual std::unique_ptr<PartitionQueue> DetachPartitionQueue(const std::string& topic,
                                                               int32_t partition) = 0;
  //! Moves up to `max` items of the consumer queue into `out` (appending),
  //! waiting up to `timeout` for the first (restore consumer).
  virtual void PollBatch(std::chrono::milliseconds timeout, size_t max,
                         std::vector<ConsumerItem>* out) = 0;

  // Offsets of the log.
  //! Asks the partition's leader for its log start and end (kafka::QueryWatermarks
  //! in kafka_admin.h: transient errors retried until `timeout`).
  virtual Result<kafka::PartitionWatermarks> QueryWatermarks(const std::string& topic,
                                                             int32_t partition,
                                                             std::chrono::milliseconds timeout) = 0;
  //! QueryWatermarks for many partitions (their offsets ignored), in order.
  //! This default asks them one by one; the librdkafka client asks them in
  //! one round per end (kafka::QueryWatermarksOf).
  virtual Result<std::vector<kafka::PartitionWatermarks>> QueryWatermarksOf(
      const std::vector<kafka::PartitionOffset>& partitions, std::chrono::milliseconds timeout) {
    std::vector<kafka::PartitionWatermarks> out;
    out.reserve(partitions.size());
    for (const kafka::PartitionOffset& p : partitions) {
      auto marks = QueryWatermarks(p.topic, p.partition, timeout);
      if (!marks.ok()) return marks.status();
      out.push_back(*marks);
    }
    return out;
  }
  //! The watermarks the fetcher last saw for the partition ({-1, -1}: none).
  virtual kafka::PartitionWatermarks CachedWatermarks(const std::string& topic,
                                                      int32_t partition) = 0;
  //! Starts a DeleteRecords request on this client's connection (one at a time).
  virtual void StartDeleteRecords(std::span<const kafka::PartitionOffset> offsets,
                                  std::chrono::milliseconds timeout) = 0;
  //! The outcome of the request started last, once it is known (nullopt before).
  virtual std::optional<Status> TakeDeleteRecordsResult() = 0;

  //! The client's librdkafka statistics reports (statistics.interval.ms;
  //! delivered while the consumer queue is polled), or nullptr when it has
  //! none (the restore consumer, fakes).
  virtual std::shared_ptr<kafka::StatisticsMailbox> statistics() { return nullptr; }
};

//! A producer: the tasks' RecordCollector (Send) plus delivery reports and
//! transactions. The object outlives the librdkafka producer it wraps:
//! Recreate() replaces that, so tasks may keep their collector pointer.
class ProducerClient : public RecordCollector {
 public:
  //! Destroys the producer (its unsent records are lost) and creates a new one
  //! with the same configuration (after fencing or a fatal error). Delivery
  //! state (first error, delivered offsets) starts over.
  virtual Status Recreate() = 0;
  //! Transactions (exactly-once); `timeout` bounds each blocking call.
  virtual Status InitTransactions(std::chrono::milliseconds timeout) = 0;
  virtual Status BeginTransaction() = 0;
  //! Adds consumed offsets (with metadata) to the open transaction, fenced by
  //! the consumer's group metadata.
  virtual Status SendOffsetsToTransaction(const TopicPartitionOffsets& offsets,
                                          const rd_kafka_consumer_group_metadata_t* group,
                                          std::chrono::milliseconds timeout) = 0;
  virtual Status CommitTransaction(std::chrono::milliseconds timeout) = 0;
  virtual Status AbortTransaction(std::chrono::milliseconds timeout) = 0;
  //! Serves delivery reports without blocking.
  virtual void Poll() = 0;
  //! Waits until every record sent is acknowledged or failed; returns the
  //! first failure since the last TakeError(), or a time-out.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  //! Returns and clears the first delivery failure seen.
  virtual Status TakeError() = 0;
  //! The offset of the last acknowledged record sent to an explicit
  //! `partition` of `topic` (how changelog records are sent), or -1.
  virtual int64_t LastDeliveredOffset(const std::string& topic, int32_t partition) const = 0;
  //! The producer's librdkafka statistics reports (delivered by Poll() and
  //! Flush(); the same mailbox across Recreate()), or nullptr (fakes).
  virtual std::shared_ptr<kafka::StatisticsMailbox> statistics() { return nullptr; }
};

//! Creates the clients of an instance: per stream thread a group consumer, a
//! restore consumer and a producer; per instance an admin client.
//! `thread` is the thread's name, "<instance id>-<index>" (client ids,
//! transactional.id, group.instance.id derive from it).
class KafkaClientSupplier {
 public:
  virtual ~KafkaClientSupplier() = default;
  //! The group consumer (range assignor, no auto-commit, explicit positions).
  virtual Result<std::unique_ptr<ConsumerClient>> CreateMainConsumer(const StreamsConfig& config,
                                                                     const std::string& thread) = 0;
  //! The restore consumer (manual assignment, read_committed, end-of-partition events).
  virtual Result<std::unique_ptr<ConsumerClient>> CreateRestoreConsumer(
      const StreamsConfig& config, const std::string& thread) = 0;
  //! The producer (idempotent; transactional under exactly-once).
  virtual Result<std::unique_ptr<ProducerClient>> CreateProducer(const StreamsConfig& config,
                                                                 const std::string& thread) = 0;
  //! An admin client (topic creation and checks at start-up).
  virtual Result<kafka::KafkaHandle> CreateAdmin(const StreamsConfig& config) = 0;
};

//! The buffer bounds of the runtime's clients, from the instance's memory
//! budget (memory_split.h); 0: librdkafka's defaults. Filled by KafkaStreams
//! before the stream threads start; read-only afterwards.
struct ClientMemory {
  size_t main_fetch_queue_bytes = 0;     //!< per partition queue of a stream thread's consumer
  size_t restore_fetch_queue_bytes = 0;  //!< per restore consumer
  size_t producer_queue_bytes = 0;       //!< per producer
};

//! The supplier of real librdkafka clients; `memory` (not owned, may be
//! nullptr: librdkafka's defaults) must outlive it.
std::unique_ptr<KafkaClientSupplier> NewDefaultClientSupplier(const ClientMemory* memory);

}  // namespace eventflow::streams
