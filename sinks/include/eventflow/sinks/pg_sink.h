// PgSink: the exactly-once PostgreSQL sink. It consumes the four output topics
// of table_contract.h and keeps the four tables equal to the latest value per
// key (tombstones delete), exactly once, whatever crashes, restarts and
// rebalances happen.
//
// How (docs/architecture.md, "PostgreSQL sink"):
//   - Kafka: its own consumer group (`group_id`), `range` assignor with eager
//     rebalancing, isolation.level=read_committed, no auto-commit. The truth
//     about progress is PostgreSQL's eventflow_sink_offsets table, not Kafka: on
//     every assignment the sink reads the assigned partitions' rows and starts
//     there (the beginning when a partition has no row).
//   - One PostgreSQL transaction per batch (up to `batch_size` records or
//     `batch_time` after the first): first a compare-and-set per partition of
//     eventflow_sink_offsets (UPDATE ... WHERE next_offset = <what this instance
//     last read or wrote>, or INSERT ... ON CONFLICT DO NOTHING for a new
//     partition), then multi-row parameterised upserts (INSERT ... ON CONFLICT
//     (key) DO UPDATE; rows deduplicated by key within the batch, last wins) and
//     deletes for tombstones, then COMMIT. A CAS that touches no row means
//     another instance wrote past us: the transaction rolls back (nothing of
//     ours lands), and the sink re-reads the offsets and goes on from them
//     (kFenced in the log and probe). After COMMIT the offsets are also
//     committed to Kafka, asynchronously, for lag monitoring only.
//   - PostgreSQL unavailable (restart, dropped connection, unknown COMMIT
//     outcome): reconnect with capped exponential backoff for as long as it
//     takes (until Stop), logging once per outage, then re-read the offsets:
//     they tell whether the batch landed (done) or not (written again); any
//     other value is another instance's (as after kFenced). Nothing lost,
//     nothing doubled.
//   - Positions: the sink never seeks (librdkafka 2.0.2 can lose a seek that
//     meets a fetch start or stop, and then discard what it fetches without a
//     word). A partition whose stored offset moved past the sink's position
//     is skipped forward (records below it are ignored); one whose stored
//     offset is behind it (another instance wrote less than a dropped batch
//     had read) takes nothing until the consumer's queue is drained (a
//     revocation on its way is served first) and is then fetched again by
//     assigning the partitions again, each at an explicit offset.
//   - Stall guard (`partition_stall_timeout`, 30 s; partition_stall_guard.h):
//     a partition whose last stable offset, asked on the dead-letter
//     producer's connection (on the consumer's the request would wait behind
//     the fetch long poll), is past the sink's position while nothing arrived
//     from it for the time-out is stalled: logged at ERROR with topic,
//     partition, offsets and librdkafka's view of its fetcher, counted
//     (partition_stalls), shown (stalled_partitions, /readyz fails), and its
//     fetch restarted by assigning the partitions again — again every
//     time-out until something arrives.
//   - Bad rows: a record the contract rejects, or a row PostgreSQL rejects
//     (SQLSTATE class 22 or 23; the batch is then replayed row by row under
//     SAVEPOINTs to isolate it), goes to the dead-letter topic with headers
//     eventflow.error, eventflow.error.stage (sink-decode | sink-postgres),
//     eventflow.source.topic/.partition/.offset, and is counted; the rest of
//     the batch lands. Dead-letter records are flushed before the batch
//     commits (at least once: a batch retried after a failed COMMIT may send
//     them again).
//
// Lifecycle: Create() validates the options and creates the Kafka clients;
// Run() connects to PostgreSQL, ensures the schema, subscribes and loops until
// Stop() (or a fatal error); on stop it finishes and commits the current
// batch, closes the consumer (leaving the group) and flushes the dead-letter
// producer. A PgSink runs once.
//
// Metrics: PgSinkProbe (probe()); the consumer reports librdkafka statistics
// every statistics.interval.ms (their end offsets give the lag).
//
// Thread-safety: Run() on one thread; Stop() and probe() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventflow/core/histogram.h"
#include "eventflow/core/status.h"
#include "eventflow/kafka/client_statistics.h"
#include "eventflow/kafka/data_loss.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/sinks/table_contract.h"

// librdkafka's handle, for a test hook only (the header stays free of rdkafka.h).
typedef struct rd_kafka_s rd_kafka_t;

namespace eventflow::sinks {

//! Settings of a PgSink, with their defaults.
struct PgSinkOptions {
  std::string bootstrap_servers;            //!< required
  std::string postgres_url;                 //!< required; any libpq URL or conninfo
  std::string group_id = "eventflow-sink";  //!< the sink's consumer group
  std::string topic_prefix;                 //!< topics are <prefix><table>
  size_t batch_size = 5000;                 //!< records per transaction, at most
  std::chrono::milliseconds batch_time{200};  //!< a batch closes this long after its first record
  std::string dlq_topic = "eventflow-sink-dlq";  //!< dead-letter topic (created when missing)
  int dlq_partitions = 1;                   //!< partitions of the dead-letter topic if created
  bool commit_to_kafka = true;              //!< also commit offsets to Kafka (lag monitoring)
  std::chrono::milliseconds reconnect_backoff_min{100};  //!< first reconnect delay
  std::chrono::milliseconds reconnect_backoff_max{5000};  //!< cap of the doubling delay
  std::chrono::seconds connect_timeout{10};  //!< one PostgreSQL connection attempt
  //! How often, at most, the sink logs one progress line (records and batches
  //! since the last line, partitions whose stored offset is behind the end the
  //! consumer last saw); only when it made progress or is behind.
  std::chrono::milliseconds progress_interval{30'000};
  //! A partition whose last stable offset is past the sink's position while
  //! nothing arrived from it for this long (time spent waiting for records;
  //! asked again every third of it, at most every 10 s) is stalled: ERROR,
  //! counted, /readyz fails, and its fetch is restarted. Zero turns the guard off.
  std::chrono::milliseconds partition_stall_timeout{30'000};
  //! Records deleted from an output topic before the sink wrote them (its
  //! position is below the log start): stop naming topic, partition, offsets
  //! and count (kFail, the default), or log an ERROR, count them
  //! (PgSinkProbe records_lost) and go on from the log start (kSkip).
  kafka::DataLossPolicy data_loss_policy = kafka::DataLossPolicy::kFail;
  //! PostgreSQL application_name of the sink's connection (pg_stat_activity).
  std::string application_name = "eventflow-sink";
  //! librdkafka settings applied over the sink's own (kafka.* pass-through).
  kafka::KafkaProperties kafka;
  //! Test hook: called on the sink thread after a batch is collected and before
  //! its transaction begins (e.g. to move an offsets row under the sink). Empty
  //! in production.
  std::function<void()> before_transaction_for_testing;
  //! Test hook: called on the sink thread after each committed batch with the
  //! sink's consumer (e.g. to make librdkafka stop delivering a partition, as
  //! a lost seek does). Empty in production.
  std::function<void(rd_kafka_t* consumer)> after_batch_for_testing;

  //! Returns InvalidArgument naming the first bad setting.
  Status Validate() const;
};

//! Bucket bounds (seconds) of eventflow_sink_batch_duration_seconds.
inline constexpr double kSinkBatchDurationBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1,    2.5,   5,
                                                       10,    30,     60};
//! Bucket bounds (seconds) of eventflow_sink_commit_duration_seconds.
inline constexpr double kSinkCommitDurationBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,  0.01,    0.025,  0.05,  0.1,
                                                        0.25,   0.5,     1,      5};

//! The sink's metrics (the eventflow-sink binary serves them on /metrics:
//! eventflow_sink_rows_written_total{table}, eventflow_sink_dlq_records_total,
//! eventflow_sink_lag_records{topic,partition}, ...). Counters and histograms
//! have one writer, the sink thread, which updates them after each batch
//! (never per record); any thread reads them. The progress of the assigned
//! partitions (for lag) is published per batch under a mutex.
class PgSinkProbe {
 public:
  //! Where the sink is in its life (/healthz, /readyz).
  enum class State { kStarting, kRunning, kStopped, kFailed };

  //! One assigned partition: what is stored in PostgreSQL, against the end
  //! of the partition from the consumer's latest statistics report.
  struct PartitionLag {
    std::string topic;
    int32_t partition = 0;
    int64_t stored_next = -1;  //!< next offset after what PostgreSQL holds (-1: no row yet)
    //! last stable offset: the newer of the consumer's latest statistics and
    //! the sink's own last question to the broker (progress line, stall
    //! guard); -1: unknown
    int64_t end = -1;
    int64_t lag = -1;          //!< max(0, end − stored_next); -1: unknown
  };

  //! A consistent-enough copy for reporting.
  struct Snapshot {
    std::array<uint64_t, kTableCount> rows_written{};  //!< upserted rows per table (PipelineTables order)
    std::array<uint64_t, kTableCount> rows_deleted{};  //!< tombstone deletes per table
    uint64_t records_consumed = 0;  //!< records covered by committed batches
    uint64_t dlq_records = 0;       //!< records sent to the dead-letter topic
    uint64_t batches = 0;           //!< committed transactions
    uint64_t retries = 0;           //!< batches rolled back and retried (any reason)
    uint64_t fenced = 0;            //!< compare-and-set failures (stale instance)
    uint64_t reconnects = 0;        //!< successful PostgreSQL reconnections
    //! partitions found stalled (the stall guard), each episode once
    uint64_t partition_stalls = 0;
    //! assigned partitions stalled now (judged stalled, nothing arrived since)
    int stalled_partitions = 0;
    //! records skipped because the broker had deleted them, per table's topic
    //! (eventflow_records_lost_total{topic}; 0 unless DataLossPolicy::kSkip)
    std::array<uint64_t, kTableCount> records_lost{};
    //! Time to write a batch: from its first attempt to its COMMIT, retries included.
    Histogram::Snapshot batch_duration;
    //! Time PostgreSQL took to COMMIT a batch's transaction.
    Histogram::Snapshot commit_duration;
    std::array<std::string, kTableCount> topics;  //!< each table's topic (with the prefix)
    State state = State::kStarting;
    bool postgres_connected = false;  //!< a connection is up (not in an outage)
    std::vector<PartitionLag> partitions;  //!< assigned partitions (lag: see Read())
    //! The consumer's latest librdkafka statistics (nullptr: none yet).
    std::shared_ptr<const kafka::ClientStatistics> consumer_statistics;
  };

  //! Returns the current values; lag is computed from the consumer's latest
  //! statistics (parsed here when new, on the caller's thread).
  Snapshot Read() const;

 private:
  friend class PgSink;
  struct Progress {
    size_t table;
    int32_t partition;
    int64_t stored_next;
    int64_t end;  // last stable offset as the sink last asked; -1: not asked
  };
  //! Replaces the assigned partitions' progress (the sink thread, per batch).
  void PublishProgress(std::vector<Progress> progress);

  std::array<std::string, kTableCount> topics_;  // set once by PgSink::Create
  Histogram batch_duration_{kSinkBatchDurationBuckets};
  Histogram commit_duration_{kSinkCommitDurationBuckets};
  std::atomic<State> state_{State::kStarting};
  std::atomic<bool> postgres_connected_{false};
  const std::shared_ptr<kafka::StatisticsMailbox> statistics_ =
      std::make_shared<kafka::StatisticsMailbox>();
  mutable std::mutex progress_mu_;
  std::vector<Progress> progress_;  // guarded by progress_mu_
  std::array<std::atomic<uint64_t>, kTableCount> rows_written_{};
  std::array<std::atomic<uint64_t>, kTableCount> rows_deleted_{};
  std::atomic<uint64_t> records_consumed_{0};
  std::atomic<uint64_t> dlq_records_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> fenced_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> partition_stalls_{0};
  std::atomic<int> stalled_partitions_{0};
  std::array<std::atomic<uint64_t>, kTableCount> records_lost_{};
};

class PgSink {
 public:
  //! Validates `options` and creates the consumer and the dead-letter producer.
  //! Returns InvalidArgument naming a bad setting (a secret's value is never shown).
  static Result<std::unique_ptr<PgSink>> Create(PgSinkOptions options);
  ~PgSink();
  PgSink(const PgSink&) = delete;
  PgSink& operator=(const PgSink&) = delete;

  //! Runs until Stop(). Returns OK after a clean stop, InvalidArgument when the
  //! schema or a setting is unusable, or a fatal Kafka error.
  Status Run();

  //! Asks Run() to finish its batch and return; safe from any thread and from a
  //! signal handler's flag-watching thread.
  void Stop() { stop_.store(true, std::memory_order_relaxed); }

  //! The sink's counters.
  const PgSinkProbe& probe() const { return probe_; }

 private:
  class Runner;
  PgSink() = default;

  std::atomic<bool> stop_{false};
  PgSinkProbe probe_;
  std::unique_ptr<Runner> runner_;
};

}  // namespace eventflow::sinks
