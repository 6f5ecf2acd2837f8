// The one place that builds the librdkafka configuration of every Kafka
// client the project creates, by role.
//
// Each client is built in three layers, later ones winning:
//   1. the role's defaults (what the project tuned: acks=all, lz4, the range
//      assignor, a short fetch wait for restores, ..., and the buffer sizes
//      derived from the instance's memory budget: fetch_queue_bytes,
//      producer_queue_bytes);
//   2. the user's pass-through settings ("kafka.<property>=<value>"), keeping
//      only those that apply to the role's client type: a consumer-only
//      property never reaches a producer or an admin client, a producer-only
//      one never reaches a consumer, and an admin client gets only the
//      properties of both (security, bootstrap, sockets). The scopes are
//      librdkafka 2.0.2's (CONFIGURATION.md, column C/P); a property librdkafka
//      does not know is passed to every role, so that librdkafka rejects it
//      naming it;
//   3. the settings the role decides itself (forced settings): exactly-once
//      depends on them (isolation.level, enable.auto.commit,
//      transactional.id, ...), so a user setting that disagrees with one is
//      InvalidArgument naming the property — never silently undone, never
//      silently ignored. The user's value is never printed (it may be a
//      secret).
//
// Callers add what is not a property (callbacks, opaque pointers) to the
// KafkaConf built from the result (BuildKafkaConf in kafka_client.h).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::kafka {

//! The Kafka clients of the project.
enum class ClientRole {
  kMainConsumer,            //!< a stream thread's group member (subscribes, commits through us)
  kRestoreConsumer,         //!< a stream thread's changelog reader (manual assignment)
  kTransactionalProducer,   //!< a stream thread's producer under exactly-once
  kAtLeastOnceProducer,     //!< a stream thread's producer under at-least-once
  kAdmin,                   //!< topic administration (a producer handle that never produces)
  kSinkConsumer,            //!< the PostgreSQL sink's consumer
  kSinkProducer,            //!< the PostgreSQL sink's dead-letter producer
  kGeneratorProducer,       //!< eventflow-produce's producer
};

//! Returns the role's name as messages print it (e.g. "the restore consumer").
std::string_view ClientRoleName(ClientRole role);

//! The `partitioner` of the project's data producers unless the user sets
//! one: Java-compatible murmur2 (KeyPartitioner in partitioner.h finds a key's
//! partition the same way).
inline constexpr std::string_view kDataProducerPartitioner = "murmur2_random";

//! Which client types a librdkafka property applies to.
enum class PropertyScope {
  kConsumer,  //!< consumers only (CONFIGURATION.md: C)
  kProducer,  //!< producers only (P)
  kAny,       //!< every client (*), and properties librdkafka does not know
};

//! Returns the scope of `key` in librdkafka 2.0.2 (aliases included).
PropertyScope ScopeOf(std::string_view key);

//! What a role's settings are made of besides the user's properties. Each
//! role reads only the fields it needs (see BuildClientConfig).
struct ClientSettings {
  std::string bootstrap_servers{};   //!< bootstrap.servers (a default: the user's wins)
  std::string client_id{};           //!< client.id (a default); empty: librdkafka's
  std::string group_id{};            //!< consumers: group.id
  std::string group_instance_id{};   //!< main consumer: static membership; empty: dynamic
  std::string transactional_id{};    //!< transactional producer: transactional.id
  //! Main consumer: session.timeout.ms (a default), and heartbeat.interval.ms
  //! from it (HeartbeatIntervalMs).
  std::chrono::milliseconds session_timeout{10'000};
  //! Main consumer: read_committed under exactly-once, else read_uncommitted.
  bool exactly_once = true;
  //! Consumers: the bytes one fetch queue may hold (a partition's queue when
  //! the application reads partitions from their own queues, as the stream
  //! threads do; the whole consumer's queue otherwise). Becomes the defaults
  //! of FetchQueueProperties(); 0: librdkafka's defaults (64 MiB of payload
  //! per queue plus a 1 MiB fetch per partition in flight).
  size_t fetch_queue_bytes = 0;
  //! Producers: the bytes of records the client may hold unsent or
  //! unacknowledged. Becomes the defaults of ProducerQueueProperties();
  //! 0: librdkafka's defaults (100,000 records or 1 GiB).
  size_t producer_queue_bytes = 0;
};

//! What librdkafka 2.0.2 allocates for each record it holds besides the key
//! and value bytes it counts (the fetched message's op and message structs,
//! a produced message's struct): about 400 bytes, measured as the RSS growth
//! per queued record of 180 bytes (docs/architecture.md, "Memory").
inline constexpr size_t kLibrdkafkaRecordOverheadBytes = 400;

//! The librdkafka settings that bound a fetch queue to about `bytes` (0:
//! none). librdkafka counts only key and value bytes against
//! queued.max.messages.kbytes, and a queue below it asks for up to
//! max.partition.fetch.bytes more per partition, so a quarter of `bytes` goes
//! to each (for ~200-byte records the bookkeeping triples the queued payload:
//! a quarter of payload is ~3/4 of `bytes` in memory), max.partition.fetch.bytes
//! within [64 KiB, 1 MiB] (librdkafka's default is the upper end; it still
//! fetches a larger record batch whole). fetch.max.bytes follows
//! queued.max.messages.kbytes inside librdkafka.
KafkaProperties FetchQueueProperties(size_t bytes);

//! The librdkafka settings that bound a producer's queue to about `bytes`
//! (0: none): queue.buffering.max.kbytes = bytes / 1024 (key and value bytes)
//! and queue.buffering.max.messages = bytes / (kLibrdkafkaRecordOverheadBytes
//! + 112), a 512-byte share per record of its bookkeeping and a small record,
//! at least 1,000. A full queue makes the producer wait (backpressure).
KafkaProperties ProducerQueueProperties(size_t bytes);

//! The transactional producer's transaction.timeout.ms unless the user sets
//! one: Kafka Streams' value under exactly-once. The broker aborts a
//! transaction open this long (checked every
//! transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by
//! default). The runtime keeps transactions short (a commit every 100 ms;
//! restores run outside them), so only an outage of the broker longer than
//! this aborts one — the producer is then found fenced and recreated, and the
//! thread rewinds (StreamsProducer::Recover). It bounds how long a killed
//! instance's open transaction can block others when nobody fences it first
//! (streams: DepartedMemberFencer).
inline constexpr std::chrono::milliseconds kTransactionTimeout{10'000};

//! The main consumer's heartbeat.interval.ms for `session_timeout`: a tenth
//! of it, at least 100 ms.
int64_t HeartbeatIntervalMs(std::chrono::milliseconds session_timeout);

//! Returns the role's client properties: its defaults, the user's properties
//! that apply to its client type, then its forced settings. InvalidArgument
//! naming "kafka.<property>" and the role when `user` sets a forced property
//! to another value (or one the role leaves unset).
Result<KafkaProperties> BuildClientConfig(ClientRole role, const ClientSettings& settings,
                                          const KafkaProperties& user);

//! True when `role` decides `key` itself (a forced setting), whatever its value.
bool IsForcedSetting(ClientRole role, std::string_view key);

}  // namespace eventflow::kafka
