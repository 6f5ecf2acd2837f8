// eventflow-bench-passthrough: a stateless pass-through (consume → map →
// produce) on a real broker, by the streams runtime and by a raw librdkafka
// loop doing the same work (the ceiling). Driven by bench/streams_passthrough,
// which runs the modes alternately and prints medians and ratios.
//
// Modes (one per process, so each measures only itself):
//   preload   creates the input topic (--partitions) and produces --records
//             JSON-like values (~150 bytes) keyed by 1000 user ids
//             (idempotent producer, acks=all, lz4, murmur2_random).
//   raw-alos  one consumer assigned every input partition from the beginning,
//             one idempotent producer with the runtime's producer settings
//             (acks=all, lz4, linger.ms=5, murmur2_random); copies each record
//             to the output topic through MapValue(), stops after --records,
//             flushes, commits the offsets once. It takes records per
//             partition queue in batches with the runtime's fetch waker
//             (kafka/fetch_waker.h) and librdkafka's default queue sizes, so
//             that it is a ceiling, not bound by librdkafka 2.0.2's 1 s refill.
//   raw-eos   the same with a read_committed consumer and a transactional
//             producer committing (send_offsets_to_transaction +
//             commit_transaction) every --commit-interval-ms.
//   alos/eos  a KafkaStreams application: source → processor (MapValue) →
//             sink, num_stream_threads 1, commit interval --commit-interval-ms
//             under both guarantees; runs until processed() >= --records,
//             then Close().
//
// Every measured mode writes a fresh output topic and uses a fresh group /
// application id (both suffixed with --run-id), so it reads all records.
// Measured: wall time and process CPU (getrusage(RUSAGE_SELF): all threads,
// librdkafka's included) from before the clients are created until they are
// destroyed. Output, one line:
//   mode=M records=N seconds=S records_per_s=R cpu_s=C cpu_s_per_million=X user_s=U sys_s=Y
//   peak_rss_mb=M [first_record_s=F]   (measured modes: when the first record was copied)
// peak_rss_mb is the process's peak resident set (getrusage ru_maxrss, the
// kernel's VmHWM) over its whole life, start-up included.
//
// Usage: eventflow-bench-passthrough --mode MODE [--bootstrap 127.0.0.1:39092]
//          [--input bench-passthrough-in] [--partitions 6] [--records 1000000]
//          [--run-id ID] [--commit-interval-ms 100] [--timeout-s 600]
//          [--threads 1]        app modes: num_stream_threads
//          [--progress-ms 0]    print "progress processed=N" every so often (0: never)
//          [--hold 0]           1: after the result line, wait for stdin to close before
//                               exiting (bench/compare reads /proc/<pid> meanwhile)
// Profiling aids for the app modes (the script uses neither):
//          [--max-buffered N]   StreamsConfig::max_buffered_records_per_partition
//          [--kafka KEY=VALUE]  a librdkafka setting passed through (repeatable)
//          [--memory-budget BYTES]  StreamsConfig::memory_budget_bytes
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/core/status.h"
#include "eventflow/kafka/fetch_waker.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/topology.h"

namespace {

namespace kafka = eventflow::kafka;
using eventflow::Status;
using eventflow::kafka::CreateKafkaClient;
using eventflow::kafka::FromKafkaError;
using eventflow::kafka::KafkaError;
using eventflow::kafka::KafkaGroupMetadata;
using eventflow::kafka::KafkaHandle;
using eventflow::kafka::KafkaMessage;
using eventflow::kafka::KafkaPartitionList;
using eventflow::kafka::KafkaProperties;
using eventflow::kafka::KafkaQueue;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::string bootstrap = "127.0.0.1:39092";
  std::string input = "bench-passthrough-in";
  int partitions = 6;
  int64_t records = 1'000'000;
  std::string run_id = "0";
  int commit_interval_ms = 100;
  int timeout_s = 600;
  int threads = 1;                 // app only: num_stream_threads
  int progress_ms = 0;             // > 0: a "progress processed=N" line every progress_ms
  bool hold = false;               // wait for stdin to close before exiting
  int max_buffered = 0;            // app only: max_buffered_records_per_partition (0: the default)
  std::vector<std::string> kafka;  // app only: librdkafka "key=value" pass-through settings
  size_t memory_budget = 0;        // app only: StreamsConfig::memory_budget_bytes (0: the default)
};

constexpr auto kAdminTimeout = std::chrono::seconds(60);

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "eventflow-bench-passthrough: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

void PrintProgress(uint64_t processed) {
  std::printf("progress processed=%llu\n", static_cast<unsigned long long>(processed));
  std::fflush(stdout);
}

// --hold 1: the process stays alive (its CPU time and peak RSS readable in /proc) until the
// harness closes stdin.
void HoldUntilStdinCloses() {
  char buf[256];
  while (std::fread(buf, 1, sizeof(buf), stdin) > 0) {
  }
}

// The trivial map both sides apply: upper-case the value of the "type" field.
void MapValue(std::string& value) {
  constexpr std::string_view kField = "\"type\":\"";
  const size_t at = value.find(kField);
  if (at == std::string::npos) return;
  for (size_t i = at + kField.size(); i < value.size() && value[i] != '"'; ++i) {
    value[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(value[i])));
  }
}

// The runtime's producer settings (streams/src/stream_thread.cc, CreateProducer).
void SetRuntimeProducerSettings(KafkaProperties& props) {
  props.Set("partitioner", "murmur2_random");
  props.Set("linger.ms", "5");
  props.Set("acks", "all");
  props.Set("enable.idempotence", "true");
  props.Set("compression.type", "lz4");
}

std::string OutputTopic(const Options& o) {
  return "bench-passthrough-out-" + o.mode + "-" + o.run_id;
}
std::string GroupId(const Options& o) { return "bench-passthrough-" + o.mode + "-" + o.run_id; }

// Creates `topics` (idempotent) through a short-lived client.
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

// `first` is when the first record was copied (startup: client creation,
// group join, first fetch); a default value omits it.
void Report(const Options& o, int64_t records, const Usage& begin, const Usage& end,
            Clock::time_point first = {}) {
  const double seconds = std::chrono::duration<double>(end.wall - begin.wall).count();
  const double user = end.user_s - begin.user_s;
  const double sys = end.sys_s - begin.sys_s;
  const double cpu = user + sys;
  std::printf(
      "mode=%s records=%lld seconds=%.3f records_per_s=%.0f cpu_s=%.3f cpu_s_per_million=%.3f "
      "user_s=%.3f sys_s=%.3f peak_rss_mb=%.1f",
      o.mode.c_str(), static_cast<long long>(records), seconds, records / seconds, cpu,
      cpu / (records / 1e6), user, sys, end.peak_rss_kb / 1024.0);
  if (first != Clock::time_point{}) {
    std::printf(" first_record_s=%.3f", std::chrono::duration<double>(first - begin.wall).count());
  }
  std::printf("\n");
  std::fflush(stdout);
}

// ---------------------------------------------------------------- preload

void Preload(const Options& o) {
  EnsureTopics(o, {o.input});
  KafkaProperties props;
  props.Set("bootstrap.servers", o.bootstrap);
  props.Set("partitioner", "murmur2_random");
  props.Set("acks", "all");
  props.Set("enable.idempotence", "true");
  props.Set("compression.type", "lz4");
  props.Set("linger.ms", "20");
  props.Set("batch.size", "1000000");
  props.Set("queue.buffering.max.messages", "500000");
  auto producer = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  Check(producer.status(), "creating the preload producer");
  rd_kafka_t* rk = producer->get();

  static constexpr const char* kTypes[] = {"page_view", "add_to_cart", "purchase", "search"};
  static constexpr const char* kCurrencies[] = {"EUR", "USD", "GBP"};
  uint64_t state = 42;
  auto next = [&state] {  // xorshift64: the same records every time
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const Usage begin = Now();
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  char key[32];
  char value[256];
  for (int64_t i = 0; i < o.records; ++i) {
    const uint64_t r = next();
    const int key_len =
        std::snprintf(key, sizeof(key), "user-%04u", static_cast<unsigned>(r % 1000));
    const int value_len = std::snprintf(
        value, sizeof(value),
        "{\"eventId\":\"e-%010lld\",\"userId\":\"%s\",\"type\":\"%s\",\"productId\":\"p-%05u\","
        "\"price\":%u.%02u,\"currency\":\"%s\",\"session\":\"s-%08x\",\"ts\":%lld}",
        static_cast<long long>(i), key, kTypes[(r >> 10) % 4],
        static_cast<unsigned>((r >> 12) % 100000), static_cast<unsigned>((r >> 30) % 500),
        static_cast<unsigned>((r >> 40) % 100), kCurrencies[(r >> 50) % 3],
        static_cast<unsigned>(r >> 32), static_cast<long long>(1'700'000'000'000LL + i));
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
  Report(o, o.records, begin, Now());
}

// ---------------------------------------------------------------- raw loops

std::atomic<int64_t> g_delivery_errors{0};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) g_delivery_errors.fetch_add(1);
}

// Offsets to commit: the next offset of every partition that delivered a record.
KafkaPartitionList OffsetList(const std::string& topic, const std::vector<int64_t>& next) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (size_t p = 0; p < next.size(); ++p) {
    if (next[p] < 0) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), static_cast<int32_t>(p))->offset =
        next[p];
  }
  return list;
}

void RawLoop(const Options& o, bool eos) {
  const std::string output = OutputTopic(o);
  EnsureTopics(o, {output});
  const Usage begin = Now();
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);

  KafkaProperties pprops;
  pprops.Set("bootstrap.servers", o.bootstrap);
  SetRuntimeProducerSettings(pprops);
  if (eos) {
    pprops.Set("transactional.id", GroupId(o));
    pprops.Set("transaction.timeout.ms", "60000");
  }
  auto pconf = kafka::BuildKafkaConf(pprops);
  Check(pconf.status(), "producer settings");
  rd_kafka_conf_set_dr_msg_cb(pconf->get(), &OnDelivery);
  auto producer_r = CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*pconf));
  Check(producer_r.status(), "creating the producer");
  KafkaHandle producer = std::move(*producer_r);

  KafkaProperties cprops;
  cprops.Set("bootstrap.servers", o.bootstrap);
  cprops.Set("group.id", GroupId(o));
  cprops.Set("enable.auto.commit", "false");
  cprops.Set("enable.auto.offset.store", "false");
  cprops.Set("auto.offset.reset", "earliest");
  cprops.Set("isolation.level", eos ? "read_committed" : "read_uncommitted");
  auto consumer_r = CreateKafkaClient(RD_KAFKA_CONSUMER, cprops);
  Check(consumer_r.status(), "creating the consumer");
  KafkaHandle consumer = std::move(*consumer_r);
  rd_kafka_poll_set_consumer(consumer.get());

  auto partitions = kafka::PartitionCount(consumer.get(), o.input, kAdminTimeout);
  Check(partitions.status(), "reading the input partition count");
  KafkaPartitionList assignment(rd_kafka_topic_partition_list_new(*partitions));
  for (int p = 0; p < *partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment.get(), o.input.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  // Records are taken per partition queue, as the runtime takes them, and a
  // queue that drains wakes its broker thread (fetch_waker.h). The queues
  // stop forwarding to the consumer queue before the assignment starts the
  // fetchers: records forwarded before would wait there, out of order.
  std::vector<KafkaQueue> queues;
  for (int p = 0; p < *partitions; ++p) {
    queues.emplace_back(rd_kafka_queue_get_partition(consumer.get(), o.input.c_str(), p));
    if (!queues.back()) Die("raw loop: no queue for partition " + std::to_string(p));
    rd_kafka_queue_forward(queues.back().get(), nullptr);
  }
  Check(FromKafkaError(rd_kafka_assign(consumer.get(), assignment.get()), "assigning"), "raw");

  const int txn_timeout_ms = 60'000;
  if (eos) {
    KafkaError err(rd_kafka_init_transactions(producer.get(), txn_timeout_ms));
    Check(FromKafkaError(err.get(), "init_transactions"), "raw-eos");
    err.reset(rd_kafka_begin_transaction(producer.get()));
    Check(FromKafkaError(err.get(), "begin_transaction"), "raw-eos");
  }
  KafkaGroupMetadata group(rd_kafka_consumer_group_metadata(consumer.get()));
  auto commit_transaction = [&](const std::vector<int64_t>& next) {
    KafkaPartitionList offsets = OffsetList(o.input, next);
    KafkaError err(rd_kafka_send_offsets_to_transaction(producer.get(), offsets.get(), group.get(),
                                                        txn_timeout_ms));
    Check(FromKafkaError(err.get(), "send_offsets_to_transaction"), "raw-eos");
    err.reset(rd_kafka_commit_transaction(producer.get(), txn_timeout_ms));
    Check(FromKafkaError(err.get(), "commit_transaction"), "raw-eos");
  };

  rd_kafka_topic_t* out = rd_kafka_topic_new(producer.get(), output.c_str(), nullptr);
  std::vector<int64_t> next_offset(static_cast<size_t>(*partitions), -1);
  std::vector<eventflow::kafka::QueueDrainWatch> drains(queues.size());
  eventflow::kafka::FetchWaker waker(consumer.get());
  constexpr size_t kBatch = 512;
  rd_kafka_message_t* batch[kBatch];
  std::string value;
  int64_t copied = 0;
  Clock::time_point first;
  auto last_commit = Clock::now();
  const auto progress_every = std::chrono::milliseconds(o.progress_ms);
  auto next_progress = Clock::now() + progress_every;
  const auto commit_interval = std::chrono::milliseconds(o.commit_interval_ms);
  auto copy = [&](rd_kafka_message_t* taken) {
    KafkaMessage msg(taken);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "consumer: %s\n", rd_kafka_message_errstr(msg.get()));
      }
      return;
    }
    value.assign(static_cast<const char*>(msg->payload), msg->len);
    MapValue(value);
    const int64_t ts = rd_kafka_message_timestamp(msg.get(), nullptr);
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_RKT(out), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_KEY(msg->key, msg->key_len), RD_KAFKA_V_VALUE(value.data(), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) Check(FromKafkaError(err, "producing"), "raw");
      if (Clock::now() > deadline) Die("raw loop: time-out while the producer queue is full");
      rd_kafka_poll(producer.get(), 10);
    }
    next_offset[static_cast<size_t>(msg->partition)] = msg->offset + 1;
    if (copied++ == 0) first = Clock::now();
  };
  size_t idle_queue = 0;  // waited on when every queue was empty
  // A lean ceiling: the clock is read once per round over the queues.
  while (copied < o.records) {
    size_t round = 0;
    for (size_t q = 0; q < queues.size() && copied < o.records; ++q) {
      const size_t asked = std::min<size_t>(kBatch, static_cast<size_t>(o.records - copied));
      const ssize_t n = rd_kafka_consume_batch_queue(queues[q].get(), 0, batch, asked);
      const size_t got = n > 0 ? static_cast<size_t>(n) : 0;
      if (drains[q].OnBatch(asked, got)) waker.Request(o.input, static_cast<int32_t>(q));
      round += got;
      for (size_t i = 0; i < got; ++i) copy(batch[i]);
      // Delivery reports, served as often as the runtime serves them (per batch).
      if (got > 0) rd_kafka_poll(producer.get(), 0);
    }
    if (round == 0) {
      // Every queue empty: the consumer queue holds only errors (a record
      // there would be out of its partition's order), then wait up to 5 ms
      // for a record on one of the partition queues (in turn).
      rd_kafka_poll(producer.get(), 0);
      if (KafkaMessage event{rd_kafka_consumer_poll(consumer.get(), 0)}) {
        if (event->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          Die("raw loop: a record of partition " + std::to_string(event->partition) +
              " reached the consumer queue");
        }
        std::fprintf(stderr, "consumer: %s\n", rd_kafka_message_errstr(event.get()));
      }
      const ssize_t n = rd_kafka_consume_batch_queue(queues[idle_queue].get(), 5, batch, 1);
      if (n > 0) copy(batch[0]);
      idle_queue = (idle_queue + 1) % queues.size();
    }
    const auto now = Clock::now();
    if (now > deadline) Die("raw loop: time-out after " + std::to_string(copied));
    if (o.progress_ms > 0 && now >= next_progress) {
      PrintProgress(static_cast<uint64_t>(copied));
      next_progress = now + progress_every;
    }
    if (eos && now - last_commit >= commit_interval) {
      commit_transaction(next_offset);
      KafkaError err(rd_kafka_begin_transaction(producer.get()));
      Check(FromKafkaError(err.get(), "begin_transaction"), "raw-eos");
      last_commit = Clock::now();
    }
  }
  if (eos) {
    commit_transaction(next_offset);
  } else {
    Check(FromKafkaError(rd_kafka_flush(producer.get(), 60'000), "flushing"), "raw-alos");
    KafkaPartitionList offsets = OffsetList(o.input, next_offset);
    Check(FromKafkaError(rd_kafka_commit(consumer.get(), offsets.get(), /*async=*/0),
                         "committing offsets"),
          "raw-alos");
  }
  if (g_delivery_errors.load() > 0) {
    Die(std::to_string(g_delivery_errors.load()) + " records failed delivery");
  }
  rd_kafka_topic_destroy(out);
  waker.Stop();
  queues.clear();
  rd_kafka_consumer_close(consumer.get());
  group.reset();
  consumer.reset();
  producer.reset();
  Report(o, copied, begin, Now(), first);
}

// ---------------------------------------------------------------- the app

using eventflow::streams::Processor;
using eventflow::streams::ProcessorContext;
using eventflow::streams::Record;

class MapValueProcessor final
    : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    MapValue(record.value);
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

void App(const Options& o, bool eos) {
  namespace es = eventflow::streams;
  const std::string output = OutputTopic(o);
  EnsureTopics(o, {output});

  es::StreamsConfig config;
  config.application_id = GroupId(o);
  config.bootstrap_servers = o.bootstrap;
  config.instance_id = "bench";
  config.num_stream_threads = o.threads;
  config.processing_guarantee =
      eos ? es::ProcessingGuarantee::kExactlyOnceV2 : es::ProcessingGuarantee::kAtLeastOnce;
  config.commit_interval = std::chrono::milliseconds(o.commit_interval_ms);
  if (o.max_buffered > 0) config.max_buffered_records_per_partition = o.max_buffered;
  if (o.memory_budget > 0) config.memory_budget_bytes = o.memory_budget;
  for (const std::string& setting : o.kafka) {
    Check(config.kafka.SetPassThrough(std::string(kafka::kPassThroughPrefix) + setting), "--kafka");
  }

  es::Topology topology;
  topology.AddSource<std::string, std::string>("in", {o.input}, es::Serdes::Bytes(),
                                               es::Serdes::String());
  topology.AddProcessor<std::string, std::string, std::string, std::string>(
      "map", [] { return std::make_unique<MapValueProcessor>(); }, {"in"});
  topology.AddSink<std::string, std::string>("out", output, es::Serdes::Bytes(),
                                             es::Serdes::String(), {"map"});

  const Usage begin = Now();
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  uint64_t processed = 0;
  Clock::time_point first;  // sampled every 5 ms
  const auto progress_every = std::chrono::milliseconds(o.progress_ms);
  auto next_progress = Clock::now() + progress_every;
  {
    es::KafkaStreams streams(std::move(topology), config);
    Check(streams.Start(), "starting the application");
    while ((processed = streams.processed()) < static_cast<uint64_t>(o.records)) {
      if (streams.state() == es::KafkaStreams::State::kError) {
        Die("application failed: " + streams.error().ToString());
      }
      if (processed > 0 && first == Clock::time_point{}) first = Clock::now();
      const auto now = Clock::now();
      if (now > deadline) Die("app: time-out after " + std::to_string(processed));
      if (o.progress_ms > 0 && now >= next_progress) {
        PrintProgress(processed);
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
  if (first == Clock::time_point{}) first = Clock::now();
  Report(o, static_cast<int64_t>(processed), begin, Now(), first);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Die("flag " + flag + " needs a value");
    const std::string value = argv[i + 1];
    if (flag == "--mode")
      o.mode = value;
    else if (flag == "--bootstrap")
      o.bootstrap = value;
    else if (flag == "--input")
      o.input = value;
    else if (flag == "--partitions")
      o.partitions = std::stoi(value);
    else if (flag == "--records")
      o.records = std::stoll(value);
    else if (flag == "--run-id")
      o.run_id = value;
    else if (flag == "--commit-interval-ms")
      o.commit_interval_ms = std::stoi(value);
    else if (flag == "--timeout-s")
      o.timeout_s = std::stoi(value);
    else if (flag == "--threads")
      o.threads = std::stoi(value);
    else if (flag == "--progress-ms")
      o.progress_ms = std::stoi(value);
    else if (flag == "--hold")
      o.hold = value == "1";
    else if (flag == "--max-buffered")
      o.max_buffered = std::stoi(value);
    else if (flag == "--kafka")
      o.kafka.push_back(value);
    else if (flag == "--memory-budget")
      o.memory_budget = std::stoull(value);
    else
      Die("unknown flag " + flag);
  }
  if (o.records <= 0 || o.partitions <= 0 || o.commit_interval_ms <= 0 || o.timeout_s <= 0 ||
      o.threads <= 0 || o.progress_ms < 0) {
    Die("--records, --partitions, --commit-interval-ms, --timeout-s and --threads must be "
        "positive");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  eventflow::SetLogLevel(eventflow::LogLevel::kWarn);
  if (o.mode == "preload")
    Preload(o);
  else if (o.mode == "raw-alos")
    RawLoop(o, /*eos=*/false);
  else if (o.mode == "raw-eos")
    RawLoop(o, /*eos=*/true);
  else if (o.mode == "alos")
    App(o, /*eos=*/false);
  else if (o.mode == "eos")
    App(o, /*eos=*/true);
  else
    Die("--mode must be preload, raw-alos, raw-eos, alos or eos (got \"" + o.mode + "\")");
  if (o.hold) HoldUntilStdinCloses();
  return 0;
}
