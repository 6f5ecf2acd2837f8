// Watermarks (DESIGN.md "Time"): a task's watermark is the minimum over its
// input partitions; windows close by it; upstream tasks carry theirs through
// repartition topics (headers and watermark records); partition times are
// persisted in the offset commit metadata; idle partitions stop holding it
// back after watermark_idle_timeout. Expected values are worked out by hand
// from the per-partition stream times, never by running the same code.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;
constexpr int64_t kNow = 1'700'000'000'000;

// ---------------------------------------------------------------------------
// Formats.

TEST(OffsetMetadataTest, RoundTripsPlainAndRepartitionTimes) {
  const PartitionTimes plain{1'700'000'000'123, {}};
  EXPECT_EQ(FormatOffsetMetadata(plain), "st=1700000000123");
  EXPECT_EQ(*ParseOffsetMetadata("st=1700000000123"), plain);

  const PartitionTimes repartition{1000, {990, -1, 1005}};
  EXPECT_EQ(FormatOffsetMetadata(repartition), "st=1000;up=3:-10,-1001,5");
  auto parsed = ParseOffsetMetadata(FormatOffsetMetadata(repartition));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, repartition);

  const PartitionTimes unknown{-1, {-1, 7}};
  EXPECT_EQ(*ParseOffsetMetadata(FormatOffsetMetadata(unknown)), unknown);
  // With the owner's last-processed wall-clock time.
  const PartitionTimes with_last{1000, {}, 1'700'000'000'456};
  EXPECT_EQ(FormatOffsetMetadata(with_last), "st=1000;lp=1700000000456");
  EXPECT_EQ(*ParseOffsetMetadata("st=1000;lp=1700000000456"), with_last);
  const PartitionTimes repartition_last{1000, {990, -1}, 7};
  EXPECT_EQ(FormatOffsetMetadata(repartition_last), "st=1000;up=2:-10,-1001;lp=7");
  EXPECT_EQ(*ParseOffsetMetadata(FormatOffsetMetadata(repartition_last)), repartition_last);
  // Committed by another tool: no metadata at all means unknown times.
  EXPECT_EQ(*ParseOffsetMetadata(""), PartitionTimes{});
}

TEST(OffsetMetadataTest, RejectsGarbageNamingTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello", "does not start with \"st=\""},
      {"st=", "stream time"},
      {"st=12x", "stream time"},
      {"st=-5", "stream time"},
      {"st=99999999999999999999", "stream time"},
      {"st=10;", "\"up=\""},
      {"st=10;xx=1", "\"up=\""},
      {"st=10;lp=", "last-processed time"},
      {"st=10;lp=-1", "last-processed time"},
      {"st=10;lp=5x", "last-processed time"},
      {"st=10;up=1:0;", "\"lp=\""},
      {"st=10;up=1:0;up=1:0", "\"lp=\""},
      {"st=10;lp=5;up=1:0", "last-processed time"},
      {"st=10;up=", "upstream task count"},
      {"st=10;up=0:", "upstream task count"},
      {"st=10;up=2:1", "other than 2"},
      {"st=10;up=1:1,2", "other than 1"},
      {"st=10;up=2:1,", "upstream watermark 1"},
      {"st=10;up=1:a", "upstream watermark 0"},
      {"st=10;up=1:-12", "below -1"},
  };
  for (const auto& [text, what] : cases) {
    auto parsed = ParseOffsetMetadata(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_TRUE(parsed.status().IsInvalidArgument()) << text;
    EXPECT_NE(parsed.status().message().find(what), std::string::npos)
        << text << ": " << parsed.status().message();
    EXPECT_NE(parsed.status().message().find("offset commit metadata"), std::string::npos);
  }
}

TEST(WatermarkStampTest, RoundTripsAndRejectsGarbage) {
  const WatermarkStamp stamp{TaskId{2, 17}, 1'700'000'000'000};
  EXPECT_EQ(FormatWatermarkStamp(stamp), "2_17:1700000000000");
  EXPECT_EQ(*ParseWatermarkStamp("2_17:1700000000000"), stamp);
  EXPECT_EQ(*ParseWatermarkStamp("0_0:-1"), (WatermarkStamp{TaskId{0, 0}, -1}));
  // With the origin partition's time of a data record.
  const WatermarkStamp with_origin{TaskId{1, 2}, 500, 900};
  EXPECT_EQ(FormatWatermarkStamp(with_origin), "1_2:500:900");
  EXPECT_EQ(*ParseWatermarkStamp("1_2:500:900"), with_origin);
  EXPECT_EQ(*ParseWatermarkStamp("1_2:-1:80"), (WatermarkStamp{TaskId{1, 2}, -1, 80}));
  for (const char* bad : {"", "2_17", "2:17_5", "a_1:5", "1_b:5", "1_1:", "1_1:-2", "1_1:5x",
                          "1_1:5:", "1_1:5:-1", "1_1:5:7x", "1_1:5:6:7",
                          "1_1:253402300800000", "1_1:5:9223372036854775807"}) {
    EXPECT_FALSE(ParseWatermarkStamp(bad).ok()) << bad;
  }
}

TEST(WatermarkConfigTest, NegativeIdleTimeoutIsRejectedByName) {
  StreamsConfig config;
  config.application_id = "app";
  config.bootstrap_servers = "127.0.0.1:9092";
  config.watermark_idle_timeout = milliseconds(-1);
  const Status s = config.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("watermark.idle.timeout.ms"), std::string::npos) << s.message();
  config.watermark_idle_timeout = milliseconds(0);
  EXPECT_TRUE(config.Validate().ok());
}

// ---------------------------------------------------------------------------
// StreamTask.

class CollectingCollector final : public RecordCollector {
 public:
  struct Sent {
    S topic;
    int32_t partition;
    bool has_value;
    Headers headers;
  };
  Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view>,
              std::optional<std::string_view> value, int64_t, const Headers& headers) override {
    sent.push_back(Sent{S(topic), partition, value.has_value(), headers});
    return Status::OK();
  }
  std::vector<Sent> sent;
};

// Records what it sees (offset, event time, watermark during the record, and
// whether the watermark header was still there) and forwards.
struct Seen {
  int64_t offset;
  int64_t timestamp;
  int64_t watermark;
  bool saw_header;
  friend bool operator==(const Seen&, const Seen&) = default;
};
class Recorder final : public Processor<S, S, S, S> {
 public:
  Recorder(std::vector<Seen>* seen, std::vector<int64_t>* punctuated)
      : seen_(seen), punctuated_(punctuated) {}
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    context.Schedule(milliseconds(10), PunctuationType::kStreamTime,
                     [this](int64_t t) { punctuated_->push_back(t); });
  }
  void Process(Record<S, S> record) override {
    seen_->push_back(Seen{context_->record_context()->offset, record.timestamp,
                          context_->watermark(),
                          record.headers.LastValue(kWatermarkHeader) != nullptr});
    context_->Forward(std::move(record));
  }

 private:
  std::vector<Seen>* seen_;
  std::vector<int64_t>* punctuated_;
  ProcessorContext<S, S>* context_ = nullptr;
};

// Topics "a" and "b" (partition 3 of each) feed one recorder whose output goes
// to the repartition topic "r"; `upstream` makes "b" a repartition topic
// written by tasks 0_0 and 0_1.
class WatermarkTaskTest : public testing::Test {
 protected:
  void Make(bool b_is_repartition, milliseconds idle_timeout = milliseconds(0)) {
    topology_.AddSource<S, S>("source-a", {"a"}, Serdes::String(), Serdes::String())
        .AddSource<S, S>("source-b", {"b"}, Serdes::String(), Serdes::String())
        .AddProcessor<S, S, S, S>(
            "recorder", [this] { return std::make_unique<Recorder>(&seen_, &punctuated_); },
            {"source-a", "source-b"})
        .AddSink<S, S>("sink", "r", Serdes::String(), Serdes::String(), {"recorder"});
    subtopologies_ = topology_.SubTopologies();
    TaskOptions options;
    options.application_id = "wm-app";
    options.wall_clock = [this] { return now_; };
    if (b_is_repartition) options.upstream_tasks["b"] = {TaskId{0, 0}, TaskId{0, 1}};
    options.repartition_sinks["r"] = 2;
    options.watermark_idle_timeout = idle_timeout;
    task_ = std::make_unique<StreamTask>(TaskId{1, 3}, topology_, subtopologies_.at(0), options,
                                         &collector_);
    ASSERT_TRUE(task_->Init().ok());
    task_->AddInputPartition("a", 3);
    task_->AddInputPartition("b", 3);
  }
  void Add(const S& topic, int64_t offset, int64_t timestamp, Headers headers = {}) {
    task_->AddRecord(MakeOwnedRecord(topic, 3, offset, timestamp, "k", "v", std::move(headers)));
  }
  void AddWatermarkRecord(int64_t offset, const S& stamp) {
    Headers h;
    h.Add(kWatermarkRecordHeader, stamp);
    task_->AddRecord(MakeOwnedRecord("b", 3, offset, 0, std::nullopt, std::nullopt, h));
  }
  static Headers Stamp(const S& stamp) {
    Headers h;
    h.Add("user", "x");
    h.Add(kWatermarkHeader, stamp);
    return h;
  }
  void ProcessAll() {
    for (int i = 0; i < 1000; ++i) {
      auto r = task_->Process();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!*r) return;
    }
  }

  Topology topology_;
  std::vector<Topology::SubTopology> subtopologies_;
  CollectingCollector collector_;
  std::vector<Seen> seen_;
  std::vector<int64_t> punctuated_;
  int64_t now_ = kNow;
  std::unique_ptr<StreamTask> task_;
};

TEST_F(WatermarkTaskTest, WatermarkIsTheMinimumOverPartitionsAndDrivesStreamTimePunctuation) {
  Make(/*b_is_repartition=*/false);
  EXPECT_EQ(task_->watermark(), -1);
  Add("a", 0, 100);
  ProcessAll();
  // "b" has no time yet: it holds the watermark back; stream time is "max seen".
  EXPECT_EQ(task_->stream_time(), 100);
  EXPECT_EQ(task_->watermark(), -1);
  EXPECT_TRUE(punctuated_.empty());
  Add("b", 0, 40);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 40);
  // During the record the watermark counts it: min(a=100, b=40).
  EXPECT_EQ(seen_.back(), (Seen{0, 40, 40, false}));
  EXPECT_EQ(punctuated_, (std::vector<int64_t>{40}));
  Add("a", 1, 300);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 40);  // b is still the minimum
  Add("b", 1, 35);                    // out of order: b's time stays 40
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 40);
  Add("b", 2, 250);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 250);
  EXPECT_EQ(task_->stream_time(), 300);
  EXPECT_EQ(punctuated_, (std::vector<int64_t>{40, 250}));
  EXPECT_EQ(task_->PartitionTime("a", 3), 300);
  EXPECT_EQ(task_->PartitionTime("b", 3), 250);
}

TEST_F(WatermarkTaskTest, BadTimestampsNeverAdvanceAPartition) {
  Make(false);
  Add("a", 0, 100);
  Add("b", 0, 50);
  ProcessAll();
  ASSERT_EQ(task_->watermark(), 50);
  Add("b", 1, kNow + std::chrono::milliseconds(std::chrono::hours(25)).count());  // too far ahead
  ProcessAll();
  EXPECT_EQ(task_->counters().dead_lettered, 1u);
  EXPECT_EQ(task_->PartitionTime("b", 3), 50);
  EXPECT_EQ(task_->watermark(), 50);
}

TEST_F(WatermarkTaskTest, RepartitionPartitionTakesTheMinimumOverUpstreamTasks) {
  Make(/*b_is_repartition=*/true);
  Add("a", 0, 1000);
  Add("b", 0, 500, Stamp("0_0:700"));  // from 0_0; 0_1 not heard from yet
  ProcessAll();
  EXPECT_EQ(task_->PartitionTime("b", 3), -1);
  EXPECT_EQ(task_->watermark(), -1);
  // The header is gone before the processor sees the record (the user header stays).
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_FALSE(seen_[1].saw_header);

  AddWatermarkRecord(1, "0_1:600");
  ProcessAll();
  EXPECT_EQ(seen_.size(), 2u);  // a watermark record never reaches a processor
  EXPECT_EQ(task_->counters().watermark_records, 1u);
  EXPECT_EQ(task_->counters().processed, 2u);
  EXPECT_EQ(task_->counters().dead_lettered, 0u);
  EXPECT_EQ(task_->PartitionTime("b", 3), 600);  // min(0_0=700, 0_1=600)
  EXPECT_EQ(task_->watermark(), 600);            // min(a=1000, b=600)

  AddWatermarkRecord(2, "0_1:650");
  AddWatermarkRecord(3, "0_1:640");  // an older stamp never lowers it
  AddWatermarkRecord(4, "7_7:9999");  // not an upstream task: ignored
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 650);

  // Offsets of watermark records are committed like any other; the times persist.
  const auto progress = task_->Progress();
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[1].topic, "b");
  EXPECT_EQ(progress[1].next_offset, 5);
  EXPECT_EQ(progress[1].stream_time, 500);
  EXPECT_EQ(progress[1].upstream_watermarks, (std::vector<int64_t>{700, 650}));
}

TEST_F(WatermarkTaskTest, StampsRecordsToRepartitionTopicsAndEmitsWatermarkRecordsOnAdvance) {
  Make(false);
  Add("a", 0, 100);
  Add("b", 0, 80);
  ProcessAll();
  ASSERT_EQ(collector_.sent.size(), 2u);
  // b@80 (the smaller timestamp) went out while a was unknown, then a@100
  // with min(100, 80); each with its own partition's time as origin.
  EXPECT_EQ(*collector_.sent[0].headers.LastValue(kWatermarkHeader), "1_3:-1:80");
  EXPECT_EQ(*collector_.sent[1].headers.LastValue(kWatermarkHeader), "1_3:80:100");
  collector_.sent.clear();

  ASSERT_TRUE(task_->EmitWatermarks().ok());
  ASSERT_EQ(collector_.sent.size(), 2u);  // one per partition of "r"
  for (int32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(collector_.sent[p].topic, "r");
    EXPECT_EQ(collector_.sent[p].partition, p);
    EXPECT_FALSE(collector_.sent[p].has_value);
    EXPECT_EQ(*collector_.sent[p].headers.LastValue(kWatermarkRecordHeader), "1_3:80");
  }
  collector_.sent.clear();
  ASSERT_TRUE(task_->EmitWatermarks().ok());  // unchanged: nothing
  EXPECT_TRUE(collector_.sent.empty());
  EXPECT_EQ(task_->counters().watermark_records_sent, 2u);
}

TEST_F(WatermarkTaskTest, ResetPartitionRestoresCommittedTimes) {
  Make(true);
  const auto restored = *ParseOffsetMetadata("st=900;up=2:-100,50");
  task_->ResetPartition("a", 3, 10, 1200);
  task_->ResetPartition("b", 3, 20, restored.stream_time, restored.upstream_watermarks);
  EXPECT_EQ(task_->PartitionTime("b", 3), 800);  // min(800, 950)
  EXPECT_EQ(task_->watermark(), 800);
  EXPECT_EQ(task_->stream_time(), 1200);
  // A list of the wrong size (topology changed): upstream tasks unknown again,
  // but the watermark never goes down in a task's life.
  task_->ResetPartition("b", 3, 20, 900, std::vector<int64_t>{1, 2, 3});
  EXPECT_EQ(task_->PartitionTime("b", 3), -1);
  EXPECT_EQ(task_->watermark(), 800);
}

TEST_F(WatermarkTaskTest, IdlePartitionStopsHoldingTheWatermarkBackUntilItHasData) {
  Make(false, milliseconds(1000));
  Add("a", 0, 100);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), -1);
  now_ += 999;
  EXPECT_FALSE(task_->RefreshIdle(now_));
  now_ += 1;
  EXPECT_TRUE(task_->RefreshIdle(now_));  // b quiet for 1000 ms (a active at the first check)
  ASSERT_TRUE(task_->AdvanceWatermark().ok());
  EXPECT_EQ(task_->watermark(), 100);
  EXPECT_EQ(punctuated_, (std::vector<int64_t>{100}));
  // b gets data again: it holds the watermark back from here on.
  Add("b", 0, 50);
  Add("a", 1, 400);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 100);  // min(400, 50) < 100: it never goes down
  Add("b", 1, 300);
  ProcessAll();
  EXPECT_EQ(task_->watermark(), 300);
  // Everything idle: the watermark stays.
  now_ += 5000;
  EXPECT_FALSE(task_->RefreshIdle(now_));
  now_ += 5000;
  EXPECT_FALSE(task_->RefreshIdle(now_));
  EXPECT_EQ(task_->watermark(), 300);
}

TEST_F(WatermarkTaskTest, IdleUpstreamTaskStopsHoldingARepartitionPartition) {
  Make(true, milliseconds(1000));
  Add("a", 0, 1000);
  Add("b", 0, 500, Stamp("0_0:700"));
  ProcessAll();
  EXPECT_FALSE(task_->RefreshIdle(now_));
  now_ += 1000;
  // Both partitions stay active; on "b" only 0_0 writes.
  Add("a", 1, 1100);
  Add("b", 1, 510, Stamp("0_0:710"));
  ProcessAll();
  EXPECT_EQ(task_->watermark(), -1);
  // 0_1 never heard from for 1000 ms: it stops holding "b" back.
  EXPECT_TRUE(task_->RefreshIdle(now_));
  ASSERT_TRUE(task_->AdvanceWatermark().ok());
  EXPECT_EQ(task_->PartitionTime("b", 3), 710);
  EXPECT_EQ(task_->watermark(), 710);  // min(a=1100, b=710)
}

// ---------------------------------------------------------------------------
// Through TopologyTestDriver: window close.

int64_t WindowCount(const TestRecord& r) {
  int64_t v = 0;
  EXPECT_TRUE(Serdes::Int64()->Deserialize(r.value, &v).ok());
  return v;
}

// Reads the emitted windows of "out" as (key, start, count), decoding the
// TimeWindowedSerde key (key bytes + 8-byte big-endian start).
std::vector<std::tuple<S, int64_t, int64_t>> Emitted(TopologyTestDriver& driver) {
  std::vector<std::tuple<S, int64_t, int64_t>> out;
  for (const TestRecord& r : driver.OutputQueue("out")) {
    const S& k = *r.key;
    int64_t start = 0;
    for (size_t i = k.size() - 8; i < k.size(); ++i) {
      start = (start << 8) | static_cast<unsigned char>(k[i]);
    }
    out.emplace_back(k.substr(0, k.size() - 8), start, WindowCount(r));
  }
  driver.OutputQueue("out").clear();
  return out;
}

// "a" and "b" merged → windowed count (size 10, grace 5, emit on close).
Topology MergedWindowedCount() {
  StreamsBuilder builder;
  auto consumed = Consumed<S, S>::With(Serdes::String(), Serdes::String());
  builder.Stream<S, S>("a", consumed)
      .Merge(builder.Stream<S, S>("b", consumed))
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5)))
      .WithEmitStrategy(EmitStrategy::kOnWindowClose)
      .Count()
      .ToStream()
      .To("out");
  return builder.Build();
}

TestDriverOptions DriverOptions() {
  TestDriverOptions options;
  options.initial_wall_clock_ms = kNow;
  return options;
}

TEST(WatermarkDriverTest, RecordWithinGraceOfItsOwnPartitionIsKeptWhileAnotherRunsAhead) {
  TopologyTestDriver driver(MergedWindowedCount(), DriverOptions());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto a = driver.CreateInputTopic<S, S>("a", Serdes::String(), Serdes::String());
  auto b = driver.CreateInputTopic<S, S>("b", Serdes::String(), Serdes::String());
  ASSERT_TRUE(a.PipeInput("k", "x", 100).ok());  // a runs ahead
  ASSERT_TRUE(b.PipeInput("k", "x", 20).ok());   // under "max seen" (100) [20,30) is closed
  ASSERT_TRUE(b.PipeInput("k", "x", 22).ok());
  EXPECT_EQ(driver.Counters(0).dropped_late, 0u);
  // Watermark min(100, 22) = 22: nothing is closed yet.
  EXPECT_TRUE(Emitted(driver).empty());
  ASSERT_TRUE(b.PipeInput("k", "x", 120).ok());  // watermark 100: [20,30) closes
  EXPECT_EQ(Emitted(driver), (std::vector<std::tuple<S, int64_t, int64_t>>{{"k", 20, 2}}));
  // Really late for its own partition (b at 120): [80,90) ends + grace 95 <= 100.
  ASSERT_TRUE(b.PipeInput("k", "x", 85).ok());
  EXPECT_EQ(driver.Counters(0).dropped_late, 1u);
  ASSERT_TRUE(a.PipeInput("k", "x", 200).ok());  // watermark 120: [100,110) closes
  EXPECT_EQ(Emitted(driver), (std::vector<std::tuple<S, int64_t, int64_t>>{{"k", 100, 1}}));
}

TEST(WatermarkDriverTest, IdleTimeoutLetsAQuietTopicStopHoldingWindowsOpen) {
  TestDriverOptions options = DriverOptions();
  options.watermark_idle_timeout = milliseconds(1000);
  TopologyTestDriver driver(MergedWindowedCount(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto a = driver.CreateInputTopic<S, S>("a", Serdes::String(), Serdes::String());
  ASSERT_TRUE(a.PipeInput("k", "x", 0).ok());
  ASSERT_TRUE(a.PipeInput("k", "x", 100).ok());
  EXPECT_TRUE(Emitted(driver).empty());  // "b" never had data: it holds the watermark
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(500)).ok());
  EXPECT_TRUE(Emitted(driver).empty());
  ASSERT_TRUE(driver.AdvanceWallClockTime(milliseconds(500)).ok());
  EXPECT_EQ(Emitted(driver), (std::vector<std::tuple<S, int64_t, int64_t>>{{"k", 0, 1}}));
}

TEST(WatermarkDriverTest, RepartitionCarriesTheUpstreamWatermarkAndConsumesWatermarkRecords) {
  StreamsBuilder builder;
  auto consumed = Consumed<S, S>::With(Serdes::String(), Serdes::String());
  builder.Stream<S, S>("a", consumed)
      .Merge(builder.Stream<S, S>("b", consumed))
      .SelectKey([](const S&, const S& v) { return v; })
      .GroupByKey(Grouped<S, S>::With(Serdes::String(), Serdes::String()).WithName("rekey"))
      .WindowedBy(TimeWindows::OfSizeAndGrace(milliseconds(10), milliseconds(5)))
      .WithEmitStrategy(EmitStrategy::kOnWindowClose)
      .Count()
      .ToStream()
      .To("out");
  TopologyTestDriver driver(builder.Build(), DriverOptions());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto a = driver.CreateInputTopic<S, S>("a", Serdes::String(), Serdes::String());
  auto b = driver.CreateInputTopic<S, S>("b", Serdes::String(), Serdes::String());
  ASSERT_TRUE(a.PipeInput("x", "g", 100).ok());
  ASSERT_TRUE(b.PipeInput("y", "g", 20).ok());  // kept: upstream watermark min(100, 20)
  ASSERT_TRUE(b.PipeInput("y", "h", 21).ok());
  EXPECT_EQ(driver.Counters(1).dropped_late, 0u);
  EXPECT_EQ(driver.Task(0).watermark(), 21);
  EXPECT_EQ(driver.Task(1).watermark(), 21);  // carried through the repartition topic
  EXPECT_TRUE(Emitted(driver).empty());
  ASSERT_TRUE(b.PipeInput("y", "h", 130).ok());
  EXPECT_EQ(driver.Task(1).watermark(), 100);
  EXPECT_EQ(Emitted(driver),
            (std::vector<std::tuple<S, int64_t, int64_t>>{{"g", 20, 1}, {"h", 20, 1}}));
  // Watermark records were sent at the commits and consumed downstream, never output.
  EXPECT_GT(driver.Counters(0).watermark_records_sent, 0u);
  EXPECT_EQ(driver.Counters(1).watermark_records, driver.Counters(0).watermark_records_sent);
  EXPECT_EQ(driver.Counters(1).processed, 4u);
  EXPECT_EQ(driver.Counters(1).dead_lettered, 0u);
  for (const S& topic : driver.ProducedTopicNames()) {
    EXPECT_EQ(topic.find("repartition"), S::npos) << topic;
  }
}

}  // namespace
}  // namespace eventflow::streams
