// Watermarks on the real broker with two instances (DESIGN.md "Time"): a
// repartitioned tumbling windowed count (tests/integration/watermark_app.cc)
// where instance "b" is held back (SIGSTOP) while instance "a" processes its
// input partitions to the end. Under Kafka Streams' "max seen" stream time,
// a's downstream tasks would then drop b's records as late; with watermarks
// every record within grace of its own input partition's stream time is
// counted. The committed output is compared with a recomputation in plain
// code where lateness is judged per input partition, and the instances'
// dropped-late count with the records that really are late.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ReadAll;
using testing::ScopedTopics;
using testing::UniqueName;

constexpr int kPartitions = 4;
constexpr int kGroups = 6;
constexpr int64_t kWindow = 60'000;
constexpr int64_t kGrace = 10'000;

struct Input {
  int32_t partition;
  int64_t time;
  std::string group;
};

// Produces `records` to their partitions with their event times, idempotently.
void Produce(const std::string& topic, const std::vector<Input>& records) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  props.Set("linger.ms", "5");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  for (size_t i = 0; i < records.size(); ++i) {
    const Input& r = records[i];
    const std::string key = "u" + std::to_string(i);
    while (rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_PARTITION(r.partition),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(r.group.data()), r.group.size()),
                             RD_KAFKA_V_TIMESTAMP(r.time),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 10);
    }
    rd_kafka_poll(producer->get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Per partition, `n` records from `from` on, one a second with up to 4 s of
// disorder (< grace), groups spread over kGroups.
std::vector<Input> Steady(int64_t from, int n, std::mt19937_64& rng) {
  std::vector<Input> out;
  std::uniform_int_distribution<int64_t> jitter(0, 3'999);
  std::uniform_int_distribution<int> group(0, kGroups - 1);
  for (int i = 0; i < n; ++i) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      out.push_back(Input{p, from + i * 1'000 + jitter(rng), "g" + std::to_string(group(rng))});
    }
  }
  return out;
}

// The independent computation: per input partition in offset order, a record
// is late when its window's end + grace <= the partition's stream time before
// it; the others are counted. Windows are emitted once the slowest
// partition's final stream time passes end + grace.
struct Expected {
  std::map<std::string, int64_t> windows;  // "<group>@<start>" → count
  int64_t late = 0;
};
Expected Recompute(const std::vector<Input>& records) {
  std::map<int32_t, int64_t> stream_time;
  std::map<std::pair<std::string, int64_t>, int64_t> counts;
  Expected e;
  for (const Input& r : records) {
    const int64_t start = r.time - r.time % kWindow;
    auto [it, fresh] = stream_time.emplace(r.partition, -1);
    if (start + kWindow + kGrace <= it->second) {
      ++e.late;
    } else {
      ++counts[{r.group, start}];
    }
    it->second = std::max(it->second, r.time);
  }
  int64_t watermark = INT64_MAX;
  for (const auto& [p, t] : stream_time) watermark = std::min(watermark, t);
  for (const auto& [window, count] : counts) {
    if (window.second + kWindow + kGrace <= watermark) {
      e.windows[window.first + "@" + std::to_string(window.second)] = count;
    }
  }
  return e;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The partition count of the last "assigned N partition(s)" line in `log`, or -1.
int LastAssigned(const std::string& log) {
  const size_t at = log.rfind("assigned ");
  if (at == std::string::npos) return -1;
  return std::atoi(log.c_str() + at + 9);
}

// Waits (bounded) until the committed output holds `n` windows; returns them.
std::map<std::string, std::string> AwaitWindows(const std::string& topic, size_t n,
                                                std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, std::string> windows;
  for (int round = 0; round < 1000 && std::chrono::steady_clock::now() < deadline; ++round) {
    auto records = ReadAll(topic, /*read_committed=*/true, 30s);
    if (records.ok()) {
      windows.clear();
      for (const auto& r : *records) windows[r.key] = r.value;
      if (windows.size() >= n) break;
    }
    std::this_thread::sleep_for(1s);
  }
  return windows;
}

uint64_t DroppedLate(const std::string& log) {
  const size_t at = log.rfind("dropped_late ");
  return at == std::string::npos ? ~uint64_t{0} : std::stoull(log.substr(at + 13));
}

TEST(WatermarkRuntimeTest, HeldBackInstanceLosesNoRecordWithinGraceOfItsPartition) {
  ScopedTopics topics({{UniqueName("wm-in"), kPartitions, -1, {}}, {UniqueName("wm-out"), 1, -1, {}}});
  const std::string app_id = UniqueName("wm-app");
  const std::string state_dir = "/tmp/" + app_id;
  const std::string log_a = state_dir + "-a.log", log_b = state_dir + "-b.log";
  auto args = [&](const std::string& instance) {
    return std::vector<std::string>{testing::ToolDir() + "/eventflow-test-watermark-app",
                                    "--bootstrap", testing::KafkaBootstrap(), "--app-id", app_id,
                                    "--instance-id", instance, "--input", topics.name(0),
                                    "--output", topics.name(1), "--state-dir",
                                    state_dir + "-" + instance, "--window-ms",
                                    std::to_string(kWindow), "--grace-ms", std::to_string(kGrace)};
  };
  std::mt19937_64 rng(20251130);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t base = (now - 3 * 3'600'000) / kWindow * kWindow;  // hours in the past
  std::vector<Input> all;

  ChildProcess a(args("a"), log_a);
  ChildProcess b(args("b"), log_b);
  // Both instances hold half the tasks (2 input + 2 repartition partitions).
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline &&
         (LastAssigned(ReadFile(log_a)) != 4 || LastAssigned(ReadFile(log_b)) != 4)) {
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(LastAssigned(ReadFile(log_b)), 4) << "see " << log_b;
  ASSERT_EQ(LastAssigned(ReadFile(log_a)), 4) << "see " << log_a;

  // Phase 1: b is stopped while a processes its input partitions to the end
  // (10 minutes of event time); a's downstream tasks then see b's records,
  // 10 minutes "older" than the newest a forwarded.
  b.Signal(SIGSTOP);
  const std::vector<Input> phase1 = Steady(base, 600, rng);
  Produce(topics.name(0), phase1);
  all.insert(all.end(), phase1.begin(), phase1.end());
  std::this_thread::sleep_for(6s);
  b.Signal(SIGCONT);
  const Expected after1 = Recompute(all);
  ASSERT_GT(after1.windows.size(), 40u);
  auto out = AwaitWindows(topics.name(1), after1.windows.size(), 120s);
  ASSERT_EQ(out.size(), after1.windows.size()) << "see " << log_a << " and " << log_b;

  // Phase 2: records far behind their partitions (really late, for any
  // watermark), then 5 more minutes of steady data; every window but the
  // last few closes.
  std::vector<Input> phase2;
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (int i = 0; i < 3; ++i) phase2.push_back(Input{p, base + 5'000 + i * 20'000 + p, "g1"});
  }
  const std::vector<Input> steady2 = Steady(base + 600'000, 300, rng);
  phase2.insert(phase2.end(), steady2.begin(), steady2.end());
  Produce(topics.name(0), phase2);
  all.insert(all.end(), phase2.begin(), phase2.end());
  const Expected expected = Recompute(all);
  EXPECT_EQ(expected.late, 4 * 3);
  out = AwaitWindows(topics.name(1), expected.windows.size(), 120s);

  a.Signal(SIGTERM);
  b.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(120s, "instance a"), 0) << "see " << log_a;
  EXPECT_EQ(b.Wait(120s, "instance b"), 0) << "see " << log_b;

  // The committed output, once per window, exactly the recomputation.
  auto records = ReadAll(topics.name(1), true, 60s);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::map<std::string, int64_t> got;
  size_t duplicates = 0;
  for (const auto& r : *records) {
    if (!got.emplace(r.key, std::stoll(r.value)).second) ++duplicates;
  }
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(got.size(), expected.windows.size());
  size_t wrong = 0;
  for (const auto& [window, count] : expected.windows) {
    auto it = got.find(window);
    if (it == got.end() || it->second != count) {
      if (++wrong <= 10) {
        ADD_FAILURE() << "window " << window << ": expected " << count << ", got "
                      << (it == got.end() ? std::string("nothing") : std::to_string(it->second));
      }
    }
  }
  EXPECT_EQ(wrong, 0u);
  int64_t counted = 0;
  for (const auto& [window, count] : got) counted += count;
  const uint64_t dropped = DroppedLate(ReadFile(log_a)) + DroppedLate(ReadFile(log_b));
  EXPECT_EQ(dropped, static_cast<uint64_t>(expected.late)) << "see " << log_a << " and " << log_b;
  std::printf("input %zu records over %d partitions; windows emitted %zu, records counted %lld, "
              "late per partition %lld, dropped_late %llu\n",
              all.size(), kPartitions, got.size(), static_cast<long long>(counted),
              static_cast<long long>(expected.late), static_cast<unsigned long long>(dropped));
  std::error_code ignored;
  std::filesystem::remove_all(state_dir + "-a", ignored);
  std::filesystem::remove_all(state_dir + "-b", ignored);
}

}  // namespace
}  // namespace eventflow
