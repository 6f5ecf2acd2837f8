// Client creation from KafkaProperties, the one translation of librdkafka
// errors to Status, and the owning handles of eventflow/kafka/handles.h with
// librdkafka's header.
//
// Every librdkafka call in the project that can fail goes through
// FromKafkaError(), so the mapping of error codes to StatusCode (and hence to
// retry, abort, fence or give up) lives in one place.
//
// Thread-safety: the functions are thread-safe; objects as librdkafka's.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/kafka/handles.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::kafka {

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

}  // namespace eventflow::kafka
