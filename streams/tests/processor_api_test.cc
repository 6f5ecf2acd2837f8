// The Processor API directly on Topology: wiring, type checks between nodes,
// punctuation (stream time and wall clock, cancellation) and record context.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using KV = std::pair<S, S>;
using std::chrono::milliseconds;

constexpr int64_t kNow = 1'700'000'000'000;

TestDriverOptions Options() {
  TestDriverOptions options;
  options.application_id = "papi-app";
  options.initial_wall_clock_ms = kNow;
  return options;
}

// Upper-cases values and appends the input's topic, partition and offset.
class Annotate final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override { context_ = &context; }
  void Process(Record<S, S> record) override {
    const RecordContext* rc = context_->record_context();
    std::string value;
    for (char c : record.value) value += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    value += "|" + std::string(rc->topic) + "/" + std::to_string(rc->partition) + "/" +
             std::to_string(rc->offset);
    record.value = std::move(value);
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<S, S>* context_ = nullptr;
};

TEST(ProcessorApiTest, SourceProcessorSinkWithRecordContext) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("annotate", [] { return std::make_unique<Annotate>(); }, {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"annotate"});
  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();

  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("k1", "abc", 10).ok());
  ASSERT_TRUE(in.PipeInput("k2", "Hi!", 20).ok());
  ASSERT_TRUE(in.PipeInput("k3", "", 30).ok());
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  auto records = out.ReadRecordsToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].value, "ABC|in/0/0");
  EXPECT_EQ((*records)[1].value, "HI!|in/0/1");
  EXPECT_EQ((*records)[2].value, "|in/0/2");
  EXPECT_EQ((*records)[1].key, "k2");
  EXPECT_EQ((*records)[1].timestamp, 20);
}

// Emits the value's length.
class Length final : public Processor<S, S, S, int64_t> {
 public:
  void Init(ProcessorContext<S, int64_t>& context) override { context_ = &context; }
  void Process(Record<S, S> record) override {
    const auto n = static_cast<int64_t>(record.value.size());
    context_->Forward(std::move(record).WithKeyValue(std::move(record.key), n));
  }

 private:
  ProcessorContext<S, int64_t>* context_ = nullptr;
};

TEST(ProcessorApiTest, TypeMismatchBetweenConnectedNodesNamesBothNodes) {
  // A sink for (string, string) after a processor forwarding (string, int64).
  Topology mismatch;
  mismatch.AddSource<S, S>("text-source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, int64_t>("length", [] { return std::make_unique<Length>(); },
                                      {"text-source"})
      .AddSink<S, S>("text-sink", "out", Serdes::String(), Serdes::String(), {"length"});
  const Status status = mismatch.Validate();
  ASSERT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(status.message(),
            "node \"text-sink\" cannot follow node \"length\": it accepts records of "
            "(std::string, std::string) but \"length\" forwards (std::string, long)");
  TopologyTestDriver driver(mismatch, Options());
  EXPECT_EQ(driver.status(), status);
}

TEST(ProcessorApiTest, SupplierReturningNoProcessorIsAnError) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("nothing", [] { return nullptr; }, {"source"});
  EXPECT_EQ(topology.Validate().message(),
            "the processor supplier of node \"nothing\" returned no processor");
}

// A processor whose Init throws (here: its store was never connected) stops
// the task with an error naming the node, instead of escaping the task.
class NeedsAStore final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override {
    if (context.GetStateStore<state::KeyValueStore>("counts") == nullptr) {
      throw std::runtime_error("store \"counts\" is not connected");
    }
  }
  void Process(Record<S, S>) override {}
};

TEST(ProcessorApiTest, AProcessorWhoseInitThrowsFailsTheTaskNamingTheNode) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("counter", [] { return std::make_unique<NeedsAStore>(); },
                                {"source"});
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  TopologyTestDriver driver(topology, Options());
  EXPECT_EQ(driver.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(driver.status().message(),
            "task 0_0: node \"counter\" failed to initialise: store \"counts\" is not connected");
}

TEST(ProcessorApiTest, WiringErrorsAreReported) {
  Topology unknown_parent;
  unknown_parent.AddSource<S, S>("s", {"in"}, Serdes::String(), Serdes::String())
      .AddSink<S, S>("k", "out", Serdes::String(), Serdes::String(), {"nope"});
  EXPECT_EQ(unknown_parent.Validate().message(), "node \"k\" names unknown parent \"nope\"");

  Topology twice;
  twice.AddSource<S, S>("s", {"in"}, Serdes::String(), Serdes::String())
      .AddSink<S, S>("s", "out", Serdes::String(), Serdes::String(), {"s"});
  EXPECT_EQ(twice.Validate().message(), "node name \"s\" is used twice");

  Topology same_topic;
  same_topic.AddSource<S, S>("a", {"in"}, Serdes::String(), Serdes::String())
      .AddSource<S, S>("b", {"in"}, Serdes::String(), Serdes::String());
  EXPECT_EQ(same_topic.Validate().message(),
            "topic \"in\" is read by two sources, \"a\" and \"b\"");
}

// Records every punctuation and, when asked, cancels itself after `cancel_after` calls.
struct PunctuationLog {
  std::vector<int64_t> times;
  std::vector<bool> had_record_context;
  std::vector<int64_t> record_context_offsets;  // seen in Process()
  Cancellable handle;
};

class Punctuated final : public Processor<S, S, S, S> {
 public:
  Punctuated(PunctuationLog* log, PunctuationType type, milliseconds interval, size_t cancel_after)
      : log_(log), type_(type), interval_(interval), cancel_after_(cancel_after) {}
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    log_->handle = context.Schedule(interval_, type_, [this](int64_t ts) {
      log_->times.push_back(ts);
      log_->had_record_context.push_back(context_->record_context() != nullptr);
      if (log_->times.size() == cancel_after_) log_->handle.Cancel();
    });
  }
  void Process(Record<S, S> record) override {
    log_->record_context_offsets.push_back(context_->record_context()->offset);
    context_->Forward(std::move(record));
  }

 private:
  PunctuationLog* log_;
  PunctuationType type_;
  milliseconds interval_;
  size_t cancel_after_;
  ProcessorContext<S, S>* context_ = nullptr;
};

Topology PunctuatedTopology(PunctuationLog* log, PunctuationType type, milliseconds interval,
                            size_t cancel_after = 0) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>(
          "punctuated",
          [=] { return std::make_unique<Punctuated>(log, type, interval, cancel_after); },
          {"source"});
  return topology;
}

TEST(ProcessorApiTest, StreamTimePunctuationFiresAsRecordsAdvanceStreamTime) {
  PunctuationLog log;
  TopologyTestDriver driver(
      PunctuatedTopology(&log, PunctuationType::kStreamTime, milliseconds(10)), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());

  // Stream time 5: the first record fires it, the next due time is 10.
  ASSERT_TRUE(in.PipeInput("k", "v", 5).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{5}));
  ASSERT_TRUE(in.PipeInput("k", "v", 7).ok());   // below 10: nothing
  ASSERT_TRUE(in.PipeInput("k", "v", 12).ok());  // past 10: fires, next due 20
  ASSERT_TRUE(in.PipeInput("k", "v", 9).ok());   // out of order: stream time stays 12
  EXPECT_EQ(log.times, (std::vector<int64_t>{5, 12}));
  ASSERT_TRUE(in.PipeInput("k", "v", 45).ok());  // 20, 30 and 40 missed: fires once
  ASSERT_TRUE(in.PipeInput("k", "v", 49).ok());  // next due is 50
  ASSERT_TRUE(in.PipeInput("k", "v", 50).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{5, 12, 45, 50}));
  // Wall-clock time does not fire stream-time punctuators.
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(100'000)).ok());
  EXPECT_EQ(log.times.size(), 4u);
  // Never inside a record: no record context in a punctuator; always one in Process().
  EXPECT_EQ(log.had_record_context, (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(log.record_context_offsets, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(ProcessorApiTest, WallClockPunctuationFiresOnAdvanceWallClockTime) {
  PunctuationLog log;
  TopologyTestDriver driver(
      PunctuatedTopology(&log, PunctuationType::kWallClockTime, milliseconds(1000)), Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());

  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(999)).ok());
  EXPECT_TRUE(log.times.empty());
  // Records do not fire wall-clock punctuators.
  ASSERT_TRUE(in.PipeInput("k", "v", kNow).ok());
  EXPECT_TRUE(log.times.empty());
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(1)).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{kNow + 1000}));
  // 2000 and 3000 are missed: one call at 3500, next due 4000.
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(2500)).ok());
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(499)).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{kNow + 1000, kNow + 3500}));
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(1)).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{kNow + 1000, kNow + 3500, kNow + 4000}));
  EXPECT_EQ(log.had_record_context, (std::vector<bool>{false, false, false}));

  // Cancelled from outside: no more calls.
  log.handle.Cancel();
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(10'000)).ok());
  EXPECT_EQ(log.times.size(), 3u);
}

TEST(ProcessorApiTest, PunctuatorCanCancelItself) {
  PunctuationLog log;
  TopologyTestDriver driver(
      PunctuatedTopology(&log, PunctuationType::kStreamTime, milliseconds(10), /*cancel_after=*/2),
      Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  for (int64_t ts : {0, 10, 20, 30, 40}) ASSERT_TRUE(in.PipeInput("k", "v", ts).ok());
  EXPECT_EQ(log.times, (std::vector<int64_t>{0, 10}));
}

TEST(ProcessorApiTest, ForwardToANamedChild) {
  // Sends values starting with 'a' to child "left", the others to "right".
  class Router final : public Processor<S, S, S, S> {
   public:
    void Init(ProcessorContext<S, S>& context) override { context_ = &context; }
    void Process(Record<S, S> record) override {
      const bool left = record.value.starts_with("a");
      context_->Forward(std::move(record), left ? "left" : "right");
    }

   private:
    ProcessorContext<S, S>* context_ = nullptr;
  };
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("router", [] { return std::make_unique<Router>(); }, {"source"})
      .AddSink<S, S>("left", "l", Serdes::String(), Serdes::String(), {"router"})
      .AddSink<S, S>("right", "r", Serdes::String(), Serdes::String(), {"router"});
  TopologyTestDriver driver(topology, Options());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("1", "apple", 1).ok());
  ASSERT_TRUE(in.PipeInput("2", "pear", 2).ok());
  auto l = driver.CreateOutputTopic("l", Serdes::String(), Serdes::String());
  auto r = driver.CreateOutputTopic("r", Serdes::String(), Serdes::String());
  EXPECT_EQ(*l.ReadKeyValuesToList(), (std::vector<KV>{{"1", "apple"}}));
  EXPECT_EQ(*r.ReadKeyValuesToList(), (std::vector<KV>{{"2", "pear"}}));
}

}  // namespace
}  // namespace eventflow::streams
