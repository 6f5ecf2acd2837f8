// StreamTask on its own: choosing the next record across the partitions of a
// task, progress (next offsets, stream times) and dropping buffers.
#include "eventflow/streams/stream_task.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/streams/topology.h"

namespace eventflow::streams {
namespace {

using S = std::string;
// (topic, offset, timestamp) of each record a processor saw, in order.
using Seen = std::tuple<std::string, int64_t, int64_t>;

class CollectingCollector final : public RecordCollector {
 public:
  Status Send(std::string_view topic, int32_t, std::optional<std::string_view>,
              std::optional<std::string_view> value, int64_t, const Headers&) override {
    if (!refusal.ok() && topic == refused_topic) return refusal;
    sent.emplace_back(std::string(topic), value ? std::string(*value) : "<null>");
    return Status::OK();
  }
  std::vector<std::pair<std::string, std::string>> sent;
  // Refuses every record for `refused_topic` with `refusal` when not OK.
  std::string refused_topic;
  Status refusal;
};

// Records what it processes, and the times its resume hook and its
// stream-time punctuator are called with.
struct Calls {
  std::vector<int64_t> resumed;
  std::vector<int64_t> punctuated;
};

class Recorder final : public Processor<S, S, S, S> {
 public:
  Recorder(std::vector<Seen>* seen, Calls* calls) : seen_(seen), calls_(calls) {}
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    context.OnResume([this](int64_t w) { calls_->resumed.push_back(w); });
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t t) { calls_->punctuated.push_back(t); });
  }
  void Process(Record<S, S> record) override {
    const RecordContext* rc = context_->record_context();
    seen_->emplace_back(std::string(rc->topic), rc->offset, record.timestamp);
    context_->Forward(std::move(record));
  }

 private:
  std::vector<Seen>* seen_;
  Calls* calls_;
  ProcessorContext<S, S>* context_ = nullptr;
};

// Two co-partitioned source topics, "a" and "b", feeding one processor: one
// sub-topology, so one task per partition reads both.
class StreamTaskTest : public testing::Test {
 protected:
  StreamTaskTest() {
    topology_.AddSource<S, S>("source-a", {"a"}, Serdes::String(), Serdes::String())
        .AddSource<S, S>("source-b", {"b"}, Serdes::String(), Serdes::String())
        .AddProcessor<S, S, S, S>("recorder", [this] { return std::make_unique<Recorder>(&seen_, &calls_); },
                                  {"source-a", "source-b"})
        .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"recorder"});
    subtopologies_ = topology_.SubTopologies();
    TaskOptions options;
    options.application_id = "task-app";
    options.wall_clock = [] { return int64_t{1'700'000'000'000}; };
    task_ = std::make_unique<StreamTask>(TaskId{0, 3}, topology_, subtopologies_.at(0), options,
                                         &collector_);
  }

  void Add(const std::string& topic, int64_t offset, int64_t timestamp) {
    task_->AddRecord(
        MakeOwnedRecord(topic, 3, offset, timestamp, "k", topic + std::to_string(offset)));
  }

  // Processes until nothing is buffered; returns how many records were taken.
  int ProcessAll() {
    int n = 0;
    for (;;) {
      auto r = task_->Process();
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || !*r) return n;
      ++n;
    }
  }

  Topology topology_;
  std::vector<Topology::SubTopology> subtopologies_;
  CollectingCollector collector_;
  std::vector<Seen> seen_;
  Calls calls_;
  std::unique_ptr<StreamTask> task_;
};

TEST_F(StreamTaskTest, PicksTheHeadRecordWithTheSmallestTimestampAcrossPartitions) {
  ASSERT_EQ(subtopologies_.size(), 1u);
  ASSERT_TRUE(task_->Init().ok());
  Add("a", 0, 10);
  Add("a", 1, 30);
  Add("b", 0, 20);
  Add("b", 1, 5);  // smaller than a@30, but behind b@20 in its own partition
  EXPECT_EQ(task_->buffered(), 4u);

  EXPECT_EQ(ProcessAll(), 4);
  // Heads (a@10, b@20) -> a@10; (a@30, b@20) -> b@20; (a@30, b@5) -> b@5; then a@30.
  EXPECT_EQ(seen_, (std::vector<Seen>{{"a", 0, 10}, {"b", 0, 20}, {"b", 1, 5}, {"a", 1, 30}}));
  EXPECT_EQ(collector_.sent, (std::vector<std::pair<std::string, std::string>>{
                                 {"out", "a0"}, {"out", "b0"}, {"out", "b1"}, {"out", "a1"}}));
  EXPECT_EQ(task_->buffered(), 0u);
  EXPECT_EQ(task_->counters().processed, 4u);
}

TEST_F(StreamTaskTest, ProgressReportsNextOffsetsAndStreamTimePerPartition) {
  ASSERT_TRUE(task_->Init().ok());
  EXPECT_TRUE(task_->Progress().empty());
  Add("a", 7, 100);
  Add("a", 8, 90);  // out of order: the partition's stream time stays 100
  Add("b", 40, 50);
  EXPECT_EQ(ProcessAll(), 3);

  const std::vector<PartitionProgress> progress = task_->Progress();
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].topic, "a");
  EXPECT_EQ(progress[0].partition, 3);
  EXPECT_EQ(progress[0].next_offset, 9);
  EXPECT_EQ(progress[0].stream_time, 100);
  EXPECT_EQ(progress[1].topic, "b");
  EXPECT_EQ(progress[1].partition, 3);
  EXPECT_EQ(progress[1].next_offset, 41);
  EXPECT_EQ(progress[1].stream_time, 50);
  EXPECT_EQ(task_->stream_time(), 100);
}

TEST_F(StreamTaskTest, ResetPartitionDropsItsBufferAndSetsItsProgress) {
  ASSERT_TRUE(task_->Init().ok());
  Add("a", 0, 10);
  Add("b", 0, 20);
  EXPECT_EQ(ProcessAll(), 2);
  Add("a", 1, 30);
  Add("a", 2, 40);
  Add("b", 1, 25);
  EXPECT_EQ(task_->buffered(), 3u);

  // Rewind "a" (e.g. after an aborted transaction): its two buffered records go.
  task_->ResetPartition("a", 3, /*next_offset=*/1, /*stream_time=*/10);
  EXPECT_EQ(task_->buffered(), 1u);
  const auto progress = task_->Progress();
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].next_offset, 1);
  EXPECT_EQ(progress[0].stream_time, 10);
  EXPECT_EQ(task_->stream_time(), 20);  // the largest over the partitions

  seen_.clear();
  EXPECT_EQ(ProcessAll(), 1);
  EXPECT_EQ(seen_, (std::vector<Seen>{{"b", 1, 25}}));
}

// A task resuming from committed times runs its processors' resume hooks
// once, with the restored watermark (the minimum over its partitions), and
// fires no stream-time punctuator until a record moves the watermark.
TEST_F(StreamTaskTest, ResumeRunsTheResumeHooksOnceAtTheRestoredWatermark) {
  ASSERT_TRUE(task_->Init().ok());
  // As the runtime does: every partition first, then their committed times.
  task_->AddInputPartition("a", 3);
  task_->AddInputPartition("b", 3);
  task_->ResetPartition("a", 3, /*next_offset=*/5, /*stream_time=*/70);
  task_->ResetPartition("b", 3, /*next_offset=*/9, /*stream_time=*/40);
  ASSERT_TRUE(task_->Resume().ok());
  EXPECT_EQ(calls_.resumed, std::vector<int64_t>{40});
  EXPECT_TRUE(calls_.punctuated.empty());
  ASSERT_TRUE(task_->Resume().ok());
  EXPECT_EQ(calls_.resumed, std::vector<int64_t>{40});  // once only

  Add("b", 9, 55);
  EXPECT_EQ(ProcessAll(), 1);
  EXPECT_EQ(calls_.punctuated, std::vector<int64_t>{55});
}

// A task without committed times (new, or the test driver's) has nothing to
// resume from: the hooks do not run.
TEST_F(StreamTaskTest, ResumeWithoutCommittedTimesRunsNoHook) {
  ASSERT_TRUE(task_->Init().ok());
  ASSERT_TRUE(task_->Resume().ok());
  EXPECT_TRUE(calls_.resumed.empty());
  Add("a", 0, 10);
  Add("b", 0, 20);
  EXPECT_EQ(ProcessAll(), 2);
  EXPECT_TRUE(calls_.resumed.empty());
}

TEST_F(StreamTaskTest, ClearBuffersDropsEverything) {
  ASSERT_TRUE(task_->Init().ok());
  Add("a", 0, 10);
  Add("b", 0, 20);
  Add("b", 1, 21);
  task_->ClearBuffers();
  EXPECT_EQ(task_->buffered(), 0u);
  auto r = task_->Process();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_TRUE(seen_.empty());
  EXPECT_TRUE(task_->Progress().empty());
}

TEST_F(StreamTaskTest, RecordOfATopicNoSourceReadsIsAnError) {
  ASSERT_TRUE(task_->Init().ok());
  task_->AddRecord(MakeOwnedRecord("stranger", 3, 0, 1, "k", "v"));
  auto r = task_->Process();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "task 0_3 got a record of topic \"stranger\", which none of its sources reads");
}

// A refusal that is the record's fault (the producer refuses this record, e.g.
// too large) dead-letters it; one that is the producer's (its transaction
// failed and must be aborted, it was fenced or is fatal) fails the task with
// that status and dead-letters nothing: the thread aborts and rewinds.
TEST_F(StreamTaskTest, AProducerThatRefusesEverythingFailsTheTaskInsteadOfDeadLettering) {
  ASSERT_TRUE(task_->Init().ok());
  collector_.refused_topic = "out";
  collector_.refusal = Status::InvalidArgument("sending to topic out: message too large");
  Add("a", 0, 10);
  auto r = task_->Process();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(collector_.sent.size(), 1u);
  EXPECT_EQ(collector_.sent[0].first, "task-app-dlq");
  EXPECT_EQ(task_->counters().dead_lettered, 1u);

  for (const Status& refusal :
       {Status::Aborted("sending to topic out: the producer's transaction has failed"),
        Status::Fatal("sending to topic out: the producer failed fatally"),
        Status::Fenced("sending to topic out: fenced")}) {
    collector_.refusal = refusal;
    Add("a", 1, 20);
    r = task_->Process();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), refusal.code()) << r.status().ToString();
    EXPECT_NE(r.status().message().find("offset 1"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(collector_.sent.size(), 1u) << "dead-lettered for a producer's failure";
    EXPECT_EQ(task_->counters().dead_lettered, 1u);
    task_->ClearBuffers();
  }
}

}  // namespace
}  // namespace eventflow::streams
