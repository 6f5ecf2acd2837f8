#include "fake_kafka.h"

#include <algorithm>
#include <functional>

namespace eventflow::streams::testing {

// ---------------------------------------------------------------- cluster

void FakeCluster::CreateTopic(const std::string& topic, int partitions) {
  auto& parts = topics_[topic];
  if (parts.size() < static_cast<size_t>(partitions)) parts.resize(static_cast<size_t>(partitions));
}

FakeCluster::Partition& FakeCluster::At(const std::string& topic, int32_t partition) {
  auto& parts = topics_[topic];
  if (parts.size() <= static_cast<size_t>(partition))
    parts.resize(static_cast<size_t>(partition) + 1);
  return parts[static_cast<size_t>(partition)];
}

int64_t FakeCluster::Append(const std::string& topic, int32_t partition,
                            std::optional<std::string> key, std::optional<std::string> value,
                            int64_t timestamp, Headers headers) {
  Partition& p = At(topic, partition);
  p.log.push_back(FakeRecord{std::move(key), std::move(value), timestamp, std::move(headers)});
  return static_cast<int64_t>(p.log.size()) - 1;
}

void FakeCluster::DeleteRecordsBefore(const std::string& topic, int32_t partition, int64_t offset) {
  Partition& p = At(topic, partition);
  p.low = std::max(p.low, std::min<int64_t>(offset, static_cast<int64_t>(p.log.size())));
}

void FakeCluster::Truncate(const std::string& topic, int32_t partition) {
  At(topic, partition) = Partition{};
}

int FakeCluster::PartitionCount(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : static_cast<int>(it->second.size());
}

int64_t FakeCluster::End(const std::string& topic, int32_t partition) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.size() <= static_cast<size_t>(partition)) return 0;
  return static_cast<int64_t>(it->second[static_cast<size_t>(partition)].log.size());
}

int64_t FakeCluster::StableEnd(const std::string& topic, int32_t partition) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.size() <= static_cast<size_t>(partition)) return 0;
  const Partition& p = it->second[static_cast<size_t>(partition)];
  for (size_t i = static_cast<size_t>(p.low); i < p.log.size(); ++i) {
    if (p.log[i].txn >= 0 && Open(p.log[i].txn)) return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(p.log.size());
}

std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>>
FakeCluster::Committed(const std::string& topic, int32_t partition) const {
  std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> out;
  auto it = topics_.find(topic);
  if (it == topics_.end() || it->second.size() <= static_cast<size_t>(partition)) return out;
  const Partition& p = it->second[static_cast<size_t>(partition)];
  const int64_t stable = StableEnd(topic, partition);
  for (int64_t i = p.low; i < stable; ++i) {
    const FakeRecord& r = p.log[static_cast<size_t>(i)];
    if (!r.aborted) out.emplace_back(r.key, r.value);
  }
  return out;
}

void FakeCluster::EndTransaction(int64_t txn, bool commit) {
  open_txns_[txn] = false;
  if (commit) return;
  for (auto& [topic, parts] : topics_) {
    for (Partition& p : parts) {
      for (FakeRecord& r : p.log) {
        if (r.txn == txn) r.aborted = true;
      }
    }
  }
}

bool FakeCluster::Open(int64_t txn) const {
  auto it = open_txns_.find(txn);
  return it == open_txns_.end() || it->second;
}

// --------------------------------------------------------------- consumer

namespace {

class FakePartitionQueue final : public PartitionQueue {
 public:
  FakePartitionQueue(FakeConsumer* consumer, std::string topic, int32_t partition)
      : consumer_(consumer), topic_(std::move(topic)), partition_(partition) {}
  ~FakePartitionQueue() override { consumer_->Reattach(topic_, partition_); }
  size_t Consume(size_t max, std::vector<ConsumerItem>* out) override {
    return consumer_->ReadPartition(topic_, partition_, max, out);
  }

 private:
  FakeConsumer* consumer_;
  std::string topic_;
  int32_t partition_;
};

ConsumerItem ErrorItem(rd_kafka_resp_err_t err, const std::string& topic, int32_t partition,
                       int64_t offset) {
  ConsumerItem item;
  item.err = err;
  item.record = MakeOwnedRecord(topic, partition, offset, 0, std::nullopt, std::nullopt);
  return item;
}

}  // namespace

FakeConsumer::~FakeConsumer() = default;

FakeConsumer::Assigned* FakeConsumer::Find(const std::string& topic, int32_t partition) {
  for (Assigned& a : assigned_) {
    if (a.topic == topic && a.partition == partition) return &a;
  }
  return nullptr;
}

int64_t FakeConsumer::Position(const std::string& topic, int32_t partition) const {
  for (const Assigned& a : assigned_) {
    if (a.topic == topic && a.partition == partition) return a.position;
  }
  return -1;
}

Status FakeConsumer::Subscribe(const std::vector<std::string>& /*topics*/,
                               RebalanceListener* listener) {
  listener_ = listener;
  ++subscribes;
  return Status::OK();
}

bool FakeConsumer::Next(Assigned& a, std::vector<ConsumerItem>* out) {
  const FakeCluster::Partition& p = cluster_->At(a.topic, a.partition);
  const int64_t end = read_committed_ ? cluster_->StableEnd(a.topic, a.partition)
                                      : static_cast<int64_t>(p.log.size());
  if (a.position < p.low || a.position > static_cast<int64_t>(p.log.size())) {
    if (a.out_of_range_sent) return false;  // stopped until a seek or assignment
    a.out_of_range_sent = true;
    out->push_back(
        ErrorItem(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, a.topic, a.partition, a.position));
    return true;
  }
  // Aborted records are skipped under read_committed.
  while (read_committed_ && a.position < end && p.log[static_cast<size_t>(a.position)].aborted) {
    ++a.position;
  }
  if (a.position >= end) {
    if (!partition_eof_ || a.eof_sent) return false;
    a.eof_sent = true;
    out->push_back(ErrorItem(RD_KAFKA_RESP_ERR__PARTITION_EOF, a.topic, a.partition, a.position));
    return true;
  }
  const FakeRecord& r = p.log[static_cast<size_t>(a.position)];
  ConsumerItem item;
  item.record =
      MakeOwnedRecord(a.topic, a.partition, a.position, r.timestamp, r.key, r.value, r.headers);
  out->push_back(std::move(item));
  ++a.position;
  a.eof_sent = false;
  return true;
}

size_t FakeConsumer::ReadPartition(const std::string& topic, int32_t partition, size_t max,
                                   std::vector<ConsumerItem>* out) {
  Assigned* a = Find(topic, partition);
  if (a == nullptr) return 0;
  size_t n = 0;
  while (n < max && Next(*a, out)) ++n;
  return n;
}

void FakeConsumer::Reattach(const std::string& topic, int32_t partition) {
  --detached_queues;
  auto it = detached_.find({topic, partition});
  if (it != detached_.end() && --it->second == 0) detached_.erase(it);
  if (Assigned* a = Find(topic, partition)) a->detached = detached_.count({topic, partition}) > 0;
}

bool FakeConsumer::Poll(std::chrono::milliseconds /*timeout*/, ConsumerItem* item) {
  while (!pending_.empty()) {
    Rebalance r = std::move(pending_.front());
    pending_.pop_front();
    if (r.assign) {
      listener_->OnPartitionsAssigned(r.partitions);
    } else {
      lost_ = r.lost;
      listener_->OnPartitionsRevoked(r.partitions);
    }
  }
  if (fatal_ != RD_KAFKA_RESP_ERR_NO_ERROR && !fatal_reported_) {
    fatal_reported_ = true;
    *item = ErrorItem(RD_KAFKA_RESP_ERR__FATAL, "", 0, -1);
    return true;
  }
  // Records of partitions whose queue is not detached come here.
  if (paused) return false;
  if (staged_.empty()) {
    for (Assigned& a : assigned_) {
      if (!a.detached) ReadPartition(a.topic, a.partition, 100, &staged_);
    }
    std::reverse(staged_.begin(), staged_.end());
  }
  if (staged_.empty()) return false;
  *item = std::move(staged_.back());
  staged_.pop_back();
  return true;
}

kafka::KafkaGroupMetadata FakeConsumer::GroupMetadata() {
  return kafka::KafkaGroupMetadata(rd_kafka_consumer_group_metadata_new("fake-group"));
}

rd_kafka_resp_err_t FakeConsumer::FatalError(std::string* reason) {
  if (reason != nullptr) {
    *reason = fatal_ == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : rd_kafka_err2str(fatal_);
  }
  return fatal_;
}

Status FakeConsumer::Committed(TopicPartitionOffsets* partitions,
                               std::chrono::milliseconds /*timeout*/) {
  if (committed_failure_.second > 0) {
    --committed_failure_.second;
    return committed_failure_.first;
  }
  for (TopicPartitionOffset& tp : *partitions) {
    auto it = cluster_->group_offsets.find({tp.topic, tp.partition});
    tp.offset = it != cluster_->group_offsets.end() ? it->second.offset : RD_KAFKA_OFFSET_INVALID;
    tp.metadata = it != cluster_->group_offsets.end() ? it->second.metadata : "";
  }
  return Status::OK();
}

Status FakeConsumer::CommitOffsets(const TopicPartitionOffsets& offsets) {
  for (const TopicPartitionOffset& tp : offsets) {
    cluster_->group_offsets[{tp.topic, tp.partition}] = {tp.offset, tp.metadata};
  }
  return Status::OK();
}

Status FakeConsumer::Assign(const TopicPartitionOffsets& partitions) {
  assigns.push_back(partitions);
  if (assign_failure_) {
    const Status s = std::move(*assign_failure_);
    assign_failure_.reset();
    return s;
  }
  if (fatal_ != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ClearAssignment();
    return Status::Fatal("assigning: the consumer raised a fatal error");
  }
  std::vector<Assigned> next;
  for (const TopicPartitionOffset& tp : partitions) {
    Assigned a{tp.topic, tp.partition, tp.offset};
    if (a.position < 0) a.position = cluster_->At(tp.topic, tp.partition).low;
    a.detached = detached_.count({tp.topic, tp.partition}) > 0;
    next.push_back(std::move(a));
  }
  assigned_ = std::move(next);
  assignment_ = partitions;
  lost_ = false;
  staged_.clear();
  return Status::OK();
}

Status FakeConsumer::Unassign() {
  ++unassigns;
  if (unassign_failure_) {
    const Status s = std::move(*unassign_failure_);
    unassign_failure_.reset();
    return s;
  }
  ClearAssignment();
  if (fatal_ != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Fatal("unassigning: the consumer raised a fatal error");
  }
  return Status::OK();
}

void FakeConsumer::ClearAssignment() {
  assigned_.clear();
  assignment_.clear();
  lost_ = false;
  staged_.clear();
}

Status FakeConsumer::Seek(TopicPartitionOffsets* partitions,
                          std::chrono::milliseconds /*timeout*/) {
  seeks.push_back(*partitions);
  for (TopicPartitionOffset& tp : *partitions) {
    if (refuse_seek_ != RD_KAFKA_RESP_ERR_NO_ERROR) {
      tp.err = refuse_seek_;
      continue;
    }
    Assigned* a = Find(tp.topic, tp.partition);
    if (a == nullptr) {
      tp.err = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
      continue;
    }
    a->position = tp.offset >= 0 ? tp.offset : cluster_->At(tp.topic, tp.partition).low;
    a->eof_sent = false;
    a->out_of_range_sent = false;
  }
  refuse_seek_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  staged_.clear();
  return Status::OK();
}

std::unique_ptr<PartitionQueue> FakeConsumer::DetachPartitionQueue(const std::string& topic,
                                                                   int32_t partition) {
  ++detached_queues;
  ++detached_[{topic, partition}];
  if (Assigned* a = Find(topic, partition)) a->detached = true;
  return std::make_unique<FakePartitionQueue>(this, topic, partition);
}

void FakeConsumer::PollBatch(std::chrono::milliseconds timeout, size_t max,
                             std::vector<ConsumerItem>* out) {
  ConsumerItem item;
  for (size_t n = 0; n < max && Poll(timeout, &item); ++n) out->push_back(std::move(item));
}

Result<kafka::PartitionWatermarks> FakeConsumer::QueryWatermarks(
    const std::string& topic, int32_t partition, std::chrono::milliseconds /*timeout*/) {
  return kafka::PartitionWatermarks{cluster_->At(topic, partition).low,
                                    cluster_->End(topic, partition)};
}

kafka::PartitionWatermarks FakeConsumer::CachedWatermarks(const std::string& topic,
                                                          int32_t partition) {
  return kafka::PartitionWatermarks{cluster_->At(topic, partition).low,
                                    cluster_->End(topic, partition)};
}

void FakeConsumer::StartDeleteRecords(std::span<const kafka::PartitionOffset> offsets,
                                      std::chrono::milliseconds /*timeout*/) {
  for (const kafka::PartitionOffset& o : offsets) {
    cluster_->DeleteRecordsBefore(o.topic, o.partition, o.offset);
  }
  delete_result_ = Status::OK();
}

std::optional<Status> FakeConsumer::TakeDeleteRecordsResult() {
  return std::exchange(delete_result_, std::nullopt);
}

// --------------------------------------------------------------- producer

Status FakeProducer::Send(std::string_view topic, int32_t partition,
                          std::optional<std::string_view> key,
                          std::optional<std::string_view> value, int64_t timestamp,
                          const Headers& headers) {
  if (fenced) return Status::Fenced("fake producer fenced");
  if (fail_next_send) return *std::exchange(fail_next_send, std::nullopt);
  if (transactional_ && txn_ < 0) {
    return Status::Aborted("sending to topic " + std::string(topic) + ": no open transaction");
  }
  const std::string name(topic);
  int32_t target = partition;
  if (target < 0) {
    // The fake's partitioner: a stable hash of the key over the topic's partitions.
    target = static_cast<int32_t>(std::hash<std::string_view>{}(key.value_or("")) %
                                  static_cast<size_t>(std::max(cluster_->PartitionCount(name), 1)));
  }
  FakeCluster::Partition& p = cluster_->At(name, target);
  FakeRecord r;
  if (key) r.key = std::string(*key);
  if (value) r.value = std::string(*value);
  r.timestamp = timestamp;
  r.headers = headers;
  r.txn = txn_;
  p.log.push_back(std::move(r));
  const int64_t offset = static_cast<int64_t>(p.log.size()) - 1;
  if (partition >= 0) delivered_[{name, partition}] = offset;
  ++sent;
  return Status::OK();
}

Status FakeProducer::Recreate() {
  ++recreates;
  fenced = false;
  if (txn_ >= 0) cluster_->EndTransaction(txn_, /*commit=*/false);  // fenced by the new epoch
  txn_ = -1;
  pending_offsets_.clear();
  delivered_.clear();
  return Status::OK();
}

Status FakeProducer::InitTransactions(std::chrono::milliseconds /*timeout*/) {
  ++inits;
  return fenced ? Status::Fenced("fake producer fenced") : Status::OK();
}

Status FakeProducer::BeginTransaction() {
  if (fenced) return Status::Fenced("fake producer fenced");
  ++begins;
  txn_ = cluster_->BeginTransaction();
  return Status::OK();
}

Status FakeProducer::SendOffsetsToTransaction(const TopicPartitionOffsets& offsets,
                                              const rd_kafka_consumer_group_metadata_t* group,
                                              std::chrono::milliseconds /*timeout*/) {
  if (fenced) return Status::Fenced("fake producer fenced");
  if (group == nullptr) return Status::InvalidArgument("no group metadata");
  pending_offsets_.insert(pending_offsets_.end(), offsets.begin(), offsets.end());
  return Status::OK();
}

Status FakeProducer::CommitTransaction(std::chrono::milliseconds /*timeout*/) {
  if (fenced) return Status::Fenced("fake producer fenced");
  if (fail_next_commit) {
    const Status s = *fail_next_commit;
    if (--fail_commit_times <= 0) {
      fail_next_commit.reset();
      fail_commit_times = 1;
    }
    return s;
  }
  if (txn_ >= 0) cluster_->EndTransaction(txn_, /*commit=*/true);
  for (const TopicPartitionOffset& tp : pending_offsets_) {
    cluster_->group_offsets[{tp.topic, tp.partition}] = {tp.offset, tp.metadata};
  }
  committed_offsets.push_back(std::move(pending_offsets_));
  pending_offsets_.clear();
  txn_ = -1;
  ++commits;
  return Status::OK();
}

Status FakeProducer::AbortTransaction(std::chrono::milliseconds /*timeout*/) {
  ++aborts;
  if (fail_next_abort) return *std::exchange(fail_next_abort, std::nullopt);
  if (fenced) return Status::Fenced("fake producer fenced");
  if (txn_ >= 0) cluster_->EndTransaction(txn_, /*commit=*/false);
  txn_ = -1;
  pending_offsets_.clear();
  return Status::OK();
}

Status FakeProducer::Flush(std::chrono::milliseconds /*timeout*/) {
  ++flushes;
  return fail_next_commit ? *std::exchange(fail_next_commit, std::nullopt) : Status::OK();
}

int64_t FakeProducer::LastDeliveredOffset(const std::string& topic, int32_t partition) const {
  auto it = delivered_.find({topic, partition});
  return it != delivered_.end() ? it->second : -1;
}

// --------------------------------------------------------------- supplier

Result<std::unique_ptr<ConsumerClient>> FakeClientSupplier::CreateMainConsumer(
    const StreamsConfig& config, const std::string& /*thread*/) {
  auto c = std::make_unique<FakeConsumer>(
      cluster_, config.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2,
      main_consumer_partition_eof);
  if (main_consumer_statistics) c->stats = std::make_shared<kafka::StatisticsMailbox>();
  main_consumer = c.get();
  return std::unique_ptr<ConsumerClient>(std::move(c));
}

Result<std::unique_ptr<ConsumerClient>> FakeClientSupplier::CreateRestoreConsumer(
    const StreamsConfig& /*config*/, const std::string& /*thread*/) {
  auto c = std::make_unique<FakeConsumer>(cluster_, /*read_committed=*/true,
                                          /*partition_eof=*/true);
  restore_consumer = c.get();
  if (on_restore_consumer) on_restore_consumer(*c);
  return std::unique_ptr<ConsumerClient>(std::move(c));
}

Result<std::unique_ptr<ProducerClient>> FakeClientSupplier::CreateProducer(
    const StreamsConfig& config, const std::string& /*thread*/) {
  auto p = std::make_unique<FakeProducer>(
      cluster_, config.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2);
  producer = p.get();
  return std::unique_ptr<ProducerClient>(std::move(p));
}

Result<kafka::KafkaHandle> FakeClientSupplier::CreateAdmin(const StreamsConfig& /*config*/) {
  return Status::InvalidArgument("the fake cluster has no admin client");
}

}  // namespace eventflow::streams::testing
