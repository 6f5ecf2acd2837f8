#include "eventflow/kafka/client_config.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace eventflow::kafka {
namespace {

// librdkafka 2.0.2's consumer-only and producer-only properties, global and
// topic-level, aliases included (its CONFIGURATION.md, column C/P, as printed
// by rd_kafka_conf_properties_show() of the library we link). Sorted for
// binary search. Everything else applies to every client.
constexpr std::array<std::string_view, 31> kConsumerOnly = {
    "auto.commit.enable",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "check.crcs",
    "consume.callback.max.messages",
    "consume_cb",
    "coordinator.query.interval.ms",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "fetch.error.backoff.ms",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "fetch.min.bytes",
    "fetch.wait.max.ms",
    "group.id",
    "group.instance.id",
    "group.protocol.type",
    "heartbeat.interval.ms",
    "isolation.level",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "offset.store.method",
    "offset.store.path",
    "offset.store.sync.interval.ms",
    "offset_commit_cb",
    "partition.assignment.strategy",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "rebalance_cb",
    "session.timeout.ms",
};

constexpr std::array<std::string_view, 31> kProducerOnly = {
    "acks",
    "batch.num.messages",
    "batch.size",
    "compression.codec",
    "compression.level",
    "compression.type",
    "delivery.report.only.error",
    "delivery.timeout.ms",
    "dr_cb",
    "dr_msg_cb",
    "enable.gapless.guarantee",
    "enable.idempotence",
    "linger.ms",
    "message.send.max.retries",
    "message.timeout.ms",
    "msg_order_cmp",
    "partitioner",
    "partitioner_cb",
    "produce.offset.report",
    "queue.buffering.backpressure.threshold",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.messages",
    "queue.buffering.max.ms",
    "queuing.strategy",
    "request.required.acks",
    "request.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "sticky.partitioning.linger.ms",
    "transaction.timeout.ms",
    "transactional.id",
};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& sorted, std::string_view key) {
  return std::binary_search(sorted.begin(), sorted.end(), key);
}

// One property a role decides itself: `value`, or (empty) left unset.
struct Forced {
  std::string_view key;
  std::string value;
  std::string_view why;
};

// A role's layers 1 and 3 (see the header).
struct RoleConfig {
  // Owned strings: some keys come from a KafkaProperties (AddDefaults).
  std::vector<std::pair<std::string, std::string>> defaults;
  std::vector<Forced> forced;
};

// Why the stream threads' consumers decide their settings.
constexpr std::string_view kWhyGroup = "the application id is the consumer group";
constexpr std::string_view kWhyCommit =
    "the runtime commits offsets itself, with the transaction or after the output is acknowledged";
constexpr std::string_view kWhyReset =
    "a partition without committed offset starts at its beginning; a position below the log "
    "start follows the data loss policy";
constexpr std::string_view kWhyStatic =
    "static membership follows the instance id: <instance id>-<thread>";
constexpr std::string_view kWhyTxn =
    "exactly-once fences a restarted instance's zombie through <application id>-<instance "
    "id>-<thread>";

// How often the clients whose statistics the project exports (per-partition
// end offsets for consumer lag, broker state and request latency, queues)
// report them: the runtime's consumers and producers and the sink's consumer
// install the statistics callback (kafka::StatisticsMailbox). A user's
// kafka.statistics.interval.ms wins; 0 turns the reports (and lag) off.
constexpr std::string_view kStatisticsIntervalMs = "5000";

// Every producer of the project: acknowledged by all in-sync replicas,
// idempotent (a retry never duplicates a record), batching for `linger_ms`.
void AddIdempotentProducerDefaults(std::string_view linger_ms, RoleConfig* c) {
  c->defaults.emplace_back("acks", "all");
  c->defaults.emplace_back("enable.idempotence", "true");
  c->defaults.emplace_back("linger.ms", std::string(linger_ms));
}

// Producers of the pipeline's data: lz4 batches, and Java-compatible murmur2
// partitioning, so that a key lands where a Java client would put it
// (co-partitioning with Java producers and Kafka Streams).
void AddDataProducerDefaults(RoleConfig* c) {
  c->defaults.emplace_back("compression.type", "lz4");
  c->defaults.emplace_back("partitioner", std::string(kDataProducerPartitioner));
}

// Adds `props` to the role's defaults.
void AddDefaults(const KafkaProperties& props, RoleConfig* c) {
  for (const auto& [key, value] : props.entries()) c->defaults.emplace_back(key, value);
}

RoleConfig ConfigOf(ClientRole role, const ClientSettings& s) {
  RoleConfig c;
  if (!s.bootstrap_servers.empty()) {
    c.defaults.emplace_back("bootstrap.servers", s.bootstrap_servers);
  }
  if (!s.client_id.empty()) c.defaults.emplace_back("client.id", s.client_id);
  switch (role) {
    case ClientRole::kMainConsumer:
      c.defaults.emplace_back("partition.assignment.strategy", "range");
      c.defaults.emplace_back("enable.auto.offset.store", "false");
      c.defaults.emplace_back("session.timeout.ms", std::to_string(s.session_timeout.count()));
      // A tenth of the session: when a member's session expires, the others
      // learn of the rebalance at their next heartbeat (fail-over time).
      c.defaults.emplace_back("heartbeat.interval.ms",
                              std::to_string(HeartbeatIntervalMs(s.session_timeout)));
      c.defaults.emplace_back("max.poll.interval.ms", "300000");
      // The end of a partition's fetch is signalled: its offset is past the
      // transaction markers the thread never sees as records, so consumer lag
      // can reach 0 (the thread ignores the event otherwise).
      c.defaults.emplace_back("enable.partition.eof", "true");
      c.defaults.emplace_back("statistics.interval.ms", std::string(kStatisticsIntervalMs));
      // librdkafka keeps one fetch in flight per broker, and a fetch that
      // holds only partitions without new records (caught-up sources, or
      // queues over their bound left out) is held by the broker for
      // fetch.wait.max.ms (default 500 ms): meanwhile a drained queue of a
      // busy partition waits, fetch waker or not. The pipeline (31 source
      // partitions, one repartition stage catching up while the rest idle)
      // took 352 s with 500 ms and 91 s with 20 ms for 1M events (README
      // "Performance"). An idle consumer then asks its brokers 50 times a
      // second.
      c.defaults.emplace_back("fetch.wait.max.ms", "20");
      AddDefaults(FetchQueueProperties(s.fetch_queue_bytes), &c);
      c.forced.push_back({"group.id", s.group_id, kWhyGroup});
      c.forced.push_back({"enable.auto.commit", "false", kWhyCommit});
      // Every partition is assigned with an explicit position (its committed
      // offset, else its beginning), so librdkafka resets a position only
      // when it is out of range: records deleted before they were read.
      // "error" makes that a consumer error instead of a silent jump.
      c.forced.push_back({"auto.offset.reset", "error", kWhyReset});
      c.forced.push_back({"isolation.level", s.exactly_once ? "read_committed" : "read_uncommitted",
                          "exactly-once reads committed records only; at-least-once reads all"});
      c.forced.push_back({"group.instance.id", s.group_instance_id, kWhyStatic});
      break;
    case ClientRole::kRestoreConsumer:
      c.defaults.emplace_back("enable.partition.eof", "true");
      // The end of a caught-up changelog is found by an empty fetch, which the
      // broker holds for fetch.wait.max.ms (default 500 ms): keep it short.
      c.defaults.emplace_back("fetch.wait.max.ms", "20");
      // librdkafka 2.0.2 stops prefetching a partition at 100k queued records
      // and resumes only after a backoff (~1 s): a large threshold lets a full
      // restore run at fetch speed (bench/restore_recovery: 1M records 3.0 s →
      // 1.4 s). Memory stays bounded by queued.max.messages.kbytes.
      c.defaults.emplace_back("queued.min.messages", "1000000");
      AddDefaults(FetchQueueProperties(s.fetch_queue_bytes), &c);
      // Never joins the group nor commits: manual assignment only.
      c.forced.push_back({"group.id", s.group_id, kWhyGroup});
      c.forced.push_back({"enable.auto.commit", "false", kWhyCommit});
      // A position below the log start (deleted while restoring) is an error,
      // never a silent jump to the end.
      c.forced.push_back({"auto.offset.reset", "error", kWhyReset});
      c.forced.push_back({"isolation.level", "read_committed",
                          "a store is restored from committed changelog records only"});
      c.forced.push_back({"group.instance.id", "", "the restore consumer is not a group member"});
      break;
    case ClientRole::kTransactionalProducer:
    case ClientRole::kAtLeastOnceProducer:
      AddIdempotentProducerDefaults("5", &c);
      AddDataProducerDefaults(&c);
      AddDefaults(ProducerQueueProperties(s.producer_queue_bytes), &c);
      c.defaults.emplace_back("statistics.interval.ms", std::string(kStatisticsIntervalMs));
      if (role == ClientRole::kTransactionalProducer) {
        c.defaults.emplace_back("transaction.timeout.ms",
                                std::to_string(kTransactionTimeout.count()));
        c.forced.push_back({"transactional.id", s.transactional_id, kWhyTxn});
      } else {
        c.forced.push_back({"transactional.id", "", "at-least-once sends no transactions"});
      }
      break;
    case ClientRole::kAdmin:
      break;
    case ClientRole::kSinkConsumer:
      if (!s.group_id.empty()) c.defaults.emplace_back("group.id", s.group_id);
      c.defaults.emplace_back("partition.assignment.strategy", "range");
      c.defaults.emplace_back("enable.auto.offset.store", "false");
      // The end of a partition tells where its last transaction marker is.
      c.defaults.emplace_back("enable.partition.eof", "true");
      c.defaults.emplace_back("statistics.interval.ms", std::string(kStatisticsIntervalMs));
      AddDefaults(FetchQueueProperties(s.fetch_queue_bytes), &c);
      c.forced.push_back({"isolation.level", "read_committed",
                          "exactly-once: the sink writes committed records only"});
      c.forced.push_back({"enable.auto.commit", "false",
                          "exactly-once: the sink stores its offsets in PostgreSQL with its rows"});
      // Every partition is assigned (and sought) at an explicit position: a
      // reset happens only for a position below the log start, records
      // deleted before the sink wrote them — a consumer error, never a jump.
      c.forced.push_back({"auto.offset.reset", "error",
                          "records deleted before the sink wrote them follow --on-data-loss"});
      break;
    case ClientRole::kSinkProducer:
      AddIdempotentProducerDefaults("5", &c);
      AddDefaults(ProducerQueueProperties(s.producer_queue_bytes), &c);
      break;
    case ClientRole::kGeneratorProducer:
      AddIdempotentProducerDefaults("20", &c);
      AddDataProducerDefaults(&c);
      c.defaults.emplace_back("batch.size", "1000000");
      c.defaults.emplace_back("queue.buffering.max.messages", "500000");
      break;
  }
  return c;
}

// Whether a property of `scope` reaches a client of `role`.
bool Applies(ClientRole role, PropertyScope scope) {
  switch (role) {
    case ClientRole::kMainConsumer:
    case ClientRole::kRestoreConsumer:
    case ClientRole::kSinkConsumer:
      return scope != PropertyScope::kProducer;
    case ClientRole::kTransactionalProducer:
    case ClientRole::kAtLeastOnceProducer:
    case ClientRole::kSinkProducer:
    case ClientRole::kGeneratorProducer:
      return scope != PropertyScope::kConsumer;
    case ClientRole::kAdmin:
      return scope == PropertyScope::kAny;
  }
  return false;
}

}  // namespace

KafkaProperties FetchQueueProperties(size_t bytes) {
  KafkaProperties props;
  if (bytes == 0) return props;
  constexpr size_t kMinFetch = size_t{64} << 10;
  constexpr size_t kMaxFetch = size_t{1} << 20;
  const size_t quarter = bytes / 4;
  props.Set("queued.max.messages.kbytes", std::to_string(std::max<size_t>(1, quarter >> 10)));
  props.Set("max.partition.fetch.bytes",
            std::to_string(std::clamp(quarter, kMinFetch, kMaxFetch)));
  return props;
}

KafkaProperties ProducerQueueProperties(size_t bytes) {
  KafkaProperties props;
  if (bytes == 0) return props;
  props.Set("queue.buffering.max.kbytes", std::to_string(std::max<size_t>(1, bytes >> 10)));
  props.Set("queue.buffering.max.messages",
            std::to_string(std::max<size_t>(1000, bytes / (kLibrdkafkaRecordOverheadBytes + 112))));
  return props;
}

int64_t HeartbeatIntervalMs(std::chrono::milliseconds session_timeout) {
  return std::max<int64_t>(100, session_timeout.count() / 10);
}

std::string_view ClientRoleName(ClientRole role) {
  switch (role) {
    case ClientRole::kMainConsumer:
      return "the stream thread's consumer";
    case ClientRole::kRestoreConsumer:
      return "the stream thread's restore consumer";
    case ClientRole::kTransactionalProducer:
      return "the stream thread's transactional producer";
    case ClientRole::kAtLeastOnceProducer:
      return "the stream thread's producer";
    case ClientRole::kAdmin:
      return "the admin client";
    case ClientRole::kSinkConsumer:
      return "the sink's consumer";
    case ClientRole::kSinkProducer:
      return "the sink's dead-letter producer";
    case ClientRole::kGeneratorProducer:
      return "the generator's producer";
  }
  return "a Kafka client";
}

PropertyScope ScopeOf(std::string_view key) {
  if (Contains(kConsumerOnly, key)) return PropertyScope::kConsumer;
  if (Contains(kProducerOnly, key)) return PropertyScope::kProducer;
  return PropertyScope::kAny;
}

Result<KafkaProperties> BuildClientConfig(ClientRole role, const ClientSettings& settings,
                                          const KafkaProperties& user) {
  const RoleConfig config = ConfigOf(role, settings);
  KafkaProperties props;
  for (const auto& [key, value] : config.defaults) props.Set(key, value);
  for (const auto& entry : user.entries()) {
    // Named references, not a structured binding: clang 14 (the fuzz build)
    // cannot capture a binding in the lambda below.
    const auto& key = entry.first;
    const auto& value = entry.second;
    if (!Applies(role, ScopeOf(key))) continue;
    const auto forced = std::find_if(config.forced.begin(), config.forced.end(),
                                     [&key](const Forced& f) { return f.key == key; });
    if (forced == config.forced.end()) {
      props.Set(key, value);
      continue;
    }
    if (!forced->value.empty() && value == forced->value) continue;
    // The user's value is not shown: any property may hold a secret.
    std::string msg = "kafka." + key + ": " + std::string(ClientRoleName(role));
    msg += forced->value.empty() ? " leaves it unset" : " sets it to " + forced->value;
    msg += " (" + std::string(forced->why) + "); remove the setting";
    return Status::InvalidArgument(std::move(msg));
  }
  for (const Forced& f : config.forced) {
    if (!f.value.empty()) props.Set(f.key, f.value);
  }
  return props;
}

bool IsForcedSetting(ClientRole role, std::string_view key) {
  const RoleConfig config = ConfigOf(role, ClientSettings{});
  return std::any_of(config.forced.begin(), config.forced.end(),
                     [key](const Forced& f) { return f.key == key; });
}

}  // namespace eventflow::kafka
