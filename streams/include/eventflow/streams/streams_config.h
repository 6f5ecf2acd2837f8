// StreamsConfig: the settings of one application instance (KafkaStreams),
// named after Kafka Streams' (application.id, num.stream.threads, ...).
#pragma once

#include <chrono>
#include <string>

#include "eventflow/core/status.h"
#include "eventflow/kafka/data_loss.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/state/store_options.h"
#include "eventflow/streams/stream_task.h"

namespace eventflow::streams {

//! Delivery guarantee of the application.
enum class ProcessingGuarantee {
  kAtLeastOnce,   //!< offsets committed after outputs are acknowledged; duplicates after a crash
  kExactlyOnceV2, //!< outputs and offsets committed in one Kafka transaction per thread
};

//! Records gone before the application read them: fail (the default) or
//! skip and count (eventflow/kafka/data_loss.h; the sink shares the policy).
using DataLossPolicy = kafka::DataLossPolicy;

//! Settings of an application instance. Defaults follow Kafka Streams unless
//! a field says otherwise.
struct StreamsConfig {
  //! The application's name: consumer group, prefix of internal topics. Required.
  std::string application_id;
  //! Kafka bootstrap servers. Required.
  std::string bootstrap_servers;
  //! This instance's stable id: static membership (group.instance.id =
  //! <instance_id>-<thread>) and transactional.id (<application_id>-<instance_id>-<thread>),
  //! so that a restarted instance fences its own zombie. Instances of one
  //! application need distinct ids. Default: the host name.
  std::string instance_id;
  //! Stream threads (each with its own consumer, producer and tasks).
  int num_stream_threads = 1;
  //! Exactly-once (default) or at-least-once.
  ProcessingGuarantee processing_guarantee = ProcessingGuarantee::kExactlyOnceV2;
  //! How often a thread commits; zero means the default: 100 ms under
  //! exactly-once, 30 s under at-least-once.
  std::chrono::milliseconds commit_interval{0};
  //! Root of the persistent (RocksDB) state stores: each task's store is in
  //! <state_dir>/<application_id>/<task_id>/<store>/, created when the task
  //! first opens it and kept when the task closes, so that a restart restores
  //! only the changelog after the offset stored with the data. In-memory
  //! stores do not use it. Empty: opening the first RocksDB store fails.
  std::string state_dir = "/tmp/eventflow-streams";
  //! Replication factor of the internal topics (changelogs, repartition
  //! topics, the dead-letter topic) the application creates; -1 (the
  //! default): the broker's default.replication.factor (scripts/kafka's
  //! 3-node cluster: 3, with min.insync.replicas 2). Their
  //! min.insync.replicas is the broker's too.
  int replication_factor = -1;
  //! Records a task buffers per input partition before the thread stops
  //! taking more from that partition's queue (librdkafka keeps fetching up to
  //! queued.max.messages.kbytes); Kafka Streams' buffered.records.per.partition.
  int max_buffered_records_per_partition = 1000;
  //! How bad records are handled (dead-letter topic by default).
  ErrorPolicy deserialization_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy processing_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy production_errors = ErrorPolicy::kDeadLetter;
  //! Event times further than this ahead of the wall clock are bad input.
  std::chrono::milliseconds max_future_skew = std::chrono::hours(24);
  //! memory.budget.bytes: the instance's memory budget, split among its
  //! large buffers — the consumers' prefetch, the restore consumers', the
  //! producers' queues and the state (memory_split.h has the split and what
  //! it leaves out). Default 256 MiB, for a 512 MiB container. Each part
  //! below overrides its share when non-zero; "kafka.<property>" settings
  //! win over the librdkafka values derived from it.
  size_t memory_budget_bytes = size_t{256} << 20;
  //! consumer.prefetch.bytes: the stream threads' consumers' fetch queues
  //! together (all threads). 0 (the default): 1/16 of the budget.
  size_t consumer_prefetch_bytes = 0;
  //! restore.prefetch.bytes: the restore consumers' fetch queues together.
  //! 0 (the default): 1/16 of the budget.
  size_t restore_prefetch_bytes = 0;
  //! producer.buffer.bytes: the producers' queues of unsent records
  //! together. 0 (the default): 1/32 of the budget.
  size_t producer_buffer_bytes = 0;
  //! All state memory of the instance (statestore.memory.bytes): one RocksDB
  //! block cache and write buffer manager shared by every store, plus the
  //! record caches (record_cache_ratio of it, split among the tasks; 0 turns
  //! caching off, so every update is forwarded at once). 0 (the default):
  //! what the budget leaves after the Kafka parts (27/32 of it by default).
  size_t state_memory_bytes = 0;
  double record_cache_ratio = 0.1;
  //! Called for every RocksDB store after the runtime's options (budget
  //! included), to tune RocksDB (Kafka Streams' rocksdb.config.setter).
  state::RocksDbConfigSetter rocksdb_config_setter;
  //! watermark.idle.timeout.ms: after this long of wall clock with nothing
  //! to process, an input partition (or, on a repartition partition, an
  //! upstream task not heard from) stops holding its task's watermark back,
  //! until it gets data again; records it then delivers for windows the
  //! watermark closed meanwhile are dropped as late. Zero (the default) turns
  //! this off: a quiet partition holds windows open as long as it is quiet
  //! (DESIGN.md "Time"). Must not be negative.
  std::chrono::milliseconds watermark_idle_timeout{0};
  //! session.timeout.ms of the stream threads' consumers: how long a member
  //! that stopped heartbeating (killed, stopped, cut off) keeps its
  //! partitions — static members keep them over a restart this quick, and do
  //! not leave the group on close. 10 s (Kafka Streams: 45 s), so that a lost
  //! instance's partitions move within about this plus a heartbeat (a tenth
  //! of it) and a rebalance; its open transaction is aborted when they move
  //! (DepartedMemberFencer). The broker's group.min.session.timeout.ms (6 s
  //! by default) bounds it from below.
  std::chrono::milliseconds session_timeout{10'000};
  //! Records gone before the application read them (input, repartition or
  //! changelog topics; see DataLossPolicy and docs/architecture.md "Topics
  //! and retention").
  DataLossPolicy data_loss_policy = DataLossPolicy::kFail;
  //! repartition.purge.interval.ms: how often a thread deletes (DeleteRecords)
  //! the records of its repartition partitions below their committed offsets,
  //! after a successful commit. Repartition topics keep records by time
  //! forever (retention.ms=-1), so this is what bounds them. Zero: never purge.
  std::chrono::milliseconds repartition_purge_interval{30'000};
  //! windowstore.changelog.additional.retention.ms: added to a window or
  //! session store's retention for its changelog's retention.ms (changelog
  //! records carry the wall-clock time they were written, so this counts in
  //! wall-clock time from the write).
  std::chrono::milliseconds windowstore_changelog_additional_retention{std::chrono::hours(24)};
  //! A partition whose committed end (last stable offset) is ahead of the
  //! thread's position and from which nothing was taken for this long is
  //! stalled: logged at ERROR, counted (eventflow_partition_stalls_total),
  //! reported by stalled_partitions() (so /readyz fails), and its fetch is
  //! restarted by assigning the partitions again at the position
  //! (PartitionRouter::RestartFetch). Zero turns the check off.
  std::chrono::milliseconds partition_stall_timeout{120'000};
  //! restore.batch.records: changelog records a restore applies to a store in
  //! one atomic write (with the offset they reach, so a crash mid-restore
  //! resumes there). Must be positive.
  int restore_batch_records = 10'000;
  //! restore.timeout.ms: how long restoring a thread's new tasks may take
  //! before the thread fails. Must be positive.
  std::chrono::milliseconds restore_timeout = std::chrono::minutes(5);
  //! num.standby.replicas: how many other instances keep a warm copy of each
  //! stateful task's stores — standby tasks, which tail the task's changelogs
  //! with read_committed into transactional stores and never process — so
  //! that a task moving to one of them replays only the tail of its changelog.
  //! Every instance computes the same placement from the consumer group's
  //! description (docs/architecture.md, "Standby replicas and warm-up"): never
  //! on the instance running the task, on the member that would get the task
  //! if its owner left. Also turns on the warm-up of a joining instance
  //! (warmup_timeout). Needs instance_id: members are told apart by their
  //! static membership (group.instance.id). 0 (the default): no standbys.
  int num_standby_replicas = 0;
  //! acceptable.recovery.lag: how many changelog offsets a warm copy may be
  //! behind and still count as caught up — a joining instance joins the group
  //! (so that tasks move to it) only once each task it would get is within
  //! this of its changelog's end. Must not be negative.
  int64_t acceptable_recovery_lag = 10'000;
  //! warmup.timeout.ms: the longest a joining instance (num_standby_replicas
  //! > 0) warms the tasks it would get before it joins the group anyway
  //! (logged); the old owners keep processing meanwhile. 0: join at once.
  std::chrono::milliseconds warmup_timeout = std::chrono::minutes(5);
  //! application.server: "host:port" (or "[v6]:port") where this instance
  //! serves interactive queries (store_query.h). Other instances learn it
  //! through the consumer group — the stream threads' consumers carry it in
  //! their client.id, "<client id>@<host>:<port>" — and send queries for the
  //! keys this instance holds there. Empty (the default): this instance's
  //! stores can be read locally, but other instances cannot find it.
  std::string application_server;
  //! librdkafka properties passed through unchanged ("kafka.<property>"); they win.
  kafka::KafkaProperties kafka;

  //! Returns InvalidArgument naming the first invalid setting.
  Status Validate() const;
  //! The commit interval in force (resolving the zero default).
  std::chrono::milliseconds EffectiveCommitInterval() const;
  //! The instance id in force (resolving the host-name default).
  std::string EffectiveInstanceId() const;
};

}  // namespace eventflow::streams
