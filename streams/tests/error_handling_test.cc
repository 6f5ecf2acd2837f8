// Bad input and failing processors: the dead-letter topic "<app>-dlq" with its
// headers, stream time untouched by bad timestamps, and ErrorPolicy::kFail.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using KL = std::pair<S, int64_t>;
using std::chrono::milliseconds;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kDay = 24 * 3600 * 1000;

TestDriverOptions Options() {
  TestDriverOptions options;
  options.application_id = "err-app";
  options.initial_wall_clock_ms = kNow;
  return options;
}

std::string HeaderValue(const Headers& headers, std::string_view key) {
  const std::string* value = headers.LastValue(key);
  return value != nullptr ? *value : "<missing>";
}

// Passes (string, int64) records on.
Topology NumbersTopology() {
  Topology topology;
  topology.AddSource<S, int64_t>("source", {"numbers"}, Serdes::String(), Serdes::Int64())
      .AddSink<S, int64_t>("sink", "out", Serdes::String(), Serdes::Int64(), {"source"});
  return topology;
}

TEST(ErrorHandlingTest, UndecodableRecordGoesToTheDeadLetterTopicAndTheNextOneFlows) {
  TopologyTestDriver driver(NumbersTopology(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("numbers", Serdes::String(), Serdes::Int64());

  Headers original;
  original.Add("origin", "sensor-7");
  ASSERT_TRUE(in.PipeRaw("k", "abc", 500, original).ok());  // 3 bytes, not an int64
  ASSERT_TRUE(in.PipeInput("good", 42, 600).ok());

  auto& dlq = driver.OutputQueue("err-app-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  const TestRecord& dead = dlq.front();
  EXPECT_EQ(dead.key, std::optional<S>("k"));  // the bytes as consumed
  EXPECT_EQ(dead.value, std::optional<S>("abc"));
  // Stamped when dead-lettered (the driver's wall clock), its own time in a header.
  EXPECT_EQ(dead.timestamp, driver.wall_clock_ms());
  EXPECT_NE(dead.timestamp, 500);
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.source.timestamp"), "500");
  EXPECT_EQ(HeaderValue(dead.headers, "origin"), "sensor-7");
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.error"),
            "value (int64 serde): int64 serde needs 8 bytes, got 3");
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.error.stage"), "deserialization");
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.source.topic"), "numbers");
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.source.partition"), "0");
  EXPECT_EQ(HeaderValue(dead.headers, "eventflow.source.offset"), "0");

  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::Int64());
  EXPECT_EQ(*out.ReadKeyValuesToList(), (std::vector<KL>{{"good", 42}}));
  EXPECT_EQ(driver.Counters(0).dead_lettered, 1u);
  EXPECT_EQ(driver.Counters(0).processed, 1u);
}

TEST(ErrorHandlingTest, UndecodableKeyAndNullValueAreDeadLettered) {
  Topology topology;
  topology.AddSource<int64_t, S>("source", {"in"}, Serdes::Int64(), Serdes::String())
      .AddSink<int64_t, S>("sink", "out", Serdes::Int64(), Serdes::String(), {"source"});
  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::Int64(), Serdes::String());
  ASSERT_TRUE(in.PipeRaw("12345", "v", 1).ok());
  ASSERT_TRUE(in.PipeTombstone(7, 2).ok());  // a string serde does not take nulls

  auto& dlq = driver.OutputQueue("err-app-dlq");
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.error"),
            "key (int64 serde): int64 serde needs 8 bytes, got 5");
  EXPECT_EQ(HeaderValue(dlq[1].headers, "eventflow.error"),
            "value (string serde): null where the string serde expects a value (use "
            "Serdes::Nullable)");
  EXPECT_EQ(dlq[1].value, std::nullopt);
  EXPECT_EQ(HeaderValue(dlq[1].headers, "eventflow.source.offset"), "1");
}

// Throws for the value "bad", passes the others on.
class Picky final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override { context_ = &context; }
  void Process(Record<S, S> record) override {
    if (record.value == "bad") throw std::runtime_error("cannot handle \"bad\"");
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<S, S>* context_ = nullptr;
};

Topology PickyTopology() {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("picky", [] { return std::make_unique<Picky>(); }, {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"picky"});
  return topology;
}

TEST(ErrorHandlingTest, ThrowingProcessorSendsTheRecordToTheDeadLetterTopic) {
  TopologyTestDriver driver(PickyTopology(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "fine", 1).ok());
  ASSERT_TRUE(in.PipeInput("b", "bad", 2).ok());
  ASSERT_TRUE(in.PipeInput("c", "also fine", 3).ok());

  auto& dlq = driver.OutputQueue("err-app-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].key, std::optional<S>("b"));
  EXPECT_EQ(dlq[0].value, std::optional<S>("bad"));
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.error"),
            "processing failed: cannot handle \"bad\"");
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.error.stage"), "processing");
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.source.topic"), "in");
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.source.offset"), "1");
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  EXPECT_EQ(*out.ReadKeyValuesToList(),
            (std::vector<std::pair<S, S>>{{"a", "fine"}, {"c", "also fine"}}));
}

// Records the stream-time punctuations and the task's stream time seen in Process().
struct TimeLog {
  std::vector<int64_t> punctuations;
  std::vector<int64_t> stream_time_in_process;
};

class TimeWatcher final : public Processor<S, S, S, S> {
 public:
  explicit TimeWatcher(TimeLog* log) : log_(log) {}
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    context.Schedule(milliseconds(1000), PunctuationType::kStreamTime,
                     [this](int64_t ts) { log_->punctuations.push_back(ts); });
  }
  void Process(Record<S, S> record) override {
    log_->stream_time_in_process.push_back(context_->stream_time());
    context_->Forward(std::move(record));
  }

 private:
  TimeLog* log_;
  ProcessorContext<S, S>* context_ = nullptr;
};

TEST(ErrorHandlingTest, BadTimestampsAreDeadLetteredAndDoNotAdvanceStreamTime) {
  TimeLog log;
  Topology topology;
  topology
      .AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String(),
                       [](const Record<S, S>& r) -> Result<int64_t> {
                         if (r.value == "?") return Status::InvalidArgument("no time field");
                         return r.timestamp;
                       })
      .AddProcessor<S, S, S, S>("watch", [&log] { return std::make_unique<TimeWatcher>(&log); },
                                {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"watch"});
  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());

  ASSERT_TRUE(in.PipeInput("ok", "v", 100).ok());                  // fires at 100
  ASSERT_TRUE(in.PipeInput("negative", "v", -1).ok());             // offset 1
  ASSERT_TRUE(in.PipeInput("future", "v", kNow + kDay + 1).ok());  // offset 2
  ASSERT_TRUE(in.PipeInput("no-time", "?", 200).ok());             // offset 3
  ASSERT_TRUE(in.PipeInput("ok", "v", 150).ok());                  // not due yet
  ASSERT_TRUE(in.PipeInput("ok", "v", 1000).ok());                 // fires at 1000

  // Had the future record advanced stream time, it would have fired and the
  // record at 1000 would not.
  EXPECT_EQ(log.punctuations, (std::vector<int64_t>{100, 1000}));
  ASSERT_EQ(log.stream_time_in_process.size(), 3u);
  EXPECT_LT(log.stream_time_in_process[2], 1000);

  auto& dlq = driver.OutputQueue("err-app-dlq");
  ASSERT_EQ(dlq.size(), 3u);
  for (const TestRecord& dead : dlq) {
    EXPECT_EQ(HeaderValue(dead.headers, "eventflow.error.stage"), "timestamp");
  }
  EXPECT_EQ(dlq[0].key, std::optional<S>("negative"));
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.error"), "timestamp: negative event time -1");
  EXPECT_EQ(HeaderValue(dlq[0].headers, "eventflow.source.offset"), "1");
  EXPECT_EQ(dlq[1].key, std::optional<S>("future"));
  EXPECT_EQ(HeaderValue(dlq[1].headers, "eventflow.error"),
            "timestamp: event time " + std::to_string(kNow + kDay + 1) +
                " is implausibly far in the future (limit " + std::to_string(kNow + kDay) + ")");
  EXPECT_EQ(dlq[2].key, std::optional<S>("no-time"));
  EXPECT_EQ(HeaderValue(dlq[2].headers, "eventflow.error"), "timestamp: no time field");
  EXPECT_EQ(driver.CreateOutputTopic("out", Serdes::String(), Serdes::String()).QueueSize(), 3u);
}

TEST(ErrorHandlingTest, FailPolicyReturnsTheErrorAndWritesNoDeadLetter) {
  TestDriverOptions options = Options();
  options.deserialization_errors = ErrorPolicy::kFail;
  TopologyTestDriver driver(NumbersTopology(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("numbers", Serdes::String(), Serdes::Int64());
  ASSERT_TRUE(in.PipeInput("good", 1, 10).ok());
  const Status status = in.PipeRaw("k", "abc", 11);
  ASSERT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(status.message(),
            "bad record (deserialization) at task 0_0, topic numbers, partition 0, offset 1: "
            "value (int64 serde): int64 serde needs 8 bytes, got 3");
  EXPECT_TRUE(driver.OutputQueue("err-app-dlq").empty());
  EXPECT_EQ(driver.Counters(0).dead_lettered, 0u);
}

TEST(ErrorHandlingTest, FailPolicyForProcessingErrors) {
  TestDriverOptions options = Options();
  options.processing_errors = ErrorPolicy::kFail;
  TopologyTestDriver driver(PickyTopology(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  const Status status = in.PipeInput("b", "bad", 2);
  ASSERT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(status.message(),
            "bad record (processing) at task 0_0, topic in, partition 0, offset 0: "
            "processing failed: cannot handle \"bad\"");
  EXPECT_TRUE(driver.OutputQueue("err-app-dlq").empty());
  // Deserialization errors still use their own (default) policy.
  ASSERT_TRUE(in.PipeRaw(std::nullopt, "v", 3).ok());
  EXPECT_EQ(driver.OutputQueue("err-app-dlq").size(), 1u);
}


// A processor whose punctuators throw: wall-clock every second, stream-time every 10 ms.
class ThrowingPunctuatorProcessor final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    context.Schedule(milliseconds(1000), PunctuationType::kWallClockTime,
                     [](int64_t) { throw std::runtime_error("wall-clock boom"); });
    context.Schedule(milliseconds(10), PunctuationType::kStreamTime,
                     [](int64_t) { throw std::runtime_error("stream-time boom"); });
  }
  void Process(Record<S, S> record) override { context_->Forward(std::move(record)); }

 private:
  ProcessorContext<S, S>* context_ = nullptr;
};

Topology ThrowingPunctuatorTopology() {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>(
          "punctuating", [] { return std::make_unique<ThrowingPunctuatorProcessor>(); },
          {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"punctuating"});
  return topology;
}

TEST(ErrorHandlingTest, ThrowingPunctuatorsAreCountedAndProcessingGoesOn) {
  TopologyTestDriver driver(ThrowingPunctuatorTopology(), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "1", 100).ok());   // stream-time punctuator fires and throws
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(1500)).ok());  // wall-clock one throws
  ASSERT_TRUE(in.PipeInput("b", "2", 200).ok());
  EXPECT_EQ(driver.Counters(0).punctuation_errors, 3u);
  EXPECT_EQ(driver.Counters(0).punctuations, 3u);
  EXPECT_EQ(driver.CreateOutputTopic("out", Serdes::String(), Serdes::String()).QueueSize(), 2u);
  EXPECT_TRUE(driver.OutputQueue("err-app-dlq").empty());  // no record to dead-letter
}

TEST(ErrorHandlingTest, ThrowingPunctuatorUnderFailPolicyStopsWithItsMessage) {
  TestDriverOptions options = Options();
  options.processing_errors = ErrorPolicy::kFail;
  TopologyTestDriver driver(ThrowingPunctuatorTopology(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  const Status status = in.PipeInput("a", "1", 100);
  ASSERT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(status.message(), "task 0_0: stream-time punctuator at 100 failed: stream-time boom");
  const Status wall = driver.AdvanceWallClockTime(milliseconds(1500));
  EXPECT_EQ(wall.message(), "task 0_0: wall-clock punctuator at " +
                                std::to_string(kNow + 1500) + " failed: wall-clock boom");
}


// Output larger than the producer accepts: the input record is dead-lettered
// with stage "production" (or, under kFail, the task stops).
Topology InflatingTopology() {
  Topology topology;
  class Inflate final : public Processor<S, S, S, S> {
   public:
    void Init(ProcessorContext<S, S>& context) override { context_ = &context; }
    void Process(Record<S, S> record) override {
      if (record.value == "big") record.value.assign(500, 'x');
      context_->Forward(std::move(record));
    }

   private:
    ProcessorContext<S, S>* context_ = nullptr;
  };
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("inflate", [] { return std::make_unique<Inflate>(); }, {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"inflate"});
  return topology;
}

TEST(ErrorHandlingTest, OutputTheProducerRefusesDeadLettersTheInputRecord) {
  TestDriverOptions options = Options();
  options.max_record_bytes = 100;
  TopologyTestDriver driver(InflatingTopology(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "small", 1).ok());
  ASSERT_TRUE(in.PipeInput("b", "big", 2).ok());
  ASSERT_TRUE(in.PipeInput("c", "small2", 3).ok());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  auto values = out.ReadKeyValuesToList();
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::pair<S, S>>{{"a", "small"}, {"c", "small2"}}));
  auto& dlq = driver.OutputQueue("err-app-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq.front().value, std::optional<S>("big"));  // the input record, as consumed
  EXPECT_EQ(HeaderValue(dlq.front().headers, "eventflow.error.stage"), "production");
  EXPECT_EQ(HeaderValue(dlq.front().headers, "eventflow.error"),
            "producing output failed: record of 501 bytes for topic out exceeds "
            "max_record_bytes 100");
  EXPECT_EQ(HeaderValue(dlq.front().headers, "eventflow.source.offset"), "1");

  options.production_errors = ErrorPolicy::kFail;
  TopologyTestDriver strict(InflatingTopology(), options);
  auto strict_in = strict.CreateInputTopic("in", Serdes::String(), Serdes::String());
  const Status status = strict_in.PipeInput("b", "big", 2);
  ASSERT_TRUE(status.IsInvalidArgument());
  EXPECT_NE(status.message().find("bad record (production) at task 0_0, topic in"),
            std::string::npos)
      << status.message();
}

// A state store that fails (disk full) is not the record's fault: the record is
// not dead-lettered, the task returns the store's error whatever the policy,
// and (under the runtime) its thread stops without committing.
constexpr char kNoSpace[] =
    "store 'counts' at /state/app/0_0/counts: commit: IO error: No space left on device";

// Forwards records; a record valued "full" meets a store write failing with
// ENOSPC (through ThrowIfStoreError, as the DSL processors report it), one
// valued "undecodable" a stored value the serde rejects.
class StoreWriter final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override { context_ = &context; }
  void Process(Record<S, S> record) override {
    if (record.value == "full") {
      internal::ThrowIfStoreError("counts", Status::IOError(kNoSpace), "writing");
    }
    if (record.value == "undecodable") {
      internal::ThrowIfStoreError("counts", Status::InvalidArgument("not an int64"),
                                  "decoding the stored aggregate");
    }
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<S, S>* context_ = nullptr;
};

TEST(ErrorHandlingTest, FailedStateStoreStopsTheTaskInsteadOfDeadLettering) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("writer", [] { return std::make_unique<StoreWriter>(); },
                                {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"writer"});
  TopologyTestDriver driver(topology, Options());  // dead-letter policies
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "fine", 1).ok());
  // A bad stored value is still a processing error: dead-lettered.
  ASSERT_TRUE(in.PipeInput("b", "undecodable", 2).ok());
  ASSERT_EQ(driver.OutputQueue("err-app-dlq").size(), 1u);

  const Status status = in.PipeInput("c", "full", 3);
  EXPECT_EQ(status.code(), StatusCode::kIOError) << status.ToString();
  EXPECT_NE(status.message().find("task 0_0: state store failed at topic in, partition 0, "
                                  "offset 2: store \"counts\": writing: " +
                                  std::string(kNoSpace)),
            std::string::npos)
      << status.message();
  EXPECT_EQ(driver.OutputQueue("err-app-dlq").size(), 1u) << "the record must not be dead-lettered";
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  EXPECT_EQ(*out.ReadKeyValuesToList(), (std::vector<std::pair<S, S>>{{"a", "fine"}}));
}

TEST(ErrorHandlingTest, FailedStateStoreInAPunctuatorStopsTheTaskWhateverThePolicy) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>(
          "closer",
          [] {
            class Closer final : public Processor<S, S, S, S> {
             public:
              void Init(ProcessorContext<S, S>& context) override {
                context.Schedule(milliseconds(1000), PunctuationType::kStreamTime, [](int64_t t) {
                  if (t >= 1000) throw StateStoreError(Status::IOError(kNoSpace));
                });
              }
              void Process(Record<S, S>) override {}
            };
            return std::make_unique<Closer>();
          },
          {"source"});
  TopologyTestDriver driver(topology, Options());  // punctuator errors only logged by default
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "x", 10).ok());
  const Status status = in.PipeInput("b", "y", 1500);
  EXPECT_EQ(status.code(), StatusCode::kIOError) << status.ToString();
  EXPECT_NE(status.message().find("stream-time punctuator at 1500: " + std::string(kNoSpace)),
            std::string::npos)
      << status.message();
  EXPECT_TRUE(driver.OutputQueue("err-app-dlq").empty());
}

TEST(ErrorHandlingTest, OnlyStoreFailuresCountAsStoreFailures) {
  EXPECT_TRUE(IsStoreFailure(Status::IOError("No space left on device")));
  EXPECT_TRUE(IsStoreFailure(Status::Corruption("bad block")));
  EXPECT_FALSE(IsStoreFailure(Status::OK()));
  EXPECT_FALSE(IsStoreFailure(Status::NotFound("")));
  EXPECT_FALSE(IsStoreFailure(Status::InvalidArgument("bad bytes")));
}

}  // namespace
}  // namespace eventflow::streams
