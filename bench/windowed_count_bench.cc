// eventflow-bench-windowed-count: a windowed count end to end on a real
// broker under exactly-once (KafkaStreams: source → GroupByKey → tumbling
// windows → Count into a changelogged RocksDB window store → sink), for
// bench/windowed_count, which runs it next to the stateless pass-through
// (eventflow-bench-passthrough --mode eos) on the same input and prints
// medians and ratios.
//
// Modes (one per process, so each measures only itself):
//   preload  creates the input topic (--partitions) and produces --records
//            JSON-like values (~150 bytes, the pass-through benchmark's shape)
//            keyed by --keys user ids, with event times (the Kafka record
//            timestamp) advancing 1 ms per record from two hours ago, lagged
//            by up to 2 s (bounded disorder, below the grace period), so the
//            records fall into ~records/60000 one-minute windows per key.
//            Idempotent producer, acks=all, lz4, murmur2_random.
//   update   the windowed count (1-minute windows, 10 s grace) emitting on
//            update through the record cache (one update per window per
//            commit), num_stream_threads 1, exactly-once v2, commit interval
//            --commit-interval-ms; runs until processed() >= --records, then
//            Close().
//   close    the same, emitting each window's final count once, on close.
//
// Every measured run uses a fresh application id, output topic and state
// directory (suffixed with --run-id), so it reads all records and restores
// nothing. Measured: wall time and process CPU (getrusage(RUSAGE_SELF): all
// threads, librdkafka's and RocksDB's included) from before the application
// is created until it is closed. Output, one line:
//   mode=M records=N seconds=S records_per_s=R cpu_s=C cpu_s_per_million=X
//   user_s=U sys_s=Y peak_rss_mb=M output_records=O (measured modes) | (preload: no output_records)
// peak_rss_mb is the process's peak resident set (getrusage ru_maxrss, the
// kernel's VmHWM) over its whole life, start-up included.
//
// Usage: eventflow-bench-windowed-count --mode MODE [--bootstrap 127.0.0.1:39692]
//          [--input bench-windowed-in] [--partitions 6] [--records 1000000]
//          [--keys 1000] [--run-id ID] [--commit-interval-ms 100]
//          [--state-dir /tmp/eventflow-bench-windowed] [--timeout-s 600]
//          [--memory-budget BYTES]   StreamsConfig::memory_budget_bytes (the script uses none)
//          [--threads 1]        num_stream_threads
//          [--guarantee exactly_once_v2|at_least_once]
//          [--progress-ms 0]    print "progress processed=N" every so often (0: never)
//          [--hold 0]           1: after the result line, wait for stdin to close before
//                               exiting (bench/compare reads /proc/<pid> meanwhile)
//          [--keep-state 0]     1: keep the state directory (neither wiped at the start nor
//                               removed at the end; bench/compare's recovery runs)
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/time_windowed_kstream.h"
#include "eventflow/streams/windowed.h"

namespace {

namespace es = eventflow::streams;
namespace kafka = eventflow::kafka;
using eventflow::Status;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::string bootstrap = "127.0.0.1:39692";
  std::string input = "bench-windowed-in";
  int partitions = 6;
  int64_t records = 1'000'000;
  int keys = 1000;
  std::string run_id = "0";
  int commit_interval_ms = 100;
  std::string state_dir = "/tmp/eventflow-bench-windowed";
  int timeout_s = 600;
  size_t memory_budget = 0;  // StreamsConfig::memory_budget_bytes (0: the default)
  int threads = 1;
  bool at_least_once = false;
  int progress_ms = 0;  // > 0: a "progress processed=N" line every progress_ms
  bool hold = false;    // wait for stdin to close before exiting
  bool keep_state = false;
};

constexpr auto kAdminTimeout = std::chrono::seconds(60);
constexpr auto kWindow = std::chrono::minutes(1);
constexpr auto kGrace = std::chrono::seconds(10);
constexpr int64_t kDisorderMs = 2000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "eventflow-bench-windowed-count: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

// --hold 1: the process stays alive (its CPU time and peak RSS readable in /proc) until the
// harness closes stdin.
void HoldUntilStdinCloses() {
  char buf[256];
  while (std::fread(buf, 1, sizeof(buf), stdin) > 0) {
  }
}

void EnsureTopics(const Options& o, const std::vector<std::string>& names) {
  kafka::KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  Check(admin.status(), "creating the admin client");
  std::vector<kafka::NewTopic> topics;
  for (const std::string& name : names) {
    topics.push_back({name, o.partitions, -1, {{"cleanup.policy", "delete"}}});
  }
  Check(kafka::EnsureTopics(admin->get(), topics, kAdminTimeout), "creating topics");
}

struct Usage {
  Clock::time_point wall;
  double user_s = 0;
  double sys_s = 0;
  long peak_rss_kb = 0;  // ru_maxrss: the process's peak resident set so far (VmHWM)
};

Usage Now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return Usage{Clock::now(), secs(ru.ru_utime), secs(ru.ru_stime), ru.ru_maxrss};
}

void Report(const Options& o, int64_t records, const Usage& begin, const Usage& end,
            std::optional<uint64_t> output_records) {
  const double seconds = std::chrono::duration<double>(end.wall - begin.wall).count();
  const double user = end.user_s - begin.user_s;
  const double sys = end.sys_s - begin.sys_s;
  std::printf(
      "mode=%s records=%lld seconds=%.3f records_per_s=%.0f cpu_s=%.3f cpu_s_per_million=%.3f "
      "user_s=%.3f sys_s=%.3f peak_rss_mb=%.1f",
      o.mode.c_str(), static_cast<long long>(records), seconds, records / seconds, user + sys,
      (user + sys) / (records / 1e6), user, sys, end.peak_rss_kb / 1024.0);
  if (output_records) std::printf(" output_records=%llu", static_cast<unsigned long long>(*output_records));
  std::printf("\n");
  std::fflush(stdout);
}

// ---------------------------------------------------------------- preload

void Preload(const Options& o) {
  EnsureTopics(o, {o.input});
  kafka::KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  props.Set("partitioner", "murmur2_random");
  props.Set("acks", "all");
  props.Set("enable.idempotence", "true");
  props.Set("compression.type", "lz4");
  props.Set("linger.ms", "20");
  props.Set("batch.size", "1000000");
  props.Set("queue.buffering.max.messages", "500000");
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  Check(producer.status(), "creating the preload producer");
  rd_kafka_t* rk = producer->get();

  static constexpr const char* kTypes[] = {"page_view", "add_to_cart", "purchase", "search"};
  uint64_t state = 42;
  auto next = [&state] {  // xorshift64: the same records every time
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t base = (now_ms - 2 * 3'600'000) / 60'000 * 60'000;
  const Usage begin = Now();
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  char key[32];
  char value[256];
  for (int64_t i = 0; i < o.records; ++i) {
    const uint64_t r = next();
    const int key_len = std::snprintf(key, sizeof(key), "user-%04u",
                                      static_cast<unsigned>(r % static_cast<uint64_t>(o.keys)));
    const int64_t ts = base + kDisorderMs + i - static_cast<int64_t>((r >> 20) % kDisorderMs);
    const int value_len = std::snprintf(
        value, sizeof(value),
        "{\"eventId\":\"e-%010lld\",\"userId\":\"%s\",\"type\":\"%s\",\"productId\":\"p-%05u\","
        "\"price\":%u.%02u,\"currency\":\"EUR\",\"session\":\"s-%08x\",\"ts\":%lld}",
        static_cast<long long>(i), key, kTypes[(r >> 10) % 4],
        static_cast<unsigned>((r >> 12) % 100000), static_cast<unsigned>((r >> 30) % 500),
        static_cast<unsigned>((r >> 40) % 100), static_cast<unsigned>(r >> 32),
        static_cast<long long>(ts));
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(o.input.c_str()), RD_KAFKA_V_KEY(key, static_cast<size_t>(key_len)),
          RD_KAFKA_V_VALUE(value, static_cast<size_t>(value_len)), RD_KAFKA_V_TIMESTAMP(ts),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) Check(kafka::FromKafkaError(err, "producing"), "preload");
      if (Clock::now() > deadline) Die("preload: time-out");
      rd_kafka_poll(rk, 10);
    }
    if (i % 1000 == 0) rd_kafka_poll(rk, 0);
  }
  Check(kafka::FromKafkaError(rd_kafka_flush(rk, 120'000), "flushing"), "preload");
  producer->reset();
  Report(o, o.records, begin, Now(), std::nullopt);
}

// ---------------------------------------------------------------- the app

// Counts the records the sink produced (on the stream thread, one writer).
std::atomic<uint64_t> g_output_records{0};

void App(const Options& o, bool emit_on_close) {
  const std::string output = "bench-windowed-out-" + o.mode + "-" + o.run_id;
  EnsureTopics(o, {output});
  const std::string state_dir = o.state_dir + "/" + o.mode + "-" + o.run_id;
  if (!o.keep_state) std::filesystem::remove_all(state_dir);

  es::StreamsConfig config;
  config.application_id = "bench-windowed-" + o.mode + "-" + o.run_id;
  config.bootstrap_servers = o.bootstrap;
  config.instance_id = "bench";
  config.num_stream_threads = o.threads;
  config.processing_guarantee = o.at_least_once ? es::ProcessingGuarantee::kAtLeastOnce
                                                : es::ProcessingGuarantee::kExactlyOnceV2;
  config.commit_interval = std::chrono::milliseconds(o.commit_interval_ms);
  if (o.memory_budget > 0) config.memory_budget_bytes = o.memory_budget;
  config.state_dir = state_dir;

  es::StreamsBuilder builder;
  builder.Stream<std::string, std::string>(o.input)
      .GroupByKey()
      .WindowedBy(es::TimeWindows::OfSizeAndGrace(kWindow, kGrace))
      .WithEmitStrategy(emit_on_close ? es::EmitStrategy::kOnWindowClose
                                      : es::EmitStrategy::kOnWindowUpdate)
      .Count(es::Materialized<std::string, int64_t>::As("counts"))
      .ToStream()
      .Peek([](const es::Windowed<std::string>&, const std::optional<int64_t>&) {
        g_output_records.fetch_add(1, std::memory_order_relaxed);
      })
      .To(output);
  es::Topology topology = builder.Build();
  Check(topology.Validate(), "the topology");

  const Usage begin = Now();
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  uint64_t processed = 0;
  const auto progress_every = std::chrono::milliseconds(o.progress_ms);
  auto next_progress = Clock::now() + progress_every;
  {
    es::KafkaStreams streams(std::move(topology), config);
    Check(streams.Start(), "starting the application");
    while ((processed = streams.processed()) < static_cast<uint64_t>(o.records)) {
      if (streams.state() == es::KafkaStreams::State::kError) {
        Die("application failed: " + streams.error().ToString());
      }
      const auto now = Clock::now();
      if (now > deadline) Die("app: time-out after " + std::to_string(processed));
      if (o.progress_ms > 0 && now >= next_progress) {
        std::printf("progress processed=%llu\n", static_cast<unsigned long long>(processed));
        std::fflush(stdout);
        next_progress = now + progress_every;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!streams.Close()) Die("app: Close() timed out");
    if (streams.state() == es::KafkaStreams::State::kError) {
      Die("application failed: " + streams.error().ToString());
    }
    processed = streams.processed();
  }
  Report(o, static_cast<int64_t>(processed), begin, Now(), g_output_records.load());
  if (!o.keep_state) std::filesystem::remove_all(state_dir);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Die("flag " + flag + " needs a value");
    const std::string value = argv[i + 1];
    if (flag == "--mode") o.mode = value;
    else if (flag == "--bootstrap") o.bootstrap = value;
    else if (flag == "--input") o.input = value;
    else if (flag == "--partitions") o.partitions = std::stoi(value);
    else if (flag == "--records") o.records = std::stoll(value);
    else if (flag == "--keys") o.keys = std::stoi(value);
    else if (flag == "--run-id") o.run_id = value;
    else if (flag == "--commit-interval-ms") o.commit_interval_ms = std::stoi(value);
    else if (flag == "--state-dir") o.state_dir = value;
    else if (flag == "--timeout-s") o.timeout_s = std::stoi(value);
    else if (flag == "--memory-budget") o.memory_budget = std::stoull(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--progress-ms") o.progress_ms = std::stoi(value);
    else if (flag == "--hold") o.hold = value == "1";
    else if (flag == "--keep-state") o.keep_state = value == "1";
    else if (flag == "--guarantee") {
      if (value != "exactly_once_v2" && value != "at_least_once") {
        Die("--guarantee must be exactly_once_v2 or at_least_once");
      }
      o.at_least_once = value == "at_least_once";
    }
    else Die("unknown flag " + flag);
  }
  if (o.records <= 0 || o.partitions <= 0 || o.keys <= 0 || o.commit_interval_ms <= 0 ||
      o.timeout_s <= 0 || o.threads <= 0 || o.progress_ms < 0) {
    Die("--records, --partitions, --keys, --commit-interval-ms and --timeout-s must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  eventflow::SetLogLevel(eventflow::LogLevel::kWarn);
  if (o.mode == "preload") Preload(o);
  else if (o.mode == "update") App(o, /*emit_on_close=*/false);
  else if (o.mode == "close") App(o, /*emit_on_close=*/true);
  else Die("--mode must be preload, update or close (got \"" + o.mode + "\")");
  if (o.hold) HoldUntilStdinCloses();
  return 0;
}
