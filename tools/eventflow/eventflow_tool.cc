#include "eventflow_tool.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>

#include "eventflow/cli/values.h"
#include "eventflow/core/log.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/queries/query_service.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "application_reset.h"
#include "metrics_server.h"
#include "state_lag.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;

int Usage(const cli::Tool& tool, const std::string& problem) {
  tool.Message(problem +
               "\nusage: eventflow run|describe|topologies|state-lag|reset [options] (eventflow "
               "<command> --help)");
  return cli::kExitUsage;
}

int Topologies() {
  for (const topologies::NamedTopology& entry : topologies::Registry()) {
    std::printf("%-26s %s\n", std::string(entry.name).c_str(),
                std::string(entry.description).c_str());
  }
  return cli::kExitOk;
}

}  // namespace

void AddPipelineOptions(po::options_description* desc) {
  // clang-format off
  desc->add_options()
      ("help,h", "show this help")
      ("topology", po::value<std::string>()->default_value(std::string(topologies::kDefaultTopology)), "the registered topology to run (eventflow topologies)")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of every input and output topic name")
      ("emit", po::value<std::string>()->default_value("update"), "windowed results: update (every change, merged per commit) or final (once, when the window closes)");
  // clang-format on
}

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

namespace {

int Describe(cli::Tool& tool, const std::vector<std::string>& args) {
  po::options_description desc("eventflow describe: prints the topology.\n\nOptions");
  AddPipelineOptions(&desc);
  int exit_code = cli::kExitOk;
  auto line = tool.Start(args, desc, {}, &exit_code);
  if (!line) return exit_code;
  const topologies::NamedTopology* entry = nullptr;
  topologies::PipelineOptions options;
  if (Status s = PipelineSettings(line->values, &entry, &options); !s.ok()) return tool.Fail(s);
  streams::Topology topology = entry->Build(options);
  if (Status s = topology.Validate(); !s.ok()) return tool.Fail(s);
  std::cout << topology.Describe();
  return cli::kExitOk;
}

// Creates the topology's input and output topics when missing, with
// retention.ms = `retention_ms` (-1 by default: records carry event times,
// and a replay of old data must not have its input or results deleted by
// time retention at the broker's next check).
Status EnsurePipelineTopics(const RunSettings& s) {
  auto props = kafka::BuildClientConfig(
      kafka::ClientRole::kAdmin, {.bootstrap_servers = s.config.bootstrap_servers}, s.config.kafka);
  if (!props.ok()) return props.status();
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, *props);
  if (!admin.ok()) return admin.status();
  std::vector<kafka::NewTopic> topics;
  for (auto names : {s.topology->InputTopics(s.pipeline), s.topology->OutputTopics(s.pipeline)}) {
    for (std::string& name : names) {
      topics.push_back(kafka::NewTopic{std::move(name), s.partitions, s.config.replication_factor,
                                       {{"retention.ms", std::to_string(s.topic_retention_ms)}}});
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

int Run(cli::Tool& tool, const std::vector<std::string>& args) {
  const po::options_description desc = RunOptionsDescription();
  int exit_code = cli::kExitOk;
  auto line = tool.Start(args, desc, {.kafka_passthrough = true}, &exit_code);
  if (!line) return exit_code;
  auto settings = RunSettingsFrom(*line);
  if (!settings.ok()) return tool.Fail(settings.status());
  RunSettings& s = *settings;

  streams::Topology topology = s.topology->Build(s.pipeline);
  if (Status st = topology.Validate(); !st.ok()) return tool.Fail(st);

  // Bind the HTTP port before touching Kafka, so that a taken port fails fast.
  // The query service outlives the server that calls it.
  std::unique_ptr<queries::QueryService> queries;
  std::unique_ptr<MetricsServer> http;
  const std::string instance = s.config.EffectiveInstanceId();
  if (s.http_port > 0) {
    auto server =
        MetricsServer::Start(s.http_address, s.http_port, s.config.application_id, instance);
    if (!server.ok()) return tool.Fail(server.status());
    http = std::move(*server);
    queries::QueryServiceOptions query_options;
    query_options.codecs = topologies::PipelineStoreCodecs();
    queries = std::make_unique<queries::QueryService>(std::move(query_options));
    queries->RegisterRoutes(http->http());
  }

  Log(LogLevel::kInfo, "eventflow",
      "starting topology " + std::string(s.topology->name) + " (emit " +
          std::string(topologies::EmitModeName(s.pipeline.emit)) + ", topic prefix \"" +
          s.pipeline.topic_prefix + "\") as application " + s.config.application_id +
          ", instance " + instance + ", " + std::to_string(s.config.num_stream_threads) +
          " thread(s), bootstrap " + s.config.bootstrap_servers +
          (s.config.kafka.entries().empty()
               ? std::string()
               : ", kafka settings:\n" + s.config.kafka.ToRedactedString()));
  if (Status st = EnsurePipelineTopics(s); !st.ok()) return tool.Fail(st);

  streams::KafkaStreams app(std::move(topology), s.config);
  if (http) http->Attach(&app);
  if (Status st = app.Start(); !st.ok()) {
    if (http) http->Attach(nullptr);
    return tool.Fail(st);
  }
  if (queries) {
    auto self = streams::HostInfo::Parse(s.config.application_server, "--application-server");
    queries->Attach(&app, self.ok() ? std::optional<streams::HostInfo>(*self) : std::nullopt);
    Log(LogLevel::kInfo, "eventflow",
        "serving interactive queries on /stores; other instances reach this one at " +
            s.config.application_server);
  }
  const int rc = streams::RunUntilSignalled(app);
  if (queries) queries->Attach(nullptr, std::nullopt);  // waits for queries in progress
  if (http) http->Attach(nullptr);
  return rc;
}

}  // namespace

po::options_description RunOptionsDescription() {
  po::options_description desc(
      "eventflow run: runs the EventFlow streaming application until SIGTERM/SIGINT.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS, EVENTFLOW_LOG_LEVEL (flags override them). Any\n"
      "--kafka.<librdkafka property>=<value> (or --kafka <property>=<value>) is passed to\n"
      "librdkafka unchanged (secret values are never printed). Instances with the same\n"
      "--application-id split the work; give each a distinct --instance-id.\n"
      "Exit codes: 0 ok, 2 bad setting, 1 runtime failure.\n\nOptions");
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
      ("replication-factor", po::value<int>()->default_value(-1), "replication factor of every topic the application creates (input and output topics when missing, changelogs, repartition and dead-letter topics); -1: the broker's default.replication.factor")
      ("topic-retention-ms", po::value<int64_t>()->default_value(-1), "retention.ms of the input and output topics created when missing (-1: kept by time forever, so replays of old events lose nothing)")
      ("on-data-loss", po::value<std::string>()->default_value("fail"), "records deleted by the broker before they were read: fail (stop, naming topic, partition and offsets) or skip (go on, log an ERROR, count eventflow_records_lost_total)")
      ("repartition-purge-interval-ms", po::value<int64_t>()->default_value(30'000), "how often committed records are deleted from repartition topics (0: never)")
      ("partition-stall-timeout-ms", po::value<int64_t>()->default_value(120'000), "a partition with records to read and none read for this long is stalled: ERROR, counted, /readyz 503 (0: off)")
      ("standby-replicas", po::value<int>()->default_value(0), "warm copies of each stateful task kept by other instances (standby tasks tailing its changelogs; needs --instance-id); also makes a joining instance warm the tasks it would get before it joins (0: none)")
      ("acceptable-recovery-lag", po::value<int64_t>()->default_value(10'000), "changelog offsets a warm copy may be behind and count as caught up (a joining instance joins once the tasks it would get are within this)")
      ("warmup-timeout-ms", po::value<int64_t>()->default_value(300'000), "longest a joining instance warms up before joining anyway, with --standby-replicas (0: join at once)")
      ("memory-budget", po::value<std::string>()->default_value("256MiB"), "the instance's memory budget, split among the consumers' prefetch and the restore consumers' queues (1/16 each), the producers' queues (1/32) and the state (the rest); sizes in bytes or with a unit (KiB, MiB, GiB); kafka.* settings win over what it derives")
      ("consumer-prefetch-bytes", po::value<std::string>(), "the stream threads' consumers' fetch queues together (default: 1/16 of --memory-budget)")
      ("restore-prefetch-bytes", po::value<std::string>(), "the restore consumers' fetch queues together (default: 1/16 of --memory-budget)")
      ("producer-buffer-bytes", po::value<std::string>(), "the producers' queues of unsent records together (default: 1/32 of --memory-budget)")
      ("state-memory-bytes", po::value<std::string>(), "RocksDB and record-cache memory of the instance (default: what --memory-budget leaves after the three above)")
      ("http-port", po::value<int>()->default_value(0), "serve /metrics, /healthz, /readyz and interactive queries (/stores) on this port (0: off)")
      ("http-address", po::value<std::string>()->default_value("127.0.0.1"), "address the HTTP server binds")
      ("application-server", po::value<std::string>(), "host:port where other instances reach this one's interactive queries (default: --http-address:--http-port, the host name when the address is 0.0.0.0 or ::; needs --http-port)")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error or off (default $EVENTFLOW_LOG_LEVEL, else info)");
  // clang-format on
  return desc;
}

Result<RunSettings> RunSettingsFrom(const cli::CommandLine& line) {
  const po::variables_map& vm = line.values;
  RunSettings s;
  EVENTFLOW_RETURN_IF_ERROR(PipelineSettings(vm, &s.topology, &s.pipeline));
  streams::StreamsConfig& config = s.config;
  config.kafka = line.kafka;
  config.bootstrap_servers = cli::BootstrapServers(vm);
  config.application_id = vm["application-id"].as<std::string>();
  if (vm.count("instance-id")) {
    config.instance_id = vm["instance-id"].as<std::string>();
    EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--instance-id", config.instance_id));
  }
  config.num_stream_threads = vm["threads"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckAtLeast("--threads", config.num_stream_threads, 1));
  config.state_dir = vm["state-dir"].as<std::string>();
  auto guarantee = cli::ParseChoice<streams::ProcessingGuarantee>(
      "--processing-guarantee", vm["processing-guarantee"].as<std::string>(),
      {{"exactly_once_v2", streams::ProcessingGuarantee::kExactlyOnceV2},
       {"at_least_once", streams::ProcessingGuarantee::kAtLeastOnce}});
  if (!guarantee.ok()) return guarantee.status();
  config.processing_guarantee = *guarantee;
  const int64_t commit_ms = vm["commit-interval-ms"].as<int64_t>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotNegative("--commit-interval-ms", commit_ms));
  config.commit_interval = std::chrono::milliseconds(commit_ms);
  s.partitions = vm["partitions"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckAtLeast("--partitions", s.partitions, 1));
  config.replication_factor = vm["replication-factor"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckReplicationFactor("--replication-factor", config.replication_factor));
  auto budget = cli::ParseByteSize("--memory-budget", vm["memory-budget"].as<std::string>());
  if (!budget.ok()) return budget.status();
  config.memory_budget_bytes = static_cast<size_t>(*budget);
  for (const auto& [flag, field] :
       {std::pair{"consumer-prefetch-bytes", &config.consumer_prefetch_bytes},
        std::pair{"restore-prefetch-bytes", &config.restore_prefetch_bytes},
        std::pair{"producer-buffer-bytes", &config.producer_buffer_bytes},
        std::pair{"state-memory-bytes", &config.state_memory_bytes}}) {
    if (!vm.count(flag)) continue;
    auto bytes = cli::ParseByteSize(std::string("--") + flag, vm[flag].as<std::string>());
    if (!bytes.ok()) return bytes.status();
    *field = static_cast<size_t>(*bytes);
  }
  s.topic_retention_ms = vm["topic-retention-ms"].as<int64_t>();
  if (s.topic_retention_ms < -1 || s.topic_retention_ms == 0) {
    return Status::InvalidArgument(
        "--topic-retention-ms: must be -1 (no time limit) or positive, got " +
        std::to_string(s.topic_retention_ms));
  }
  auto data_loss = cli::ParseChoice<streams::DataLossPolicy>(
      "--on-data-loss", vm["on-data-loss"].as<std::string>(),
      {{"fail", streams::DataLossPolicy::kFail}, {"skip", streams::DataLossPolicy::kSkip}});
  if (!data_loss.ok()) return data_loss.status();
  config.data_loss_policy = *data_loss;
  // Negative values are refused by config.Validate() below, naming the setting.
  config.repartition_purge_interval =
      std::chrono::milliseconds(vm["repartition-purge-interval-ms"].as<int64_t>());
  config.partition_stall_timeout =
      std::chrono::milliseconds(vm["partition-stall-timeout-ms"].as<int64_t>());
  config.num_standby_replicas = vm["standby-replicas"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(
      cli::CheckInRange("--standby-replicas", config.num_standby_replicas, 0, 16));
  if (config.num_standby_replicas > 0 && config.instance_id.empty()) {
    return Status::InvalidArgument(
        "--standby-replicas: needs --instance-id (instances are told apart by their static "
        "group membership)");
  }
  config.acceptable_recovery_lag = vm["acceptable-recovery-lag"].as<int64_t>();
  EVENTFLOW_RETURN_IF_ERROR(
      cli::CheckNotNegative("--acceptable-recovery-lag", config.acceptable_recovery_lag));
  const int64_t warmup_ms = vm["warmup-timeout-ms"].as<int64_t>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotNegative("--warmup-timeout-ms", warmup_ms));
  config.warmup_timeout = std::chrono::milliseconds(warmup_ms);
  s.http_port = vm["http-port"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckInRange("--http-port", s.http_port, 0, 65535));
  s.http_address = vm["http-address"].as<std::string>();
  if (vm.count("application-server")) {
    if (s.http_port == 0) {
      return Status::InvalidArgument(
          "--application-server: interactive queries are served on the HTTP port; set "
          "--http-port too");
    }
    auto endpoint = streams::HostInfo::Parse(vm["application-server"].as<std::string>(),
                                             "--application-server");
    if (!endpoint.ok()) return endpoint.status();
    config.application_server = endpoint->ToString();
  } else if (s.http_port > 0) {
    streams::HostInfo endpoint{s.http_address, s.http_port};
    if (s.http_address == "0.0.0.0" || s.http_address == "::") {
      char host[256] = {0};  // every interface: advertise the host's name
      if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') endpoint.host = host;
    }
    config.application_server = endpoint.ToString();
  }
  EVENTFLOW_RETURN_IF_ERROR(config.Validate());
  return s;
}

int RunEventflowTool(const std::vector<std::string>& args) {
  cli::Tool tool("eventflow");
  if (args.empty()) return Usage(tool, "no command given");
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "run") return Run(tool, rest);
  if (command == "describe") return Describe(tool, rest);
  if (command == "topologies") return Topologies();
  if (command == "state-lag") return RunStateLag(tool, rest);
  if (command == "reset") return RunReset(tool, rest);
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf(
        "usage: eventflow <command> [options]\n"
        "  run         run a topology (eventflow run --help)\n"
        "  describe    print a topology (eventflow describe --help)\n"
        "  topologies  list the registered topologies\n"
        "  state-lag   how far behind its changelog each local store is (eventflow state-lag "
        "--help)\n"
        "  reset       delete an application's internal topics and consumer group, so that it\n"
        "              reprocesses its input (eventflow reset --help)\n");
    return cli::kExitOk;
  }
  tool.AddSecretsFromArgs(args);
  return Usage(tool, "unknown command \"" + command + "\"");
}

}  // namespace eventflow::tools
