// The streams runtime on the real broker, with the application running as
// child processes (tests/integration/echo_app.cc) that are killed and
// restarted: exactly-once survives kill -9 in open transactions, instances
// joining and leaving move tasks without duplicates or loss, a zombie woken
// after its session expired commits nothing, poison records go
// to the dead-letter topic, at-least-once loses nothing, several stream threads
// per instance count exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ConsumedRecord;
using testing::ReadAll;
using testing::ScopedTopics;
using testing::UniqueName;

std::string EchoApp() { return testing::ToolDir() + "/eventflow-test-echo-app"; }

// Produces `values` (key "k<i % 64>") at about `rate` records/s, keyed and
// partitioned like the application's sink (murmur2), idempotently.
void ProduceValues(const std::string& topic, const std::vector<std::string>& values, int rate) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  props.Set("partitioner", "murmur2_random");
  props.Set("linger.ms", "5");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string key = "k" + std::to_string(i % 64);
    while (rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(values[i].data()), values[i].size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 10);
    }
    rd_kafka_poll(producer->get(), 0);
    if (rate > 0 && i % 100 == 0) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1'000'000 / rate));
    }
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

std::vector<std::string> NumberedValues(int n) {
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back("v" + std::to_string(i));
  return values;
}

// Values per partition, in offset order.
std::map<int32_t, std::vector<std::string>> ByPartition(const std::vector<ConsumedRecord>& records) {
  std::map<int32_t, std::vector<std::string>> out;
  for (const auto& r : records) out[r.partition].push_back(r.value);
  return out;
}

// Waits until `topic` holds at least `n` committed records; returns them.
std::vector<ConsumedRecord> AwaitRecords(const std::string& topic, size_t n,
                                         std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ConsumedRecord> records;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ReadAll(topic, /*read_committed=*/true, 30s);
    if (r.ok()) {
      records = std::move(*r);
      if (records.size() >= n) break;
    }
    std::this_thread::sleep_for(1s);
  }
  return records;
}

struct App {
  std::string app_id = UniqueName("app");
  std::string input;
  std::string output;
  std::string log = "/tmp/" + app_id + ".log";
  std::vector<std::string> Args(const std::string& instance, const std::string& guarantee) const {
    return {EchoApp(), "--bootstrap", testing::KafkaBootstrap(), "--app-id", app_id,
            "--instance-id", instance, "--input", input, "--output", output,
            "--guarantee", guarantee};
  }
};

TEST(StreamsRuntimeTest, ExactlyOnceSurvivesKillNineInOpenTransactions) {
  ScopedTopics topics({{UniqueName("eos-in"), 3, -1, {}}, {UniqueName("eos-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(20'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'500); });

  int kills = 0;
  {
    auto instance = std::make_unique<ChildProcess>(app.Args("a", "eos"), app.log);
    for (int round = 0; round < 4; ++round) {
      std::this_thread::sleep_for(1500ms);
      instance->Signal(SIGKILL);
      EXPECT_EQ(instance->Wait(120s, "the application instance"), 128 + SIGKILL);
      ++kills;
      instance = std::make_unique<ChildProcess>(app.Args("a", "eos"), app.log);
    }
    producer.join();
    const auto out = AwaitRecords(app.output, values.size(), 180s);
    instance->Signal(SIGTERM);
    EXPECT_EQ(instance->Wait(120s, "the application instance"), 0) << "see " << app.log;
  }
  EXPECT_EQ(kills, 4);
  auto input = ReadAll(app.input, true);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  // read_committed reaches the end of the output: no transaction left open.
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(output.ok()) << output.status().ToString() << " (a transaction left open?)";
  EXPECT_EQ(output->size(), values.size());
  // Per partition, in order: no duplicates, no gaps.
  EXPECT_TRUE(ByPartition(*output) == ByPartition(*input)) << "see " << app.log;
  auto uncommitted = ReadAll(app.output, false, 60s);
  ASSERT_TRUE(uncommitted.ok());
  std::printf("kills: %d, output records visible to read_uncommitted: %zu (aborted included), "
              "read_committed: %zu\n", kills, uncommitted->size(), output->size());
}

TEST(StreamsRuntimeTest, InstancesJoiningAndLeavingMoveTasksWithoutDuplicatesOrLoss) {
  ScopedTopics topics({{UniqueName("scale-in"), 6, -1, {}}, {UniqueName("scale-out"), 6, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(30'000);
  std::thread producer([&] { ProduceValues(app.input, values, 3'000); });
  auto a = std::make_unique<ChildProcess>(app.Args("a", "eos"), app.log);
  std::this_thread::sleep_for(2s);
  auto b = std::make_unique<ChildProcess>(app.Args("b", "eos"), app.log);
  std::this_thread::sleep_for(2s);
  auto c = std::make_unique<ChildProcess>(app.Args("c", "eos"), app.log);
  std::this_thread::sleep_for(3s);
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(120s, "instance a"), 0) << "see " << app.log;
  producer.join();
  AwaitRecords(app.output, values.size(), 180s);
  b->Signal(SIGTERM);
  c->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(120s, "instance b"), 0);
  EXPECT_EQ(c->Wait(120s, "instance c"), 0);
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), values.size());
  EXPECT_TRUE(ByPartition(*output) == ByPartition(*input)) << "see " << app.log;
}

// A SIGSTOPped instance whose consumer session expires meanwhile is a zombie:
// its tasks move to the other instance, which resumes from the last commit.
// Woken (SIGCONT), it must see that its assignment was lost and commit
// nothing of what it had processed (Kafka Streams' handleLostAll): every
// input record reaches the output exactly once, in order.
TEST(StreamsRuntimeTest, AZombieWokenAfterItsSessionExpiredCommitsNothing) {
  ScopedTopics topics({{UniqueName("zombie-in"), 3, -1, {}}, {UniqueName("zombie-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const std::string zombie_log = "/tmp/" + app.app_id + "-a.log";
  const auto values = NumberedValues(40'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'000); });  // ~20 s
  auto a = std::make_unique<ChildProcess>(app.Args("a", "eos"), zombie_log);
  auto b = std::make_unique<ChildProcess>(app.Args("b", "eos"), app.log);
  std::this_thread::sleep_for(5s);
  a->Signal(SIGSTOP);
  std::this_thread::sleep_for(12s);  // > the 6 s session timeout: a's tasks move to b
  a->Signal(SIGCONT);
  EXPECT_TRUE(testing::AwaitLogText(zombie_log, 0, "assignment lost", 1, 30s))
      << "the woken instance did not notice it lost its tasks; see " << zombie_log;
  producer.join();
  AwaitRecords(app.output, values.size(), 180s);
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(120s, "instance a"), 0) << "see " << zombie_log;
  EXPECT_EQ(b->Wait(120s, "instance b"), 0) << "see " << app.log;
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), values.size());
  EXPECT_TRUE(ByPartition(*output) == ByPartition(*input))
      << "see " << zombie_log << " and " << app.log;
}

TEST(StreamsRuntimeTest, PoisonRecordsGoToTheDeadLetterTopicAndTheAppKeepsGoing) {
  ScopedTopics topics({{UniqueName("dlq-in"), 1, -1, {}}, {UniqueName("dlq-out"), 1, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  ChildProcess instance(app.Args("a", "eos"), app.log);
  ProduceValues(app.input, {"ok-1", "poison-1", "ok-2", "throw-1", "ok-3"}, 0);
  const auto out = AwaitRecords(app.output, 3, 120s);
  const auto dlq = AwaitRecords(app.app_id + "-dlq", 2, 60s);
  instance.Signal(SIGTERM);
  EXPECT_EQ(instance.Wait(120s, "the application instance"), 0);

  std::vector<std::string> good;
  for (const auto& r : out) good.push_back(r.value);
  EXPECT_EQ(good, (std::vector<std::string>{"ok-1", "ok-2", "ok-3"}));
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq[0].value, "poison-1");
  EXPECT_EQ(dlq[0].Header("eventflow.error.stage"), "deserialization");
  EXPECT_NE(dlq[0].Header("eventflow.error").find("poison value"), std::string::npos);
  EXPECT_EQ(dlq[0].Header("eventflow.source.topic"), app.input);
  EXPECT_EQ(dlq[0].Header("eventflow.source.partition"), "0");
  EXPECT_EQ(dlq[0].Header("eventflow.source.offset"), "1");
  EXPECT_EQ(dlq[1].value, "throw-1");
  EXPECT_EQ(dlq[1].Header("eventflow.error.stage"), "processing");
  EXPECT_EQ(dlq[1].Header("eventflow.source.offset"), "3");
}

// Input records with and without headers, empty and non-empty values, in
// uncompressed and lz4 batches: each output record carries exactly its input
// record's value and headers (the consumer skips librdkafka's header parser
// only when the record's header count is 0: rdkafka_consumer.cc).
TEST(StreamsRuntimeTest, InputHeadersReachTheOutputUnchanged) {
  ScopedTopics topics({{UniqueName("hdr-in"), 1, -1, {}}, {UniqueName("hdr-out"), 1, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  using HeaderList = std::vector<std::pair<std::string, std::string>>;
  std::vector<std::pair<std::string, HeaderList>> expected;  // value, headers
  constexpr int kRecords = 300;
  for (int i = 0; i < kRecords; ++i) {
    const std::string value = i % 5 == 0 ? std::string() : "value-" + std::to_string(i);
    HeaderList headers;
    if (i % 3 >= 1) headers.emplace_back("h1", "v" + std::to_string(i));
    if (i % 3 == 2) {
      headers.emplace_back("empty", "");
      headers.emplace_back("trace-id", std::string(40, 'x') + std::to_string(i));
    }
    expected.emplace_back(value, headers);
  }
  for (const char* compression : {"none", "lz4"}) {
    kafka::KafkaProperties props = testing::TestKafkaProperties();
    props.Set("compression.type", compression);
    auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    const int first = std::string_view(compression) == "none" ? 0 : kRecords / 2;
    for (int i = first; i < first + kRecords / 2; ++i) {
      const auto& [value, headers] = expected[static_cast<size_t>(i)];
      rd_kafka_headers_t* hdrs = nullptr;
      if (!headers.empty()) {
        hdrs = rd_kafka_headers_new(headers.size());
        for (const auto& [k, v] : headers) {
          rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                              static_cast<ssize_t>(v.size()));
        }
      }
      const std::string key = "k" + std::to_string(i);
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer->get(), RD_KAFKA_V_TOPIC(app.input.c_str()), RD_KAFKA_V_PARTITION(0),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    }
    ASSERT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ChildProcess instance(app.Args("a", "eos"), app.log);
  const auto out = AwaitRecords(app.output, kRecords, 120s);
  instance.Signal(SIGTERM);
  EXPECT_EQ(instance.Wait(120s, "the application instance"), 0);

  ASSERT_EQ(out.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    const ConsumedRecord& r = out[static_cast<size_t>(i)];
    EXPECT_EQ(r.key, "k" + std::to_string(i));
    EXPECT_EQ(r.value, expected[static_cast<size_t>(i)].first) << "record " << i;
    EXPECT_EQ(r.headers, expected[static_cast<size_t>(i)].second) << "record " << i;
  }
}

// Partition queues far smaller than a fetch: the stream thread drains them
// every few dozen records, and each refill depends on the consumer's fetch
// waker asking the leader (kafka/fetch_waker.h). Every record of a
// preloaded backlog still reaches the output exactly once, in order per
// partition, and the instance stops cleanly with its waker thread.
TEST(StreamsRuntimeTest, TinyPartitionQueuesRefilledByTheFetchWakerLoseAndRepeatNothing) {
  ScopedTopics topics({{UniqueName("wake-in"), 3, -1, {}}, {UniqueName("wake-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(30'000);
  ProduceValues(app.input, values, 0);  // a backlog, before the instance starts
  std::vector<std::string> args = app.Args("a", "eos");
  args.insert(args.end(), {"--kafka", "queued.max.messages.kbytes=16", "--kafka",
                           "max.partition.fetch.bytes=65536"});
  ChildProcess instance(args, app.log);
  AwaitRecords(app.output, values.size(), 180s);
  instance.Signal(SIGTERM);
  EXPECT_EQ(instance.Wait(120s, "the application instance"), 0) << "see " << app.log;
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), values.size());
  EXPECT_TRUE(ByPartition(*output) == ByPartition(*input)) << "see " << app.log;
}

TEST(StreamsRuntimeTest, AtLeastOnceLosesNothingAcrossKills) {
  ScopedTopics topics({{UniqueName("alos-in"), 3, -1, {}}, {UniqueName("alos-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(10'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'500); });
  std::vector<std::string> args = app.Args("a", "alos");
  args.insert(args.end(), {"--commit-interval-ms", "500"});
  auto instance = std::make_unique<ChildProcess>(args, app.log);
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(1500ms);
    instance->Signal(SIGKILL);
    instance->Wait(120s, "the application instance");
    instance = std::make_unique<ChildProcess>(args, app.log);
  }
  producer.join();
  const auto out = AwaitRecords(app.output, values.size(), 180s);
  // Give the last instance time to pass the end (duplicates may keep coming).
  std::this_thread::sleep_for(2s);
  instance->Signal(SIGTERM);
  EXPECT_EQ(instance->Wait(120s, "the application instance"), 0);
  auto output = ReadAll(app.output, false, 60s);
  ASSERT_TRUE(output.ok());
  std::set<std::string> seen;
  for (const auto& r : *output) seen.insert(r.value);
  EXPECT_EQ(seen, std::set<std::string>(values.begin(), values.end()));
  std::printf("at-least-once: %zu input records, %zu output records (%zu duplicates)\n",
              values.size(), output->size(), output->size() - seen.size());
}


TEST(StreamsRuntimeTest, StrictModeStopsTheApplicationNamingTheBadRecord) {
  ScopedTopics topics({{UniqueName("strict-in"), 1, -1, {}}, {UniqueName("strict-out"), 1, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  ProduceValues(app.input, {"ok-1", "poison-1", "ok-2"}, 0);
  std::vector<std::string> args = app.Args("a", "eos");
  args.insert(args.end(), {"--strict", "true"});
  ChildProcess instance(args, app.log);
  const int rc = instance.Wait(120s, "the application instance");  // stops by itself
  EXPECT_EQ(rc, 1);
  std::ifstream log(app.log);
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("bad record (deserialization) at task 0_0, topic " + app.input +
                      ", partition 0, offset 1: value (text serde): poison value"),
            std::string::npos)
      << text;
  // Nothing after the bad record was committed, and nothing went to the DLQ.
  auto out = ReadAll(app.output, true, 30s);
  ASSERT_TRUE(out.ok());
  for (const auto& r : *out) EXPECT_EQ(r.value, "ok-1");
  auto dlq = ReadAll(app.app_id + "-dlq", true, 30s);
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
}


// Counts per key from the committed output: the last count seen for each key.
std::map<std::string, std::string> LastValuePerKey(const std::vector<ConsumedRecord>& records) {
  std::map<std::string, std::string> out;
  for (const auto& r : records) out[r.key] = r.value;
  return out;
}

std::map<std::string, std::string> ExpectedCounts(const std::vector<ConsumedRecord>& input) {
  std::map<std::string, int> counts;
  for (const auto& r : input) ++counts[r.key];
  std::map<std::string, std::string> out;
  for (const auto& [k, n] : counts) out[k] = std::to_string(n);
  return out;
}

TEST(StreamsRuntimeTest, CountingStoreRecoversByTailReplayAfterKillNine) {
  ScopedTopics topics({{UniqueName("cnt-in"), 3, -1, {}}, {UniqueName("cnt-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const std::string state_dir = "/tmp/" + app.app_id + "-state";
  const auto values = NumberedValues(20'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'500); });
  std::vector<std::string> args = app.Args("a", "eos");
  args.insert(args.end(), {"--mode", "count", "--state-dir", state_dir});
  // Each run is killed once it has restored and committed something more than
  // the runs before it (on a loaded machine, or under TSan, a fixed sleep
  // killed runs that never got that far, and nothing was left to replay).
  auto committed_total = [&] {
    auto committed = testing::CommittedOffsets(app.app_id, app.input);
    int64_t sum = 0;
    if (committed.ok()) {
      for (int64_t o : *committed) sum += std::max<int64_t>(o, 0);
    }
    return sum;
  };
  size_t log_from = testing::FileSize(app.log);
  auto instance = std::make_unique<ChildProcess>(args, app.log);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(testing::AwaitLogText(app.log, log_from, "all stores restored", 3, 120s))
        << "round " << round << ": see " << app.log;
    const int64_t before = committed_total();
    const int64_t all = static_cast<int64_t>(values.size());
    auto progressed = [&] {
      const int64_t now = committed_total();
      return now > before || now >= all;  // or nothing is left to commit
    };
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!progressed() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(progressed()) << "round " << round << ": nothing committed; see " << app.log;
    std::this_thread::sleep_for(300ms);  // killed mid-interval, not right after a commit
    instance->Signal(SIGKILL);
    instance->Wait(120s, "the application instance");
    log_from = testing::FileSize(app.log);
    instance = std::make_unique<ChildProcess>(args, app.log);
  }
  producer.join();
  AwaitRecords(app.output, values.size(), 180s);
  instance->Signal(SIGTERM);
  EXPECT_EQ(instance->Wait(120s, "the application instance"), 0) << "see " << app.log;
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), values.size());
  EXPECT_EQ(LastValuePerKey(*output), ExpectedCounts(*input)) << "see " << app.log;
  // Restarts replayed only a tail of the changelog: after the first start no
  // store was restored in full (a kill may land mid-restore, so not every
  // restart reaches every task).
  std::ifstream log(app.log);
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  size_t tail_replays = 0, full_restores_with_data = 0;
  for (size_t at = text.find("tail replay"); at != std::string::npos;
       at = text.find("tail replay", at + 1)) {
    ++tail_replays;
  }
  for (size_t at = text.find("full restore of "); at != std::string::npos;
       at = text.find("full restore of ", at + 1)) {
    if (text.compare(at + 16, 2, "0 ") != 0) ++full_restores_with_data;
  }
  EXPECT_GE(tail_replays, 3u) << "see " << app.log;
  EXPECT_EQ(full_restores_with_data, 0u) << "see " << app.log;
  std::filesystem::remove_all(state_dir);
}

TEST(StreamsRuntimeTest, TaskMovingToANewInstanceRestoresItsStoreFromTheChangelog) {
  ScopedTopics topics({{UniqueName("mv-in"), 4, -1, {}}, {UniqueName("mv-out"), 4, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(16'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'000); });
  auto args = [&](const std::string& instance) {
    std::vector<std::string> a = app.Args(instance, "eos");
    a.insert(a.end(), {"--mode", "count", "--state-dir", "/tmp/" + app.app_id + "-" + instance});
    return a;
  };
  auto a = std::make_unique<ChildProcess>(args("a"), app.log);
  std::this_thread::sleep_for(3s);
  auto b = std::make_unique<ChildProcess>(args("b"), app.log);  // empty state dir
  producer.join();
  AwaitRecords(app.output, values.size(), 180s);
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(120s, "instance a"), 0);
  EXPECT_EQ(b->Wait(120s, "instance b"), 0);
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(LastValuePerKey(*output), ExpectedCounts(*input)) << "see " << app.log;
  std::ifstream log(app.log);
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("full restore of"), std::string::npos) << app.log;
  // The restore metrics each instance printed at exit: their restored totals
  // add up to the records its restore log lines name, nothing left to go.
  uint64_t logged = 0, metered = 0;
  int exits = 0;
  for (const std::string marker : {"full restore of ", "tail replay of "}) {
    for (size_t at = text.find(marker); at != std::string::npos;
         at = text.find(marker, at + 1)) {
      logged += std::stoull(text.substr(at + marker.size(), 20));
    }
  }
  const std::string metric = "restore-metrics counts restored=";
  for (size_t at = text.find(metric); at != std::string::npos; at = text.find(metric, at + 1)) {
    ++exits;
    size_t used = 0;
    metered += std::stoull(text.substr(at + metric.size(), 20), &used);
    EXPECT_EQ(text.compare(at + metric.size() + used, 12, " remaining=0"), 0) << app.log;
  }
  EXPECT_EQ(exits, 2) << app.log;
  EXPECT_GT(metered, 0u) << app.log;
  EXPECT_EQ(metered, logged) << app.log;
  std::filesystem::remove_all("/tmp/" + app.app_id + "-a");
  std::filesystem::remove_all("/tmp/" + app.app_id + "-b");
}


// The crash that transactional stores exist for: the Kafka transaction has
// committed but the store's RocksDB commit has not happened. The restarted
// instance must re-apply exactly that transaction from the changelog tail.
// Then the store is lost (state directory deleted) and the full restore is
// itself crashed midway; the next instance restores in full and counting
// continues exactly.
TEST(StreamsRuntimeTest, CrashBetweenKafkaCommitAndStoreCommitAndMidRestoreKeepsCountsExact) {
  ScopedTopics topics({{UniqueName("cp-in"), 2, -1, {}}, {UniqueName("cp-out"), 2, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const std::string state_dir = "/tmp/" + app.app_id + "-state";
  std::vector<std::string> args = app.Args("a", "eos");
  args.insert(args.end(), {"--mode", "count", "--state-dir", state_dir});
  auto read_log = [&] {
    std::ifstream log(app.log);
    return std::string((std::istreambuf_iterator<char>(log)), {});
  };

  // 1. Crash right after the 3rd Kafka commit, before the stores commit.
  std::thread producer([&] { ProduceValues(app.input, NumberedValues(6'000), 3'000); });
  {
    ChildProcess crash(args, app.log, {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                                       "EVENTFLOW_TEST_CRASH_AFTER=3"});
    EXPECT_EQ(crash.Wait(120s, "the instance crashing itself at its fault point"), 137) << "see " << app.log;
  }
  producer.join();
  // 2. Restart: the committed-but-unwritten transaction comes back as a tail replay.
  {
    ChildProcess instance(args, app.log);
    AwaitRecords(app.output, 6'000, 180s);
    instance.Signal(SIGTERM);
    EXPECT_EQ(instance.Wait(120s, "the application instance"), 0) << "see " << app.log;
  }
  std::string text = read_log();
  bool replayed_records = false;
  for (size_t at = text.find("tail replay of "); at != std::string::npos;
       at = text.find("tail replay of ", at + 1)) {
    replayed_records = replayed_records || text.compare(at + 15, 2, "0 ") != 0;
  }
  EXPECT_TRUE(replayed_records) << "see " << app.log;

  // 3. Lose the store, then crash in the middle of its full restore.
  std::filesystem::remove_all(state_dir);
  {
    ChildProcess crash(args, app.log,
                       {"EVENTFLOW_TEST_CRASH_POINT=mid-restore", "EVENTFLOW_TEST_CRASH_AFTER=1"});
    EXPECT_EQ(crash.Wait(120s, "the instance crashing itself at its fault point"), 137) << "see " << app.log;
  }
  // 4. Restart, restore, and keep counting on more input.
  ChildProcess instance(args, app.log);
  ProduceValues(app.input, NumberedValues(2'000), 0);
  AwaitRecords(app.output, 8'000, 180s);
  instance.Signal(SIGTERM);
  EXPECT_EQ(instance.Wait(120s, "the application instance"), 0) << "see " << app.log;

  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), 8'000u);
  EXPECT_EQ(LastValuePerKey(*output), ExpectedCounts(*input)) << "see " << app.log;
  text = read_log();
  EXPECT_NE(text.find("crashing at after-kafka-commit"), std::string::npos);
  EXPECT_NE(text.find("crashing at mid-restore"), std::string::npos);
  std::filesystem::remove_all(state_dir);
}

// Several stream threads per instance: the threads of one KafkaStreams share
// the state memory budget, the restore metrics and the state bookkeeping, and
// hand tasks over when a second multi-threaded instance joins. Counts stay
// exact. (scripts/test --tsan runs this under ThreadSanitizer.)
// The assignment path, many times over: instance "a" (a static member,
// exactly-once, 3 partitions) is restarted in each way the runtime meets —
// crashed right after a Kafka commit (the path on which an instance once sat
// RUNNING for 14 minutes without receiving a record), kill -9'ed, stopped —
// and instance "b" joins and leaves, so partitions are revoked, assigned and
// moved over and over. After every restart new records are produced and every
// partition must be read to its end within a bound; the stall guard (5 s here)
// must never have had to restart a fetch; and at the end the output holds
// every input record exactly once, in order per partition.
TEST(StreamsRuntimeTest, RepeatedRestartsAndRebalancesNeverLeaveAnAssignedPartitionUnread) {
  ScopedTopics topics({{UniqueName("as-in"), 3, -1, {}}, {UniqueName("as-out"), 3, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  auto args = [&](const std::string& instance) {
    std::vector<std::string> a = app.Args(instance, "eos");
    a.insert(a.end(), {"--stall-timeout-ms", "5000"});
    return a;
  };
  constexpr int kRounds = 12;
  constexpr int kPerRound = 400;
  size_t produced = 0;
  int crashes = 0;
  auto produce = [&](int round) {
    std::vector<std::string> values;
    for (int i = 0; i < kPerRound; ++i) {
      values.push_back("r" + std::to_string(round) + "-" + std::to_string(i));
    }
    ProduceValues(app.input, values, 0);
    produced += values.size();
  };
  auto stop = [&](std::unique_ptr<ChildProcess>& p, const std::string& what) {
    if (!p) return;
    p->Signal(SIGTERM);
    EXPECT_EQ(p->Wait(60s, what), 0) << "see " << app.log;
    p.reset();
  };
  std::unique_ptr<ChildProcess> a;  // started by round 0, after its crash
  std::unique_ptr<ChildProcess> b;
  const auto began = std::chrono::steady_clock::now();
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::printf("[%5.1f s] round %d\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
                round);
    switch (round % 4) {
      case 0: {  // crash right after the Kafka commit, then restart
        stop(a, "instance a");
        produce(round);
        ChildProcess crash(args("a"), app.log, {"EVENTFLOW_TEST_CRASH_POINT=after-kafka-commit",
                                                "EVENTFLOW_TEST_CRASH_AFTER=1"});
        EXPECT_EQ(crash.Wait(60s, "instance a crashing after its first Kafka commit"), 137)
            << "see " << app.log;
        ++crashes;
        break;
      }
      case 1:  // kill -9, restarted within the session timeout
        a->Signal(SIGKILL);
        EXPECT_EQ(a->Wait(30s, "instance a"), 128 + SIGKILL);
        a.reset();
        break;
      case 2:  // graceful restart
        stop(a, "instance a");
        break;
      case 3:  // b joins (a rebalance moves partitions to it), or leaves
        if (b) {
          stop(b, "instance b");
        } else {
          b = std::make_unique<ChildProcess>(args("b"), app.log);
        }
        break;
    }
    if (!a) a = std::make_unique<ChildProcess>(args("a"), app.log);
    produce(round);
    const auto got = AwaitRecords(app.output, produced, 90s);
    ASSERT_GE(got.size(), produced) << "round " << round
                                    << ": an assigned partition was not read to its end; see "
                                    << app.log;
  }
  stop(a, "instance a");
  stop(b, "instance b");
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), input->size());
  EXPECT_TRUE(ByPartition(*output) == ByPartition(*input)) << "see " << app.log;
  std::ifstream log(app.log);
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  size_t crashed = 0;
  for (size_t at = text.find("crashing at after-kafka-commit"); at != std::string::npos;
       at = text.find("crashing at after-kafka-commit", at + 1)) {
    ++crashed;
  }
  EXPECT_EQ(crashed, static_cast<size_t>(crashes)) << "see " << app.log;
  EXPECT_EQ(text.find("is stalled"), std::string::npos)
      << "the stall guard had to restart a partition's fetch; see " << app.log;
}

TEST(StreamsRuntimeTest, SeveralStreamThreadsPerInstanceCountExactlyAcrossARebalance) {
  ScopedTopics topics({{UniqueName("mt-in"), 6, -1, {}}, {UniqueName("mt-out"), 6, -1, {}}});
  App app;
  app.input = topics.name(0);
  app.output = topics.name(1);
  const auto values = NumberedValues(12'000);
  std::thread producer([&] { ProduceValues(app.input, values, 2'000); });
  auto args = [&](const std::string& instance, const std::string& threads) {
    std::vector<std::string> a = app.Args(instance, "eos");
    a.insert(a.end(), {"--mode", "count", "--threads", threads, "--state-dir",
                       "/tmp/" + app.app_id + "-" + instance});
    return a;
  };
  auto a = std::make_unique<ChildProcess>(args("a", "3"), app.log);
  std::this_thread::sleep_for(3s);
  auto b = std::make_unique<ChildProcess>(args("b", "2"), app.log);
  producer.join();
  AwaitRecords(app.output, values.size(), 180s);
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(120s, "instance a"), 0) << "see " << app.log;
  EXPECT_EQ(b->Wait(120s, "instance b"), 0) << "see " << app.log;
  auto input = ReadAll(app.input, true);
  auto output = ReadAll(app.output, true, 60s);
  ASSERT_TRUE(input.ok() && output.ok());
  EXPECT_EQ(output->size(), values.size());
  EXPECT_EQ(LastValuePerKey(*output), ExpectedCounts(*input)) << "see " << app.log;
  std::filesystem::remove_all("/tmp/" + app.app_id + "-a");
  std::filesystem::remove_all("/tmp/" + app.app_id + "-b");
}

}  // namespace
}  // namespace eventflow
