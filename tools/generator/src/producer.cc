#include "eventflow/generator/producer.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <variant>

#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"

namespace eventflow::generator {
namespace {

using Clock = std::chrono::steady_clock;

size_t Index(EventTopic topic) { return static_cast<size_t>(topic); }

constexpr std::array<EventTopic, 3> kTopics{EventTopic::kUserEvents, EventTopic::kProductView,
                                            EventTopic::kOrders};

}  // namespace

// ---------------------------------------------------------------------------
// GeneratedSource

GeneratedSource::GeneratedSource(const TrafficOptions& options, uint64_t count)
    : generator_(options), remaining_(count), unbounded_(count == 0) {}

Result<bool> GeneratedSource::Next(OutRecord* record) {
  if (!unbounded_) {
    if (remaining_ == 0) return false;
    --remaining_;
  }
  const EventTopic topic = generator_.Next();
  json_.clear();
  generator_.AppendCurrentJson(&json_);
  record->topic = topic;
  record->value = json_;
  switch (topic) {
    case EventTopic::kUserEvents:
      record->key = generator_.user_event().user_id;
      record->timestamp_ms = generator_.user_event().timestamp_ms;
      break;
    case EventTopic::kProductView:
      record->key = generator_.product_view().user_id;
      record->timestamp_ms = generator_.product_view().timestamp_ms;
      break;
    case EventTopic::kOrders:
      record->key = generator_.order().user_id;
      record->timestamp_ms = generator_.order().timestamp_ms;
      break;
  }
  return true;
}

// ---------------------------------------------------------------------------
// FileSource

namespace {

// Reads one line without its '\n' into `line`; returns false at end of file.
bool ReadLine(std::FILE* file, std::string* line) {
  line->clear();
  int c;
  while ((c = std::getc(file)) != EOF) {
    if (c == '\n') return true;
    line->push_back(static_cast<char>(c));
  }
  return !line->empty();
}

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::InvalidArgument("--from-file " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<FileSource> source(new FileSource(path, file));
  // Validation pass: a bad line anywhere means nothing is sent.
  EventDecoder decoder;
  std::string line;
  uint64_t number = 0;
  while (ReadLine(file, &line)) {
    ++number;
    if (IsBlank(line)) continue;
    auto event = decoder.Decode(line);
    if (!event.ok()) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) + ": " +
                                     event.status().message());
    }
  }
  if (std::ferror(file)) return Status::IOError("reading " + path + ": " + std::strerror(errno));
  std::rewind(file);
  return source;
}

FileSource::~FileSource() { std::fclose(file_); }

Result<bool> FileSource::Next(OutRecord* record) {
  while (ReadLine(file_, &line_)) {
    ++line_number_;
    if (IsBlank(line_)) continue;
    auto event = decoder_.Decode(line_);
    if (!event.ok()) {  // the file changed since validation
      return Status::InvalidArgument(path_ + ":" + std::to_string(line_number_) + ": " +
                                     event.status().message());
    }
    user_id_.assign(UserIdOf(*event));
    record->topic = TopicOf(*event);
    record->key = user_id_;
    record->value = line_;
    record->timestamp_ms = TimestampOf(*event);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// LineSink

Status LineSink::Send(const OutRecord& record) {
  if (std::fwrite(record.value.data(), 1, record.value.size(), out_) != record.value.size() ||
      std::fputc('\n', out_) == EOF) {
    return Status::IOError(std::string("writing events: ") + std::strerror(errno));
  }
  ++written_[Index(record.topic)];
  return Status::OK();
}

Status LineSink::Flush(std::chrono::milliseconds) {
  if (std::fflush(out_) != 0) return Status::IOError(std::string("flush: ") + std::strerror(errno));
  return Status::OK();
}

// ---------------------------------------------------------------------------
// KafkaSink

struct KafkaSink::State {
  kafka::KafkaHandle producer;
  std::array<rd_kafka_topic_t*, 3> topics{};
  std::array<std::string, 3> topic_names;
  std::array<std::atomic<uint64_t>, 3> delivered{};
  std::atomic<uint64_t> failed{0};
  std::mutex error_mu;
  Status first_error;  // guarded by error_mu

  void RecordError(Status status) {
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.ok()) first_error = std::move(status);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<State*>(opaque);
    const size_t topic = reinterpret_cast<uintptr_t>(msg->_private);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->delivered[topic].fetch_add(1, std::memory_order_relaxed);
      return;
    }
    self->failed.fetch_add(1, std::memory_order_relaxed);
    self->RecordError(kafka::FromKafkaError(
        msg->err, "delivering to " + self->topic_names[topic] + " partition " +
                      std::to_string(msg->partition)));
  }

  // Records the producer's fatal error, if it has one. Other errors (broker
  // down for a while) are transient: librdkafka retries until
  // message.timeout.ms, and the delivery report then says what failed.
  void CheckFatal() {
    char detail[512];
    const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(producer.get(), detail, sizeof(detail));
    if (orig != RD_KAFKA_RESP_ERR_NO_ERROR) {
      RecordError(Status::Fatal(std::string("producer fatal error: ") + detail + " (" +
                                rd_kafka_err2name(orig) + ")"));
    }
  }

  ~State() {
    for (rd_kafka_topic_t* t : topics) {
      if (t != nullptr) rd_kafka_topic_destroy(t);
    }
  }
};

KafkaSink::KafkaSink(std::unique_ptr<State> state) : state_(std::move(state)) {}
KafkaSink::~KafkaSink() = default;

Result<std::unique_ptr<KafkaSink>> KafkaSink::Create(const KafkaSinkOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return Status::InvalidArgument(
        "no Kafka bootstrap servers: set --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS");
  }
  if (options.partitions <= 0) {
    return Status::InvalidArgument("--partitions must be positive, got " +
                                   std::to_string(options.partitions));
  }
  auto state = std::make_unique<State>();
  for (EventTopic t : kTopics) {
    state->topic_names[Index(t)] = options.topic_prefix + std::string(TopicName(t));
  }

  auto props = kafka::BuildClientConfig(
      kafka::ClientRole::kGeneratorProducer,
      {.bootstrap_servers = options.bootstrap_servers, .client_id = "eventflow-produce"},
      options.kafka);
  if (!props.ok()) return props.status();
  auto conf = kafka::BuildKafkaConf(*props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), state.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &State::OnDelivery);
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer.ok()) return producer.status();
  state->producer = std::move(*producer);

  if (options.create_topics) {
    std::vector<kafka::NewTopic> topics;
    for (const std::string& name : state->topic_names) {
      topics.push_back({name, options.partitions, options.replication_factor,
                        {{"retention.ms", std::to_string(options.retention_ms)}}});
    }
    EVENTFLOW_RETURN_IF_ERROR(kafka::EnsureTopics(state->producer.get(), topics,
                                                  std::chrono::seconds(60)));
    kafka::WarnAboutTopicConfigs(
        state->producer.get(), topics,
        "records carry event times, so a finite retention.ms deletes a replay of old events at "
        "the broker's next retention check (--topic-retention-ms)",
        std::chrono::seconds(60));
  }
  for (EventTopic t : kTopics) {
    state->topics[Index(t)] =
        rd_kafka_topic_new(state->producer.get(), state->topic_names[Index(t)].c_str(), nullptr);
  }
  return std::unique_ptr<KafkaSink>(new KafkaSink(std::move(state)));
}

Status KafkaSink::Send(const OutRecord& record) {
  State& s = *state_;
  const size_t topic = Index(record.topic);
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        s.producer.get(), RD_KAFKA_V_RKT(s.topics[topic]),
        RD_KAFKA_V_KEY(const_cast<char*>(record.key.data()), record.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(record.timestamp_ms),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(topic))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return kafka::FromKafkaError(err, "producing to " + s.topic_names[topic]);
    }
    rd_kafka_poll(s.producer.get(), 50);  // queue full: serve delivery reports, retry
  }
  s.CheckFatal();
  std::lock_guard<std::mutex> lock(s.error_mu);
  return s.first_error;
}

void KafkaSink::Poll() { rd_kafka_poll(state_->producer.get(), 0); }

Status KafkaSink::Flush(std::chrono::milliseconds timeout) {
  State& s = *state_;
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(s.producer.get(), static_cast<int>(timeout.count()));
  s.CheckFatal();
  {
    std::lock_guard<std::mutex> lock(s.error_mu);
    if (!s.first_error.ok()) {
      return s.first_error.WithContext(std::to_string(s.failed.load()) +
                                       " event(s) not delivered, first failure");
    }
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::FromKafkaError(
        err, std::to_string(rd_kafka_outq_len(s.producer.get())) +
                 " event(s) still undelivered after flushing for " +
                 std::to_string(timeout.count()) + " ms");
  }
  return Status::OK();
}

std::array<uint64_t, 3> KafkaSink::Delivered() const {
  return {state_->delivered[0].load(), state_->delivered[1].load(), state_->delivered[2].load()};
}

const std::string& KafkaSink::TopicNameFor(EventTopic topic) const {
  return state_->topic_names[Index(topic)];
}

// ---------------------------------------------------------------------------
// Pump

std::string PumpSummary::ToJson() const {
  std::string out = "{";
  for (EventTopic t : kTopics) {
    out += "\"" + std::string(TopicName(t)) + "\":" + std::to_string(sent[Index(t)]) + ",";
  }
  out += "\"total\":" + std::to_string(total_sent());
  out += ",\"delivered\":" + std::to_string(delivered[0] + delivered[1] + delivered[2]);
  char tail[96];
  std::snprintf(tail, sizeof(tail), ",\"seconds\":%.3f,\"events_per_second\":%.1f}", seconds,
                rate());
  return out + tail;
}

std::string PumpSummary::ToText() const {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "events sent: %llu (user-events %llu, product-view %llu, orders %llu), "
                "delivered: %llu, in %.2f s (%.0f events/s)",
                static_cast<unsigned long long>(total_sent()),
                static_cast<unsigned long long>(sent[0]), static_cast<unsigned long long>(sent[1]),
                static_cast<unsigned long long>(sent[2]),
                static_cast<unsigned long long>(delivered[0] + delivered[1] + delivered[2]),
                seconds, rate());
  return buf;
}

Result<PumpSummary> Pump(EventSource& source, RecordSink& sink, const PumpOptions& options,
                         const std::atomic<bool>& stop) {
  PumpSummary summary;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      options.duration.count() > 0 ? start + options.duration : Clock::time_point::max();
  const bool paced = options.rate > 0;
  const std::chrono::duration<double> interval(paced ? 1.0 / options.rate : 0.0);
  Clock::time_point next_progress = start + std::chrono::seconds(1);
  uint64_t n = 0;
  OutRecord record;

  auto print_progress = [&](Clock::time_point now) {
    const double secs = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr,
                 "\r[eventflow-produce] %llu events (user-events %llu, product-view %llu, "
                 "orders %llu)  %.0f/s   ",
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(summary.sent[0]),
                 static_cast<unsigned long long>(summary.sent[1]),
                 static_cast<unsigned long long>(summary.sent[2]),
                 secs > 0 ? static_cast<double>(n) / secs : 0.0);
  };

  while (!stop.load(std::memory_order_relaxed)) {
    auto more = source.Next(&record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    EVENTFLOW_RETURN_IF_ERROR(sink.Send(record));
    ++summary.sent[Index(record.topic)];
    ++n;
    // Time checks every event when paced (the pace needs them), else every 1024.
    if (paced || (n & 1023) == 0) {
      sink.Poll();
      Clock::time_point now = Clock::now();
      if (paced) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * n);
        // Sleep only when ahead by >= 2 ms: at most ~500 sleeps per second.
        if (due - now >= std::chrono::milliseconds(2)) {
          // In slices, so that a stop request is honoured within 200 ms at any rate.
          const Clock::time_point wake = std::min(due, end);
          while (now < wake && !stop.load(std::memory_order_relaxed)) {
            std::this_thread::sleep_for(
                std::min<Clock::duration>(wake - now, std::chrono::milliseconds(200)));
            now = Clock::now();
          }
        }
      }
      if (now >= end) break;
      if (options.progress && now >= next_progress) {
        print_progress(now);
        next_progress = now + std::chrono::seconds(1);
      }
    }
  }
  const Status flushed = sink.Flush(options.flush_timeout);
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.progress) {
    print_progress(Clock::now());
    std::fputc('\n', stderr);
  }
  summary.delivered = sink.Delivered();
  if (!flushed.ok()) return flushed;
  return summary;
}

}  // namespace eventflow::generator
