// eventflow-bench-restore: state restore from a changelog on a real broker.
// Driven by bench/restore_recovery, which preloads, runs the app, kills it
// (kill -9), restarts it with and without its state directory, and prints
// medians and ratios against a raw consume of the same changelog.
//
// Modes (one per process):
//   preload      creates the input topic (--partitions) and produces --records
//                small values with --records distinct keys ("key-0000000" ...),
//                so the app's changelog holds one record per key.
//   app          a KafkaStreams application (exactly-once v2, 1 stream thread,
//                static membership instance id "bench"): source → CountProcessor
//                (a count per key in the changelogged RocksDB key-value store
//                "counts") → sink (--output). Runs until SIGTERM/SIGINT (graceful
//                Close) or --timeout-s. Prints to stdout, flushed:
//                  running_ms=T    at the first RUNNING state, T = milliseconds
//                                  since --t0-ns (CLOCK_REALTIME ns taken by the
//                                  script just before exec; default: main())
//                  processed=N     whenever the count changed, every 200 ms
//                The runtime's INFO log (stderr) has the "[restore]" lines.
//   raw-consume  the baseline: a plain librdkafka consumer with the restore
//                consumer's settings (manual assignment, read_committed,
//                fetch.wait.max.ms=20, partition EOF) reads every partition of
//                "<app-id>-counts-changelog" from the beginning to its end. Timed
//                like the restore: from before the watermark query to the last
//                partition EOF, the consumer already created. Prints
//                  mode=raw-consume records=N seconds=S records_per_s=R
//
// Usage: eventflow-bench-restore --mode MODE [--bootstrap 127.0.0.1:39092]
//          [--app-id bench-restore] [--input bench-restore-in]
//          [--output bench-restore-out] [--state-dir DIR] [--partitions 3]
//          [--records 1000000] [--commit-interval-ms 100] [--t0-ns NS]
//          [--timeout-s 600]
//          [--kafka KEY=VALUE]  a librdkafka setting (repeatable): raw-consume's
//                               consumer; app: StreamsConfig::kafka, which reaches
//                               the restore consumer too (the script's "tuned" rows)
#include <signal.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/topology.h"

namespace {

namespace kafka = eventflow::kafka;
using eventflow::Status;
using eventflow::kafka::CreateKafkaClient;
using eventflow::kafka::FromKafkaError;
using eventflow::kafka::KafkaMessage;
using eventflow::kafka::KafkaPartitionList;
using eventflow::kafka::KafkaProperties;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::string bootstrap = "127.0.0.1:39092";
  std::string app_id = "bench-restore";
  std::string input = "bench-restore-in";
  std::string output = "bench-restore-out";
  std::string state_dir = "/tmp/eventflow-bench-restore";
  int partitions = 3;
  int64_t records = 1'000'000;
  int commit_interval_ms = 100;
  int64_t t0_ns = 0;
  int timeout_s = 600;
  std::vector<std::string> kafka;  // librdkafka "key=value" settings (app: all its clients)
};

constexpr auto kAdminTimeout = std::chrono::seconds(60);

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "eventflow-bench-restore: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void EnsureTopics(const Options& o, const std::vector<std::string>& names) {
  KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  auto admin = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  Check(admin.status(), "creating the admin client");
  std::vector<kafka::NewTopic> topics;
  for (const std::string& name : names) {
    topics.push_back({name, o.partitions, -1, {{"cleanup.policy", "delete"}}});
  }
  Check(kafka::EnsureTopics(admin->get(), topics, kAdminTimeout), "creating topics");
}

// ---------------------------------------------------------------- preload

void Preload(const Options& o) {
  EnsureTopics(o, {o.input, o.output});
  KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  props.Set("acks", "all");
  props.Set("enable.idempotence", "true");
  props.Set("compression.type", "lz4");
  props.Set("linger.ms", "20");
  props.Set("batch.size", "1000000");
  props.Set("queue.buffering.max.messages", "500000");
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  Check(producer.status(), "creating the preload producer");
  rd_kafka_t* rk = producer->get();
  const auto begin = Clock::now();
  const auto deadline = begin + std::chrono::seconds(o.timeout_s);
  char key[32];
  char value[64];
  for (int64_t i = 0; i < o.records; ++i) {
    const int key_len = std::snprintf(key, sizeof(key), "key-%07lld", static_cast<long long>(i));
    const int value_len =
        std::snprintf(value, sizeof(value), "{\"n\":%lld}", static_cast<long long>(i));
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(o.input.c_str()), RD_KAFKA_V_KEY(key, static_cast<size_t>(key_len)),
          RD_KAFKA_V_VALUE(value, static_cast<size_t>(value_len)),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) Check(FromKafkaError(err, "producing"), "preload");
      if (Clock::now() > deadline) Die("preload: time-out");
      rd_kafka_poll(rk, 10);
    }
    if (i % 1000 == 0) rd_kafka_poll(rk, 0);
  }
  Check(FromKafkaError(rd_kafka_flush(rk, 120'000), "flushing"), "preload");
  producer->reset();
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf("mode=preload records=%lld seconds=%.3f\n", static_cast<long long>(o.records),
              seconds);
}

// ---------------------------------------------------------------- the app

using eventflow::streams::Processor;
using eventflow::streams::ProcessorContext;
using eventflow::streams::Record;

// As tests/integration/echo_app.cc: a count per key, forwarded.
class CountProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override {
    context_ = &context;
    store_ = context.GetStateStore<eventflow::state::KeyValueStore>("counts");
  }
  void Process(Record<std::string, std::string> record) override {
    std::string current;
    const Status got = store_->Get(record.key, &current);
    if (!got.ok() && !got.IsNotFound()) throw std::runtime_error(got.ToString());
    const int64_t count = (got.ok() ? std::stoll(current) : 0) + 1;
    const Status put = store_->Put(record.key, std::to_string(count), record.timestamp);
    if (!put.ok()) throw std::runtime_error(put.ToString());
    record.value = std::to_string(count);
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
  eventflow::state::KeyValueStore* store_ = nullptr;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

void App(const Options& o) {
  namespace es = eventflow::streams;
  const int64_t t0 = o.t0_ns > 0 ? o.t0_ns : RealtimeNs();
  eventflow::SetLogLevel(eventflow::LogLevel::kInfo);
  struct sigaction action{};
  action.sa_handler = &OnSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  es::StreamsConfig config;
  config.application_id = o.app_id;
  config.bootstrap_servers = o.bootstrap;
  // Static membership: a restarted instance takes its old place at once
  // instead of waiting for the killed one's session to expire.
  config.instance_id = "bench";
  config.num_stream_threads = 1;
  config.state_dir = o.state_dir;
  config.processing_guarantee = es::ProcessingGuarantee::kExactlyOnceV2;
  config.commit_interval = std::chrono::milliseconds(o.commit_interval_ms);
  config.session_timeout = std::chrono::milliseconds(6000);
  for (const std::string& setting : o.kafka) {
    Check(config.kafka.SetPassThrough(std::string(kafka::kPassThroughPrefix) + setting), "--kafka");
  }

  es::Topology topology;
  topology.AddSource<std::string, std::string>("in", {o.input}, es::Serdes::Bytes(),
                                               es::Serdes::String());
  topology.AddProcessor<std::string, std::string, std::string, std::string>(
      "count", [] { return std::make_unique<CountProcessor>(); }, {"in"});
  es::StoreSpec counts;
  counts.name = "counts";
  topology.AddStateStore(counts, {"count"});
  topology.AddSink<std::string, std::string>("out", o.output, es::Serdes::Bytes(),
                                             es::Serdes::String(), {"count"});

  std::atomic<bool> reported_running{false};
  es::KafkaStreams streams(std::move(topology), config);
  streams.SetStateListener([&](es::KafkaStreams::State now, es::KafkaStreams::State) {
    if (now == es::KafkaStreams::State::kRunning && !reported_running.exchange(true)) {
      std::printf("running_ms=%.1f\n", static_cast<double>(RealtimeNs() - t0) / 1e6);
      std::fflush(stdout);
    }
  });
  Check(streams.Start(), "starting the application");
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  uint64_t printed = 0;
  while (!g_stop.load()) {
    if (streams.state() == es::KafkaStreams::State::kError) {
      Die("application failed: " + streams.error().ToString());
    }
    if (Clock::now() > deadline) Die("app: time-out");
    const uint64_t processed = streams.processed();
    if (processed != printed) {
      std::printf("processed=%llu\n", static_cast<unsigned long long>(processed));
      std::fflush(stdout);
      printed = processed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!streams.Close()) Die("app: Close() timed out");
  std::printf("processed=%llu\n", static_cast<unsigned long long>(streams.processed()));
}

// ---------------------------------------------------------------- raw consume

void RawConsume(const Options& o) {
  const std::string topic = o.app_id + "-counts-changelog";
  KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  props.Set("group.id", o.app_id + "-raw-consume");  // never joins or commits
  props.Set("enable.auto.commit", "false");
  props.Set("enable.partition.eof", "true");
  props.Set("isolation.level", "read_committed");
  props.Set("fetch.wait.max.ms", "20");
  for (const std::string& setting : o.kafka) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos) Die("--kafka needs KEY=VALUE, got " + setting);
    props.Set(setting.substr(0, eq), setting.substr(eq + 1));
  }
  auto consumer_r = CreateKafkaClient(RD_KAFKA_CONSUMER, props);
  Check(consumer_r.status(), "creating the consumer");
  rd_kafka_t* rk = consumer_r->get();
  auto partitions = kafka::PartitionCount(rk, topic, kAdminTimeout);
  Check(partitions.status(), "reading the partition count of " + topic);

  const auto begin = Clock::now();
  const auto deadline = begin + std::chrono::seconds(o.timeout_s);
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  int pending = 0;
  for (int p = 0; p < *partitions; ++p) {
    auto marks = kafka::QueryWatermarks(rk, topic, p, std::chrono::seconds(30));
    Check(marks.status(), "raw-consume");
    if (marks->low >= marks->high) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = marks->low;
    ++pending;
  }
  int64_t records = 0;
  uint64_t bytes = 0;
  if (pending > 0) {
    Check(FromKafkaError(rd_kafka_assign(rk, list.get()), "assigning"), "raw-consume");
    while (pending > 0) {
      if (Clock::now() > deadline) Die("raw-consume: time-out after " + std::to_string(records));
      KafkaMessage m(rd_kafka_consumer_poll(rk, 200));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        --pending;
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Die(std::string("raw-consume: ") + rd_kafka_message_errstr(m.get()));
      }
      bytes += m->key_len + m->len;  // touch the record, as the restore does
      ++records;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  rd_kafka_assign(rk, nullptr);
  std::printf("mode=raw-consume records=%lld seconds=%.3f records_per_s=%.0f bytes=%llu\n",
              static_cast<long long>(records), seconds, records / seconds,
              static_cast<unsigned long long>(bytes));
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Die("flag " + flag + " needs a value");
    const std::string value = argv[i + 1];
    if (flag == "--mode") o.mode = value;
    else if (flag == "--bootstrap") o.bootstrap = value;
    else if (flag == "--app-id") o.app_id = value;
    else if (flag == "--input") o.input = value;
    else if (flag == "--output") o.output = value;
    else if (flag == "--state-dir") o.state_dir = value;
    else if (flag == "--partitions") o.partitions = std::stoi(value);
    else if (flag == "--records") o.records = std::stoll(value);
    else if (flag == "--commit-interval-ms") o.commit_interval_ms = std::stoi(value);
    else if (flag == "--t0-ns") o.t0_ns = std::stoll(value);
    else if (flag == "--timeout-s") o.timeout_s = std::stoi(value);
    else if (flag == "--kafka") o.kafka.push_back(value);
    else Die("unknown flag " + flag);
  }
  if (o.records <= 0 || o.partitions <= 0 || o.commit_interval_ms <= 0 || o.timeout_s <= 0) {
    Die("--records, --partitions, --commit-interval-ms and --timeout-s must be positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  eventflow::SetLogLevel(eventflow::LogLevel::kWarn);
  if (o.mode == "preload") Preload(o);
  else if (o.mode == "app") App(o);
  else if (o.mode == "raw-consume") RawConsume(o);
  else Die("--mode must be preload, app or raw-consume (got \"" + o.mode + "\")");
  return 0;
}
