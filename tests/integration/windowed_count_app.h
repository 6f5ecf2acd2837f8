// The windowed-count application of the recovery and standby tests
// (stateful_recovery_test.cc, standby_test.cc): eventflow-test-stateful-app
// --mode windowed-count run as a child process, its input (bounded disorder,
// never late), and the check of its committed output, changelog and RocksDB
// stores against a recomputation of the counts from the input in plain code.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/serde.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "eventflow/testing/window_store_readback.h"

namespace eventflow::windowed_count_test {

using namespace std::chrono_literals;
using testing::ConsumedRecord;
using testing::ReadAll;
using testing::UniqueName;
using testing::WindowId;

inline constexpr int64_t kWindowMs = 1000;
inline constexpr int64_t kGraceMs = 500;
inline constexpr int64_t kRetentionMs = kWindowMs + kGraceMs;  // what the DSL declares
inline constexpr int64_t kStepMs = 2;        // event time between consecutive records
inline constexpr int64_t kJitterMs = 300;    // disorder bound, below the grace period
inline constexpr int kKeys = 60;
inline constexpr int kPartitions = 3;
inline constexpr char kStore[] = "counts";

static_assert(kJitterMs < kGraceMs, "the input must never be late");

// Event time of the i-th input record: a clock advancing kStepMs per record,
// lagged by up to kJitterMs - 1 (so a record is at most that far behind any
// earlier one). Starts an hour ago: well inside max_future_skew and the
// changelog's retention.
inline int64_t EventTime(int64_t base, int64_t i) {
  return base + kJitterMs + i * kStepMs - (i * 7919) % kJitterMs;
}

inline int64_t BaseTime() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return (now - 3'600'000) / kWindowMs * kWindowMs;
}

// Produces records i = first, first + 1, ... (key "k<i % kKeys>", value
// "v<i>", timestamp EventTime(base, i)) at about `rate` records/s, keyed like
// the Java client (murmur2), idempotently (so in order per partition), until
// `stop` is set or `max_count` records are sent. Returns the count sent.
inline int64_t ProduceInput(const std::string& topic, int64_t base, int64_t first, int64_t max_count,
                     int rate, const std::atomic<bool>* stop, const std::string& prefix = "v") {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  props.Set("partitioner", "murmur2_random");
  props.Set("linger.ms", "5");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  if (!producer.ok()) {
    ADD_FAILURE() << producer.status().ToString();
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  int64_t sent = 0;
  for (; sent < max_count && !(stop != nullptr && stop->load()); ++sent) {
    const int64_t i = first + sent;
    const std::string key = "k" + std::to_string(i % kKeys);
    const std::string value = prefix + std::to_string(i);
    while (rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_TIMESTAMP(EventTime(base, i)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 10);
    }
    rd_kafka_poll(producer->get(), 0);
    if (rate > 0 && sent % 50 == 0) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(sent * 1'000'000 / rate));
    }
  }
  EXPECT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  return sent;
}

// Produces one record per (key, event time), in this order, to partition 0.
inline void ProduceAt(const std::string& topic, const std::vector<std::pair<std::string, int64_t>>& records) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  for (const auto& [key, time] : records) {
    const std::string value = "v";
    ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_TIMESTAMP(time),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// The windowed count recomputed from the input in plain code: per input
// partition in offset order, stream time = the largest event time so far
// (the record itself included); a record whose window has end + grace <=
// stream time is late and dropped.
struct Expected {
  std::map<WindowId, int64_t> counts;
  std::map<WindowId, int32_t> partition_of;
  std::map<int32_t, int64_t> stream_time;
  int64_t late = 0;

  bool Closed(const WindowId& w) const {
    return w.second + kWindowMs + kGraceMs <= stream_time.at(partition_of.at(w));
  }
  //! Not expired from the store: start >= stream time - retention + 1.
  bool Live(const WindowId& w) const {
    return w.second >= stream_time.at(partition_of.at(w)) - kRetentionMs + 1;
  }
};

inline Expected Recompute(const std::vector<ConsumedRecord>& input) {
  Expected e;
  for (const ConsumedRecord& r : input) {
    auto [it, inserted] = e.stream_time.try_emplace(r.partition, -1);
    it->second = std::max(it->second, r.timestamp_ms);
    const int64_t start = r.timestamp_ms - r.timestamp_ms % kWindowMs;
    if (start + kWindowMs + kGraceMs <= it->second) {
      ++e.late;
      continue;
    }
    const WindowId w{r.key, start};
    ++e.counts[w];
    e.partition_of[w] = r.partition;
  }
  return e;
}

// The app's text output: key "<key>@<start>", value "<count>".
inline WindowId ParseWindowKey(const std::string& key) {
  const size_t at = key.rfind('@');
  if (at == std::string::npos) {
    ADD_FAILURE() << "output key without '@': " << key;
    return {key, -1};
  }
  return {key.substr(0, at), std::stoll(key.substr(at + 1))};
}

// One windowed-count application: its topics, ids, state and log.
struct WindowedCountApp {
  std::string emit;
  std::string app_id = UniqueName("wc");
  std::string input;
  std::string output;
  std::string log_dir = "/tmp/" + app_id;

  std::string StateDir(const std::string& instance) const { return log_dir + "/state-" + instance; }
  std::string Log(const std::string& instance) const { return log_dir + "/" + instance + ".log"; }
  std::string Changelog() const { return app_id + "-" + kStore + "-changelog"; }
  std::vector<std::string> Args(const std::string& instance) const {
    return {testing::ToolDir() + "/eventflow-test-stateful-app",
            "--mode", "windowed-count",
            "--bootstrap", testing::KafkaBootstrap(),
            "--application-id", app_id,
            "--instance-id", instance,
            "--input", input,
            "--output", output,
            "--state-dir", StateDir(instance),
            "--emit", emit,
            "--window-ms", std::to_string(kWindowMs),
            "--grace-ms", std::to_string(kGraceMs)};
  }
  // Args() with a commit interval.
  std::vector<std::string> Args(const std::string& instance, int commit_interval_ms) const {
    std::vector<std::string> args = Args(instance);
    args.insert(args.end(), {"--commit-interval-ms", std::to_string(commit_interval_ms)});
    return args;
  }
};

// What one start of an instance logged, from its start to the next.
struct Run {
  std::string what;  // how it was started / ended
  size_t log_from = 0;
  size_t log_to = 0;
};

inline int64_t DecodeCount(const std::string& bytes) {
  int64_t v = -1;
  const Status s = streams::Serdes::Int64()->Deserialize(std::string_view(bytes), &v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

// Up to 10 windows where `have` differs from `want`, for failure messages.
inline std::string Diff(const std::map<WindowId, int64_t>& want, const std::map<WindowId, int64_t>& have) {
  std::string out;
  int shown = 0;
  auto show = [&](const WindowId& w, const char* what) {
    if (shown++ < 10) out += w.first + "@" + std::to_string(w.second) + " " + what + "; ";
  };
  for (const auto& [w, n] : want) {
    auto it = have.find(w);
    if (it == have.end()) {
      show(w, ("missing (want " + std::to_string(n) + ")").c_str());
    } else if (it->second != n) {
      show(w, (std::to_string(it->second) + " != " + std::to_string(n)).c_str());
    }
  }
  for (const auto& [w, n] : have) {
    if (!want.count(w)) show(w, "unexpected");
  }
  return out;
}

// Output, changelog and stores of the stopped app against the recomputation.
// `stores` maps instance id → the partitions whose tasks it ran last.
inline void ExpectExactResults(const WindowedCountApp& app, const Expected& expected,
                        const std::map<std::string, std::vector<int32_t>>& stores) {
  // 1. Committed output.
  auto output = ReadAll(app.output, /*read_committed=*/true, 60s);
  ASSERT_TRUE(output.ok()) << output.status().ToString() << " (a transaction left open?)";
  std::map<WindowId, std::vector<int64_t>> emitted;
  for (const ConsumedRecord& r : *output) emitted[ParseWindowKey(r.key)].push_back(std::stoll(r.value));
  size_t checked = 0, closed = 0;
  if (app.emit == "update") {
    // The last committed value per window is its count; the values a window
    // went through only grow (a repeated value would be a duplicate).
    for (const auto& [w, n] : expected.counts) {
      auto it = emitted.find(w);
      if (it == emitted.end()) {
        ADD_FAILURE() << "no output for window " << w.first << "@" << w.second;
        continue;
      }
      EXPECT_EQ(it->second.back(), n) << w.first << "@" << w.second;
      for (size_t i = 1; i < it->second.size(); ++i) {
        EXPECT_LT(it->second[i - 1], it->second[i]) << w.first << "@" << w.second;
      }
      ++checked;
    }
  } else {
    // Exactly one final result per closed window, none for open ones.
    std::map<WindowId, int64_t> finals, want;
    size_t repeated = 0, early = 0;
    std::string repeats;
    for (const auto& [w, values] : emitted) {
      finals[w] = values.back();
      if (values.size() > 1 && repeated++ < 5) {
        repeats += w.first + "@" + std::to_string(w.second) + " x" +
                   std::to_string(values.size()) + "; ";
      }
      if (expected.counts.count(w) && !expected.Closed(w)) ++early;
    }
    for (const auto& [w, n] : expected.counts) {
      if (expected.Closed(w)) want[w] = n;
    }
    closed = want.size();
    checked = finals.size();
    EXPECT_EQ(repeated, 0u) << "windows with more than one final result, e.g. " << repeats
                            << "see " << app.Log("a");
    EXPECT_EQ(early, 0u) << "results for windows not closed yet";
    EXPECT_TRUE(finals == want) << finals.size() << " final results, " << want.size()
                                << " closed windows: " << Diff(want, finals);
    EXPECT_GT(closed, expected.counts.size() / 2);
  }
  for (const auto& [w, values] : emitted) {
    EXPECT_TRUE(expected.counts.count(w)) << "output for a window without input: " << w.first
                                          << "@" << w.second;
  }
  // 2. The changelog (read_committed): its latest value per window is the
  // count for every window a restore still needs (not expired at the end).
  // Of an expired window it may lack the last updates (the store skips a
  // cached write that reaches it after the window closed, see
  // ChangelogKeepsTheLastUpdateOfAWindowThatClosesBeforeTheCacheFlush), but
  // never holds more than the count.
  auto changelog = ReadAll(app.Changelog(), true, 60s);
  ASSERT_TRUE(changelog.ok()) << changelog.status().ToString();
  auto logged = testing::LatestPerWindow(*changelog);
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  std::map<WindowId, int64_t> logged_live, want_live;
  size_t stale = 0;
  for (const auto& [w, bytes] : *logged) {
    const int64_t n = DecodeCount(bytes);
    auto it = expected.counts.find(w);
    if (it == expected.counts.end()) {
      ADD_FAILURE() << "changelog entry for a window without input: " << w.first << "@" << w.second;
    } else if (expected.Live(w)) {
      logged_live[w] = n;
    } else {
      EXPECT_LE(n, it->second) << w.first << "@" << w.second;
      if (n != it->second) ++stale;
    }
  }
  for (const auto& [w, n] : expected.counts) {
    if (expected.Live(w)) want_live[w] = n;
  }
  EXPECT_FALSE(want_live.empty());
  EXPECT_TRUE(logged_live == want_live)
      << logged_live.size() << " live windows in the changelog, " << want_live.size()
      << " expected: " << Diff(want_live, logged_live);
  // 3. The RocksDB stores: every window not yet expired, with its count; the
  // horizon is where the partition's stream time puts it.
  size_t store_windows = 0;
  for (const auto& [instance, partitions] : stores) {
    for (int32_t p : partitions) {
      auto store = testing::ReadWindowStore(app.StateDir(instance), app.app_id,
                                            "0_" + std::to_string(p), kStore,
                                            std::chrono::milliseconds(kRetentionMs));
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      const int64_t st = expected.stream_time.at(p);
      EXPECT_EQ(store->expiry_horizon, st - kRetentionMs + 1) << "partition " << p;
      EXPECT_TRUE(store->committed_offset.has_value()) << "partition " << p;
      std::map<WindowId, int64_t> want, have;
      for (const auto& [w, n] : expected.counts) {
        if (expected.partition_of.at(w) == p && w.second >= store->expiry_horizon) want[w] = n;
      }
      for (const auto& [w, bytes] : store->values) have[w] = DecodeCount(bytes);
      EXPECT_TRUE(have == want) << "task 0_" << p << " of instance " << instance << ": "
                                << have.size() << " windows, " << want.size() << " expected: " << Diff(want, have);
      store_windows += have.size();
    }
  }
  std::printf("%zu windows checked in the output (%zu closed), %zu live ones in the changelog "
              "(%zu expired ones stale there), %zu in the stores\n",
              checked, closed, logged_live.size(), stale, store_windows);
}

inline Expected ReadInputAndRecompute(const std::string& topic) {
  auto input = ReadAll(topic, true, 60s);
  EXPECT_TRUE(input.ok()) << input.status().ToString();
  if (!input.ok()) return {};
  Expected e = Recompute(*input);
  EXPECT_EQ(e.late, 0) << "the test's input must never be late";
  EXPECT_EQ(e.stream_time.size(), static_cast<size_t>(kPartitions));
  return e;
}

}  // namespace eventflow::windowed_count_test
