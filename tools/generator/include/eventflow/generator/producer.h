// The generator's pipeline: an EventSource (the traffic model or a replayed
// JSON-lines file) pumped at a chosen pace into a RecordSink (Kafka, or
// stdout for --dry-run), with a progress line and a final summary.
//
// Delivery is never silent: the Kafka sink counts every delivery report, and
// Pump() fails when any record was not delivered, naming the first failure
// (topic, partition, error).
//
// Lifecycle: build a source and a sink, call Pump() once. Thread-safety: none,
// except `stop`, which a signal handler may set.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "eventflow/core/event.h"
#include "eventflow/core/event_codec.h"
#include "eventflow/core/status.h"
#include "eventflow/generator/traffic.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::generator {

//! One record to send. The views stay valid until the source's next Next().
struct OutRecord {
  EventTopic topic = EventTopic::kUserEvents;
  std::string_view key;        //!< the event's userId
  std::string_view value;      //!< the event's JSON
  int64_t timestamp_ms = 0;    //!< the event time
};

//! Where events come from.
class EventSource {
 public:
  virtual ~EventSource() = default;
  //! Fills `record` and returns true, returns false at the end, or an error.
  virtual Result<bool> Next(OutRecord* record) = 0;
};

//! Events from the traffic model, `count` of them (0 = no end).
class GeneratedSource final : public EventSource {
 public:
  GeneratedSource(const TrafficOptions& options, uint64_t count);
  Result<bool> Next(OutRecord* record) override;

 private:
  TrafficGenerator generator_;
  uint64_t remaining_;
  bool unbounded_;
  std::string json_;
};

//! Events replayed from a JSON-lines file: each non-empty line one event,
//! its topic chosen by "eventType", sent byte for byte as written.
class FileSource final : public EventSource {
 public:
  //! Reads the whole file once to validate it; returns InvalidArgument naming
  //! "<path>:<line>" and the decoder's reason for the first bad line, so a bad
  //! file sends nothing.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  Result<bool> Next(OutRecord* record) override;

 private:
  FileSource(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_;
  uint64_t line_number_ = 0;
  std::string line_;
  std::string user_id_;
  EventDecoder decoder_;
};

//! Where records go.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  //! Queues one record; may block briefly when the send queue is full.
  virtual Status Send(const OutRecord& record) = 0;
  //! Serves delivery reports without blocking.
  virtual void Poll() {}
  //! Waits until everything queued is delivered or failed; returns the first failure.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  //! Records delivered (acknowledged) per topic.
  virtual std::array<uint64_t, 3> Delivered() const = 0;
};

//! Writes each record's value and a newline to `out` (--dry-run).
class LineSink final : public RecordSink {
 public:
  explicit LineSink(std::FILE* out) : out_(out) {}
  Status Send(const OutRecord& record) override;
  Status Flush(std::chrono::milliseconds timeout) override;
  std::array<uint64_t, 3> Delivered() const override { return written_; }

 private:
  std::FILE* out_;
  std::array<uint64_t, 3> written_{};
};

//! Settings of the Kafka sink.
struct KafkaSinkOptions {
  std::string bootstrap_servers;            //!< required
  kafka::KafkaProperties kafka;           //!< pass-through "kafka.*" settings; they win
  std::string topic_prefix;                 //!< topics are <prefix>user-events etc.
  int partitions = 3;                       //!< for topics that do not exist yet
  int replication_factor = -1;              //!< -1: broker default
  bool create_topics = true;                //!< create missing topics (Admin API)
  //! retention.ms of topics created here; -1 (default): no time limit. Records
  //! carry their event time as timestamp, so a finite retention deletes a
  //! replay of old events at the broker's next retention check.
  int64_t retention_ms = -1;
};

//! Produces to Kafka: key = userId, record timestamp = event time, acks=all,
//! idempotence on, lz4 batches, Java-compatible murmur2 partitioning so that
//! Java and C++ producers put a user's events in the same partition.
class KafkaSink final : public RecordSink {
 public:
  //! Connects, creates missing topics, checks partition counts of existing ones.
  static Result<std::unique_ptr<KafkaSink>> Create(const KafkaSinkOptions& options);
  ~KafkaSink() override;
  Status Send(const OutRecord& record) override;
  void Poll() override;
  Status Flush(std::chrono::milliseconds timeout) override;
  std::array<uint64_t, 3> Delivered() const override;

  //! The full topic name used for `topic`.
  const std::string& TopicNameFor(EventTopic topic) const;

 private:
  struct State;
  explicit KafkaSink(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

//! How fast and how long to pump.
struct PumpOptions {
  double rate = 10.0;                               //!< events/s; <= 0 means as fast as possible
  std::chrono::milliseconds duration{0};            //!< 0: until the source ends
  bool progress = false;                            //!< a refreshing line on stderr
  std::chrono::milliseconds flush_timeout{120'000}; //!< for the final flush
};

//! What was done.
struct PumpSummary {
  std::array<uint64_t, 3> sent{};       //!< per EventTopic
  std::array<uint64_t, 3> delivered{};  //!< per EventTopic
  double seconds = 0;                   //!< wall time from first send to flushed
  uint64_t total_sent() const { return sent[0] + sent[1] + sent[2]; }
  //! Events per second over the run.
  double rate() const { return seconds > 0 ? static_cast<double>(total_sent()) / seconds : 0; }
  //! Returns the summary as a one-line JSON object.
  std::string ToJson() const;
  //! Returns a human-readable multi-line summary.
  std::string ToText() const;
};

//! Moves records from `source` to `sink` until the source ends, `duration`
//! passes or `stop` becomes true, then flushes. Returns the summary, or the
//! first source error or delivery failure.
Result<PumpSummary> Pump(EventSource& source, RecordSink& sink, const PumpOptions& options,
                         const std::atomic<bool>& stop);

}  // namespace eventflow::generator
