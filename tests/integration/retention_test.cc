// Old event times against the broker's time retention (labels integration,
// kafka, postgres).
//
// ReplayRetentionTest: events whose payload times are 30 days old run through
// two `eventflow run` instances and the sink on a broker of the test's own
// that checks retention every second (log.retention.check.interval.ms=1000;
// the default is 5 minutes, which only widens the window). Kafka's time
// retention compares retention.ms with each segment's largest record
// timestamp, and the application stamps what it writes with event time, so
// before the fix every repartition, changelog and output topic lost its
// segments within seconds. Twice: produced by an ordinary producer with
// current record timestamps into topics with the broker's default retention,
// and replayed with `eventflow-produce --from-file` (record timestamps = the
// old event times, topics created by the tool). Mid-way one instance is
// stopped and its state directory deleted (a pod rescheduled onto a node
// without its volume): its tasks are restored from the changelogs by the other
// instance, and again by itself when it returns. The sink starts only at the
// end, after many retention checks. The four tables must equal the contract's
// recomputation, every full restore must start at offset 0 of its changelog
// (nothing deleted), and no log may report an offset out of range.
//
// RepartitionPurgeTest: a live pipeline for 5 minutes on the shared broker:
// its repartition topics (kept by time forever) are purged by the application
// after its commits, so their log start offsets advance and they hold far
// fewer records than were written.
//
// Every wait is bounded; everything listens on loopback.
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/pipeline_contract.h"
#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/private_services.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::PartitionOffsets;

constexpr int kPartitions = 3;
constexpr int64_t kDayMs = 86'400'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

sinks::PgConnection Connect(const std::string& url) {
  auto conn = sinks::PgConnection::Connect(url);
  if (!conn.ok()) throw std::runtime_error(conn.status().ToString());
  return std::move(*conn);
}

std::string TopicOf(const std::string& json) {
  const std::string type = testing::JsonField(json, "eventType");
  if (type == "VIEW") return "product-view";
  if (type == "ORDER") return "orders";
  return "user-events";
}

// Produces JSON lines as an ordinary application would: key = userId, topic by
// eventType, the record timestamp left to the producer (now), acks=all.
Status ProduceWithCurrentTimestamps(const std::vector<std::string>& lines,
                                    const std::string& prefix) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("acks", "all");
  props.Set("linger.ms", "20");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  if (!producer.ok()) return producer.status();
  for (const std::string& line : lines) {
    const std::string topic = prefix + TopicOf(line);
    const std::string key = testing::JsonField(line, "userId");
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(line.data()), line.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return kafka::FromKafkaError(err, topic);
      rd_kafka_poll(producer->get(), 10);
    }
  }
  return kafka::FromKafkaError(rd_kafka_flush(producer->get(), 60'000), "flushing");
}

// One application (two instances), its sink and PostgreSQL schema, on the
// services the test points the helpers at (EVENTFLOW_TEST_KAFKA/POSTGRES).
class Pipeline {
 public:
  Pipeline(std::string name, std::filesystem::path dir)
      : prefix_(testing::UniqueName(name) + "-"),
        app_id_(prefix_ + "app"),
        dir_(dir / prefix_),
        conn_(Connect(schema_.url())) {
    std::filesystem::create_directories(dir_);
  }
  ~Pipeline() {
    for (auto& app : apps_) app.reset();
    sink_.reset();
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }

  const std::string& prefix() const { return prefix_; }
  const std::string& app_id() const { return app_id_; }
  std::string Log(const std::string& name) const { return (dir_ / (name + ".log")).string(); }
  std::string StateDir(int i) const { return (dir_ / ("state-" + std::to_string(i))).string(); }
  int port(int i) const { return ports_[i]; }
  sinks::PgConnection& conn() { return conn_; }

  void StartApp(int i, std::vector<std::string> extra = {}) {
    if (ports_[i] == 0) ports_[i] = testing::FreePort();
    std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow", "run",
        "--bootstrap-servers", testing::KafkaBootstrap(),
        "--application-id", app_id_,
        "--instance-id", "i" + std::to_string(i),
        "--state-dir", StateDir(i),
        "--http-port", std::to_string(ports_[i]),
        "--topic-prefix", prefix_,
        "--partitions", std::to_string(kPartitions),
        // A stopped instance's tasks move to the other one within seconds.
        "--kafka.session.timeout.ms=6000"};
    if (std::find(extra.begin(), extra.end(), "--topology") == extra.end()) {
      argv.insert(argv.end(), {"--topology", "eventflow"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    apps_[i] = std::make_unique<ChildProcess>(argv, Log("app-" + std::to_string(i)));
  }

  int app_pid(int i) const { return apps_[i] ? apps_[i]->pid() : -1; }
  // Waits for instance i to exit (it stops by itself) and returns its code.
  int WaitApp(int i) {
    const int code = apps_[i]->Wait(60s, "application instance " + std::to_string(i));
    apps_[i].reset();
    return code;
  }

  void StopApp(int i) {
    apps_[i]->Signal(SIGTERM);
    EXPECT_EQ(apps_[i]->Wait(60s, "application instance " + std::to_string(i)), 0) << "see " << Log("app-" + std::to_string(i));
    apps_[i].reset();
  }

  void StartSink() {
    sink_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{testing::ToolDir() + "/eventflow-sink", "--bootstrap-servers",
                                 testing::KafkaBootstrap(), "--postgres-url", schema_.url(),
                                 "--group", prefix_ + "sink", "--topic-prefix", prefix_,
                                 "--dlq-topic", prefix_ + "sink-dlq", "--batch-ms", "50ms"},
        Log("sink"));
  }

  void StopSink() {
    sink_->Signal(SIGTERM);
    EXPECT_EQ(sink_->Wait(60s, "eventflow-sink"), 0) << "see " << Log("sink");
    sink_.reset();
  }

  std::vector<std::string> OutputTopics() const {
    std::vector<std::string> out;
    for (const char* t : testing::kContractTables) out.push_back(prefix_ + t);
    return out;
  }

  // Polls `done` every 250 ms until it holds or `timeout` passes; fails naming
  // `what` (and any process that exited meanwhile).
  template <typename F>
  bool AwaitUntil(const std::string& what, Clock::duration timeout, F done) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      for (int i = 0; i < 2; ++i) {
        if (apps_[i] && testing::ProcessExited(apps_[i]->pid())) {
          ADD_FAILURE() << "instance " << i << " exited while waiting for " << what << "; see "
                        << Log("app-" + std::to_string(i));
          return false;
        }
      }
      if (sink_ && testing::ProcessExited(sink_->pid())) {
        ADD_FAILURE() << "the sink exited while waiting for " << what << "; see " << Log("sink");
        return false;
      }
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << "timed out after "
                  << std::chrono::duration_cast<std::chrono::seconds>(timeout).count()
                  << " s waiting for " << what << "; logs in " << dir_;
    return false;
  }

  // Waits until the application has committed its input topics to their ends.
  bool AwaitInputCommitted(Clock::duration timeout) {
    for (const char* t : {"product-view", "orders"}) {
      const std::string topic = prefix_ + t;
      auto ends = testing::EndOffsets(topic);
      if (!ends.ok()) {
        ADD_FAILURE() << ends.status().ToString();
        return false;
      }
      if (!AwaitUntil("the application to commit " + topic + " to its end", timeout, [&] {
            auto c = testing::CommittedOffsets(app_id_, topic);
            if (!c.ok() || c->size() != ends->size()) return false;
            for (size_t p = 0; p < ends->size(); ++p) {
              if ((*c)[p] < (*ends)[p]) return false;
            }
            return true;
          })) {
        return false;
      }
    }
    return true;
  }

  // Waits until the input is committed, the repartition and output topics and
  // the repartition topics' committed offsets have not moved for 2 s, and the
  // sink has stored the output topics' end offsets. Returns those ends.
  std::optional<PartitionOffsets> AwaitDone(Clock::duration timeout) {
    if (!AwaitInputCommitted(timeout)) return std::nullopt;
    auto snapshot = [&] { return testing::PipelineProgress(app_id_, OutputTopics()); };
    PartitionOffsets last;
    int stable = 0;
    if (!AwaitUntil("the repartition and output topics to settle", timeout, [&] {
          PartitionOffsets now = snapshot();
          stable = !now.empty() && now == last ? stable + 1 : 0;
          last = std::move(now);
          return stable >= 8;
        })) {
      return std::nullopt;
    }
    PartitionOffsets ends;
    for (const auto& [tp, end] : testing::EndOffsetsOf(OutputTopics())) {
      if (end > 0) ends[tp] = end;
    }
    if (!AwaitUntil("the sink to store the output topics' end offsets", timeout,
                    [&] { return testing::StoredOffsets(conn_) == ends; })) {
      return std::nullopt;
    }
    return ends;
  }

 private:
  std::string prefix_;
  std::string app_id_;
  std::filesystem::path dir_;
  testing::ScopedSchema schema_;
  sinks::PgConnection conn_;
  std::unique_ptr<ChildProcess> apps_[2];
  std::unique_ptr<ChildProcess> sink_;
  int ports_[2] = {0, 0};
};

// The generator's events as JSON lines: 24,000 events 100 ms apart (40 minutes
// of event time, 8 windows) starting 30 days ago on an hour, lagging the
// generator's clock by up to 4 minutes (within grace), 1% of them 3 hours late.
std::vector<std::string> MonthOldEvents() {
  const int64_t start = (NowMs() - 30 * kDayMs) / 3'600'000 * 3'600'000;
  const testing::ProcessResult r = testing::RunProcess(
      {testing::ToolDir() + "/eventflow-produce", "--dry-run", "--seed", "23", "--count", "24000",
       "--start-time", testing::Ts(start), "--event-spacing", "100ms", "--max-disorder", "4m",
       "--late-fraction", "0.01", "--late-by", "3h"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines, size_t from,
                size_t to) {
  std::ofstream out(path);
  for (size_t i = from; i < to; ++i) out << lines[i] << '\n';
}

// Runs one variant; `current_timestamps`: an ordinary producer into topics
// with the broker's default retention, else eventflow-produce --from-file.
void RunReplay(bool current_timestamps, const std::vector<std::string>& events,
               const std::filesystem::path& dir) {
  SCOPED_TRACE(current_timestamps ? "produced with current record timestamps"
                                  : "replayed with eventflow-produce --from-file");
  Pipeline p(current_timestamps ? "now-ts" : "from-file", dir);
  std::optional<testing::ScopedTopics> inputs;
  if (current_timestamps) {
    std::vector<kafka::NewTopic> topics;
    for (const char* t : {"user-events", "product-view", "orders"}) {
      topics.push_back({p.prefix() + t, kPartitions, 1, {}});  // the broker's defaults
    }
    inputs.emplace(std::move(topics), testing::ScopedTopics::Retention::kBrokerDefault);
  }
  const size_t half = events.size() / 2;
  auto produce = [&](size_t from, size_t to) {
    if (current_timestamps) {
      const std::vector<std::string> part(events.begin() + static_cast<long>(from),
                                          events.begin() + static_cast<long>(to));
      const Status s = ProduceWithCurrentTimestamps(part, p.prefix());
      ASSERT_TRUE(s.ok()) << s.ToString();
      return;
    }
    const std::string file = p.Log("events-" + std::to_string(from)) + ".jsonl";
    WriteLines(file, events, from, to);
    const testing::ProcessResult r = testing::RunProcess(
        {testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers",
         testing::KafkaBootstrap(), "--topic-prefix", p.prefix(), "--partitions",
         std::to_string(kPartitions), "--from-file", file, "--progress", "off"});
    ASSERT_EQ(r.exit_code, 0) << "eventflow-produce --from-file: " << r.err;
  };

  // 1. The first half through two instances.
  produce(0, half);
  p.StartApp(0);
  p.StartApp(1);
  ASSERT_TRUE(p.AwaitInputCommitted(180s));
  // 2. Instance 1 goes, with its state: its tasks move to instance 0, which
  //    restores them from the changelogs (a tail replay from what it kept of
  //    them from before the first rebalance, or a full restore), after
  //    several retention checks.
  const size_t log0_from = testing::FileSize(p.Log("app-0"));
  p.StopApp(1);
  std::filesystem::remove_all(p.StateDir(1));
  std::this_thread::sleep_for(5s);  // retention checks every second
  ASSERT_TRUE(p.AwaitUntil("instance 0 to take instance 1's tasks over", 120s, [&] {
    return !testing::ParseRestoreLines(testing::ReadFileFrom(p.Log("app-0"), log0_from)).empty();
  }));
  // 3. The second half; instance 1 returns with an empty state directory and
  //    restores its tasks in full, after more retention checks.
  produce(half, events.size());
  std::this_thread::sleep_for(3s);
  p.StartApp(1);
  ASSERT_TRUE(p.AwaitInputCommitted(180s));
  // 4. The sink starts last: the output topics have been through many checks.
  std::this_thread::sleep_for(3s);
  p.StartSink();
  const auto ends = p.AwaitDone(240s);
  ASSERT_TRUE(ends.has_value());
  std::this_thread::sleep_for(3s);  // nothing may disappear afterwards either
  p.StopApp(0);
  p.StopApp(1);
  p.StopSink();

  // The input survived (its records carry current timestamps, or the tool
  // created its topics without a time limit).
  auto views = testing::ReadAll(p.prefix() + "product-view", false, 60s);
  auto orders = testing::ReadAll(p.prefix() + "orders", false, 60s);
  ASSERT_TRUE(views.ok() && orders.ok()) << views.status().ToString() << "; "
                                         << orders.status().ToString();
  size_t produced_views = 0, produced_orders = 0;
  for (const std::string& line : events) {
    const std::string topic = TopicOf(line);
    produced_views += topic == "product-view";
    produced_orders += topic == "orders";
  }
  EXPECT_EQ(views->size(), produced_views) << "views deleted from the input topic";
  EXPECT_EQ(orders->size(), produced_orders) << "orders deleted from the input topic";
  const testing::Expected expected =
      testing::Recompute(*views, *orders, /*record_timestamps_are_event_times=*/!current_timestamps);
  EXPECT_GT(expected.tables.at(testing::kContractTables[2]).size(), 100u);
  EXPECT_GT(expected.tables.at(testing::kContractTables[3]).size(), 50u);
  testing::ExpectTablesEqual(expected.tables, testing::ReadTables(p.conn()));
  EXPECT_EQ(testing::StoredOffsets(p.conn()), *ends) << "eventflow_sink_offsets";

  // Both instances restored tasks in full, and every restore started at the
  // beginning of its changelog: nothing was deleted from a changelog.
  int full_restores_with_records[2] = {0, 0};  // instance 0's moved tasks may tail-replay
  for (int i = 0; i < 2; ++i) {
    const std::string log = testing::ReadFileFrom(p.Log("app-" + std::to_string(i)));
    for (const auto& r : testing::ParseRestoreLines(log)) {
      if (r.full) {
        EXPECT_EQ(r.from, 0) << "instance " << i << ", task " << r.task << " store " << r.store
                             << ": a full restore began above offset 0 (records deleted)";
        full_restores_with_records[i] += r.records > 0;
      }
    }
    for (const char* bad : {"ffset out of range", "offset reset", "were deleted", "DataLoss"}) {
      EXPECT_EQ(log.find(bad), std::string::npos)
          << "instance " << i << "'s log reports \"" << bad << "\"; see "
          << p.Log("app-" + std::to_string(i));
    }
  }
  EXPECT_GT(full_restores_with_records[1], 0) << "instance 1 restored nothing after returning";
  const std::string sink_log = testing::ReadFileFrom(p.Log("sink"));
  for (const char* bad : {"ffset out of range", "offset reset", "were deleted"}) {
    EXPECT_EQ(sink_log.find(bad), std::string::npos) << "the sink's log reports \"" << bad << "\"";
  }
  // The changelogs' and outputs' log start offsets are still 0.
  std::vector<std::string> kept = p.OutputTopics();
  for (const std::string& topic : testing::TopicsStartingWith(p.app_id() + "-")) {
    if (topic.ends_with("-changelog")) kept.push_back(topic);
  }
  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // The configurations the topics were created with (printed: the record
  // of what the project creates).
  for (const std::string& topic : testing::TopicsStartingWith(p.prefix())) {
    auto configs = kafka::DescribeTopicConfigs(client->get(), topic, 30s);
    ASSERT_TRUE(configs.ok()) << configs.status().ToString();
    auto get = [&](const char* key) { return (*configs)[key]; };
    std::printf("  %-60s cleanup.policy=%s retention.ms=%s segment.bytes=%s segment.ms=%s\n",
                topic.substr(p.prefix().size()).c_str(), get("cleanup.policy").c_str(),
                get("retention.ms").c_str(), get("segment.bytes").c_str(),
                get("segment.ms").c_str());
    const bool input = topic.ends_with("-user-events") || topic.ends_with("-product-view") ||
                       topic.ends_with("-orders");
    if (topic.ends_with("-repartition")) {
      EXPECT_EQ(get("retention.ms"), "-1") << topic;
      EXPECT_EQ(get("segment.bytes"), "52428800") << topic;
    } else if (topic.ends_with("-changelog")) {
      EXPECT_NE(get("cleanup.policy").find("compact"), std::string::npos) << topic;
    } else if (input) {
      EXPECT_EQ(get("retention.ms"), current_timestamps ? "604800000" : "-1") << topic;
    } else if (!topic.ends_with("-dlq")) {  // the four outputs, created by eventflow run
      EXPECT_EQ(get("retention.ms"), "-1") << topic;
    }
  }
  for (const std::string& topic : kept) {
    auto partitions = kafka::PartitionCount(client->get(), topic, 30s);
    ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
    for (int part = 0; part < *partitions; ++part) {
      auto marks = kafka::QueryWatermarks(client->get(), topic, part, 30s);
      ASSERT_TRUE(marks.ok()) << marks.status().ToString();
      EXPECT_EQ(marks->low, 0) << topic << " partition " << part << " lost its head";
    }
  }
}

TEST(ReplayRetentionTest, MonthOldEventsLoseNothingToRetentionChecksAStateLossAndALateSink) {
  const std::filesystem::path dir = std::string(EVENTFLOW_RETENTION_RUN_DIR);
  testing::PrivateServices services(
      dir.string(), 30192, 26132,
      {"EVENTFLOW_KAFKA_PROPS=log.retention.check.interval.ms=1000 log.segment.bytes=1048576"});
  const Status started = services.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  const std::vector<std::string> events = MonthOldEvents();
  ASSERT_EQ(events.size(), 24'000u);
  RunReplay(/*current_timestamps=*/true, events, dir);
  RunReplay(/*current_timestamps=*/false, events, dir);
}

// A live pipeline on the shared broker: the generator at 200 events/s for 5
// minutes (current event times) through two instances with the default purge
// interval (30 s).
TEST(RepartitionPurgeTest, FiveMinutesLiveKeepRepartitionTopicsPurged) {
  Pipeline p("purge", std::filesystem::temp_directory_path());
  ChildProcess producer({testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers",
                         testing::KafkaBootstrap(), "--topic-prefix", p.prefix(), "--partitions",
                         std::to_string(kPartitions), "--rate", "200", "--duration", "5m",
                         "--progress", "off"},
                        p.Log("produce"));
  ASSERT_TRUE(p.AwaitUntil("the generator to create the input topics", 60s, [&] {
    return testing::TopicsStartingWith(p.prefix() + "orders").size() == 1 &&
           testing::TopicsStartingWith(p.prefix() + "product-view").size() == 1;
  }));
  p.StartApp(0);
  p.StartApp(1);
  EXPECT_EQ(producer.Wait(7min, "eventflow-produce"), 0) << "see " << p.Log("produce");
  ASSERT_TRUE(p.AwaitInputCommitted(120s));
  std::this_thread::sleep_for(35s);  // one more purge interval after the last input
  p.StopApp(0);
  p.StopApp(1);

  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  int repartition_topics = 0;
  for (const std::string& topic : testing::TopicsStartingWith(p.app_id() + "-")) {
    if (!topic.ends_with("-repartition")) continue;
    ++repartition_topics;
    int64_t written = 0, held = 0;
    auto partitions = kafka::PartitionCount(client->get(), topic, 30s);
    ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
    for (int part = 0; part < *partitions; ++part) {
      auto marks = kafka::QueryWatermarks(client->get(), topic, part, 30s);
      ASSERT_TRUE(marks.ok()) << marks.status().ToString();
      EXPECT_GT(marks->low, 0) << topic << " partition " << part << " was never purged";
      written += marks->high;
      held += marks->high - marks->low;
    }
    std::printf("%s: %lld offsets written, %lld held\n", topic.c_str(),
                static_cast<long long>(written), static_cast<long long>(held));
    EXPECT_GT(written, 10'000) << topic;
    EXPECT_LT(held * 10, written) << topic << " holds more than a tenth of what was written";
  }
  EXPECT_GE(repartition_topics, 2) << "the pipeline's repartition topics";
  std::vector<std::string> all = testing::TopicsStartingWith(p.prefix());
  Status s = kafka::DeleteTopics(client->get(), all, 60s);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// Reads eventflow_records_lost_total{topic="<topic>"} from a /metrics text
// (0 when absent).
double LostRecords(const std::string& exposition, const std::string& topic) {
  const std::string needle = "topic=\"" + topic + "\"";
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("eventflow_records_lost_total{", 0) == 0 && line.find(needle) != line.npos) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return 0;
}

// Records of an input topic deleted (DeleteRecords) after the application
// committed up to some offset and before it read on: by default `eventflow run`
// stops with a message naming the topic, partition, offsets and count; with
// --on-data-loss skip it goes on, counts exactly the deleted records in
// eventflow_records_lost_total{topic} and its output has every surviving
// order once; a restart after that finds no gap.
TEST(DataLossTest, InputRecordsDeletedBeforeTheyAreReadStopTheAppOrAreSkippedAndCounted) {
  Pipeline p("lost", std::filesystem::temp_directory_path());
  const std::string orders = p.prefix() + "orders";
  auto produce = [&](int seed) {
    const testing::ProcessResult r = testing::RunProcess(
        {testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers",
         testing::KafkaBootstrap(), "--topic-prefix", p.prefix(), "--partitions",
         std::to_string(kPartitions), "--seed", std::to_string(seed), "--count", "4000",
         "--max-rate", "--progress", "off"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  auto run_args = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--topology", "orders_raw"});
    return extra;
  };
  produce(1);
  p.StartApp(0, run_args({}));
  ASSERT_TRUE(p.AwaitUntil("the first orders committed", 120s, [&] {
    auto ends = testing::EndOffsets(orders);
    auto c = testing::CommittedOffsets(p.app_id(), orders);
    return ends.ok() && c.ok() && *c == *ends;
  }));
  p.StopApp(0);
  auto committed = testing::CommittedOffsets(p.app_id(), orders);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  auto before = testing::ReadAll(orders, false, 60s);  // every order, before the deletion
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  produce(2);
  auto all = testing::ReadAll(orders, false, 60s);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  auto ends = testing::EndOffsets(orders);
  ASSERT_TRUE(ends.ok()) << ends.status().ToString();
  std::vector<kafka::PartitionOffset> cuts;
  uint64_t deleted = 0;
  for (int part = 0; part < kPartitions; ++part) {
    const int64_t from = (*committed)[static_cast<size_t>(part)];
    const int64_t cut = from + ((*ends)[static_cast<size_t>(part)] - from) / 3;
    ASSERT_GT(cut, from) << "partition " << part << " has nothing unread";
    cuts.push_back({orders, part, cut});
    deleted += static_cast<uint64_t>(cut - from);
  }
  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const Status cut = kafka::DeleteRecordsBefore(client->get(), cuts, 30s);
  ASSERT_TRUE(cut.ok()) << cut.ToString();

  // The default policy: the instance stops, saying what is gone.
  const size_t log_from = testing::FileSize(p.Log("app-0"));
  p.StartApp(0, run_args({}));
  ASSERT_TRUE(p.AwaitUntil("the instance to stop by itself", 120s, [&] {
    return testing::ProcessExited(p.app_pid(0));
  }));
  EXPECT_EQ(p.WaitApp(0), 1) << "see " << p.Log("app-0");
  // The first partition found out of range stops it; the message names it.
  const std::string stopped = testing::ReadFileFrom(p.Log("app-0"), log_from);
  bool named = false;
  for (int part = 0; part < kPartitions; ++part) {
    const int64_t from = (*committed)[static_cast<size_t>(part)];
    const int64_t to = cuts[static_cast<size_t>(part)].offset;
    named = named || stopped.find(orders + " partition " + std::to_string(part) +
                                  ": the records at offsets " + std::to_string(from) + " to " +
                                  std::to_string(to - 1) + " (" + std::to_string(to - from) +
                                  ") were deleted before this application read them") !=
                         std::string::npos;
  }
  EXPECT_TRUE(named) << "no message naming the topic, partition, offsets and count; see "
                     << p.Log("app-0");
  EXPECT_NE(stopped.find("on-data-loss=skip"), std::string::npos) << "see " << p.Log("app-0");
  auto still = testing::CommittedOffsets(p.app_id(), orders);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, *committed) << "the stopped instance committed past the gap";

  // Skip: it goes on and counts exactly what was deleted.
  p.StartApp(0, run_args({"--on-data-loss", "skip"}));
  ASSERT_TRUE(p.AwaitUntil("the remaining orders committed", 120s, [&] {
    auto c = testing::CommittedOffsets(p.app_id(), orders);
    return c.ok() && *c == *ends;
  }));
  double lost = -1;
  ASSERT_TRUE(p.AwaitUntil("the lost records in /metrics", 30s, [&] {
    auto body = testing::HttpGet(p.port(0), "/metrics");
    if (body.ok()) lost = LostRecords(*body, orders);
    return lost == static_cast<double>(deleted);
  })) << "eventflow_records_lost_total{topic=\"" << orders << "\"} = " << lost << ", deleted "
      << deleted;
  p.StopApp(0);
  // The output: every order not deleted, exactly once.
  std::map<std::string, int> want;
  for (const testing::ConsumedRecord& r : *all) {
    const int64_t from = (*committed)[static_cast<size_t>(r.partition)];
    const int64_t to = cuts[static_cast<size_t>(r.partition)].offset;
    if (r.offset >= from && r.offset < to) continue;  // deleted unread
    ++want[testing::JsonField(r.value, "orderId")];
  }
  auto out = testing::ReadAll(p.prefix() + "orders_raw", true, 60s);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::map<std::string, int> got;
  for (const testing::ConsumedRecord& r : *out) ++got[testing::JsonField(r.value, "order_id")];
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "orders_raw differs from the surviving orders";

  // A restart finds no gap: nothing is reported or counted again.
  const size_t again_from = testing::FileSize(p.Log("app-0"));
  p.StartApp(0, run_args({"--on-data-loss", "skip"}));
  ASSERT_TRUE(p.AwaitUntil("the restarted instance to be ready", 60s, [&] {
    return testing::HttpGet(p.port(0), "/readyz").ok();
  }));
  std::this_thread::sleep_for(2s);
  auto body = testing::HttpGet(p.port(0), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(LostRecords(*body, orders), 0);
  p.StopApp(0);
  EXPECT_EQ(testing::ReadFileFrom(p.Log("app-0"), again_from).find("were deleted"),
            std::string::npos);
  Status s = kafka::DeleteTopics(client->get(), testing::TopicsStartingWith(p.prefix()), 60s);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace eventflow
