#include "record_collector.h"

#include <algorithm>

#include "eventflow/kafka/kafka_client.h"

namespace eventflow::streams {

KafkaRecordCollector::~KafkaRecordCollector() { Reset(nullptr); }

void KafkaRecordCollector::Reset(rd_kafka_t* producer) {
  for (auto& [name, handle] : topics_) rd_kafka_topic_destroy(handle);
  topics_.clear();
  producer_ = producer;
  std::lock_guard<std::mutex> lock(mu_);
  error_ = Status::OK();
  delivered_.clear();
}

rd_kafka_topic_t* KafkaRecordCollector::TopicHandle(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_, std::string(topic).c_str(), nullptr);
  topics_.emplace(std::string(topic), handle);
  return handle;
}

void KafkaRecordCollector::RecordError(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_.ok()) error_ = std::move(status);
}

Status KafkaRecordCollector::Send(std::string_view topic, int32_t partition,
                                  std::optional<std::string_view> key,
                                  std::optional<std::string_view> value, int64_t timestamp,
                                  const Headers& headers) {
  return Produce(topic, partition, key, value, timestamp, headers, nullptr, {});
}

Status KafkaRecordCollector::SendWithHeader(std::string_view topic, int32_t partition,
                                            std::optional<std::string_view> key,
                                            std::optional<std::string_view> value,
                                            int64_t timestamp, const Headers& headers,
                                            std::string_view extra_key,
                                            std::string_view extra_value) {
  return Produce(topic, partition, key, value, timestamp, headers, &extra_key, extra_value);
}

Status KafkaRecordCollector::Produce(std::string_view topic, int32_t partition,
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
        producer_, RD_KAFKA_V_RKT(rkt),
        RD_KAFKA_V_PARTITION(target), RD_KAFKA_V_KEY(key_data, key_size),
        RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp),
        RD_KAFKA_V_HEADERS(hdrs),
        // Records for an explicit partition (changelogs) report their offset.
        RD_KAFKA_V_OPAQUE(report_offset), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++sent_;
      return Status::OK();  // the producer owns hdrs now
    }
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

void KafkaRecordCollector::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaRecordCollector*>(opaque);
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
  self->RecordError(kafka::FromKafkaError(msg->err, std::string("delivering to ") +
                                                 rd_kafka_topic_name(msg->rkt) + " partition " +
                                                 std::to_string(msg->partition)));
}

void KafkaRecordCollector::Poll() {
  if (producer_ != nullptr) rd_kafka_poll(producer_, 0);
}

Status KafkaRecordCollector::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer_, static_cast<int>(timeout.count()));
  EVENTFLOW_RETURN_IF_ERROR(TakeError());
  return kafka::FromKafkaError(err, "flushing the producer");
}

int64_t KafkaRecordCollector::LastDeliveredOffset(const std::string& topic,
                                                  int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Delivered& d : delivered_) {
    if (d.partition == partition && d.topic == topic) return d.offset;
  }
  return -1;
}

Status KafkaRecordCollector::TakeError() {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = std::move(error_);
  error_ = Status::OK();
  return s;
}

}  // namespace eventflow::streams
