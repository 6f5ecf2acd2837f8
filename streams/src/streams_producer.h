// StreamsProducer: a stream thread's producer and its transaction (Kafka
// Streams' StreamsProducer).
//
// Exactly-once (v2): one transaction per thread spans all its tasks. It is
// begun (MaybeBeginTransaction) before the first record of a commit interval
// is processed or a punctuator that may produce runs; Commit() sends the
// tasks' next offsets, with the consumer's current group metadata (KIP-447:
// a member that was kicked out is fenced), and commits. A commit that times
// out is retried (librdkafka resumes the commit in progress), never aborted.
// At-least-once: Commit() flushes the producer and commits the offsets only if
// every record was acknowledged.
//
// Failures: Recover() is the one way out of a failed transaction, whoever
// found it (a commit, a task whose send was refused, a revocation, a lost
// assignment):
//   - abortable (anything but fenced or fatal): abort;
//   - fenced, fatal, or an abort that failed: recreate the producer (a new
//     producer with the same transactional.id fences the old one and aborts
//     its transaction) — unless it was fenced and the consumer is fenced too
//     (static membership: another process runs with this instance id): then
//     this thread is the zombie and Recover returns kFenced.
// The caller then rewinds (or, when revoking, closes its tasks). Every
// blocking transactional call, the abort included, waits up to kClientTimeout.
//
// The client (ProducerClient) is also the RecordCollector the tasks send
// through; recreating the producer keeps that object, so tasks never hold a
// stale collector.
//
// Thread-safety: the stream thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "client_supplier.h"
#include "thread_probe.h"

namespace eventflow::streams {

class StreamsProducer {
 public:
  //! How long any blocking producer or transactional call may take.
  static constexpr std::chrono::milliseconds kClientTimeout{60'000};
  //! Attempts of a commit that times out before giving up.
  static constexpr int kCommitRetries = 10;

  //! `supplier`, `config` and `probe` (may be nullptr: transactions are not
  //! counted) must outlive the producer; `thread` names it in logs and client ids.
  StreamsProducer(KafkaClientSupplier* supplier, const StreamsConfig& config, std::string thread,
                  ThreadProbe* probe = nullptr);

  //! Creates the client and, under exactly-once, initialises transactions.
  Status Init();

  //! True under exactly-once.
  bool eos() const { return eos_; }
  //! True while a transaction is open.
  bool transaction_open() const { return transaction_open_; }
  //! The collector tasks send through (the same object for the producer's life).
  RecordCollector* collector() const { return client_.get(); }

  //! Begins a transaction unless one is open (exactly-once; no-op otherwise).
  Status MaybeBeginTransaction();

  //! Commits `offsets` (see file comment). Returns the commit's error, or the
  //! first delivery failure; a failed commit leaves the transaction to Recover().
  Status Commit(const TopicPartitionOffsets& offsets, ConsumerClient& consumer);

  //! Aborts the open transaction, if any (exactly-once), waiting up to
  //! kClientTimeout; the transaction counts as closed whatever the outcome.
  //! Returns the abort's error (a producer whose abort failed must be
  //! recreated before its next transaction: Recover() does that).
  Status Abort();

  //! Leaves a failed transaction (see file comment): aborts or recreates the
  //! producer. Returns kFenced when this thread is the zombie, or the error of
  //! recreating the producer.
  Status Recover(const Status& cause, ConsumerClient& consumer);

  //! Serves delivery reports without blocking.
  void Poll() { client_->Poll(); }
  //! The client's statistics (ProducerClient::statistics()).
  std::shared_ptr<kafka::StatisticsMailbox> statistics() const { return client_->statistics(); }
  //! See ProducerClient::LastDeliveredOffset.
  int64_t LastDeliveredOffset(const std::string& topic, int32_t partition) const {
    return client_->LastDeliveredOffset(topic, partition);
  }

 private:
  //! Recreates the client and initialises transactions again.
  Status Recreate();
  Status InitTransactions();

  KafkaClientSupplier* const supplier_;
  const StreamsConfig& config_;
  const std::string thread_;
  const bool eos_;
  ThreadProbe* const probe_;
  std::unique_ptr<ProducerClient> client_;
  bool transaction_open_ = false;
};

}  // namespace eventflow::streams
