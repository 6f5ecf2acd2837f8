// eventflow-produce: the EventFlow event generator (see
// tools/generator/include/eventflow/generator/traffic.h for the traffic model).
// A thin main: flags and environment → options, then generator::Pump().
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include "eventflow/core/duration.h"
#include "eventflow/core/log.h"
#include "eventflow/core/time.h"
#include "eventflow/generator/producer.h"

namespace po = boost::program_options;
using eventflow::Status;

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  if (g_stop.exchange(true)) std::_Exit(130);  // a second signal exits at once
}

// The fixed event-clock start used when --seed is given without --start-time,
// so that a seed alone reproduces the same events.
constexpr int64_t kReproducibleStartMs = 1764460800000;  // 2025-11-30T00:00:00Z

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

// Exit codes: 2 for bad settings or input found before producing starts,
// 1 for failures while running (delivery, broker, I/O).
int Fail(const Status& status) {
  std::fprintf(stderr, "eventflow-produce: %s\n", status.message().c_str());
  return status.IsInvalidArgument() ? 2 : 1;
}

int FailRunning(const Status& status) {
  std::fprintf(stderr, "eventflow-produce: %s\n", status.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "eventflow-produce: generates EventFlow commerce events (user-events, product-view,\n"
      "orders) into Kafka, or replays a JSON-lines file.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS, EVENT_DELAY_MS (delay between events, default\n"
      "100; 0 = as fast as possible). Flags override the environment. Any\n"
      "--kafka.<librdkafka property>=<value> is passed to librdkafka unchanged.\n\nOptions");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("rate", po::value<double>(), "events per second (default 1000/$EVENT_DELAY_MS = 10)")
      ("max-rate", po::bool_switch(), "produce as fast as possible")
      ("count", po::value<uint64_t>()->default_value(0), "stop after this many events (0 = no limit)")
      ("duration", po::value<std::string>(), "stop after this long (e.g. 30s, 5m)")
      ("seed", po::value<uint64_t>(), "random seed; the same seed gives the same events (default: random)")
      ("users", po::value<int>()->default_value(1000), "number of users")
      ("products", po::value<int>()->default_value(200), "number of products")
      ("start-time", po::value<std::string>(), "event time of the first event, RFC 3339 UTC (default: now; with --seed: 2025-11-30T00:00:00Z)")
      ("event-spacing", po::value<std::string>(), "event time between consecutive events (default: 1/rate, or 100ms with --max-rate)")
      ("max-disorder", po::value<std::string>()->default_value("0"), "event times lag the clock by up to this (bounded out-of-order), e.g. 30s")
      ("late-fraction", po::value<double>()->default_value(0.0), "share of events made late by --late-by (beyond grace)")
      ("late-by", po::value<std::string>()->default_value("1h"), "lateness of those events")
      ("partitions", po::value<int>()->default_value(3), "partitions of topics created when missing")
      ("topic-retention-ms", po::value<int64_t>()->default_value(-1), "retention.ms of topics created when missing (-1: kept by time forever; records carry event times, and a replay of old events would otherwise be deleted at the broker's next retention check)")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of the three topic names")
      ("from-file", po::value<std::string>(), "replay a JSON-lines file (one event per line; topic by eventType), as fast as the broker takes it unless --rate is given")
      ("dry-run", po::bool_switch(), "write JSON lines to stdout instead of Kafka (not paced unless --rate is given)")
      ("summary-json", po::value<std::string>(), "also write the final summary as JSON to this file")
      ("progress", po::value<std::string>()->default_value("auto"), "progress line on stderr: auto (on a terminal), on, off")
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
    std::fprintf(stderr, "eventflow-produce: %s (see --help)\n", e.what());
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

  eventflow::generator::KafkaSinkOptions sink_options;
  for (const std::string& arg : unrecognized) {
    Status s = sink_options.kafka.SetPassThrough(arg);
    if (!s.ok()) return Fail(Status::InvalidArgument("unknown option \"" + arg + "\": " + s.message()));
  }
  if (vm.count("bootstrap-servers")) {
    sink_options.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
  } else if (const char* env = Env("KAFKA_BOOTSTRAP_SERVERS")) {
    sink_options.bootstrap_servers = env;
  } else {
    sink_options.bootstrap_servers = "127.0.0.1:19092";
  }
  sink_options.topic_prefix = vm["topic-prefix"].as<std::string>();
  sink_options.partitions = vm["partitions"].as<int>();
  sink_options.retention_ms = vm["topic-retention-ms"].as<int64_t>();
  if (sink_options.retention_ms < -1 || sink_options.retention_ms == 0) {
    return Fail(Status::InvalidArgument(
        "--topic-retention-ms: must be -1 (no time limit) or positive, got " +
        std::to_string(sink_options.retention_ms)));
  }

  // Pace: --max-rate > --rate > EVENT_DELAY_MS > 100 ms. Dry runs and replays
  // (--from-file) are unpaced unless a rate is given explicitly: a replay goes
  // as fast as the broker takes it.
  const bool dry_run = vm["dry-run"].as<bool>();
  double rate = 10.0;
  if (const char* env = Env("EVENT_DELAY_MS")) {
    char* end = nullptr;
    const double delay = std::strtod(env, &end);
    if (end == env || *end != '\0' || delay < 0) {
      return Fail(Status::InvalidArgument("EVENT_DELAY_MS: expected a non-negative number of "
                                          "milliseconds, got \"" + std::string(env) + "\""));
    }
    rate = delay > 0 ? 1000.0 / delay : 0.0;
  }
  if (dry_run || vm.count("from-file")) rate = 0;
  if (vm.count("rate")) {
    rate = vm["rate"].as<double>();
    if (!(rate > 0)) return Fail(Status::InvalidArgument("--rate must be positive"));
  }
  if (vm["max-rate"].as<bool>()) rate = 0;

  eventflow::generator::TrafficOptions traffic;
  std::optional<uint64_t> seed;
  if (vm.count("seed")) seed = vm["seed"].as<uint64_t>();
  traffic.seed = seed.value_or(std::random_device{}() ^
                               (static_cast<uint64_t>(std::random_device{}()) << 32));
  traffic.num_users = vm["users"].as<int>();
  traffic.num_products = vm["products"].as<int>();
  if (vm.count("start-time")) {
    auto start = eventflow::ParseTimestampMillis(vm["start-time"].as<std::string>());
    if (!start.ok()) return Fail(start.status().WithContext("--start-time"));
    traffic.start_time_ms = *start;
  } else if (seed) {
    traffic.start_time_ms = kReproducibleStartMs;
  } else {
    traffic.start_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  }
  traffic.event_spacing_ms = rate > 0 ? static_cast<int64_t>(1000.0 / rate) : 100;
  if (vm.count("event-spacing")) {
    auto spacing = eventflow::ParseDuration(vm["event-spacing"].as<std::string>(), "--event-spacing");
    if (!spacing.ok()) return Fail(spacing.status());
    traffic.event_spacing_ms = spacing->count();
  }
  auto disorder = eventflow::ParseDuration(vm["max-disorder"].as<std::string>(), "--max-disorder");
  if (!disorder.ok()) return Fail(disorder.status());
  traffic.max_disorder_ms = disorder->count();
  auto late_by = eventflow::ParseDuration(vm["late-by"].as<std::string>(), "--late-by");
  if (!late_by.ok()) return Fail(late_by.status());
  traffic.late_by_ms = late_by->count();
  traffic.late_fraction = vm["late-fraction"].as<double>();
  if (Status s = traffic.Validate(); !s.ok()) return Fail(s);

  eventflow::generator::PumpOptions pump;
  pump.rate = rate;
  if (vm.count("duration")) {
    auto d = eventflow::ParseDuration(vm["duration"].as<std::string>(), "--duration");
    if (!d.ok()) return Fail(d.status());
    pump.duration = *d;
  }
  const std::string progress = vm["progress"].as<std::string>();
  if (progress != "auto" && progress != "on" && progress != "off") {
    return Fail(Status::InvalidArgument("--progress: expected auto, on or off"));
  }
  pump.progress = progress == "on" || (progress == "auto" && ::isatty(STDERR_FILENO) && !dry_run);

  // Source.
  std::unique_ptr<eventflow::generator::EventSource> source;
  if (vm.count("from-file")) {
    auto file = eventflow::generator::FileSource::Open(vm["from-file"].as<std::string>());
    if (!file.ok()) return Fail(file.status());
    source = std::move(*file);
  } else {
    source = std::make_unique<eventflow::generator::GeneratedSource>(traffic,
                                                                     vm["count"].as<uint64_t>());
  }
  if (vm.count("from-file") && vm["count"].as<uint64_t>() != 0) {
    return Fail(Status::InvalidArgument("--count cannot be combined with --from-file"));
  }
  if (!vm.count("from-file") && vm["count"].as<uint64_t>() == 0 && pump.duration.count() == 0 &&
      dry_run) {
    return Fail(Status::InvalidArgument("--dry-run needs --count or --duration"));
  }

  // Sink.
  std::unique_ptr<eventflow::generator::RecordSink> sink;
  if (dry_run) {
    sink = std::make_unique<eventflow::generator::LineSink>(stdout);
  } else {
    auto kafka = eventflow::generator::KafkaSink::Create(sink_options);
    if (!kafka.ok()) return Fail(kafka.status());
    sink = std::move(*kafka);
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  auto summary = eventflow::generator::Pump(*source, *sink, pump, g_stop);
  if (!summary.ok()) return FailRunning(summary.status());
  std::fprintf(stderr, "eventflow-produce: %s\n", summary->ToText().c_str());
  if (vm.count("summary-json")) {
    const std::string path = vm["summary-json"].as<std::string>();
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return Fail(Status::IOError("cannot write --summary-json " + path));
    std::fprintf(f, "%s\n", summary->ToJson().c_str());
    std::fclose(f);
  }
  return 0;
}
