// The whole EventFlow pipeline run by a test (pipeline_e2e_test.cc,
// pipeline_scaling_test.cc): its topics under a unique prefix, a PostgreSQL
// schema of its own, the generator, up to kMaxApps `eventflow run`
// instances and the sink as child processes, and the checks of the four
// tables against the data contract recomputed from the input read back
// (eventflow/testing/pipeline_contract.h). Every wait is bounded.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "eventflow/core/time.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/pipeline_contract.h"
#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow::pipeline_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::ConsumedRecord;
using testing::KafkaBootstrap;
using testing::UniqueName;

// The data contract (DESIGN.md, "The EventFlow pipeline"), recomputed in
// eventflow/testing/pipeline_contract.h.
using testing::EndOffsetsOf;
using testing::Expected;
using testing::ExpectTablesEqual;
using testing::FreePort;
using testing::HttpGet;
using testing::LateDrops;
using testing::PartitionOffsets;
using testing::ReadTables;
using testing::Recompute;
using testing::StoredOffsets;
using testing::Sum;
using testing::TopicsStartingWith;
using testing::Ts;
constexpr int64_t kGraceMs = testing::kContractGraceMs;
constexpr int64_t kJoinGraceMs = testing::kContractJoinGraceMs;
constexpr const char* const* kTables = testing::kContractTables;

// The input, in two runs of the generator:
//  1. 36,000 events 100 ms apart (an hour of event time: 12 windows), lagging
//     the generator's clock by up to 4 minutes (within grace), 1% of them 3
//     hours late, interleaved (--late-fraction 0.01 --late-by 3h);
//  2. once the application has read all of that, 300 events continuing the
//     clock, every one 3 hours late (--late-fraction 1 --late-by 3h).
// ~60% of events are views and ~15% orders, the rest user events the
// topologies do not read. A record is late by its own input partition's
// stream time, so the interleaved late records are excluded whatever the
// other partitions' progress (even while a partition not yet read holds the
// task's watermark back).
inline constexpr int kPartitions = 3;  // of every topic, unless a test asks for more
inline constexpr int kMaxApps = 3;     // application instances a test can run
constexpr int64_t kEvents = 36'000;
constexpr int64_t kLateEvents = 300;
constexpr uint64_t kSeed = 5;
constexpr int64_t kSpacingMs = 100;
constexpr char kMaxDisorder[] = "4m";
constexpr int64_t kMaxDisorderMs = 4 * 60'000;
constexpr char kLateBy[] = "3h";
static_assert(kMaxDisorderMs < kGraceMs && kMaxDisorderMs < kJoinGraceMs,
              "the disordered events must stay within grace");

// The input must exercise what the test is about; a change of the generator
// that stopped doing so would otherwise pass silently.
inline void CheckInputCoverage(const Expected& x) {
  std::printf("input: %lld views, %lld orders; beyond grace: %lld views, %lld orders; %lld "
              "disordered within grace; expected rows: %zu, %zu, %zu, %zu\n",
              static_cast<long long>(x.views), static_cast<long long>(x.orders),
              static_cast<long long>(x.late_views), static_cast<long long>(x.late_orders),
              static_cast<long long>(x.disordered), x.tables.at(kTables[0]).size(),
              x.tables.at(kTables[1]).size(), x.tables.at(kTables[2]).size(),
              x.tables.at(kTables[3]).size());
  std::set<std::string> currencies, windows;
  for (const auto& [key, row] : x.tables.at(kTables[1])) {
    currencies.insert(row[1]);
    windows.insert(row[0]);
  }
  for (const char* c : testing::kContractCurrencies) {
    EXPECT_TRUE(currencies.count(c)) << "no revenue in " << c;
  }
  EXPECT_GE(windows.size(), 10u) << "the input should span many 5-minute windows";
  EXPECT_GE(x.views + x.orders, kEvents / 2);
  EXPECT_GT(x.late_views, 0) << "no view beyond grace";
  EXPECT_GT(x.late_orders, 0) << "no order beyond grace";
  EXPECT_GT(x.disordered, x.views / 4) << "too little disorder within grace";
  EXPECT_GT(x.tables.at(kTables[3]).size(), 100u) << "too few attributed orders";
  size_t null_rates = 0;
  for (const auto& [key, row] : x.tables.at(kTables[2])) null_rates += row[5] == "NULL";
  EXPECT_GT(null_rates, 0u) << "no funnel row with orders but no views";
}

inline sinks::PgConnection Connect(const std::string& url) {
  auto conn = sinks::PgConnection::Connect(url);
  if (!conn.ok()) throw std::runtime_error(conn.status().ToString());
  return std::move(*conn);
}

// Input and output topics under a unique prefix (`partitions` partitions
// each), a schema of its own, and the processes: up to kMaxApps application
// instances, the sink, the generator. Logs in <dir>/*.log (named in
// failures); the directory, the topics (internal ones included) and the
// schema are removed afterwards.
class Pipeline {
 public:
  explicit Pipeline(int partitions = kPartitions, std::string name = "e2e")
      : prefix_(UniqueName(name) + "-"),
        app_id_(prefix_ + "app"),
        dir_(std::filesystem::temp_directory_path() / prefix_),
        partitions_(partitions),
        topics_(MakeTopics(prefix_, partitions)),
        conn_(Connect(schema_.url())) {
    std::filesystem::create_directories(dir_);
    // An hour-aligned start two hours ago: recent enough for every retention
    // and the applications' future-skew check, and windows are whole.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    start_ms_ = (now / 3'600'000 - 2) * 3'600'000;
  }

  ~Pipeline() {
    for (auto& app : apps_) app.reset();
    sink_.reset();
    auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    const std::vector<std::string> internal = TopicsStartingWith(app_id_ + "-");
    if (client.ok() && !internal.empty()) {
      Status s = kafka::DeleteTopics(client->get(), internal, 30s);
      if (!s.ok()) std::fprintf(stderr, "pipeline_e2e_test: leftover topics: %s\n", s.ToString().c_str());
    }
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }

  static std::vector<kafka::NewTopic> MakeTopics(const std::string& prefix, int partitions) {
    std::vector<kafka::NewTopic> topics;
    for (const char* t : {"user-events", "product-view", "orders"}) {
      topics.push_back({prefix + t, partitions, 1, {}});
    }
    for (const char* t : testing::kContractTables) topics.push_back({prefix + t, partitions, 1, {}});
    topics.push_back({prefix + "sink-dlq", 1, 1, {}});
    return topics;
  }

  std::string Log(const std::string& name) const { return (dir_ / (name + ".log")).string(); }

  // eventflow-produce's arguments for part 1 of the input (on time, with
  // disorder) or part 2 (`late`: hours late); paced at `rate` events/s or as
  // fast as possible (0).
  std::vector<std::string> ProduceArgs(bool late, int rate) const {
    const int64_t start = late ? start_ms_ + kEvents * kSpacingMs : start_ms_;
    std::vector<std::string> argv = {testing::ToolDir() + "/eventflow-produce",
                                     "--bootstrap-servers", KafkaBootstrap(),
                                     "--topic-prefix", prefix_,
                                     "--partitions", std::to_string(partitions_),
                                     "--seed", std::to_string(late ? kSeed + 1 : kSeed),
                                     "--count", std::to_string(late ? kLateEvents : kEvents),
                                     "--start-time", Ts(start),
                                     "--event-spacing", std::to_string(kSpacingMs) + "ms",
                                     "--max-disorder", late ? "0" : kMaxDisorder,
                                     "--late-fraction", late ? "1" : late_fraction_,
                                     "--late-by", kLateBy,
                                     "--progress", "off"};
    if (rate > 0) {
      argv.insert(argv.end(), {"--rate", std::to_string(rate)});
    } else {
      argv.push_back("--max-rate");
    }
    return argv;
  }

  // Produces part 1 or 2 of the input as fast as possible.
  void ProduceAll(bool late) {
    testing::ProcessResult r = testing::RunProcess(ProduceArgs(late, 0));
    ASSERT_EQ(r.exit_code, 0) << "eventflow-produce failed: " << r.err;
  }

  // Starts producing part 1 at `rate` events/s in the background.
  void StartProducer(int rate) {
    producer_ = std::make_unique<ChildProcess>(ProduceArgs(false, rate), Log("produce"));
  }

  int WaitProducer() { return producer_->Wait(180s, "eventflow-produce"); }

  // The fraction of part 1's events that are hours late (default 0.01). A
  // test that stops an instance gracefully mid-run uses 0: its last commit's
  // late drops are counted where no scrape sees them.
  void SetOnTimeLateFraction(std::string fraction) { late_fraction_ = std::move(fraction); }

  // Arguments every instance started after this gets (e.g. --standby-replicas).
  void SetAppArgs(std::vector<std::string> args) { app_args_ = std::move(args); }
  int port(int i) const { return ports_[i]; }
  const std::string& app_id() const { return app_id_; }
  const std::string& prefix() const { return prefix_; }

  // Starts (or restarts) application instance i (< kMaxApps): same application
  // id, its own instance id, state directory and metrics port.
  // Instances started after this use a short consumer session timeout, so a
  // killed instance's tasks move to the other one within seconds.
  void UseShortSessionTimeout() { short_session_ = true; }

  void StartApp(int i) {
    if (ports_[i] == 0) ports_[i] = FreePort();
    std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow", "run",
        "--bootstrap-servers", KafkaBootstrap(),
        "--application-id", app_id_,
        "--instance-id", "i" + std::to_string(i),
        "--threads", "1",
        "--state-dir", (dir_ / ("state-" + std::to_string(i))).string(),
        "--processing-guarantee", "exactly_once_v2",
        "--commit-interval-ms", "100",
        "--emit", "update",
        "--http-port", std::to_string(ports_[i]),
        "--topology", "eventflow",
        "--topic-prefix", prefix_,
        "--partitions", std::to_string(partitions_)};
    if (short_session_) argv.push_back("--kafka.session.timeout.ms=6000");
    argv.insert(argv.end(), app_args_.begin(), app_args_.end());
    apps_[i] = std::make_unique<ChildProcess>(argv, Log("app-" + std::to_string(i)));
    late_seen_[i].push_back(0);  // a new lifetime of the instance's counters
  }

  // kill -9 of instance i, right after reading its late-drop count.
  void KillApp(int i) {
    ScrapeLate(i);
    apps_[i]->Signal(SIGKILL);
    EXPECT_EQ(apps_[i]->Wait(120s, "application instance " + std::to_string(i)), 128 + SIGKILL);
  }

  // SIGTERM: a graceful stop must exit 0.
  void StopApp(int i) {
    apps_[i]->Signal(SIGTERM);
    EXPECT_EQ(apps_[i]->Wait(60s, "application instance " + std::to_string(i)), 0) << "see " << Log("app-" + std::to_string(i));
  }

  void StartSink() {
    const std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow-sink", "--bootstrap-servers", KafkaBootstrap(),
        "--postgres-url", schema_.url(), "--group", prefix_ + "sink", "--topic-prefix", prefix_,
        "--dlq-topic", prefix_ + "sink-dlq", "--batch-ms", "50ms",
        // A killed sink's partitions move once its session times out.
        "--kafka.session.timeout.ms=6000"};
    sink_ = std::make_unique<ChildProcess>(argv, Log("sink"));
  }

  void KillSink() {
    sink_->Signal(SIGKILL);
    EXPECT_EQ(sink_->Wait(120s, "eventflow-sink"), 128 + SIGKILL);
  }

  // Stops the sink, then prints the restarts its stall guard made (not a
  // failure: the guard recovers, the tables are checked; but a restart is
  // librdkafka leaving a partition unread, worth seeing in the test's output).
  void StopSink() {
    sink_->Signal(SIGTERM);
    EXPECT_EQ(sink_->Wait(60s, "eventflow-sink"), 0) << "see " << Log("sink");
    const std::string text = testing::ReadFileFrom(Log("sink"));
    int restarts = 0;
    for (size_t at = text.find(" stalled: "); at != std::string::npos;
         at = text.find(" stalled: ", at + 1)) {
      const size_t begin = text.rfind('\n', at) + 1;  // npos + 1 == 0
      std::printf("%s\n", text.substr(begin, text.find('\n', at) - begin).c_str());
      ++restarts;
    }
    std::printf("sink stall guard: %d restart(s)\n", restarts);
  }

  // Reads instance i's late-drop count (keeps the largest seen in this lifetime).
  void ScrapeLate(int i) {
    auto body = HttpGet(ports_[i], "/metrics");
    if (body.ok()) late_seen_[i].back() = std::max(late_seen_[i].back(), LateDrops(*body));
  }

  // Late drops counted over every lifetime of both instances.
  double LateDropsCounted() const {
    double sum = 0;
    for (const auto& lifetimes : late_seen_) {
      for (double v : lifetimes) sum += v;
    }
    return sum;
  }

  // Input records the application has committed (views and orders).
  int64_t InputCommitted() const {
    int64_t sum = 0;
    for (const char* t : {"product-view", "orders"}) {
      auto c = testing::CommittedOffsets(app_id_, prefix_ + t);
      if (!c.ok()) continue;
      for (int64_t o : *c) sum += std::max<int64_t>(o, 0);
    }
    return sum;
  }

  // Polls `done` every 100 ms (scraping the instances' metrics) until it holds
  // or `timeout` passes; then fails naming `what`.
  template <typename F>
  bool AwaitUntil(const std::string& what, std::chrono::seconds timeout, F done) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      for (int i = 0; i < kMaxApps; ++i) {
        if (apps_[i] && apps_[i]->running()) ScrapeLate(i);
      }
      for (int i = 0; i < kMaxApps; ++i) {
        if (apps_[i] && apps_[i]->running() && testing::ProcessExited(apps_[i]->pid())) {
          ADD_FAILURE() << "application instance " << i << " exited while waiting for " << what
                        << "; see " << Log("app-" + std::to_string(i));
          return false;
        }
      }
      if (sink_ && sink_->running() && testing::ProcessExited(sink_->pid())) {
        ADD_FAILURE() << "the sink exited while waiting for " << what << "; see " << Log("sink");
        return false;
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what
                  << "; logs in " << dir_;
    return false;
  }

  // Waits until the application has committed the input topics to their ends.
  bool AwaitInputCommitted(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (const char* t : {"product-view", "orders"}) {
      const std::string topic = prefix_ + t;
      auto ends = testing::EndOffsets(topic);
      if (!ends.ok()) {
        ADD_FAILURE() << ends.status().ToString();
        return false;
      }
      const std::vector<int64_t> target = *ends;
      const auto left = std::max<std::chrono::seconds>(
          1s, std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()));
      if (!AwaitUntil("the application to commit " + topic + " to its end", left, [&] {
            auto c = testing::CommittedOffsets(app_id_, topic);
            if (!c.ok() || c->size() != target.size()) return false;
            for (size_t p = 0; p < target.size(); ++p) {
              if ((*c)[p] < target[p]) return false;
            }
            return true;
          })) {
        return false;
      }
    }
    return true;
  }

  // Waits until the application has consumed all its input (the input topics to
  // their ends; then its repartition and output topics settle: their end
  // offsets and the group's committed offsets unchanged for 2 s) and the sink
  // has stored the output topics' end offsets. Returns those end offsets.
  std::optional<PartitionOffsets> AwaitDone(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    if (!AwaitInputCommitted(timeout)) return std::nullopt;
    std::vector<std::string> outputs;
    for (const char* t : testing::kContractTables) outputs.push_back(prefix_ + t);
    // Every input offset is committed, so every transaction writing a
    // repartition topic has ended; what is left is downstream processing.
    auto snapshot = [&] { return testing::PipelineProgress(app_id_, outputs); };
    PartitionOffsets last;
    int stable = 0;
    auto stable_since = Clock::now();
    if (!AwaitUntil("the application's repartition and output topics to settle",
                    std::max<std::chrono::seconds>(1s, std::chrono::duration_cast<std::chrono::seconds>(
                                                           deadline - Clock::now())),
                    [&] {
                      if (Clock::now() < stable_since + 500ms * stable) return false;
                      PartitionOffsets now = snapshot();
                      if (!now.empty() && now == last) {
                        ++stable;
                      } else {
                        stable = 0;
                        stable_since = Clock::now();
                        last = std::move(now);
                      }
                      return stable >= 4;
                    })) {
      return std::nullopt;
    }
    PartitionOffsets nonempty;
    for (const auto& [tp, end] : EndOffsetsOf(outputs)) {
      if (end > 0) nonempty[tp] = end;
    }
    if (!AwaitUntil("the sink to store the output topics' end offsets",
                    std::max<std::chrono::seconds>(1s, std::chrono::duration_cast<std::chrono::seconds>(
                                                           deadline - Clock::now())),
                    [&] { return StoredOffsets(conn_) == nonempty; })) {
      return std::nullopt;
    }
    return nonempty;
  }

  // Reads the input back and recomputes the tables.
  Expected Recomputed() {
    auto views = testing::ReadAll(prefix_ + "product-view", false, 60s);
    auto orders = testing::ReadAll(prefix_ + "orders", false, 60s);
    if (!views.ok() || !orders.ok()) {
      ADD_FAILURE() << "reading the input back: " << views.status().ToString() << "; "
                    << orders.status().ToString();
      return {};
    }
    return Recompute(*views, *orders);
  }

  // The checks common to both tests, once everything has stopped.
  void CheckResults(const Expected& expected, const PartitionOffsets& output_ends) {
    ExpectTablesEqual(expected.tables, ReadTables(conn_));
    EXPECT_EQ(StoredOffsets(conn_), output_ends) << "eventflow_sink_offsets";
    std::vector<std::string> outputs;
    for (const char* t : testing::kContractTables) outputs.push_back(prefix_ + t);
    PartitionOffsets ends;
    for (const auto& [tp, end] : EndOffsetsOf(outputs)) {
      if (end > 0) ends[tp] = end;
    }
    EXPECT_EQ(ends, output_ends) << "output written after the pipeline was done";
    EXPECT_GE(LateDropsCounted(), static_cast<double>(expected.MinLateDrops()))
        << "eventflow_records_dropped_total{reason=\"late\"} over the instances; "
        << expected.late_orders << " late orders, " << expected.late_views << " late views";
    auto sink_dlq = testing::ReadAll(prefix_ + "sink-dlq", false, 30s);
    ASSERT_TRUE(sink_dlq.ok()) << sink_dlq.status().ToString();
    EXPECT_EQ(sink_dlq->size(), 0u) << "rows the sink rejected; first: "
                                    << (sink_dlq->empty() ? "" : sink_dlq->front().value);
    for (const std::string& topic : TopicsStartingWith(app_id_ + "-")) {
      if (!topic.ends_with("-dlq")) continue;
      auto dlq = testing::ReadAll(topic, true, 30s);
      ASSERT_TRUE(dlq.ok()) << dlq.status().ToString();
      EXPECT_EQ(dlq->size(), 0u) << "input records the application dead-lettered ("
                                 << topic << "); first error: "
                                 << (dlq->empty() ? "" : dlq->front().Header("eventflow.error"));
    }
  }

 private:
  std::string prefix_;
  std::string app_id_;
  std::filesystem::path dir_;
  int partitions_;
  testing::ScopedSchema schema_;
  testing::ScopedTopics topics_;
  bool short_session_ = false;
  sinks::PgConnection conn_;
  int64_t start_ms_ = 0;
  std::vector<std::string> app_args_;
  std::string late_fraction_ = "0.01";
  std::unique_ptr<ChildProcess> apps_[kMaxApps];
  std::unique_ptr<ChildProcess> sink_;
  std::unique_ptr<ChildProcess> producer_;
  int ports_[kMaxApps] = {0, 0, 0};
  std::vector<double> late_seen_[kMaxApps];

 public:
  sinks::PgConnection& conn() { return conn_; }
};

}  // namespace eventflow::pipeline_test
