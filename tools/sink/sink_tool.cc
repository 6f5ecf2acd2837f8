#include "sink_tool.h"

#include <atomic>
#include <csignal>
#include <cstdlib>

#include "eventflow/cli/values.h"
#include "eventflow/core/log.h"
#include "eventflow/http/server.h"
#include "eventflow/sinks/pg_connection.h"
#include "prometheus_text.h"
#include "sink_metrics.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;

std::atomic<sinks::PgSink*> g_sink{nullptr};
std::atomic<bool> g_signalled{false};

void OnSignal(int) {
  if (g_signalled.exchange(true)) std::_Exit(130);  // a second signal exits at once
  if (auto* sink = g_sink.load()) sink->Stop();
}

}  // namespace

po::options_description SinkOptionsDescription() {
  po::options_description desc(
      "eventflow-sink: writes the EventFlow result topics (orders_raw,\n"
      "revenue_by_currency_5min, conversion_funnel_5min, order_attribution) into the\n"
      "PostgreSQL tables of the same names, exactly once.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS, POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD,\n"
      "POSTGRES_PASSWORD_FILE (user and password override the URL's; a password file wins\n"
      "over POSTGRES_PASSWORD), EVENTFLOW_LOG_LEVEL. Flags override the environment. TLS to\n"
      "PostgreSQL: add sslmode=verify-full&sslrootcert=<CA file> to the URL. Any\n"
      "--kafka.<librdkafka property>=<value> (or --kafka <property>=<value>) is passed to\n"
      "librdkafka unchanged; secret values are never printed.\n"
      "SIGTERM/SIGINT: finish and commit the current batch, leave the group, exit 0.\n"
      "Exit codes: 0 ok, 2 bad setting, 1 runtime failure.\n\n"
      "Options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("postgres-url", po::value<std::string>(), "PostgreSQL URL or conninfo (default $POSTGRES_URL, else postgresql://analytics:secret@127.0.0.1:15432/analytics)")
      ("postgres-password-file", po::value<std::string>(), "read the PostgreSQL password from this file, without its trailing line break (default $POSTGRES_PASSWORD_FILE); overrides POSTGRES_PASSWORD and the URL's")
      ("group", po::value<std::string>()->default_value("eventflow-sink"), "the sink's consumer group")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of the four topic names")
      ("batch-size", po::value<int64_t>()->default_value(5000), "records per PostgreSQL transaction, at most")
      ("batch-ms", po::value<std::string>()->default_value("200ms"), "a batch closes this long after its first record (e.g. 200ms, 1s)")
      ("dlq-topic", po::value<std::string>()->default_value("eventflow-sink-dlq"), "dead-letter topic for bad rows")
      ("on-data-loss", po::value<std::string>()->default_value("fail"), "records deleted by the broker before the sink wrote them: fail (stop, naming topic, partition and offsets) or skip (go on, log an ERROR, count them)")
      ("no-kafka-commit", po::bool_switch(), "do not also commit offsets to Kafka (they only serve lag monitoring)")
      ("application-name", po::value<std::string>()->default_value("eventflow-sink"), "PostgreSQL application_name of the connection")
      ("progress-interval", po::value<std::string>()->default_value("30s"), "log a progress line at most this often, when batches were written or partitions are behind their stable ends, asked then (e.g. 30s)")
      ("partition-stall-timeout-ms", po::value<int64_t>()->default_value(30'000), "a partition with records past the sink's position and none received for this long is stalled: ERROR, counted, /readyz 503, its fetch restarted (0: off)")
      ("http-port", po::value<int>()->default_value(0), "serve /metrics, /healthz, /readyz on this port (0: off)")
      ("http-address", po::value<std::string>()->default_value("127.0.0.1"), "address the HTTP server binds")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error or off (default $EVENTFLOW_LOG_LEVEL, else info)");
  // clang-format on
  return desc;
}

Result<sinks::PgSinkOptions> SinkOptionsFrom(const cli::CommandLine& line, cli::Tool* tool) {
  const po::variables_map& vm = line.values;
  sinks::PgSinkOptions options;
  options.kafka = line.kafka;
  options.bootstrap_servers = cli::BootstrapServers(vm);
  auto postgres = sinks::PostgresUrlSetting(cli::FlagIfGiven(vm, "postgres-url"),
                                            cli::FlagIfGiven(vm, "postgres-password-file"));
  if (!postgres.ok()) return postgres.status();
  if (postgres->password) tool->AddSecret(*postgres->password);
  options.postgres_url = std::move(postgres->url);
  options.group_id = vm["group"].as<std::string>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--group", options.group_id));
  options.topic_prefix = vm["topic-prefix"].as<std::string>();
  const int64_t batch_size = vm["batch-size"].as<int64_t>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckAtLeast("--batch-size", batch_size, 1));
  options.batch_size = static_cast<size_t>(batch_size);
  auto batch_time = cli::ParsePositiveDuration("--batch-ms", vm["batch-ms"].as<std::string>());
  if (!batch_time.ok()) return batch_time.status();
  options.batch_time = *batch_time;
  options.dlq_topic = vm["dlq-topic"].as<std::string>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--dlq-topic", options.dlq_topic));
  auto data_loss = cli::ParseChoice<kafka::DataLossPolicy>(
      "--on-data-loss", vm["on-data-loss"].as<std::string>(),
      {{"fail", kafka::DataLossPolicy::kFail}, {"skip", kafka::DataLossPolicy::kSkip}});
  if (!data_loss.ok()) return data_loss.status();
  options.data_loss_policy = *data_loss;
  options.commit_to_kafka = !vm["no-kafka-commit"].as<bool>();
  options.application_name = vm["application-name"].as<std::string>();
  auto progress =
      cli::ParsePositiveDuration("--progress-interval", vm["progress-interval"].as<std::string>());
  if (!progress.ok()) return progress.status();
  options.progress_interval = *progress;
  const int64_t stall_timeout = vm["partition-stall-timeout-ms"].as<int64_t>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckAtLeast("--partition-stall-timeout-ms", stall_timeout, 0));
  options.partition_stall_timeout = std::chrono::milliseconds(stall_timeout);
  return options;
}

Result<SinkHttpSettings> SinkHttpFrom(const cli::CommandLine& line) {
  SinkHttpSettings s;
  s.port = line.values["http-port"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckInRange("--http-port", s.port, 0, 65535));
  s.address = line.values["http-address"].as<std::string>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--http-address", s.address));
  return s;
}

int RunSinkTool(const std::vector<std::string>& args) {
  cli::Tool tool("eventflow-sink");
  int exit_code = cli::kExitOk;
  const po::options_description desc = SinkOptionsDescription();
  auto line = tool.Start(args, desc, {.kafka_passthrough = true}, &exit_code);
  if (!line) return exit_code;
  auto options = SinkOptionsFrom(*line, &tool);
  if (!options.ok()) return tool.Fail(options.status());
  auto http_settings = SinkHttpFrom(*line);
  if (!http_settings.ok()) return tool.Fail(http_settings.status());
  const std::string group = options->group_id;

  auto sink = sinks::PgSink::Create(std::move(*options));
  if (!sink.ok()) return tool.Fail(sink.status());
  // Declared after the sink: stopped (no handler running) before it is destroyed.
  std::unique_ptr<http::Server> http;
  if (http_settings->port > 0) {
    auto server = http::Server::Start(
        {.address = http_settings->address, .port = http_settings->port});
    if (!server.ok()) return tool.Fail(server.status());
    http = std::move(*server);
    const sinks::PgSink* running = sink->get();
    http->Handle("/metrics", [running, group](const http::Request&) {
      http::Response response =
          http::Response::Text(200, SinkMetricsText(running->probe().Read(), group));
      response.content_type = PrometheusText::kContentType;
      return response;
    });
    http->Handle("/healthz", [running](const http::Request&) {
      return SinkHealth(running->probe().Read(), /*readiness=*/false);
    });
    http->Handle("/readyz", [running](const http::Request&) {
      return SinkHealth(running->probe().Read(), /*readiness=*/true);
    });
    Log(LogLevel::kInfo, "http",
        "serving /metrics, /healthz, /readyz on " + http_settings->address + ":" +
            std::to_string(http->port()));
  }
  g_sink.store(sink->get());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  if (g_signalled.load()) (*sink)->Stop();
  const Status s = (*sink)->Run();
  g_sink.store(nullptr);
  if (!s.ok()) return tool.Fail(s);
  return cli::kExitOk;
}

}  // namespace eventflow::tools
