#include "streams_producer.h"

#include "eventflow/core/log.h"

namespace eventflow::streams {

StreamsProducer::StreamsProducer(KafkaClientSupplier* supplier, const StreamsConfig& config,
                                 std::string thread, ThreadProbe* probe)
    : supplier_(supplier),
      config_(config),
      thread_(std::move(thread)),
      eos_(config.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2),
      probe_(probe) {}

Status StreamsProducer::Init() {
  auto client = supplier_->CreateProducer(config_, thread_);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  transaction_open_ = false;
  return InitTransactions();
}

Status StreamsProducer::InitTransactions() {
  if (!eos_) return Status::OK();
  return client_->InitTransactions(kClientTimeout);
}

Status StreamsProducer::Recreate() {
  transaction_open_ = false;
  EVENTFLOW_RETURN_IF_ERROR(client_->Recreate());
  return InitTransactions();
}

Status StreamsProducer::MaybeBeginTransaction() {
  if (!eos_ || transaction_open_) return Status::OK();
  EVENTFLOW_RETURN_IF_ERROR(client_->BeginTransaction());
  transaction_open_ = true;
  return Status::OK();
}

Status StreamsProducer::Commit(const TopicPartitionOffsets& offsets, ConsumerClient& consumer) {
  if (!eos_) {
    EVENTFLOW_RETURN_IF_ERROR(client_->Flush(kClientTimeout));
    return consumer.CommitOffsets(offsets);
  }
  EVENTFLOW_RETURN_IF_ERROR(MaybeBeginTransaction());
  if (!offsets.empty()) {
    // Fresh group metadata: its generation fences a member that was kicked out.
    kafka::KafkaGroupMetadata group = consumer.GroupMetadata();
    EVENTFLOW_RETURN_IF_ERROR(
        client_->SendOffsetsToTransaction(offsets, group.get(), kClientTimeout));
  }
  // A commit that times out is retried with the same call (librdkafka resumes
  // the commit in progress); it is never turned into an abort.
  for (int attempt = 1;; ++attempt) {
    const Status s = client_->CommitTransaction(kClientTimeout);
    if (s.ok()) break;
    if (s.IsTimedOut() && attempt < kCommitRetries) {
      Log(LogLevel::kWarn, "stream-thread " + thread_, s.ToString() + "; retrying the commit");
      continue;
    }
    return s;
  }
  transaction_open_ = false;
  if (probe_ != nullptr) probe_->transactions_committed.Add(1);
  return client_->TakeError();
}

Status StreamsProducer::Abort() {
  if (!eos_ || !transaction_open_) return Status::OK();
  transaction_open_ = false;
  if (probe_ != nullptr) probe_->transactions_aborted.Add(1);
  const Status s = client_->AbortTransaction(kClientTimeout);
  IgnoreError(client_->TakeError(), "failures of the aborted records, which are gone");
  return s;
}

Status StreamsProducer::Recover(const Status& cause, ConsumerClient& consumer) {
  Status failed = cause;
  if (cause.code() != StatusCode::kFenced && cause.code() != StatusCode::kFatal) {
    failed = Abort();
    if (failed.ok()) {
      IgnoreError(client_->TakeError(),
                  "failures of records of the failed commit; whoever owns the input next "
                  "processes it again from the last commit");
      return Status::OK();
    }
    Log(LogLevel::kWarn, "stream-thread " + thread_,
        failed.ToString() + "; recreating the producer");
  }
  // A fenced or fatal producer's transaction is gone (the broker aborts it).
  if (transaction_open_ && probe_ != nullptr) probe_->transactions_aborted.Add(1);
  transaction_open_ = false;
  if (failed.code() == StatusCode::kFenced) {
    // Our consumer fenced too (static membership: another process runs with
    // our instance id): we are the zombie and stop. Otherwise the producer
    // was fenced on its own (e.g. its transaction timed out): recreate it.
    std::string reason;
    if (consumer.FatalError(&reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return failed.WithContext("consumer fenced too (" + reason + ")");
    }
  }
  return Recreate();
}

}  // namespace eventflow::streams
