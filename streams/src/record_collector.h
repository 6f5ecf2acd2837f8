// KafkaRecordCollector: the RecordCollector of a stream thread — sink nodes
// and the dead-letter path send through it with the thread's producer.
//
// Sends are asynchronous; delivery reports (served by Poll/Flush on the
// thread) count failures and keep the first one, which the next commit
// returns so that exactly-once aborts and at-least-once does not commit
// offsets past lost output. Topic handles are cached per name.
//
// Thread-safety: used by its stream thread only.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams {

class KafkaRecordCollector final : public RecordCollector {
 public:
  KafkaRecordCollector() = default;
  ~KafkaRecordCollector() override;

  //! Uses `producer` (not owned) from now on; drops cached topic handles.
  void Reset(rd_kafka_t* producer);

  Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
              std::optional<std::string_view> value, int64_t timestamp,
              const Headers& headers) override;
  //! Adds the extra header to the librdkafka headers it builds anyway (no copy).
  Status SendWithHeader(std::string_view topic, int32_t partition,
                        std::optional<std::string_view> key,
                        std::optional<std::string_view> value, int64_t timestamp,
                        const Headers& headers, std::string_view extra_key,
                        std::string_view extra_value) override;

  //! Serves delivery reports without blocking.
  void Poll();
  //! Waits until every record sent is acknowledged or failed; returns the
  //! first failure since the last TakeError(), or a time-out.
  Status Flush(std::chrono::milliseconds timeout);
  //! Returns and clears the first failure seen.
  Status TakeError();
  //! Records sent since creation.
  uint64_t sent() const { return sent_; }
  //! The offset of the last acknowledged record sent to an explicit
  //! `partition` of `topic` (how changelog records are sent), or -1.
  int64_t LastDeliveredOffset(const std::string& topic, int32_t partition) const;

  //! The delivery-report callback to install on the producer's configuration
  //! (the collector must be the configuration's opaque).
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);

 private:
  rd_kafka_topic_t* TopicHandle(std::string_view topic);
  Status Produce(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, int64_t timestamp, const Headers& headers,
                 const std::string_view* extra_key, std::string_view extra_value);
  void RecordError(Status status);

  rd_kafka_t* producer_ = nullptr;
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
  uint64_t sent_ = 0;
};

}  // namespace eventflow::streams
