// Fake Kafka clients for unit tests of the runtime (TaskManager,
// StreamThread) without a broker: a FakeCluster holding partition logs,
// transactions and group offsets, and the consumers and producers a
// FakeClientSupplier hands out over it.
//
// The model is small but honest about what the runtime relies on:
//   - a partition is a log of records with a log start (DeleteRecordsBefore
//     moves it; a position below it is out of range) and an end;
//   - a producer's records go to the log at once (acknowledged at once) but
//     belong to its open transaction: read_committed readers see them only
//     after CommitTransaction, never after AbortTransaction; offsets sent to
//     the transaction become the group's committed offsets at commit;
//   - a consumer reads from its positions; rebalances are scheduled by the
//     test and delivered inside the next Poll, as librdkafka does;
//   - failures are injected per call (the next commit, abort, send, seek,
//     (un)assignment, committed-offsets read fails with a given status) and
//     every call the runtime makes is counted or recorded for assertions;
//   - a consumer made fatal reports it once through Poll and, as librdkafka
//     does, refuses every (un)assignment with kFatal, applying it as an
//     unassignment.
//
// Single-threaded: tests drive the thread's loop (StreamThread::RunOnce) on
// their own thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client_supplier.h"

namespace eventflow::streams::testing {

//! One record in a fake partition log.
struct FakeRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp = 0;
  Headers headers;
  int64_t txn = -1;      //!< the producer transaction it belongs to (-1: none)
  bool aborted = false;  //!< its transaction was aborted
};

//! The broker: topics, transactions, group offsets.
class FakeCluster {
 public:
  struct Partition {
    std::vector<FakeRecord> log;  //!< log[i] has offset i
    int64_t low = 0;              //!< log start (records below it are deleted)
  };

  //! Creates `topic` with `partitions` partitions (no-op when it exists).
  void CreateTopic(const std::string& topic, int partitions);
  //! Returns the partition (created on first use).
  Partition& At(const std::string& topic, int32_t partition);
  //! Appends a record outside any transaction; returns its offset.
  int64_t Append(const std::string& topic, int32_t partition, std::optional<std::string> key,
                 std::optional<std::string> value, int64_t timestamp = 0, Headers headers = {});
  //! Deletes the records below `offset`.
  void DeleteRecordsBefore(const std::string& topic, int32_t partition, int64_t offset);
  //! Empties the partition and lets it start again at offset 0 (a recreated topic).
  void Truncate(const std::string& topic, int32_t partition);
  //! Returns the records read_committed readers see (key, value), in order.
  std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> Committed(
      const std::string& topic, int32_t partition) const;
  //! The topic's partition count (0: no such topic).
  int PartitionCount(const std::string& topic) const;
  //! The end of the log (next offset).
  int64_t End(const std::string& topic, int32_t partition) const;
  //! The last stable offset: the first offset of an open transaction, else the end.
  int64_t StableEnd(const std::string& topic, int32_t partition) const;

  //! Transactions.
  int64_t BeginTransaction() { return next_txn_++; }
  void EndTransaction(int64_t txn, bool commit);
  bool Open(int64_t txn) const;

  //! The group's committed offset (and metadata) of a partition.
  struct GroupOffset {
    int64_t offset = -1;
    std::string metadata;
  };
  std::map<std::pair<std::string, int32_t>, GroupOffset> group_offsets;

 private:
  std::map<std::string, std::vector<Partition>> topics_;
  std::map<int64_t, bool> open_txns_;  // txn → open
  int64_t next_txn_ = 1;
};

class FakeConsumer;

//! A fake consumer (group or restore) over a FakeCluster.
class FakeConsumer final : public ConsumerClient {
 public:
  FakeConsumer(FakeCluster* cluster, bool read_committed, bool partition_eof)
      : cluster_(cluster), read_committed_(read_committed), partition_eof_(partition_eof) {}
  ~FakeConsumer() override;

  // Test controls.
  //! Delivers an assignment inside the next Poll().
  void ScheduleAssignment(TopicPartitionOffsets partitions) {
    pending_.push_back(Rebalance{true, std::move(partitions), false});
  }
  //! Delivers a revocation of the whole assignment inside the next Poll();
  //! `lost`: the session expired first.
  void ScheduleRevocation(bool lost) { pending_.push_back(Rebalance{false, assignment_, lost}); }
  //! Makes the client fatal with `err` (e.g. FENCED_INSTANCE_ID).
  void SetFatal(rd_kafka_resp_err_t err) { fatal_ = err; }
  //! The session expired: AssignmentLost() is true before the lost
  //! revocation is delivered (as librdkafka reports it before it is polled).
  void LoseAssignment() { lost_ = true; }
  //! The next `n` Committed() calls fail with `status`.
  void FailCommitted(Status status, int n = 1) { committed_failure_ = {std::move(status), n}; }
  //! The next Seek() refuses every partition with `err`.
  void RefuseNextSeek(rd_kafka_resp_err_t err) { refuse_seek_ = err; }
  //! While set, nothing is fetched: Poll/PollBatch hand out no records (a
  //! slow fetcher); rebalances are still delivered.
  bool paused = false;
  //! The next Assign() (Unassign()) fails with `status`, leaving the
  //! assignment as it was.
  void FailNextAssign(Status status) { assign_failure_ = std::move(status); }
  void FailNextUnassign(Status status) { unassign_failure_ = std::move(status); }

  // What the runtime did.
  std::vector<TopicPartitionOffsets> assigns;  //!< every Assign() call
  std::vector<TopicPartitionOffsets> seeks;    //!< every Seek() call
  int unassigns = 0;
  int closes = 0;
  int subscribes = 0;  //!< Subscribe() calls (joins)
  int detached_queues = 0;  //!< partition queues detached and not yet given back
  //! The position of a partition (-1: not assigned).
  int64_t Position(const std::string& topic, int32_t partition) const;
  const TopicPartitionOffsets& assignment() const { return assignment_; }

  // ConsumerClient
  Status Subscribe(const std::vector<std::string>& topics, RebalanceListener* listener) override;
  bool Poll(std::chrono::milliseconds timeout, ConsumerItem* item) override;
  kafka::KafkaGroupMetadata GroupMetadata() override;
  bool AssignmentLost() override { return lost_; }
  rd_kafka_resp_err_t FatalError(std::string* reason) override;
  Status Committed(TopicPartitionOffsets* partitions, std::chrono::milliseconds timeout) override;
  Status CommitOffsets(const TopicPartitionOffsets& offsets) override;
  void Close() override { ++closes; }
  Status Assign(const TopicPartitionOffsets& partitions) override;
  Status Unassign() override;
  Status Seek(TopicPartitionOffsets* partitions, std::chrono::milliseconds timeout) override;
  std::unique_ptr<PartitionQueue> DetachPartitionQueue(const std::string& topic,
                                                       int32_t partition) override;
  void PollBatch(std::chrono::milliseconds timeout, size_t max,
                 std::vector<ConsumerItem>* out) override;
  Result<kafka::PartitionWatermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                                     std::chrono::milliseconds timeout) override;
  kafka::PartitionWatermarks CachedWatermarks(const std::string& topic, int32_t partition) override;
  void StartDeleteRecords(std::span<const kafka::PartitionOffset> offsets,
                          std::chrono::milliseconds timeout) override;
  std::optional<Status> TakeDeleteRecordsResult() override;
  std::shared_ptr<kafka::StatisticsMailbox> statistics() override { return stats; }

  //! Statistics reports a test puts in, as librdkafka's callback would
  //! (nullptr unless FakeClientSupplier::main_consumer_statistics).
  std::shared_ptr<kafka::StatisticsMailbox> stats;

  //! Reads up to `max` items of one assigned partition (a partition queue's Consume).
  size_t ReadPartition(const std::string& topic, int32_t partition, size_t max,
                       std::vector<ConsumerItem>* out);
  void Reattach(const std::string& topic, int32_t partition);

 private:
  struct Rebalance {
    bool assign;
    TopicPartitionOffsets partitions;
    bool lost;
  };
  struct Assigned {
    std::string topic;
    int32_t partition;
    int64_t position;
    bool detached = false;
    bool eof_sent = false;
    bool out_of_range_sent = false;
  };
  Assigned* Find(const std::string& topic, int32_t partition);
  void ClearAssignment();
  //! Appends the next item of `a` to `out` (false when there is none).
  bool Next(Assigned& a, std::vector<ConsumerItem>* out);

  FakeCluster* const cluster_;
  const bool read_committed_;
  const bool partition_eof_;
  RebalanceListener* listener_ = nullptr;
  std::deque<Rebalance> pending_;
  TopicPartitionOffsets assignment_;
  std::vector<Assigned> assigned_;
  //! Partitions whose queue is detached, assigned or not (librdkafka lets a
  //! partition's queue be taken before the partition is assigned, as the
  //! stream thread does when it creates its tasks).
  //! (A count: a partition may have two queues detached for a moment.)
  std::map<std::pair<std::string, int32_t>, int> detached_;
  bool lost_ = false;
  rd_kafka_resp_err_t fatal_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool fatal_reported_ = false;
  std::pair<Status, int> committed_failure_{Status::OK(), 0};
  rd_kafka_resp_err_t refuse_seek_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::optional<Status> assign_failure_;
  std::optional<Status> unassign_failure_;
  std::optional<Status> delete_result_;
  std::vector<ConsumerItem> staged_;  // items of the consumer queue, handed out by Poll
};

//! A fake producer over a FakeCluster (also the tasks' RecordCollector).
class FakeProducer final : public ProducerClient {
 public:
  FakeProducer(FakeCluster* cluster, bool transactional)
      : cluster_(cluster), transactional_(transactional) {}

  // Test controls: the next call of each kind fails with the status.
  std::optional<Status> fail_next_commit;
  int fail_commit_times = 1;  //!< how many commits in a row fail_next_commit applies to
  std::optional<Status> fail_next_abort;
  std::optional<Status> fail_next_send;
  //! Set by the test: every call fails with kFenced (another producer took the id).
  bool fenced = false;

  // What the runtime did.
  int recreates = 0;
  int inits = 0;
  int begins = 0;
  int commits = 0;  //!< successful transaction commits
  int aborts = 0;   //!< abort calls (successful or not)
  int flushes = 0;
  uint64_t sent = 0;
  //! Offsets (and metadata) of every successful commit, in order.
  std::vector<TopicPartitionOffsets> committed_offsets;

  // ProducerClient
  Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
              std::optional<std::string_view> value, int64_t timestamp,
              const Headers& headers) override;
  Status Recreate() override;
  Status InitTransactions(std::chrono::milliseconds timeout) override;
  Status BeginTransaction() override;
  Status SendOffsetsToTransaction(const TopicPartitionOffsets& offsets,
                                  const rd_kafka_consumer_group_metadata_t* group,
                                  std::chrono::milliseconds timeout) override;
  Status CommitTransaction(std::chrono::milliseconds timeout) override;
  Status AbortTransaction(std::chrono::milliseconds timeout) override;
  void Poll() override {}
  Status Flush(std::chrono::milliseconds timeout) override;
  Status TakeError() override { return Status::OK(); }
  int64_t LastDeliveredOffset(const std::string& topic, int32_t partition) const override;

 private:
  FakeCluster* const cluster_;
  const bool transactional_;
  int64_t txn_ = -1;  // the open transaction
  TopicPartitionOffsets pending_offsets_;
  std::map<std::pair<std::string, int32_t>, int64_t> delivered_;
};

//! Hands out fake clients over one cluster and keeps them for assertions.
class FakeClientSupplier final : public KafkaClientSupplier {
 public:
  explicit FakeClientSupplier(FakeCluster* cluster) : cluster_(cluster) {}

  FakeConsumer* main_consumer = nullptr;     //!< the last one created
  FakeConsumer* restore_consumer = nullptr;  //!< the last one created
  FakeProducer* producer = nullptr;          //!< the last one created
  //! Called with each restore consumer when it is created (they are created
  //! lazily, at the first restore), e.g. to inject a failure.
  std::function<void(FakeConsumer&)> on_restore_consumer;
  //! Main consumers signal the end of a partition (enable.partition.eof, as
  //! the real ones are configured) — off by default.
  bool main_consumer_partition_eof = false;
  //! Main consumers get a StatisticsMailbox (FakeConsumer::stats).
  bool main_consumer_statistics = false;

  Result<std::unique_ptr<ConsumerClient>> CreateMainConsumer(const StreamsConfig& config,
                                                             const std::string& thread) override;
  Result<std::unique_ptr<ConsumerClient>> CreateRestoreConsumer(const StreamsConfig& config,
                                                                const std::string& thread) override;
  Result<std::unique_ptr<ProducerClient>> CreateProducer(const StreamsConfig& config,
                                                         const std::string& thread) override;
  Result<kafka::KafkaHandle> CreateAdmin(const StreamsConfig& config) override;

 private:
  FakeCluster* const cluster_;
};

}  // namespace eventflow::streams::testing
