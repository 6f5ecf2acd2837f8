// Owning handles over librdkafka objects, declared without librdkafka's
// header: a public header that only holds or passes these handles (e.g.
// streams/stream_task.h's BufferedRecord) includes this one, so that
// <librdkafka/rdkafka.h> stays out of the translation units of library users.
// Code that calls librdkafka includes eventflow/kafka/kafka_client.h.
//
// Lifecycle: a handle destroys its object on destruction (a KafkaHandle
// destroys the client, which for a consumer does not close it: call
// rd_kafka_consumer_close() first when leaving a group cleanly).
// Thread-safety: as librdkafka's objects (rd_kafka_t is thread-safe).
#pragma once

#include <memory>

// librdkafka's own declarations, repeated (a typedef may be declared again
// with the same type; rdkafka.h, if included later, agrees with these).
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;
typedef struct rd_kafka_error_s rd_kafka_error_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;
typedef struct rd_kafka_op_s rd_kafka_event_t;
typedef struct rd_kafka_headers_s rd_kafka_headers_t;
typedef struct rd_kafka_consumer_group_metadata_s rd_kafka_consumer_group_metadata_t;
typedef struct rd_kafka_metadata rd_kafka_metadata_t;

namespace eventflow::kafka {

//! Destroys each kind of librdkafka object with its own destroy function.
struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const;
  void operator()(rd_kafka_conf_t* conf) const;
  void operator()(rd_kafka_topic_partition_list_t* l) const;
  void operator()(rd_kafka_message_t* m) const;
  void operator()(rd_kafka_error_t* e) const;
  void operator()(rd_kafka_queue_t* q) const;
  void operator()(rd_kafka_event_t* ev) const;
  void operator()(rd_kafka_headers_t* h) const;
  void operator()(rd_kafka_consumer_group_metadata_t* m) const;
  void operator()(const rd_kafka_metadata_t* md) const;
};

using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;                   //!< a client
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;                //!< a configuration
using KafkaPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;          //!< a record
using KafkaError = std::unique_ptr<rd_kafka_error_t, KafkaDeleter>;              //!< an error object
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;              //!< a queue
using KafkaEvent = std::unique_ptr<rd_kafka_event_t, KafkaDeleter>;              //!< an event
using KafkaGroupMetadata =
    std::unique_ptr<rd_kafka_consumer_group_metadata_t, KafkaDeleter>;  //!< for transactions
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;  //!< cluster metadata

}  // namespace eventflow::kafka
