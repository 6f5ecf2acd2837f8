// eventflow-sink: the exactly-once PostgreSQL sink of the EventFlow pipeline
// (sinks/include/eventflow/sinks/pg_sink.h). A thin main: flags and environment
// → PgSinkOptions, then PgSink::Run() until SIGTERM/SIGINT.
#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "eventflow/core/duration.h"
#include "eventflow/core/log.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/sinks/pg_sink.h"

namespace po = boost::program_options;
using eventflow::Status;

namespace {

std::atomic<eventflow::sinks::PgSink*> g_sink{nullptr};
std::atomic<bool> g_signalled{false};

void OnSignal(int) {
  if (g_signalled.exchange(true)) std::_Exit(130);  // a second signal exits at once
  if (auto* sink = g_sink.load()) sink->Stop();
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "eventflow-sink: %s\n", status.message().c_str());
  return status.IsInvalidArgument() ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "eventflow-sink: writes the EventFlow result topics (orders_raw,\n"
      "revenue_by_currency_5min, conversion_funnel_5min, order_attribution) into the\n"
      "PostgreSQL tables of the same names, exactly once.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS, POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD,\n"
      "POSTGRES_PASSWORD_FILE (user and password override the URL's; a password file wins\n"
      "over POSTGRES_PASSWORD). Flags override the environment. TLS to PostgreSQL: add\n"
      "sslmode=verify-full&sslrootcert=<CA file> to the URL. Any\n"
      "--kafka.<librdkafka property>=<value> is passed to librdkafka unchanged.\n"
      "SIGTERM/SIGINT: finish and commit the current batch, leave the group, exit 0.\n\n"
      "Options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("postgres-url", po::value<std::string>(), "PostgreSQL URL or conninfo (default $POSTGRES_URL, else postgresql://analytics:secret@127.0.0.1:15432/analytics)")
      ("postgres-password-file", po::value<std::string>(), "read the PostgreSQL password from this file, without its trailing line break (default $POSTGRES_PASSWORD_FILE); overrides POSTGRES_PASSWORD and the URL's")
      ("group", po::value<std::string>()->default_value("eventflow-sink"), "the sink's consumer group")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of the four topic names")
      ("batch-size", po::value<size_t>()->default_value(5000), "records per PostgreSQL transaction, at most")
      ("batch-ms", po::value<std::string>()->default_value("200ms"), "a batch closes this long after its first record (e.g. 200ms, 1s)")
      ("dlq-topic", po::value<std::string>()->default_value("eventflow-sink-dlq"), "dead-letter topic for bad rows")
      ("on-data-loss", po::value<std::string>()->default_value("fail"), "records deleted by the broker before the sink wrote them: fail (stop, naming topic, partition and offsets) or skip (go on, log an ERROR, count them)")
      ("no-kafka-commit", po::bool_switch(), "do not also commit offsets to Kafka (they only serve lag monitoring)")
      ("application-name", po::value<std::string>()->default_value("eventflow-sink"), "PostgreSQL application_name of the connection")
      ("progress-interval", po::value<std::string>()->default_value("30s"), "log a progress line at most this often, when batches were written or partitions are behind (e.g. 30s)")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error");
  // clang-format on

  po::variables_map vm;
  std::vector<std::string> unrecognized;
  try {
    po::parsed_options parsed =
        po::command_line_parser(argc, argv).options(desc).allow_unregistered().run();
    unrecognized = po::collect_unrecognized(parsed.options, po::include_positional);
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "eventflow-sink: %s (see --help)\n", e.what());
    return 2;
  }
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

  eventflow::sinks::PgSinkOptions options;
  for (const std::string& arg : unrecognized) {
    Status s = options.kafka.SetPassThrough(arg);
    if (!s.ok()) {
      // Only the name: a mistyped option's value may be a secret.
      const std::string name = arg.substr(0, arg.find('='));
      return Fail(Status::InvalidArgument("unknown option \"" + name + "\": " + s.message()));
    }
  }
  if (vm.count("bootstrap-servers")) {
    options.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
  } else if (const char* env = Env("KAFKA_BOOTSTRAP_SERVERS")) {
    options.bootstrap_servers = env;
  } else {
    options.bootstrap_servers = "127.0.0.1:19092";
  }
  std::string url = "postgresql://analytics:secret@127.0.0.1:15432/analytics";
  if (vm.count("postgres-url")) {
    url = vm["postgres-url"].as<std::string>();
  } else if (const char* env = Env("POSTGRES_URL")) {
    url = env;
  }
  auto password = eventflow::sinks::PostgresPasswordSetting(
      vm.count("postgres-password-file") ? &vm["postgres-password-file"].as<std::string>()
                                         : nullptr);
  if (!password.ok()) return Fail(password.status());
  options.postgres_url = eventflow::sinks::WithCredentials(
      url, Env("POSTGRES_USER"), password->has_value() ? (*password)->c_str() : nullptr);
  options.group_id = vm["group"].as<std::string>();
  options.topic_prefix = vm["topic-prefix"].as<std::string>();
  options.batch_size = vm["batch-size"].as<size_t>();
  if (options.batch_size == 0) return Fail(Status::InvalidArgument("--batch-size: must be at least 1"));
  if (options.group_id.empty()) return Fail(Status::InvalidArgument("--group: must not be empty"));
  auto batch_ms = eventflow::ParseDuration(vm["batch-ms"].as<std::string>(), "--batch-ms");
  if (!batch_ms.ok()) return Fail(batch_ms.status());
  if (batch_ms->count() <= 0) return Fail(Status::InvalidArgument("--batch-ms: must be positive"));
  options.batch_time = *batch_ms;
  options.dlq_topic = vm["dlq-topic"].as<std::string>();
  const std::string on_data_loss = vm["on-data-loss"].as<std::string>();
  if (on_data_loss == "fail") {
    options.data_loss_policy = eventflow::kafka::DataLossPolicy::kFail;
  } else if (on_data_loss == "skip") {
    options.data_loss_policy = eventflow::kafka::DataLossPolicy::kSkip;
  } else {
    return Fail(Status::InvalidArgument("--on-data-loss: expected fail or skip, got \"" +
                                        on_data_loss + "\""));
  }
  options.commit_to_kafka = !vm["no-kafka-commit"].as<bool>();
  options.application_name = vm["application-name"].as<std::string>();
  auto progress = eventflow::ParseDuration(vm["progress-interval"].as<std::string>(), "--progress-interval");
  if (!progress.ok()) return Fail(progress.status());
  if (progress->count() <= 0) return Fail(Status::InvalidArgument("--progress-interval: must be positive"));
  options.progress_interval = *progress;
  if (options.dlq_topic.empty()) return Fail(Status::InvalidArgument("--dlq-topic: must not be empty"));

  auto sink = eventflow::sinks::PgSink::Create(std::move(options));
  if (!sink.ok()) return Fail(sink.status());
  g_sink.store(sink->get());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  if (g_signalled.load()) (*sink)->Stop();

  Status s = (*sink)->Run();
  g_sink.store(nullptr);
  if (!s.ok()) return Fail(s);
  return 0;
}
