// Owning handles over librdkafka objects, client creation from
// KafkaProperties, and the one translation of librdkafka errors to Status.
//
// Every librdkafka call in the project that can fail goes through
// FromKafkaError(), so the mapping of error codes to StatusCode (and hence to
// retry, abort, fence or give up) lives in one place.
//
// Lifecycle: handles destroy their object on destruction (a KafkaHandle
// destroys the client, which for a consumer does not close it: call
// rd_kafka_consumer_close() first when leaving a group cleanly).
// Thread-safety: as librdkafka's objects (rd_kafka_t is thread-safe).
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/streams/kafka_properties.h"

namespace eventflow::streams {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_event_t* ev) const { rd_kafka_event_destroy(ev); }
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
  void operator()(rd_kafka_consumer_group_metadata_t* m) const {
    rd_kafka_consumer_group_metadata_destroy(m);
  }
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};

using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using KafkaPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using KafkaEvent = std::unique_ptr<rd_kafka_event_t, KafkaDeleter>;
using KafkaGroupMetadata =
    std::unique_ptr<rd_kafka_consumer_group_metadata_t, KafkaDeleter>;
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;

//! Translates a librdkafka error code. Returns OK for RD_KAFKA_RESP_ERR_NO_ERROR,
//! otherwise a Status whose message is "<context>: <description> (<name>)".
//! Time-outs → kTimedOut; broker, leader or coordinator unavailable → kUnavailable;
//! fencing → kFenced; unknown topic/partition → kNotFound; bad configuration,
//! oversized message, authentication → kInvalidArgument; __FATAL → kFatal;
//! anything else → kIOError.
Status FromKafkaError(rd_kafka_resp_err_t err, std::string_view context);

//! Translates (without taking ownership) a transactional/admin error object.
//! Fatal errors → kFatal; errors requiring a transaction abort → kAborted;
//! fencing → kFenced; retriable ones → kTimedOut; else as the code above.
Status FromKafkaError(const rd_kafka_error_t* error, std::string_view context);

//! True for errors that retrying cannot cure: failed authentication (wrong user
//! or password, mechanism not enabled) and TLS failures (a broker certificate
//! the configured CA did not sign, or one that does not name the host in
//! bootstrap.servers — librdkafka 2.0.2 checks the host name by default,
//! ssl.endpoint.identification.algorithm=https).
bool IsAuthenticationOrTlsError(rd_kafka_resp_err_t err);

//! Serves `client`'s main queue once without blocking (so a producer's
//! delivery reports run too) and returns InvalidArgument naming the failure
//! when librdkafka reported an authentication or TLS error
//! (IsAuthenticationOrTlsError) for it, else OK. librdkafka itself retries such
//! connections forever; start-up code calls this while it waits for a broker
//! (the admin helpers in kafka_admin.h do), so that a wrong password, CA or
//! host name ends the start with a clear message instead of a time-out. Only
//! producers created by CreateKafkaClient() report errors this way (a
//! consumer's errors come from rd_kafka_consumer_poll()); for others it
//! returns OK.
Status PollConnectionErrors(rd_kafka_t* client);

//! Builds a librdkafka configuration. Returns InvalidArgument naming the
//! property (never its value when secret) for an unknown property or bad value.
//! The configuration routes librdkafka's log lines to eventflow::Log.
Result<KafkaConf> BuildKafkaConf(const KafkaProperties& props);

//! Creates a producer or consumer client, taking ownership of `conf`.
//! A producer gets the project's error callback (it logs librdkafka's errors
//! and serves PollConnectionErrors()), replacing any set on `conf`.
//! Returns InvalidArgument with librdkafka's reason when creation fails.
Result<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, KafkaConf conf);

//! Convenience: BuildKafkaConf + CreateKafkaClient.
Result<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, const KafkaProperties& props);

}  // namespace eventflow::streams
