// eventflow-test-echo-app: a streams application for the runtime's
// integration tests, run as a child process so that tests can kill -9 it.
// Topology: source(--input) → mapValues(identity, rejecting "poison" values)
// → sink(--output). Values starting with "poison" fail the value serde and go
// to the dead-letter topic; values starting with "throw" make the processor
// throw (processing error). SIGTERM/SIGINT close the instance gracefully.
//
// Usage: eventflow-test-echo-app --bootstrap B --app-id A --input I --output O
//          [--instance-id ID] [--guarantee eos|alos] [--threads N] [--commit-interval-ms M]
//          [--strict true]   (bad records stop the application instead of going to the DLQ)
//          [--mode count --state-dir D]   (count per key in a changelogged RocksDB store)
#include <cstdio>
#include <cstring>
#include <string>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/topology.h"
#include "crash_point.h"

namespace {

using eventflow::Status;
using eventflow::streams::Processor;
using eventflow::streams::ProcessorContext;
using eventflow::streams::Record;

class EchoProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    if (record.value.rfind("throw", 0) == 0) throw std::runtime_error("asked to throw");
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

// Counts records per key in the "counts" store (RocksDB, changelogged) and
// forwards the new count as the value.
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

}  // namespace

int main(int argc, char** argv) {
  eventflow::streams::StreamsConfig config;
  std::string input, output, mode = "echo";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--bootstrap") config.bootstrap_servers = value;
    else if (flag == "--app-id") config.application_id = value;
    else if (flag == "--instance-id") config.instance_id = value;
    else if (flag == "--input") input = value;
    else if (flag == "--output") output = value;
    else if (flag == "--threads") config.num_stream_threads = std::stoi(value);
    else if (flag == "--mode") mode = value;
    else if (flag == "--state-dir") config.state_dir = value;
    else if (flag == "--strict" && value == "true") {
      config.deserialization_errors = eventflow::streams::ErrorPolicy::kFail;
      config.processing_errors = eventflow::streams::ErrorPolicy::kFail;
    }
    else if (flag == "--commit-interval-ms") config.commit_interval = std::chrono::milliseconds(std::stoi(value));
    else if (flag == "--kafka") {  // a librdkafka property, "name=value"
      if (!config.kafka.SetPassThrough("kafka." + value).ok()) {
        std::fprintf(stderr, "bad --kafka %s\n", value.c_str());
        return 2;
      }
    }
    else if (flag == "--log-level") {
      eventflow::LogLevel level;
      if (!eventflow::ParseLogLevel(value, &level)) return 2;
      eventflow::SetLogLevel(level);
    }
    else if (flag == "--stall-timeout-ms") config.partition_stall_timeout = std::chrono::milliseconds(std::stoi(value));
    else if (flag == "--on-data-loss") {
      config.data_loss_policy = value == "skip" ? eventflow::streams::DataLossPolicy::kSkip
                                                : eventflow::streams::DataLossPolicy::kFail;
    }
    else if (flag == "--guarantee") {
      config.processing_guarantee = value == "alos"
                                        ? eventflow::streams::ProcessingGuarantee::kAtLeastOnce
                                        : eventflow::streams::ProcessingGuarantee::kExactlyOnceV2;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  config.session_timeout = std::chrono::milliseconds(6000);

  auto text = eventflow::streams::Serdes::Of<std::string>(
      "text", [](const std::string& v, std::string* out) { out->append(v); },
      [](std::string_view data, std::string* out) {
        if (data.rfind("poison", 0) == 0) return Status::InvalidArgument("poison value");
        out->assign(data);
        return Status::OK();
      });
  eventflow::streams::Topology topology;
  topology.AddSource<std::string, std::string>("in", {input}, eventflow::streams::Serdes::Bytes(),
                                               text);
  if (mode == "count") {
    topology.AddProcessor<std::string, std::string, std::string, std::string>(
        "echo", [] { return std::make_unique<CountProcessor>(); }, {"in"});
    eventflow::streams::StoreSpec counts;
    counts.name = "counts";
    topology.AddStateStore(counts, {"echo"});
  } else {
    topology.AddProcessor<std::string, std::string, std::string, std::string>(
        "echo", [] { return std::make_unique<EchoProcessor>(); }, {"in"});
  }
  topology.AddSink<std::string, std::string>("out", output, eventflow::streams::Serdes::Bytes(),
                                             text, {"echo"});

  eventflow::streams::KafkaStreams streams(topology, config);
  eventflow::testing::InstallCrashPointFromEnv(streams);
  Status s = streams.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "echo-app: %s\n", s.ToString().c_str());
    return 2;
  }
  const int rc = eventflow::streams::RunUntilSignalled(streams);
  std::fprintf(stderr, "echo-app: exit %d, processed %llu, partition stalls %llu\n", rc,
               static_cast<unsigned long long>(streams.processed()),
               static_cast<unsigned long long>(streams.partition_stalls_total()));
  for (const auto& [store, m] : streams.restore_metrics()) {
    std::fprintf(stderr, "echo-app: restore-metrics %s restored=%llu remaining=%lld\n",
                 store.c_str(), static_cast<unsigned long long>(m.restored_records_total),
                 static_cast<long long>(m.remaining_records));
  }
  return rc;
}
