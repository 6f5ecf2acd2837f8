// Source and sink nodes: where a sub-topology meets Kafka topics.
//
// A SourceNode turns a RawRecord (bytes from a topic) into a typed record with
// its serdes and timestamp extractor; a failure to decode is returned as a
// Status for the task's deserialization error handler, never thrown. A
// SinkNode serializes records into reused buffers and hands them to the
// task's RecordCollector.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams {

//! One consumed record, as bytes. Views stay valid while the task holds it.
struct RawRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;  //!< the Kafka record timestamp (epoch ms)
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  Headers headers;
};

//! Chooses a record's event time. Returns the timestamp (epoch ms) or an
//! error (the record then goes to the deserialization error handler). The
//! default uses the Kafka record timestamp.
template <typename K, typename V>
using TimestampExtractor = std::function<Result<int64_t>(const Record<K, V>& record)>;

namespace internal {
//! Returns `failure` of the `what` (key or value) serde `serde` as the
//! source's deserialization error.
Status SerdeFailure(const Status& failure, const char* what, std::string_view serde);
//! Returns the error for an event time below 0 or above `max_timestamp`.
Status EventTimeOutOfRange(int64_t timestamp, int64_t max_timestamp);
//! Throws ProductionError(sent).
[[noreturn]] void ThrowProductionError(const Status& sent);
//! Returns the error for adding a child to a sink.
Status SinkChildError(const std::string& sink, const std::string& child);
}  // namespace internal

//! The untyped face of a source node, for the task.
class SourceNodeBase : public ProcessorNodeBase {
 public:
  using ProcessorNodeBase::ProcessorNodeBase;
  //! What ProcessRaw() could not accept.
  enum class Failure { kNone, kDeserialization, kTimestamp };

  //! Decodes `raw` and forwards it downstream. Returns InvalidArgument naming
  //! key, value or timestamp when decoding fails or the event time is negative
  //! or above `max_timestamp` (nothing is forwarded; failure() says which).
  //! Exceptions thrown by downstream processors propagate to the caller.
  virtual Status ProcessRaw(const RawRecord& raw, int64_t max_timestamp) = 0;
  //! The event time of the last record ProcessRaw() accepted.
  int64_t last_timestamp() const { return last_timestamp_; }
  //! Why the last ProcessRaw() failed.
  Failure failure() const { return failure_; }
  std::string InputTypes() const override { return "bytes from Kafka"; }

 protected:
  int64_t last_timestamp_ = -1;
  Failure failure_ = Failure::kNone;
};

template <typename K, typename V>
class SourceNode final : public SourceNodeBase {
 public:
  SourceNode(std::string name, SerdePtr<K> key_serde, SerdePtr<V> value_serde,
             TimestampExtractor<K, V> extractor)
      : SourceNodeBase(std::move(name)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        extractor_(std::move(extractor)) {}

  Status ProcessRaw(const RawRecord& raw, int64_t max_timestamp) override {
    Record<K, V> record;
    failure_ = Failure::kDeserialization;
    Status s = key_serde_->Deserialize(raw.key, &record.key);
    if (!s.ok()) return internal::SerdeFailure(s, "key", key_serde_->Name());
    s = value_serde_->Deserialize(raw.value, &record.value);
    if (!s.ok()) return internal::SerdeFailure(s, "value", value_serde_->Name());
    failure_ = Failure::kTimestamp;
    record.timestamp = raw.timestamp;
    record.headers = raw.headers;
    if (extractor_) {
      Result<int64_t> ts = extractor_(record);
      if (!ts.ok()) return ts.status().WithContext("timestamp");
      record.timestamp = *ts;
    }
    if (record.timestamp < 0 || record.timestamp > max_timestamp) {
      return internal::EventTimeOutOfRange(record.timestamp, max_timestamp);
    }
    failure_ = Failure::kNone;
    last_timestamp_ = record.timestamp;
    port_.Forward(std::move(record));
    return Status::OK();
  }
  Status AddChild(ProcessorNodeBase* child) override { return port_.Add(child, name()); }

 private:
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  TimestampExtractor<K, V> extractor_;
  OutputPort<K, V> port_;
};

//! Chooses a sink topic per record (dynamic routing).
template <typename K, typename V>
using TopicNameExtractor = std::function<std::string(const Record<K, V>& record)>;

template <typename K, typename V>
class SinkNode final : public InputNode<K, V> {
 public:
  SinkNode(std::string name, std::string topic, TopicNameExtractor<K, V> topic_extractor,
           SerdePtr<K> key_serde, SerdePtr<V> value_serde)
      : InputNode<K, V>(std::move(name)),
        topic_(std::move(topic)),
        topic_extractor_(std::move(topic_extractor)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Process(Record<K, V> record) override {
    key_buf_.clear();
    value_buf_.clear();
    const bool has_key = key_serde_->Serialize(record.key, &key_buf_);
    const bool has_value = value_serde_->Serialize(record.value, &value_buf_);
    std::optional<std::string_view> key, value;
    if (has_key) key = key_buf_;
    if (has_value) value = value_buf_;
    if (topic_extractor_) {
      const std::string topic = topic_extractor_(record);
      Check(this->task_->collector().Send(topic, -1, key, value, record.timestamp,
                                          record.headers));
    } else {
      Check(this->task_->collector().Send(topic_, -1, key, value, record.timestamp,
                                          record.headers));
    }
  }
  static void Check(const Status& sent) {
    if (!sent.ok()) internal::ThrowProductionError(sent);
  }
  Status AddChild(ProcessorNodeBase* child) override {
    return internal::SinkChildError(this->name(), child->name());
  }

 private:
  std::string topic_;
  TopicNameExtractor<K, V> topic_extractor_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  std::string key_buf_;
  std::string value_buf_;
};

}  // namespace eventflow::streams
