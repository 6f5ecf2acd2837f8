// eventflow: runs the EventFlow streaming application (topologies/).
//
//   eventflow run [options]          run a registered topology (default: all four
//                                    pipeline topologies) until SIGTERM/SIGINT
//   eventflow describe [--topology]  print Topology::Describe()
//   eventflow topologies             list the registered topologies
//
// A thin main: flags and environment → PipelineOptions + StreamsConfig, then
// KafkaStreams::Start() and RunUntilSignalled(). Instances started with the same
// --application-id form one consumer group and split the tasks (give each a
// distinct --instance-id). Exit status: 0 after a clean shutdown, 2 for a bad
// setting (the message names it), 1 for any other failure.
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/topologies/registry.h"
#include "metrics_server.h"

namespace po = boost::program_options;
using eventflow::Status;
namespace kafka = eventflow::kafka;
namespace streams = eventflow::streams;
namespace topologies = eventflow::topologies;

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "eventflow: %s\n", status.message().c_str());
  return status.IsInvalidArgument() ? 2 : 1;
}

int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "eventflow: %s\nusage: eventflow run|describe|topologies [options] "
               "(eventflow <command> --help)\n",
               problem.c_str());
  return 2;
}

// Parses argv[2..] with `desc`; unknown "--kafka.*" settings are returned in
// `*passthrough` when `allow_kafka`, anything else unknown is an error.
int Parse(int argc, char** argv, const po::options_description& desc, bool allow_kafka,
          po::variables_map* vm, std::vector<std::string>* passthrough) {
  try {
    po::parsed_options parsed = po::command_line_parser(argc - 1, argv + 1)
                                    .options(desc)
                                    .allow_unregistered()
                                    .run();
    std::vector<std::string> unknown =
        po::collect_unrecognized(parsed.options, po::include_positional);
    po::store(parsed, *vm);
    po::notify(*vm);
    for (const std::string& arg : unknown) {
      if (allow_kafka && arg.starts_with("--kafka.")) {
        passthrough->push_back(arg.substr(2));
        continue;
      }
      // Only the name: a mistyped option's value may be a secret.
      const std::string name = arg.substr(0, arg.find('='));
      std::fprintf(stderr, "eventflow: unknown option \"%s\" (see --help)\n", name.c_str());
      return 2;
    }
  } catch (const po::error& e) {
    std::fprintf(stderr, "eventflow: %s (see --help)\n", e.what());
    return 2;
  }
  return 0;
}

int Topologies() {
  for (const topologies::NamedTopology& entry : topologies::Registry()) {
    std::printf("%-26s %s\n", std::string(entry.name).c_str(),
                std::string(entry.description).c_str());
  }
  return 0;
}

// Resolves --topology, --topic-prefix and --emit.
Status PipelineSettings(const po::variables_map& vm, const topologies::NamedTopology** entry,
                        topologies::PipelineOptions* options) {
  const std::string name = vm["topology"].as<std::string>();
  *entry = topologies::FindTopology(name);
  if (*entry == nullptr) {
    return Status::InvalidArgument("--topology: unknown topology \"" + name +
                                   "\" (`eventflow topologies` lists them)");
  }
  options->topic_prefix = vm["topic-prefix"].as<std::string>();
  auto emit = topologies::ParseEmitMode(vm["emit"].as<std::string>(), "--emit");
  if (!emit.ok()) return emit.status();
  options->emit = *emit;
  return Status::OK();
}

void AddPipelineOptions(po::options_description* desc) {
  // clang-format off
  desc->add_options()
      ("help,h", "show this help")
      ("topology", po::value<std::string>()->default_value(std::string(topologies::kDefaultTopology)), "the registered topology to run (eventflow topologies)")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of every input and output topic name")
      ("emit", po::value<std::string>()->default_value("update"), "windowed results: update (every change, merged per commit) or final (once, when the window closes)");
  // clang-format on
}

int Describe(int argc, char** argv) {
  po::options_description desc("eventflow describe: prints the topology.\n\nOptions");
  AddPipelineOptions(&desc);
  po::variables_map vm;
  std::vector<std::string> unused;
  if (int rc = Parse(argc, argv, desc, false, &vm, &unused); rc != 0) return rc;
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  const topologies::NamedTopology* entry = nullptr;
  topologies::PipelineOptions options;
  if (Status s = PipelineSettings(vm, &entry, &options); !s.ok()) return Fail(s);
  streams::Topology topology = entry->Build(options);
  if (Status s = topology.Validate(); !s.ok()) return Fail(s);
  std::cout << topology.Describe();
  return 0;
}

// Creates the topology's input and output topics when missing, with
// retention.ms = `retention_ms` (-1 by default: records carry event times,
// and a replay of old data must not have its input or results deleted by
// time retention at the broker's next check).
Status EnsurePipelineTopics(const streams::StreamsConfig& config,
                            const topologies::NamedTopology& entry,
                            const topologies::PipelineOptions& options, int partitions,
                            int64_t retention_ms) {
  auto props = kafka::BuildClientConfig(
      kafka::ClientRole::kAdmin, {.bootstrap_servers = config.bootstrap_servers}, config.kafka);
  if (!props.ok()) return props.status();
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, *props);
  if (!admin.ok()) return admin.status();
  std::vector<kafka::NewTopic> topics;
  for (auto names : {entry.InputTopics(options), entry.OutputTopics(options)}) {
    for (std::string& name : names) {
      topics.push_back(kafka::NewTopic{std::move(name), partitions, config.replication_factor,
                                       {{"retention.ms", std::to_string(retention_ms)}}});
    }
  }
  EVENTFLOW_RETURN_IF_ERROR(kafka::EnsureTopics(admin->get(), topics, std::chrono::seconds(60)));
  kafka::WarnAboutTopicConfigs(
      admin->get(), topics,
      "records carry event times, so a finite retention.ms deletes a replay of old events at the "
      "broker's next retention check (--topic-retention-ms)",
      std::chrono::seconds(60));
  return Status::OK();
}

int Run(int argc, char** argv) {
  po::options_description desc(
      "eventflow run: runs the EventFlow streaming application until SIGTERM/SIGINT.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS (flags override it). Any\n"
      "--kafka.<librdkafka property>=<value> is passed to librdkafka unchanged (secret\n"
      "values are never printed). Instances with the same --application-id split the\n"
      "work; give each a distinct --instance-id.\n\nOptions");
  AddPipelineOptions(&desc);
  // clang-format off
  desc.add_options()
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("application-id", po::value<std::string>()->default_value("eventflow"), "consumer group and prefix of internal topics")
      ("instance-id", po::value<std::string>(), "this instance's stable id (default: the host name)")
      ("threads", po::value<int>()->default_value(1), "stream threads")
      ("state-dir", po::value<std::string>()->default_value("/tmp/eventflow-streams"), "where state stores live")
      ("processing-guarantee", po::value<std::string>()->default_value("exactly_once_v2"), "exactly_once_v2 or at_least_once")
      ("commit-interval-ms", po::value<int64_t>()->default_value(0), "commit interval (0: 100 under exactly-once, 30000 under at-least-once)")
      ("partitions", po::value<int>()->default_value(3), "partitions of the input and output topics created when missing")
      ("topic-retention-ms", po::value<int64_t>()->default_value(-1), "retention.ms of the input and output topics created when missing (-1: kept by time forever, so replays of old events lose nothing)")
      ("on-data-loss", po::value<std::string>()->default_value("fail"), "records deleted by the broker before they were read: fail (stop, naming topic, partition and offsets) or skip (go on, log an ERROR, count eventflow_records_lost_total)")
      ("repartition-purge-interval-ms", po::value<int64_t>()->default_value(30'000), "how often committed records are deleted from repartition topics (0: never)")
      ("partition-stall-timeout-ms", po::value<int64_t>()->default_value(120'000), "a partition with records to read and none read for this long is stalled: ERROR, counted, /readyz 503 (0: off)")
      ("state-memory-bytes", po::value<int64_t>()->default_value(int64_t{512} << 20), "RocksDB and record-cache memory of the instance")
      ("http-port", po::value<int>()->default_value(0), "serve /metrics, /healthz, /readyz on this port (0: off)")
      ("http-address", po::value<std::string>()->default_value("127.0.0.1"), "address the HTTP server binds")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error");
  // clang-format on
  po::variables_map vm;
  std::vector<std::string> passthrough;
  if (int rc = Parse(argc, argv, desc, true, &vm, &passthrough); rc != 0) return rc;
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  eventflow::LogLevel level;
  if (!eventflow::ParseLogLevel(vm["log-level"].as<std::string>(), &level)) {
    return Fail(Status::InvalidArgument("--log-level: unknown level \"" +
                                        vm["log-level"].as<std::string>() + "\""));
  }
  eventflow::SetLogLevel(level);

  const topologies::NamedTopology* entry = nullptr;
  topologies::PipelineOptions options;
  if (Status s = PipelineSettings(vm, &entry, &options); !s.ok()) return Fail(s);

  streams::StreamsConfig config;
  for (const std::string& setting : passthrough) {
    if (Status s = config.kafka.SetPassThrough(setting); !s.ok()) {
      // Only the name: the value may be a secret.
      return Fail(Status::InvalidArgument("--" + setting.substr(0, setting.find('=')) + ": " +
                                          s.message()));
    }
  }
  if (vm.count("bootstrap-servers")) {
    config.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
  } else if (const char* env = Env("KAFKA_BOOTSTRAP_SERVERS")) {
    config.bootstrap_servers = env;
  } else {
    config.bootstrap_servers = "127.0.0.1:19092";
  }
  config.application_id = vm["application-id"].as<std::string>();
  if (vm.count("instance-id")) {
    config.instance_id = vm["instance-id"].as<std::string>();
    if (config.instance_id.empty()) {
      return Fail(Status::InvalidArgument("--instance-id: must not be empty"));
    }
  }
  config.num_stream_threads = vm["threads"].as<int>();
  if (config.num_stream_threads < 1) {
    return Fail(Status::InvalidArgument("--threads: must be at least 1, got " +
                                        std::to_string(config.num_stream_threads)));
  }
  config.state_dir = vm["state-dir"].as<std::string>();
  const std::string guarantee = vm["processing-guarantee"].as<std::string>();
  if (guarantee == "exactly_once_v2") {
    config.processing_guarantee = streams::ProcessingGuarantee::kExactlyOnceV2;
  } else if (guarantee == "at_least_once") {
    config.processing_guarantee = streams::ProcessingGuarantee::kAtLeastOnce;
  } else {
    return Fail(Status::InvalidArgument(
        "--processing-guarantee: expected exactly_once_v2 or at_least_once, got \"" + guarantee +
        "\""));
  }
  const int64_t commit_ms = vm["commit-interval-ms"].as<int64_t>();
  if (commit_ms < 0) {
    return Fail(Status::InvalidArgument("--commit-interval-ms: must not be negative, got " +
                                        std::to_string(commit_ms)));
  }
  config.commit_interval = std::chrono::milliseconds(commit_ms);
  const int partitions = vm["partitions"].as<int>();
  if (partitions < 1) {
    return Fail(Status::InvalidArgument("--partitions: must be at least 1, got " +
                                        std::to_string(partitions)));
  }
  const int64_t memory = vm["state-memory-bytes"].as<int64_t>();
  if (memory <= 0) {
    return Fail(Status::InvalidArgument("--state-memory-bytes: must be positive, got " +
                                        std::to_string(memory)));
  }
  config.state_memory_bytes = static_cast<size_t>(memory);
  const int64_t topic_retention_ms = vm["topic-retention-ms"].as<int64_t>();
  if (topic_retention_ms < -1 || topic_retention_ms == 0) {
    return Fail(Status::InvalidArgument(
        "--topic-retention-ms: must be -1 (no time limit) or positive, got " +
        std::to_string(topic_retention_ms)));
  }
  const std::string on_data_loss = vm["on-data-loss"].as<std::string>();
  if (on_data_loss == "fail") {
    config.data_loss_policy = streams::DataLossPolicy::kFail;
  } else if (on_data_loss == "skip") {
    config.data_loss_policy = streams::DataLossPolicy::kSkip;
  } else {
    return Fail(Status::InvalidArgument("--on-data-loss: expected fail or skip, got \"" +
                                        on_data_loss + "\""));
  }
  config.repartition_purge_interval =
      std::chrono::milliseconds(vm["repartition-purge-interval-ms"].as<int64_t>());
  config.partition_stall_timeout =
      std::chrono::milliseconds(vm["partition-stall-timeout-ms"].as<int64_t>());
  const int http_port = vm["http-port"].as<int>();
  if (http_port < 0 || http_port > 65535) {
    return Fail(Status::InvalidArgument("--http-port: must be in 0..65535, got " +
                                        std::to_string(http_port)));
  }
  const std::string http_address = vm["http-address"].as<std::string>();
  if (Status s = config.Validate(); !s.ok()) return Fail(s);

  streams::Topology topology = entry->Build(options);
  if (Status s = topology.Validate(); !s.ok()) return Fail(s);

  // Bind the HTTP port before touching Kafka, so that a taken port fails fast.
  std::unique_ptr<eventflow::tools::MetricsServer> http;
  const std::string instance = config.EffectiveInstanceId();
  if (http_port > 0) {
    auto server = eventflow::tools::MetricsServer::Start(http_address, http_port,
                                                         config.application_id, instance);
    if (!server.ok()) return Fail(server.status());
    http = std::move(*server);
  }

  eventflow::Log(eventflow::LogLevel::kInfo, "eventflow",
                 "starting topology " + std::string(entry->name) + " (emit " +
                     std::string(topologies::EmitModeName(options.emit)) + ", topic prefix \"" +
                     options.topic_prefix + "\") as application " + config.application_id +
                     ", instance " + instance + ", " + std::to_string(config.num_stream_threads) +
                     " thread(s), bootstrap " + config.bootstrap_servers +
                     (config.kafka.entries().empty()
                          ? std::string()
                          : ", kafka settings:\n" + config.kafka.ToRedactedString()));
  if (Status s = EnsurePipelineTopics(config, *entry, options, partitions, topic_retention_ms);
      !s.ok()) {
    return Fail(s);
  }

  streams::KafkaStreams app(std::move(topology), config);
  if (http) http->Attach(&app);
  if (Status s = app.Start(); !s.ok()) {
    if (http) http->Attach(nullptr);
    return Fail(s);
  }
  const int rc = streams::RunUntilSignalled(app);
  if (http) http->Attach(nullptr);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("no command given");
  const std::string command = argv[1];
  if (command == "run") return Run(argc, argv);
  if (command == "describe") return Describe(argc, argv);
  if (command == "topologies") return Topologies();
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf(
        "usage: eventflow <command> [options]\n"
        "  run         run a topology (eventflow run --help)\n"
        "  describe    print a topology (eventflow describe --help)\n"
        "  topologies  list the registered topologies\n");
    return 0;
  }
  return Usage("unknown command \"" + command + "\"");
}
