// RdKafkaConsumer: a stream thread's group consumer or restore consumer over
// librdkafka (see client_supplier.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "eventflow/kafka/fetch_waker.h"
#include "rdkafka_clients.h"

namespace eventflow::streams {
namespace {

int Ms(std::chrono::milliseconds timeout) { return static_cast<int>(timeout.count()); }

kafka::KafkaPartitionList ToList(const TopicPartitionOffsets& partitions, bool with_metadata) {
  kafka::KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartitionOffset& p : partitions) {
    rd_kafka_topic_partition_t* tp =
        rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
    tp->offset = p.offset;
    if (with_metadata) {
      // librdkafka frees it with the list.
      tp->metadata = ::malloc(p.metadata.size());
      std::memcpy(tp->metadata, p.metadata.data(), p.metadata.size());
      tp->metadata_size = p.metadata.size();
    }
  }
  return list;
}

TopicPartitionOffsets FromList(const rd_kafka_topic_partition_list_t* list) {
  TopicPartitionOffsets out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    TopicPartitionOffset p;
    p.topic = tp.topic;
    p.partition = tp.partition;
    p.offset = tp.offset;
    if (tp.metadata != nullptr) {
      p.metadata.assign(static_cast<const char*>(tp.metadata), tp.metadata_size);
    }
    p.err = tp.err;
    out.push_back(std::move(p));
  }
  return out;
}

// False when the record certainly has no headers, so that asking librdkafka
// for them can be skipped. In the record format of Kafka >= 0.11 (v2, the only
// one Kafka 4 stores), a record's value is followed in the fetched batch by
// its header count, a zigzag varint: one 0 byte when there are no headers.
// librdkafka 2.0.2 hands out the value in place (rdkafka_msgset_reader.c keeps
// pointers into the fetch buffer, the headers' right after the value) and
// parses headers lazily, but for a v2 record the unparsed header bytes are
// never empty (that count byte), so rd_kafka_message_headers() always runs its
// parser, which allocates and frees a 512-byte buffer (rd_kafka_buf_new_shadow)
// just to read "0": 1.3 of the 4.3% that rd_kafka_message_headers took of the
// pipeline's CPU samples (README, "Where the CPU goes").
// Records without a value (tombstones, watermark records) or with an empty one
// are always asked: an empty value points to a static "" rather than into the
// batch (rd_kafka_buf_read_bytes_varint in rdkafka_buf.h; peeking there lost
// such records' headers, StreamsRuntimeTest.InputHeadersReachTheOutputUnchanged);
// so is a record whose next byte is not 0. Legacy v0/v1 records have no
// headers at all, so a 0 read after one skips nothing (the byte read is then
// the next message's, or one past the end of the batch, which Kafka >= 4
// brokers never send in that format).
bool MayHaveHeaders(const rd_kafka_message_t& msg) {
  if (msg.payload == nullptr || msg.len == 0) return true;
  return static_cast<const unsigned char*>(msg.payload)[msg.len] != 0;
}

// Fills `item` from a consumed message (taking it over). A record's views
// point into the message, which the item keeps.
void ToItem(kafka::KafkaMessage msg, ConsumerItem* item) {
  item->err = msg->err;
  item->topic_handle = msg->rkt;
  RawRecord& raw = item->record.raw;
  raw.topic =
      msg->rkt != nullptr ? std::string_view(rd_kafka_topic_name(msg->rkt)) : std::string_view();
  raw.partition = msg->partition;
  raw.offset = msg->offset;
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    raw.timestamp = rd_kafka_message_timestamp(msg.get(), nullptr);
    if (msg->key != nullptr) {
      raw.key = std::string_view(static_cast<const char*>(msg->key), msg->key_len);
    }
    if (msg->payload != nullptr) {
      raw.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
    }
    rd_kafka_headers_t* hdrs = nullptr;
    if (MayHaveHeaders(*msg) &&
        rd_kafka_message_headers(msg.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        raw.headers.Add(name, std::string_view(static_cast<const char*>(value), size));
      }
    }
  }
  item->record.message = std::move(msg);
}

class RdKafkaPartitionQueue final : public PartitionQueue {
 public:
  RdKafkaPartitionQueue(rd_kafka_t* consumer, kafka::KafkaQueue queue, std::string topic,
                        int32_t partition, std::shared_ptr<kafka::FetchWaker> waker)
      : consumer_(consumer),
        queue_(std::move(queue)),
        topic_(std::move(topic)),
        partition_(partition),
        waker_(std::move(waker)) {
    // Stop forwarding the partition's records to the consumer queue: the loop
    // takes them per partition, as many as the task has room for.
    rd_kafka_queue_forward(queue_.get(), nullptr);
  }
  ~RdKafkaPartitionQueue() override {
    kafka::KafkaQueue consumer_queue(rd_kafka_queue_get_consumer(consumer_));
    if (consumer_queue) rd_kafka_queue_forward(queue_.get(), consumer_queue.get());
  }

  size_t Consume(size_t max, std::vector<ConsumerItem>* out) override {
    rd_kafka_message_t* batch[kMaxBatch];
    const size_t asked = std::min(max, kMaxBatch);
    const ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, batch, asked);
    for (ssize_t i = 0; i < n; ++i) ToItem(kafka::KafkaMessage(batch[i]), &out->emplace_back());
    const size_t got = n > 0 ? static_cast<size_t>(n) : 0;
    // Drained after a busy batch: the broker thread is woken to refill it
    // (librdkafka 2.0.2, see fetch_waker.h).
    if (drain_.OnBatch(asked, got) && waker_ != nullptr) waker_->Request(topic_, partition_);
    return got;
  }

 private:
  static constexpr size_t kMaxBatch = 512;
  rd_kafka_t* consumer_;
  kafka::KafkaQueue queue_;
  std::string topic_;
  int32_t partition_;
  std::shared_ptr<kafka::FetchWaker> waker_;
  kafka::QueueDrainWatch drain_;
};

class RdKafkaConsumer final : public ConsumerClient {
 public:
  RdKafkaConsumer() = default;

  Status Open(const kafka::KafkaProperties& props, bool group_member) {
    auto conf = kafka::BuildKafkaConf(props);
    if (!conf.ok()) return conf.status();
    if (group_member) {
      rd_kafka_conf_set_opaque(conf->get(), this);
      rd_kafka_conf_set_rebalance_cb(conf->get(), &RdKafkaConsumer::OnRebalance);
      // Statistics ops go to the main queue, which only a group member (its
      // main queue redirected to the consumer queue) polls.
      statistics_ = std::make_shared<kafka::StatisticsMailbox>();
      rd_kafka_conf_set_stats_cb(conf->get(), &RdKafkaConsumer::OnStatistics);
    }
    auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!consumer.ok()) return consumer.status();
    handle_ = std::move(*consumer);
    if (group_member) rd_kafka_poll_set_consumer(handle_.get());
    return Status::OK();
  }

  Status Subscribe(const std::vector<std::string>& topics, RebalanceListener* listener) override {
    listener_ = listener;
    kafka::KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const std::string& t : topics) {
      rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    return kafka::FromKafkaError(rd_kafka_subscribe(handle_.get(), list.get()), "subscribing");
  }

  bool Poll(std::chrono::milliseconds timeout, ConsumerItem* item) override {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(handle_.get(), Ms(timeout));
    if (msg == nullptr) return false;
    *item = ConsumerItem{};  // releases the previous item's message
    ToItem(kafka::KafkaMessage(msg), item);
    return true;
  }

  kafka::KafkaGroupMetadata GroupMetadata() override {
    return kafka::KafkaGroupMetadata(rd_kafka_consumer_group_metadata(handle_.get()));
  }

  bool AssignmentLost() override { return rd_kafka_assignment_lost(handle_.get()) != 0; }

  rd_kafka_resp_err_t FatalError(std::string* reason) override {
    char buf[512] = "";
    const rd_kafka_resp_err_t err = rd_kafka_fatal_error(handle_.get(), buf, sizeof buf);
    if (reason != nullptr) *reason = buf;
    return err;
  }

  Status Committed(TopicPartitionOffsets* partitions, std::chrono::milliseconds timeout) override {
    kafka::KafkaPartitionList list = ToList(*partitions, /*with_metadata=*/false);
    const Status s = kafka::FromKafkaError(
        rd_kafka_committed(handle_.get(), list.get(), Ms(timeout)), "reading committed offsets");
    if (s.ok()) *partitions = FromList(list.get());
    return s;
  }

  Status CommitOffsets(const TopicPartitionOffsets& offsets) override {
    if (offsets.empty()) return Status::OK();
    kafka::KafkaPartitionList list = ToList(offsets, /*with_metadata=*/true);
    return kafka::FromKafkaError(rd_kafka_commit(handle_.get(), list.get(), /*async=*/0),
                                 "committing offsets");
  }

  ~RdKafkaConsumer() override {
    if (waker_) waker_->Stop();  // before the handle goes
  }

  void Close() override {
    if (waker_) waker_->Stop();
    rd_kafka_consumer_close(handle_.get());
  }

  Status Assign(const TopicPartitionOffsets& partitions) override {
    kafka::KafkaPartitionList list = ToList(partitions, /*with_metadata=*/false);
    return kafka::FromKafkaError(rd_kafka_assign(handle_.get(), list.get()), "assigning");
  }

  Status Unassign() override {
    return kafka::FromKafkaError(rd_kafka_assign(handle_.get(), nullptr), "unassigning");
  }

  Status Seek(TopicPartitionOffsets* partitions, std::chrono::milliseconds timeout) override {
    kafka::KafkaPartitionList list = ToList(*partitions, /*with_metadata=*/false);
    // librdkafka 2.0.2 takes this time-out as microseconds (#4230).
    kafka::KafkaError err(rd_kafka_seek_partitions(handle_.get(), list.get(), Ms(timeout)));
    for (int i = 0; i < list->cnt; ++i)
      (*partitions)[static_cast<size_t>(i)].err = list->elems[i].err;
    return kafka::FromKafkaError(err.get(), "seeking");
  }

  std::unique_ptr<PartitionQueue> DetachPartitionQueue(const std::string& topic,
                                                       int32_t partition) override {
    kafka::KafkaQueue queue(rd_kafka_queue_get_partition(handle_.get(), topic.c_str(), partition));
    if (!queue) return nullptr;
    if (!waker_) waker_ = std::make_shared<kafka::FetchWaker>(handle_.get());
    return std::make_unique<RdKafkaPartitionQueue>(handle_.get(), std::move(queue), topic,
                                                   partition, waker_);
  }

  void PollBatch(std::chrono::milliseconds timeout, size_t max,
                 std::vector<ConsumerItem>* out) override {
    int wait = Ms(timeout);
    for (size_t n = 0; n < max; ++n) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(handle_.get(), wait);
      if (msg == nullptr) return;
      ToItem(kafka::KafkaMessage(msg), &out->emplace_back());
      wait = 0;
    }
  }

  Result<kafka::PartitionWatermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                                     std::chrono::milliseconds timeout) override {
    return kafka::QueryWatermarks(handle_.get(), topic, partition, timeout);
  }

  Result<std::vector<kafka::PartitionWatermarks>> QueryWatermarksOf(
      const std::vector<kafka::PartitionOffset>& partitions,
      std::chrono::milliseconds timeout) override {
    return kafka::QueryWatermarksOf(handle_.get(), partitions, timeout);
  }

  kafka::PartitionWatermarks CachedWatermarks(const std::string& topic,
                                              int32_t partition) override {
    kafka::PartitionWatermarks marks{-1, -1};
    rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &marks.low,
                                   &marks.high);
    return marks;
  }

  void StartDeleteRecords(std::span<const kafka::PartitionOffset> offsets,
                          std::chrono::milliseconds timeout) override {
    if (!purge_queue_) purge_queue_.reset(rd_kafka_queue_new(handle_.get()));
    kafka::StartDeleteRecords(handle_.get(), offsets, timeout, purge_queue_.get());
  }

  std::optional<Status> TakeDeleteRecordsResult() override {
    if (!purge_queue_) return std::nullopt;
    kafka::KafkaEvent ev(rd_kafka_queue_poll(purge_queue_.get(), 0));
    if (!ev || rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_DELETERECORDS_RESULT) {
      return std::nullopt;
    }
    return kafka::DeleteRecordsOutcome(ev.get());
  }

  std::shared_ptr<kafka::StatisticsMailbox> statistics() override { return statistics_; }

 private:
  static int OnStatistics(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
    static_cast<RdKafkaConsumer*>(opaque)->statistics_->Put(std::string_view(json, json_len));
    return 0;  // librdkafka frees the text
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<RdKafkaConsumer*>(opaque);
    const bool assigned = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    if (self->listener_ == nullptr) {
      rd_kafka_assign(rk, assigned ? partitions : nullptr);
      return;
    }
    const TopicPartitionOffsets list = FromList(partitions);
    if (assigned) {
      self->listener_->OnPartitionsAssigned(list);
    } else {
      self->listener_->OnPartitionsRevoked(list);
    }
  }

  kafka::KafkaHandle handle_;
  std::shared_ptr<kafka::FetchWaker> waker_;  // stopped before the handle is destroyed
  kafka::KafkaQueue purge_queue_;  // DeleteRecords results; destroyed before the handle
  RebalanceListener* listener_ = nullptr;
  std::shared_ptr<kafka::StatisticsMailbox> statistics_;  // group members only
};

}  // namespace

Result<std::unique_ptr<ConsumerClient>> NewRdKafkaConsumer(const kafka::KafkaProperties& props,
                                                           bool group_member) {
  auto consumer = std::make_unique<RdKafkaConsumer>();
  EVENTFLOW_RETURN_IF_ERROR(consumer->Open(props, group_member));
  return std::unique_ptr<ConsumerClient>(std::move(consumer));
}

}  // namespace eventflow::streams
