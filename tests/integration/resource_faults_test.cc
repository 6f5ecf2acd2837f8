// Resource faults (issue 6), on the real broker:
//
// StateDirFull: a windowed count under exactly-once
// (tests/integration/stateful_app.cc) keeps its RocksDB stores on a small
// tmpfs, which a filler file fills up while it processes. The instance must
// stop (exit 1) with an error naming the state directory and "No space left
// on device", and must not have committed output for input its stores did not
// take: the committed output equals a recomputation over exactly the input
// below the committed offsets. After the filler is deleted, a restart recovers
// the stores from their changelogs and the output, the changelog and the
// stores equal a recomputation over the whole input.
//
// The tmpfs is mounted by the test (the machine runs as root); a test that
// cannot mount fails, naming the command, and the mount is always removed.
//
// PostgresDownForAMinute: the sink (eventflow-sink, default backoff) writes
// orders_raw records into a PostgreSQL cluster of the test's own
// (scripts/postgres with EVENTFLOW_RUN_DIR under the build directory, port
// $EVENTFLOW_TEST_OUTAGE_PG_PORT, default 25832: stopping the shared test
// database would break tests running in parallel), which is stopped for 60 s
// while records keep coming. The sink must keep waiting (not give up, not
// spin: its reconnect attempts are counted from its log), log the outage a
// few times rather than per record, and catch up within seconds of the
// restart: the table equals the latest value per key read back from the
// topic, and eventflow_sink_offsets equals the topics' end offsets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/streams/serde.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "eventflow/testing/window_store_readback.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ConsumedRecord;
using testing::ReadAll;
using testing::UniqueName;
using testing::WindowId;
using Clock = std::chrono::steady_clock;

// --- A tmpfs of its own ---------------------------------------------------------

// Mounts a tmpfs of `megabytes` at a fresh directory; unmounts and removes it on
// destruction. mounted() is false (and error() says why) when mounting failed.
class ScopedTmpfs {
 public:
  explicit ScopedTmpfs(int megabytes)
      : dir_(std::filesystem::temp_directory_path() / UniqueName("eventflow-tmpfs")) {
    std::filesystem::create_directories(dir_);
    const testing::ProcessResult r = testing::RunProcess(
        {"/bin/mount", "-t", "tmpfs", "-o", "size=" + std::to_string(megabytes) + "m", "tmpfs",
         dir_.string()});
    mounted_ = r.exit_code == 0;
    if (!mounted_) {
      error_ = "mount -t tmpfs -o size=" + std::to_string(megabytes) + "m tmpfs " +
               dir_.string() + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err +
               " (the test needs root and tmpfs)";
    }
  }
  ~ScopedTmpfs() {
    if (mounted_) {
      testing::ProcessResult r = testing::RunProcess({"/bin/umount", dir_.string()});
      // Busy (a process still has a file open): detach it now, freed when closed.
      if (r.exit_code != 0) r = testing::RunProcess({"/bin/umount", "-l", dir_.string()});
      if (r.exit_code != 0) ADD_FAILURE() << "cannot unmount " << dir_ << ": " << r.err;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full (ENOSPC); returns the bytes written.
uint64_t FillUp(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot create " << path;
    return 0;
  }
  std::setvbuf(f, nullptr, _IONBF, 0);
  uint64_t written = 0;
  std::vector<char> chunk(1 << 20, 'x');
  for (size_t size : {size_t{1} << 20, size_t{4096}, size_t{1}}) {
    while (true) {
      const size_t n = std::fwrite(chunk.data(), 1, size, f);
      written += n;
      if (n < size) break;
    }
    std::clearerr(f);
  }
  std::fclose(f);
  return written;
}

// --- The windowed count and its recomputation -------------------------------------

constexpr int64_t kWindowMs = 1000;
constexpr int64_t kGraceMs = 500;
constexpr int64_t kRetentionMs = kWindowMs + kGraceMs;  // what the DSL declares
// Event time runs fast (20 ms per record, 2000 records/s: 40 s per second), so
// the window store opens and drops a 60 s time segment (a RocksDB column
// family: new files) every second or two — a full disk is noticed at once.
constexpr int64_t kStepMs = 20;
constexpr int64_t kJitterMs = 300;  // disorder bound, below the grace period
constexpr int kKeys = 60;
constexpr int kPartitions = 3;
constexpr char kStore[] = "counts";

static_assert(kJitterMs < kGraceMs, "the input must never be late");

int64_t EventTime(int64_t base, int64_t i) {
  return base + kJitterMs + i * kStepMs - (i * 7919) % kJitterMs;
}

// Produces `count` records (key "k<i % kKeys>", value "v<i>", timestamp
// EventTime(base, i)) at about `rate` records/s, Java-partitioned, idempotent.
void ProduceInput(const std::string& topic, int64_t base, int64_t count, int rate) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  props.Set("partitioner", "murmur2_random");
  props.Set("linger.ms", "5");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const auto start = Clock::now();
  for (int64_t i = 0; i < count; ++i) {
    const std::string key = "k" + std::to_string(i % kKeys);
    const std::string value = "v" + std::to_string(i);
    while (rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_TIMESTAMP(EventTime(base, i)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 10);
    }
    rd_kafka_poll(producer->get(), 0);
    if (i % 50 == 0) std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1'000'000 / rate));
  }
  EXPECT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// The counts from the input records below `limit[partition]` (all when empty),
// per partition in offset order; stream time per partition for the store check.
struct Expected {
  std::map<WindowId, int64_t> counts;
  std::map<WindowId, int32_t> partition_of;
  std::map<int32_t, int64_t> stream_time;
  int64_t records = 0;
  int64_t late = 0;
};

Expected Recompute(const std::vector<ConsumedRecord>& input, const std::vector<int64_t>& limit) {
  Expected e;
  for (const ConsumedRecord& r : input) {
    if (!limit.empty() && r.offset >= limit[static_cast<size_t>(r.partition)]) continue;
    ++e.records;
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

// The committed output ("<key>@<start>" → "<count>") against `expected`: every
// window's last value is its count, no window without input, and a window's
// values strictly grow (a value repeated or going back would be output of
// input processed twice). Returns how many windows were checked.
size_t ExpectOutputEquals(const std::vector<ConsumedRecord>& output, const Expected& expected,
                          const std::string& when) {
  std::map<WindowId, std::vector<int64_t>> emitted;
  for (const ConsumedRecord& r : output) {
    const size_t at = r.key.rfind('@');
    if (at == std::string::npos) {
      ADD_FAILURE() << when << ": output key without '@': " << r.key;
      continue;
    }
    emitted[{r.key.substr(0, at), std::stoll(r.key.substr(at + 1))}].push_back(std::stoll(r.value));
  }
  size_t wrong = 0, grew_wrong = 0;
  std::string examples;
  auto note = [&](const WindowId& w, const std::string& what) {
    if (wrong + grew_wrong <= 5) examples += w.first + "@" + std::to_string(w.second) + " " + what + "; ";
  };
  for (const auto& [w, n] : expected.counts) {
    auto it = emitted.find(w);
    if (it == emitted.end()) {
      ++wrong;
      note(w, "missing (want " + std::to_string(n) + ")");
    } else if (it->second.back() != n) {
      ++wrong;
      note(w, std::to_string(it->second.back()) + " != " + std::to_string(n));
    }
  }
  for (const auto& [w, values] : emitted) {
    if (!expected.counts.count(w)) {
      ++wrong;
      note(w, "output for input not committed");
    }
    for (size_t i = 1; i < values.size(); ++i) {
      if (values[i - 1] >= values[i]) {
        ++grew_wrong;
        note(w, "values " + std::to_string(values[i - 1]) + " then " + std::to_string(values[i]));
        break;
      }
    }
  }
  EXPECT_EQ(wrong, 0u) << when << ": " << emitted.size() << " windows in the output, "
                       << expected.counts.size() << " expected; e.g. " << examples;
  EXPECT_EQ(grew_wrong, 0u) << when << ": windows whose values do not strictly grow, e.g. "
                            << examples;
  return expected.counts.size();
}

int64_t DecodeCount(const std::string& bytes) {
  int64_t v = -1;
  const Status s = streams::Serdes::Int64()->Deserialize(std::string_view(bytes), &v);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

TEST(ResourceFaultsTest, StateDirFullStopsTheInstanceAndARestartRecoversExactly) {
  const auto test_start = Clock::now();
  ScopedTmpfs tmpfs(16);
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  testing::ScopedTopics topics({{UniqueName("full-in"), kPartitions, -1, {}},
                                {UniqueName("full-out"), kPartitions, -1, {}}});
  const std::string input = topics.name(0);
  const std::string output = topics.name(1);
  const std::string app_id = UniqueName("full");
  const std::string state_dir = (tmpfs.path() / "state").string();
  const std::string log = (std::filesystem::temp_directory_path() / (app_id + ".log")).string();
  std::printf("state dir %s (tmpfs 16 MiB), log %s\n", state_dir.c_str(), log.c_str());
  const std::vector<std::string> args = {testing::ToolDir() + "/eventflow-test-stateful-app",
                                         "--mode", "windowed-count",
                                         "--bootstrap", testing::KafkaBootstrap(),
                                         "--application-id", app_id,
                                         "--instance-id", "a",
                                         "--input", input,
                                         "--output", output,
                                         "--state-dir", state_dir,
                                         "--window-ms", std::to_string(kWindowMs),
                                         "--grace-ms", std::to_string(kGraceMs)};
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // An hour ago, so that the changelogs' retention (a day) keeps everything.
  const int64_t base = (now_ms - 3'600'000) / kWindowMs * kWindowMs;
  constexpr int64_t kRecords = 40'000;
  std::thread producer([&] { ProduceInput(input, base, kRecords, 2'000); });
  struct JoinOnExit {
    std::thread* t;
    ~JoinOnExit() {
      if (t->joinable()) t->join();
    }
  } join_producer{&producer};

  // 1. Runs, then the disk fills up under it.
  size_t log_from = testing::FileSize(log);
  auto first = std::make_unique<ChildProcess>(args, log);
  ASSERT_TRUE(testing::AwaitLogText(log, log_from, "all stores restored", kPartitions, 60s))
      << "see " << log;
  ASSERT_TRUE(testing::AwaitCommitted(app_id, input, {300, 300, 300}, 60s).ok()) << "see " << log;
  const uint64_t filled = FillUp(tmpfs.path() / "filler");
  const auto full_at = Clock::now();
  std::printf("filled the tmpfs with %llu bytes\n", static_cast<unsigned long long>(filled));
  const int rc = first->Wait(60s, "the instance whose disk fills up");
  const double stop_s = std::chrono::duration<double>(Clock::now() - full_at).count();
  const std::string first_log = testing::ReadFileFrom(log, log_from);
  EXPECT_EQ(rc, 1) << "the instance must stop with an error; see " << log;
  EXPECT_NE(first_log.find("No space left on device"), std::string::npos) << "see " << log;
  EXPECT_NE(first_log.find(state_dir + "/" + app_id + "/0_"), std::string::npos)
      << "the error must name the store's directory; see " << log;
  EXPECT_NE(first_log.find("ERROR [kafka-streams]"), std::string::npos) << "see " << log;
  const size_t error_at = first_log.find("ERROR [stream-thread");
  std::printf("stopped %.1f s after the disk filled up (exit %d): %s\n", stop_s, rc,
              error_at == std::string::npos
                  ? "no stream-thread error logged"
                  : first_log.substr(error_at, first_log.find('\n', error_at) - error_at).c_str());

  // 2. What it committed: exactly the input below its committed offsets (the
  // input is read once complete: ReadAll reads to an end that stays put).
  producer.join();
  auto committed = testing::CommittedOffsets(app_id, input);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  auto input_now = ReadAll(input, true, 60s);
  ASSERT_TRUE(input_now.ok()) << input_now.status().ToString();
  const Expected at_stop = Recompute(*input_now, *committed);
  EXPECT_GT(at_stop.records, 0);
  auto output_at_stop = ReadAll(output, /*read_committed=*/true, 60s);
  ASSERT_TRUE(output_at_stop.ok()) << output_at_stop.status().ToString();
  const size_t windows_at_stop = ExpectOutputEquals(*output_at_stop, at_stop, "at the stop");
  std::printf("at the stop: %lld input records committed, %zu windows exact in the output\n",
              static_cast<long long>(at_stop.records), windows_at_stop);

  // 3. Space freed, restarted: recovers and finishes the input.
  std::filesystem::remove(tmpfs.path() / "filler");
  log_from = testing::FileSize(log);
  auto second = std::make_unique<ChildProcess>(args, log);
  ASSERT_TRUE(testing::AwaitLogText(log, log_from, "all stores restored", kPartitions, 60s))
      << "see " << log;
  auto ends = testing::EndOffsets(input);
  ASSERT_TRUE(ends.ok()) << ends.status().ToString();
  ASSERT_TRUE(testing::AwaitCommitted(app_id, input, *ends, 120s).ok()) << "see " << log;
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Wait(60s, "the restarted instance"), 0) << "see " << log;
  const std::string second_log = testing::ReadFileFrom(log, log_from);
  std::string restores;
  for (const testing::RestoreLine& r : testing::ParseRestoreLines(second_log)) {
    restores += "task " + r.task + (r.full ? " full " : " tail ") + std::to_string(r.records) +
                " of " + std::to_string(r.changelog_end) + "; ";
  }
  std::printf("restores after the restart: %s\n", restores.c_str());

  // 4. Exact: output, changelog and stores against the whole input.
  auto all_input = ReadAll(input, true, 60s);
  ASSERT_TRUE(all_input.ok()) << all_input.status().ToString();
  const Expected expected = Recompute(*all_input, {});
  EXPECT_EQ(expected.records, kRecords);
  EXPECT_EQ(expected.late, 0) << "the test's input must never be late";
  auto final_output = ReadAll(output, true, 60s);
  ASSERT_TRUE(final_output.ok()) << final_output.status().ToString();
  const size_t windows = ExpectOutputEquals(*final_output, expected, "at the end");
  auto changelog = ReadAll(app_id + "-" + kStore + "-changelog", true, 60s);
  ASSERT_TRUE(changelog.ok()) << changelog.status().ToString();
  auto logged = testing::LatestPerWindow(*changelog);
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  size_t store_windows = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto store = testing::ReadWindowStore(state_dir, app_id, "0_" + std::to_string(p), kStore,
                                          std::chrono::milliseconds(kRetentionMs));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const int64_t horizon = expected.stream_time.at(p) - kRetentionMs + 1;
    EXPECT_EQ(store->expiry_horizon, horizon) << "partition " << p;
    std::map<WindowId, int64_t> want, have, in_changelog;
    for (const auto& [w, n] : expected.counts) {
      if (expected.partition_of.at(w) == p && w.second >= horizon) want[w] = n;
    }
    for (const auto& [w, bytes] : store->values) have[w] = DecodeCount(bytes);
    for (const auto& [w, bytes] : *logged) {
      if (want.count(w)) in_changelog[w] = DecodeCount(bytes);
    }
    EXPECT_EQ(have, want) << "store of task 0_" << p;
    EXPECT_EQ(in_changelog, want) << "changelog of task 0_" << p;
    store_windows += have.size();
  }
  std::printf("at the end: %zu windows exact in the output, %zu live ones in the stores; "
              "test took %.0f s\n",
              windows, store_windows,
              std::chrono::duration<double>(Clock::now() - test_start).count());
}

// --- PostgreSQL down for a minute --------------------------------------------------

// A PostgreSQL cluster of the test's own, started by scripts/postgres in a
// run directory under the build directory; removed (`clean`) on destruction.
class OwnPostgres {
 public:
  OwnPostgres()
      : run_dir_(std::filesystem::path(testing::ToolDir()).parent_path() /
                 UniqueName("resource-faults-pg")) {
    const char* port = std::getenv("EVENTFLOW_TEST_OUTAGE_PG_PORT");
    port_ = port != nullptr && *port != '\0' ? port : "25832";
    url_ = "postgresql://analytics:secret@127.0.0.1:" + port_ + "/analytics";
  }
  ~OwnPostgres() {
    const testing::ProcessResult r = Script("clean");
    if (r.exit_code != 0) ADD_FAILURE() << "scripts/postgres clean: " << r.err;
    std::error_code ec;
    std::filesystem::remove_all(run_dir_, ec);
  }
  //! Runs `scripts/postgres <command>` for this cluster.
  testing::ProcessResult Script(const std::string& command) const {
    return testing::RunProcess({std::string(EVENTFLOW_SOURCE_DIR) + "/scripts/postgres", command},
                               {"EVENTFLOW_RUN_DIR=" + run_dir_.string(),
                                "EVENTFLOW_PG_PORT=" + port_});
  }
  const std::string& url() const { return url_; }
  const std::string& port() const { return port_; }

 private:
  std::filesystem::path run_dir_;
  std::string port_;
  std::string url_;
};

// Order records of the sink's orders_raw contract, over 500 order ids (so
// rows are overwritten), produced at about `rate` records/s until `stop`.
// Returns the count sent.
int64_t ProduceOrders(const std::string& topic, int rate, const std::atomic<bool>* stop) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("enable.idempotence", "true");
  props.Set("linger.ms", "5");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  if (!producer.ok()) {
    ADD_FAILURE() << producer.status().ToString();
    return 0;
  }
  const char* currencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};
  const auto start = Clock::now();
  int64_t i = 0;
  for (; !stop->load(); ++i) {
    const std::string order = "o" + std::to_string((i * 7919) % 500);
    const std::string key = "{\"order_id\":\"" + order + "\"}";
    char price[32];
    std::snprintf(price, sizeof price, "%lld.%02lld", static_cast<long long>(i % 997),
                  static_cast<long long>(i % 100));
    char time[40];
    std::snprintf(time, sizeof time, "2025-11-30T%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(i / 3600 % 24), static_cast<long long>(i / 60 % 60),
                  static_cast<long long>(i % 60), static_cast<long long>(i % 1000));
    const std::string value = "{\"order_id\":\"" + order + "\",\"user_id\":\"u" +
                              std::to_string(i % 50) + "\",\"product_id\":\"p" +
                              std::to_string(i % 40) + "\",\"price\":\"" + price +
                              "\",\"currency\":\"" + currencies[i % 5] + "\",\"event_time\":\"" +
                              time + "\"}";
    while (rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer->get(), 10);
    }
    rd_kafka_poll(producer->get(), 0);
    if (i % 20 == 0) std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1'000'000 / rate));
  }
  EXPECT_EQ(rd_kafka_flush(producer->get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  return i;
}

// Returns the value of the JSON string field `name` in `json` (the test's
// own flat records: no escapes).
std::string Field(const std::string& json, const std::string& name) {
  const std::string open = "\"" + name + "\":\"";
  const size_t at = json.find(open);
  if (at == std::string::npos) return "<missing>";
  const size_t from = at + open.size();
  return json.substr(from, json.find('"', from) - from);
}

using Rows = std::map<std::string, std::vector<std::string>>;  // order_id → the other columns

// The sink's offsets table, (topic, partition) → next offset.
std::map<std::pair<std::string, int>, int64_t> StoredOffsets(sinks::PgConnection& conn) {
  std::map<std::pair<std::string, int>, int64_t> stored;
  auto rows = conn.Query("SELECT topic, partition, next_offset FROM eventflow_sink_offsets", {});
  if (!rows.ok()) return stored;  // not created yet, or the server is away
  for (int r = 0; r < rows->rows(); ++r) {
    stored[{std::string(rows->Get(r, 0)), std::stoi(std::string(rows->Get(r, 1)))}] =
        std::stoll(std::string(rows->Get(r, 2)));
  }
  return stored;
}

// End offsets of the partitions that have records, as the sink stores them.
testing::PartitionOffsets NonEmptyEndOffsets(const std::vector<std::string>& topics) {
  testing::PartitionOffsets ends;
  for (const auto& [tp, end] : testing::EndOffsetsOf(topics)) {
    if (end > 0) ends[tp] = end;
  }
  return ends;
}

// Polls (every 100 ms, until `timeout`) until the stored offsets equal the
// end offsets; returns whether they did.
bool AwaitSinkCaughtUp(const std::string& url, const std::vector<std::string>& topics,
                       std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    // Read on every look: a committed transaction's markers (and so the end
    // offsets) may become visible only after its commit returned.
    auto conn = sinks::PgConnection::Connect(url, std::chrono::seconds(5));
    if (conn.ok() && StoredOffsets(*conn) == NonEmptyEndOffsets(topics)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(ResourceFaultsTest, PostgresDownForAMinuteTheSinkWaitsAndCatchesUp) {
  const auto test_start = Clock::now();
  OwnPostgres pg;
  const testing::ProcessResult started = pg.Script("start");
  ASSERT_EQ(started.exit_code, 0) << "scripts/postgres start on port " << pg.port() << ": "
                                  << started.err;
  const std::string prefix = UniqueName("pgdown") + "-";
  const char* tables[] = {"orders_raw", "revenue_by_currency_5min", "conversion_funnel_5min",
                          "order_attribution"};
  std::vector<kafka::NewTopic> new_topics;
  std::vector<std::string> table_topics;
  for (const char* t : tables) {
    new_topics.push_back({prefix + t, 3, -1, {}});
    table_topics.push_back(prefix + t);
  }
  new_topics.push_back({prefix + "dlq", 1, -1, {}});
  testing::ScopedTopics topics(new_topics);
  const std::string log =
      (std::filesystem::temp_directory_path() / (prefix + "sink.log")).string();
  std::printf("sink log %s, PostgreSQL on port %s\n", log.c_str(), pg.port().c_str());

  std::atomic<bool> stop{false};
  int64_t produced = 0;
  std::thread producer([&] { produced = ProduceOrders(prefix + "orders_raw", 200, &stop); });
  struct JoinOnExit {
    std::atomic<bool>* stop;
    std::thread* t;
    ~JoinOnExit() {
      stop->store(true);
      if (t->joinable()) t->join();
    }
  } join_producer{&stop, &producer};

  auto sink = std::make_unique<ChildProcess>(
      std::vector<std::string>{testing::ToolDir() + "/eventflow-sink",
                               "--bootstrap-servers", testing::KafkaBootstrap(),
                               "--postgres-url", pg.url(),
                               "--group", prefix + "group",
                               "--topic-prefix", prefix,
                               "--dlq-topic", prefix + "dlq",
                               "--batch-ms", "100ms"},
      log);
  // 1. Writing.
  ASSERT_TRUE(testing::AwaitLogText(log, 0, "consuming", 1, 60s)) << "see " << log;
  std::this_thread::sleep_for(5s);
  ASSERT_GT(testing::FileSize(log), 0u);
  {
    auto conn = sinks::PgConnection::Connect(pg.url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_FALSE(StoredOffsets(*conn).empty()) << "the sink wrote nothing before the outage";
  }
  // 2. PostgreSQL away for a minute while records keep coming.
  const size_t log_before_outage = testing::FileSize(log);
  const testing::ProcessResult stopped = pg.Script("stop");
  ASSERT_EQ(stopped.exit_code, 0) << "scripts/postgres stop: " << stopped.err;
  const auto down_at = Clock::now();
  std::this_thread::sleep_for(60s);
  // Still waiting, not gone: the process has not exited.
  ASSERT_EQ(::waitpid(sink->pid(), nullptr, WNOHANG), 0) << "the sink gave up; see " << log;
  const testing::ProcessResult restarted = pg.Script("start");
  ASSERT_EQ(restarted.exit_code, 0) << "scripts/postgres start: " << restarted.err;
  const auto up_at = Clock::now();
  const double down_s = std::chrono::duration<double>(up_at - down_at).count();
  // 3. Catches up: a few more records, then the input stops.
  std::this_thread::sleep_for(3s);
  stop.store(true);
  producer.join();
  ASSERT_TRUE(AwaitSinkCaughtUp(pg.url(), table_topics, 60s))
      << "the sink did not reach the end offsets within 60 s of the restart; see " << log;
  const double catch_up_s = std::chrono::duration<double>(Clock::now() - up_at).count();

  const std::string outage_log = testing::ReadFileFrom(log, log_before_outage);
  size_t warnings = 0;
  for (size_t at = outage_log.find(" WARN "); at != std::string::npos;
       at = outage_log.find(" WARN ", at + 1)) {
    ++warnings;
  }
  std::smatch m;
  const std::regex again("reachable again after ([0-9]+) attempts, ([0-9]+) ms");
  ASSERT_TRUE(std::regex_search(outage_log, m, again))
      << "no reconnection logged; see " << log;
  const int attempts = std::stoi(m[1]);
  const int64_t waited_ms = std::stoll(m[2]);
  std::printf("PostgreSQL down %.1f s; %lld records produced; the sink reconnected after %d "
              "attempts in %lld ms, logged %zu warnings during the outage, caught up %.1f s "
              "after the restart\n",
              down_s, static_cast<long long>(produced), attempts,
              static_cast<long long>(waited_ms), warnings, catch_up_s);
  // Backoff 100 ms doubling to 5 s: about 17 attempts in a minute. Hundreds
  // would be spinning; a handful would mean it stopped retrying.
  EXPECT_GE(attempts, 8);
  EXPECT_LE(attempts, 40);
  EXPECT_GE(waited_ms, 55'000);
  EXPECT_LE(warnings, 10u) << "the outage must be logged, not per record; see " << log;
  EXPECT_LT(catch_up_s, 20.0) << "backoff must be capped at a few seconds";

  // 4. Exact: orders_raw is the latest value per key, the other tables are
  // empty, the stored offsets are the end offsets.
  auto records = ReadAll(prefix + "orders_raw", /*read_committed=*/true, 60s);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(records->size()), produced);
  Rows want;
  for (const ConsumedRecord& r : *records) {
    want[Field(r.value, "order_id")] = {Field(r.value, "user_id"), Field(r.value, "product_id"),
                                        Field(r.value, "price"), Field(r.value, "currency"),
                                        Field(r.value, "event_time")};
  }
  auto conn = sinks::PgConnection::Connect(pg.url());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto rows = conn->Query(
      "SELECT order_id, user_id, product_id, price::text, currency, "
      "to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM orders_raw",
      {});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  Rows have;
  for (int r = 0; r < rows->rows(); ++r) {
    have[std::string(rows->Get(r, 0))] = {std::string(rows->Get(r, 1)), std::string(rows->Get(r, 2)),
                                          std::string(rows->Get(r, 3)), std::string(rows->Get(r, 4)),
                                          std::string(rows->Get(r, 5))};
  }
  EXPECT_EQ(have.size(), want.size());
  EXPECT_TRUE(have == want) << "orders_raw differs from the latest value per key";
  for (const char* t : {"revenue_by_currency_5min", "conversion_funnel_5min", "order_attribution"}) {
    auto count = conn->Query(std::string("SELECT count(*) FROM ") + t, {});
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    EXPECT_EQ(std::string(count->Get(0, 0)), "0") << t;
  }
  EXPECT_EQ(StoredOffsets(*conn), NonEmptyEndOffsets(table_topics));

  sink->Signal(SIGTERM);
  EXPECT_EQ(sink->Wait(60s, "eventflow-sink"), 0) << "see " << log;
  std::printf("%zu rows exact; test took %.0f s\n", have.size(),
              std::chrono::duration<double>(Clock::now() - test_start).count());
}

}  // namespace
}  // namespace eventflow
