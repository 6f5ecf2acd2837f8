// RdKafkaProducer: the librdkafka producer of a stream thread, and the
// RecordCollector its tasks' sink nodes and dead-letter path send through.
//
// Sends are asynchronous; delivery reports (served by Poll/Flush on the
// thread) keep the first failure, which the next commit returns so that
// exactly-once aborts and at-least-once does not commit offsets past lost
// output, and the last acknowledged offset of each explicit partition
// (changelogs: where a store's committed state reaches). Topic handles are
// cached per name.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "rdkafka_clients.h"

namespace eventflow::streams {
namespace {

class RdKafkaProducer final : public ProducerClient {
 public:
  explicit RdKafkaProducer(kafka::KafkaProperties props) : props_(std::move(props)) {}
  ~RdKafkaProducer() override { Reset(nullptr); }

  Status Recreate() override {
    Reset(nullptr);
    handle_.reset();
    auto conf = kafka::BuildKafkaConf(props_);
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &RdKafkaProducer::OnDelivery);
    rd_kafka_conf_set_stats_cb(conf->get(), &RdKafkaProducer::OnStatistics);
    auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!producer.ok()) return producer.status();
    handle_ = std::move(*producer);
    Reset(handle_.get());
    return Status::OK();
  }

  Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
              std::optional<std::string_view> value, int64_t timestamp,
              const Headers& headers) override {
    return Produce(topic, partition, key, value, timestamp, headers, nullptr, {});
  }
  //! Adds the extra header to the librdkafka headers it builds anyway (no copy).
  Status SendWithHeader(std::string_view topic, int32_t partition,
                        std::optional<std::string_view> key, std::optional<std::string_view> value,
                        int64_t timestamp, const Headers& headers, std::string_view extra_key,
                        std::string_view extra_value) override {
    return Produce(topic, partition, key, value, timestamp, headers, &extra_key, extra_value);
  }

  Status InitTransactions(std::chrono::milliseconds timeout) override {
    kafka::KafkaError err(rd_kafka_init_transactions(handle_.get(), Ms(timeout)));
    const std::string* id = props_.Find("transactional.id");
    return kafka::FromKafkaError(err.get(),
                                 "initialising transactions for " + (id != nullptr ? *id : "?"));
  }
  Status BeginTransaction() override {
    kafka::KafkaError err(rd_kafka_begin_transaction(handle_.get()));
    return kafka::FromKafkaError(err.get(), "beginning a transaction");
  }
  Status SendOffsetsToTransaction(const TopicPartitionOffsets& offsets,
                                  const rd_kafka_consumer_group_metadata_t* group,
                                  std::chrono::milliseconds timeout) override {
    kafka::KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const TopicPartitionOffset& o : offsets) {
      rd_kafka_topic_partition_t* tp =
          rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition);
      tp->offset = o.offset;
      // librdkafka frees it with the list.
      tp->metadata = ::malloc(o.metadata.size());
      std::memcpy(tp->metadata, o.metadata.data(), o.metadata.size());
      tp->metadata_size = o.metadata.size();
    }
    kafka::KafkaError err(
        rd_kafka_send_offsets_to_transaction(handle_.get(), list.get(), group, Ms(timeout)));
    return kafka::FromKafkaError(err.get(), "sending offsets to the transaction");
  }
  Status CommitTransaction(std::chrono::milliseconds timeout) override {
    kafka::KafkaError err(rd_kafka_commit_transaction(handle_.get(), Ms(timeout)));
    return kafka::FromKafkaError(err.get(), "committing the transaction");
  }
  Status AbortTransaction(std::chrono::milliseconds timeout) override {
    kafka::KafkaError err(rd_kafka_abort_transaction(handle_.get(), Ms(timeout)));
    return kafka::FromKafkaError(err.get(), "aborting the transaction");
  }

  void Poll() override {
    if (handle_) rd_kafka_poll(handle_.get(), 0);
  }
  Status Flush(std::chrono::milliseconds timeout) override {
    const rd_kafka_resp_err_t err = rd_kafka_flush(handle_.get(), Ms(timeout));
    EVENTFLOW_RETURN_IF_ERROR(TakeError());
    return kafka::FromKafkaError(err, "flushing the producer");
  }
  Status TakeError() override {
    std::lock_guard<std::mutex> lock(mu_);
    Status s = std::move(error_);
    error_ = Status::OK();
    return s;
  }
  int64_t LastDeliveredOffset(const std::string& topic, int32_t partition) const override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Delivered& d : delivered_) {
      if (d.partition == partition && d.topic == topic) return d.offset;
    }
    return -1;
  }

  std::shared_ptr<kafka::StatisticsMailbox> statistics() override { return statistics_; }

 private:
  static int Ms(std::chrono::milliseconds timeout) { return static_cast<int>(timeout.count()); }

  static int OnStatistics(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
    static_cast<RdKafkaProducer*>(opaque)->statistics_->Put(std::string_view(json, json_len));
    return 0;  // librdkafka frees the text
  }

  // Drops cached topic handles and delivery state; uses `producer` from now on.
  void Reset(rd_kafka_t* producer) {
    for (auto& [name, handle] : topics_) rd_kafka_topic_destroy(handle);
    topics_.clear();
    producer_ = producer;
    std::lock_guard<std::mutex> lock(mu_);
    error_ = Status::OK();
    delivered_.clear();
  }

  rd_kafka_topic_t* TopicHandle(std::string_view topic) {
    auto it = topics_.find(topic);
    if (it != topics_.end()) return it->second;
    rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_, std::string(topic).c_str(), nullptr);
    topics_.emplace(std::string(topic), handle);
    return handle;
  }

  void RecordError(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(status);
  }

  Status Produce(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, int64_t timestamp, const Headers& headers,
                 const std::string_view* extra_key, std::string_view extra_value);

  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);

  const kafka::KafkaProperties props_;
  // Outlives every handle (the statistics callback writes into it).
  const std::shared_ptr<kafka::StatisticsMailbox> statistics_ =
      std::make_shared<kafka::StatisticsMailbox>();
  kafka::KafkaHandle handle_;
  rd_kafka_t* producer_ = nullptr;  // handle_.get() while the collector may send
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;
  mutable std::mutex mu_;
  Status error_;  // guarded by mu_
  // Last acknowledged offset per (topic, partition) of records sent to an
  // explicit partition (a thread's changelog partitions: a few), found by
  // topic handle so a delivery report allocates nothing; guarded by mu_.
  struct Delivered {
    const rd_kafka_topic_t* rkt;
    int32_t partition;
    std::string topic;
    int64_t offset;
  };
  std::vector<Delivered> delivered_;
};

Status RdKafkaProducer::Produce(std::string_view topic, int32_t partition,
                                std::optional<std::string_view> key,
                                std::optional<std::string_view> value, int64_t timestamp,
                                const Headers& headers, const std::string_view* extra_key,
                                std::string_view extra_value) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty() || extra_key != nullptr) {
    hdrs = rd_kafka_headers_new(headers.size() + 1);
    for (const Header& h : headers) {
      if (extra_key != nullptr && h.key == *extra_key) continue;  // replaced
      rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    if (extra_key != nullptr) {
      rd_kafka_header_add(hdrs, extra_key->data(), static_cast<ssize_t>(extra_key->size()),
                          extra_value.data(), static_cast<ssize_t>(extra_value.size()));
    }
  }
  rd_kafka_topic_t* rkt = TopicHandle(topic);
  // librdkafka's argument macros cast without parentheses: compute first.
  const void* key_data = key ? key->data() : nullptr;
  const size_t key_size = key ? key->size() : 0;
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;
  const size_t value_size = value ? value->size() : 0;
  const int32_t target = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
  void* report_offset = partition >= 0 ? this : nullptr;
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(target),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp),
        RD_KAFKA_V_HEADERS(hdrs),
        // Records for an explicit partition (changelogs) report their offset.
        RD_KAFKA_V_OPAQUE(report_offset), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();  // the producer owns hdrs now
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_, 10);
      continue;
    }
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    if (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__FATAL) {
      // The producer refuses every record, not this one: its transaction
      // failed (e.g. "skipped sequence numbers" after a broker restart: it
      // must be aborted) or the producer itself is fatal. Not the record's
      // fault: it is never dead-lettered for that (IsTransactionFailure).
      char reason[256] = "";
      const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer_, reason, sizeof reason);
      const std::string what = "sending to topic " + std::string(topic) + ": ";
      if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Fatal(what + "the producer failed fatally (" + reason + ")");
      }
      return Status::Aborted(what + "the producer's transaction has failed and must be aborted (" +
                             rd_kafka_err2str(err) + ")");
    }
    return kafka::FromKafkaError(err, "sending to topic " + std::string(topic));
  }
}

void RdKafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<RdKafkaProducer*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (msg->_private != nullptr) {
      std::lock_guard<std::mutex> lock(self->mu_);
      for (Delivered& d : self->delivered_) {
        if (d.rkt == msg->rkt && d.partition == msg->partition) {
          d.offset = std::max(d.offset, static_cast<int64_t>(msg->offset));
          return;
        }
      }
      self->delivered_.push_back(
          Delivered{msg->rkt, msg->partition, rd_kafka_topic_name(msg->rkt), msg->offset});
    }
    return;
  }
  self->RecordError(kafka::FromKafkaError(
      msg->err, std::string("delivering to ") + rd_kafka_topic_name(msg->rkt) + " partition " +
                    std::to_string(msg->partition)));
}

}  // namespace

Result<std::unique_ptr<ProducerClient>> NewRdKafkaProducer(kafka::KafkaProperties props) {
  auto producer = std::make_unique<RdKafkaProducer>(std::move(props));
  EVENTFLOW_RETURN_IF_ERROR(producer->Recreate());
  return std::unique_ptr<ProducerClient>(std::move(producer));
}

}  // namespace eventflow::streams
