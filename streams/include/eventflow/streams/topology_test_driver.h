// TopologyTestDriver: runs a Topology in-process, without a broker, for unit
// tests of topologies (the users' and our own).
//
// Every sub-topology runs as one StreamTask on partition 0 — the same task code
// as in production. Piping a record into an input topic processes it (and
// everything it causes, including records routed through repartition
// topics) before PipeInput() returns. Records written to any topic, including
// the dead-letter topic "<application.id>-dlq", are kept per topic and read
// with TestOutputTopic. The wall clock is a mock that only
// AdvanceWallClockTime() moves; it fires wall-clock punctuators.
//
// Time behaves as in the runtime (see StreamTask): every source topic's
// partition 0 is registered with its task at construction, so a task reading
// several topics has as watermark the minimum of their stream times and a
// topic nothing was piped into yet holds windows open (set
// watermark_idle_timeout and advance the wall clock to let it go idle).
// Records to a repartition topic carry the writing task's watermark header;
// at every commit each task sends its watermark records, which the reading
// task consumes (a repartition topic has one partition and one upstream task
// per writing sub-topology here).
//
// Interactive queries (StoreQueries, store_query.h) read the stores' committed
// state as on a running instance: every store has one partition (0), always
// local; with commit_every_input = false a write shows only after Commit().
//
// Lifecycle: construct (check status()), create topics, pipe and read.
// Thread-safety: none, except the StoreQueries methods, which may be called
// from other threads (e.g. an HTTP server's) while the test thread pipes.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/store_query.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

//! A record as written to an output topic, still in bytes.
struct TestRecord {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp = 0;
  Headers headers;
};

//! Settings of the driver.
struct TestDriverOptions {
  std::string application_id = "test-app";
  //! Initial mock wall-clock time (epoch ms); default: the real time at construction.
  std::optional<int64_t> initial_wall_clock_ms;
  ErrorPolicy deserialization_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy processing_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy production_errors = ErrorPolicy::kDeadLetter;
  std::chrono::milliseconds max_future_skew = std::chrono::hours(24);
  //! Records larger than this (key + value bytes) are refused, like the
  //! producer's message.max.bytes (librdkafka's default, 1000000).
  size_t max_record_bytes = 1'000'000;
  //! Where RocksDB stores live; default: a fresh directory under /tmp,
  //! removed by the driver's destructor.
  std::optional<std::filesystem::path> state_dir;
  //! Each task's record cache (0: off, every update forwarded at once).
  size_t record_cache_bytes = size_t{10} << 20;
  //! Commit (flush the record caches, make store writes durable) after every
  //! piped input record and wall-clock advance, as Kafka's driver does. With
  //! false, only Commit() does, so tests can see per-commit deduplication.
  bool commit_every_input = true;
  //! StreamsConfig::watermark_idle_timeout, measured on the mock wall clock
  //! (checked by AdvanceWallClockTime()); 0: off.
  std::chrono::milliseconds watermark_idle_timeout{0};
};

class TopologyTestDriver;

//! Typed input to one topic.
template <typename K, typename V>
class TestInputTopic {
 public:
  //! Pipes one record (and processes everything it causes). Returns the
  //! task's error under ErrorPolicy::kFail.
  Status PipeInput(const K& key, const V& value, int64_t timestamp, Headers headers = {});
  //! Pipes a record with a Kafka null value (a tombstone).
  Status PipeTombstone(const K& key, int64_t timestamp);
  //! Pipes raw bytes (for bad-input tests); nullopt is a Kafka null.
  Status PipeRaw(std::optional<std::string_view> key, std::optional<std::string_view> value,
                 int64_t timestamp, Headers headers = {});

 private:
  friend class TopologyTestDriver;
  TestInputTopic(TopologyTestDriver* driver, std::string topic, SerdePtr<K> key_serde,
                 SerdePtr<V> value_serde)
      : driver_(driver),
        topic_(std::move(topic)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  TopologyTestDriver* driver_;
  std::string topic_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
};

//! Typed reading of what was written to one topic, oldest first.
template <typename K, typename V>
class TestOutputTopic {
 public:
  //! True when no unread record is left.
  bool IsEmpty() const;
  //! Number of unread records.
  size_t QueueSize() const;
  //! Reads and removes the oldest record; an error when empty or undecodable.
  Result<Record<K, V>> ReadRecord();
  //! Reads and removes every record (stops at the first undecodable one).
  Result<std::vector<Record<K, V>>> ReadRecordsToList();
  //! Reads and removes every record as (key, value) pairs.
  Result<std::vector<std::pair<K, V>>> ReadKeyValuesToList();

 private:
  friend class TopologyTestDriver;
  TestOutputTopic(TopologyTestDriver* driver, std::string topic, SerdePtr<K> key_serde,
                  SerdePtr<V> value_serde)
      : driver_(driver),
        topic_(std::move(topic)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  TopologyTestDriver* driver_;
  std::string topic_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
};

class TopologyTestDriver final : public RecordCollector, public StoreQueries {
 public:
  //! Validates the topology and creates one task per sub-topology.
  explicit TopologyTestDriver(const Topology& topology, TestDriverOptions options = {});
  ~TopologyTestDriver() override;
  TopologyTestDriver(const TopologyTestDriver&) = delete;
  TopologyTestDriver& operator=(const TopologyTestDriver&) = delete;

  //! OK, or why the topology cannot run (validation or task init error).
  const Status& status() const { return status_; }

  //! An input topic (as named in the topology; internal topics are fed by the driver).
  template <typename K, typename V>
  TestInputTopic<K, V> CreateInputTopic(std::string topic, SerdePtr<K> key_serde,
                                        SerdePtr<V> value_serde) {
    return TestInputTopic<K, V>(this, std::move(topic), std::move(key_serde),
                                std::move(value_serde));
  }
  //! An output topic; use DeadLetterTopic(application_id) for the DLQ.
  template <typename K, typename V>
  TestOutputTopic<K, V> CreateOutputTopic(std::string topic, SerdePtr<K> key_serde,
                                          SerdePtr<V> value_serde) {
    return TestOutputTopic<K, V>(this, std::move(topic), std::move(key_serde),
                                 std::move(value_serde));
  }

  //! Pipes raw bytes into `topic` and processes everything it causes.
  Status PipeRaw(const std::string& topic, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, int64_t timestamp, Headers headers);

  //! Moves the mock wall clock forward, fires due wall-clock punctuators and,
  //! with watermark_idle_timeout, lets partitions idle that long stop holding
  //! their task's watermark back (firing the stream-time punctuators it makes due).
  Status AdvanceWallClockTime(std::chrono::milliseconds advance);

  //! Flushes the record caches (their merged updates flow downstream), sends
  //! each task's watermark records (processed downstream) and commits the
  //! stores, like a runtime commit.
  Status Commit();

  //! The mock wall-clock time (epoch ms).
  int64_t wall_clock_ms() const { return wall_clock_ms_; }

  //! Unread records written to `topic`, oldest first (bytes).
  std::deque<TestRecord>& OutputQueue(const std::string& topic) { return outputs_[topic]; }

  //! Topics something was written to, sorted.
  std::vector<std::string> ProducedTopicNames() const;

  //! The state store `name` (of the task that owns it), or nullptr. Reads see
  //! everything processed and committed so far (with commit_every_input, the
  //! default, everything processed).
  state::StateStore* GetStateStore(std::string_view name);

  //! The task of sub-topology `subtopology` (watermark, partition times).
  const StreamTask& Task(int subtopology) const { return *tasks_.at(subtopology); }

  //! Counters of the task of sub-topology `subtopology`.
  const TaskCounters& Counters(int subtopology) const { return tasks_.at(subtopology)->counters(); }

  // StoreQueries (see the file comment).
  std::vector<QueryableStoreInfo> QueryableStoreInfos() const override;
  Result<ReadOnlyStore> Store(const StoreQueryParameters& params) const override;
  Result<KeyQueryMetadata> QueryMetadataForKey(std::string_view store,
                                               std::string_view key) const override;
  Result<std::vector<StreamsMetadata>> StreamsMetadataForStore(
      std::string_view store) const override;
  void MarkMetadataStale() const override {}

 private:
  Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
              std::optional<std::string_view> value, int64_t timestamp,
              const Headers& headers) override;
  Status Drain();
  Status ProcessAll();

  Topology topology_;  // a copy: the tasks reference it and its sub-topologies
  TestDriverOptions options_;
  std::vector<Topology::SubTopology> subtopologies_;
  std::vector<std::unique_ptr<StreamTask>> tasks_;
  std::map<std::string, StreamTask*> task_by_topic_;  // resolved source topic → task
  std::map<std::string, std::deque<TestRecord>> outputs_;
  std::map<std::string, int64_t> next_offset_;
  std::vector<std::string> internal_topics_;  // resolved names fed back as input
  int64_t wall_clock_ms_ = 0;
  std::filesystem::path state_dir_;
  bool owns_state_dir_ = false;
  std::unique_ptr<QueryableStores> queryable_;  // the tasks' stores, for StoreQueries
  Status status_;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename K, typename V>
Status TestInputTopic<K, V>::PipeInput(const K& key, const V& value, int64_t timestamp,
                                       Headers headers) {
  std::string k, v;
  const bool has_key = key_serde_->Serialize(key, &k);
  const bool has_value = value_serde_->Serialize(value, &v);
  return driver_->PipeRaw(topic_, has_key ? std::optional<std::string_view>(k) : std::nullopt,
                          has_value ? std::optional<std::string_view>(v) : std::nullopt,
                          timestamp, std::move(headers));
}

template <typename K, typename V>
Status TestInputTopic<K, V>::PipeTombstone(const K& key, int64_t timestamp) {
  std::string k;
  const bool has_key = key_serde_->Serialize(key, &k);
  return driver_->PipeRaw(topic_, has_key ? std::optional<std::string_view>(k) : std::nullopt,
                          std::nullopt, timestamp, {});
}

template <typename K, typename V>
Status TestInputTopic<K, V>::PipeRaw(std::optional<std::string_view> key,
                                     std::optional<std::string_view> value, int64_t timestamp,
                                     Headers headers) {
  return driver_->PipeRaw(topic_, key, value, timestamp, std::move(headers));
}

template <typename K, typename V>
bool TestOutputTopic<K, V>::IsEmpty() const {
  return driver_->OutputQueue(topic_).empty();
}

template <typename K, typename V>
size_t TestOutputTopic<K, V>::QueueSize() const {
  return driver_->OutputQueue(topic_).size();
}

template <typename K, typename V>
Result<Record<K, V>> TestOutputTopic<K, V>::ReadRecord() {
  auto& queue = driver_->OutputQueue(topic_);
  if (queue.empty()) return Status::NotFound("no record left in topic \"" + topic_ + "\"");
  TestRecord raw = std::move(queue.front());
  queue.pop_front();
  Record<K, V> record;
  auto view = [](const std::optional<std::string>& s) {
    return s ? std::optional<std::string_view>(*s) : std::nullopt;
  };
  EVENTFLOW_RETURN_IF_ERROR(key_serde_->Deserialize(view(raw.key), &record.key)
                                .WithContext("topic \"" + topic_ + "\" key"));
  EVENTFLOW_RETURN_IF_ERROR(value_serde_->Deserialize(view(raw.value), &record.value)
                                .WithContext("topic \"" + topic_ + "\" value"));
  record.timestamp = raw.timestamp;
  record.headers = std::move(raw.headers);
  return record;
}

template <typename K, typename V>
Result<std::vector<Record<K, V>>> TestOutputTopic<K, V>::ReadRecordsToList() {
  std::vector<Record<K, V>> out;
  while (!IsEmpty()) {
    auto r = ReadRecord();
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

template <typename K, typename V>
Result<std::vector<std::pair<K, V>>> TestOutputTopic<K, V>::ReadKeyValuesToList() {
  auto records = ReadRecordsToList();
  if (!records.ok()) return records.status();
  std::vector<std::pair<K, V>> out;
  for (auto& r : *records) out.emplace_back(std::move(r.key), std::move(r.value));
  return out;
}

}  // namespace eventflow::streams
