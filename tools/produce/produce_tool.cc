#include "produce_tool.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>

#include "eventflow/cli/values.h"
#include "eventflow/core/duration.h"
#include "eventflow/core/time.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  if (g_stop.exchange(true)) std::_Exit(130);  // a second signal exits at once
}

// The fixed event-clock start used when --seed is given without --start-time,
// so that a seed alone reproduces the same events.
constexpr int64_t kReproducibleStartMs = 1764460800000;  // 2025-11-30T00:00:00Z

// The pace: --max-rate > --rate > EVENT_DELAY_MS > 100 ms. Dry runs and
// replays (--from-file) are unpaced unless a rate is given explicitly: a
// replay goes as fast as the broker takes it. Returns events/s, 0 = unpaced.
Result<double> Rate(const po::variables_map& vm, bool unpaced_by_default) {
  double rate = 10.0;
  if (const char* env = cli::Env("EVENT_DELAY_MS")) {
    char* end = nullptr;
    const double delay = std::strtod(env, &end);
    if (end == env || *end != '\0' || !(delay >= 0) || !std::isfinite(delay)) {
      return Status::InvalidArgument("EVENT_DELAY_MS: expected a non-negative number of "
                                     "milliseconds, got \"" + std::string(env) + "\"");
    }
    rate = delay > 0 ? 1000.0 / delay : 0.0;
  }
  if (unpaced_by_default) rate = 0;
  if (vm.count("rate")) {
    rate = vm["rate"].as<double>();
    if (!(rate > 0) || !std::isfinite(rate)) {
      return Status::InvalidArgument(
          "--rate: must be a positive number of events per second, got " + std::to_string(rate));
    }
  }
  if (vm["max-rate"].as<bool>()) rate = 0;
  return rate;
}

}  // namespace

po::options_description ProduceOptionsDescription() {
  po::options_description desc(
      "eventflow-produce: generates EventFlow commerce events (user-events, product-view,\n"
      "orders) into Kafka, or replays a JSON-lines file.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS, EVENT_DELAY_MS (delay between events, default\n"
      "100; 0 = as fast as possible), EVENTFLOW_LOG_LEVEL. Flags override the environment.\n"
      "Any --kafka.<librdkafka property>=<value> (or --kafka <property>=<value>) is passed to\n"
      "librdkafka unchanged; secret values are never printed.\n"
      "Exit codes: 0 ok, 2 bad setting or input, 1 failure while producing.\n\nOptions");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("rate", po::value<double>(), "events per second (default 1000/$EVENT_DELAY_MS = 10)")
      ("max-rate", po::bool_switch(), "produce as fast as possible")
      ("count", po::value<std::string>()->default_value("0"), "stop after this many events (0 = no limit)")
      ("duration", po::value<std::string>(), "stop after this long (e.g. 30s, 5m)")
      ("seed", po::value<std::string>(), "random seed; the same seed gives the same events (default: random)")
      ("users", po::value<int>()->default_value(1000), "number of users")
      ("products", po::value<int>()->default_value(200), "number of products")
      ("start-time", po::value<std::string>(), "event time of the first event, RFC 3339 UTC (default: now; with --seed: 2025-11-30T00:00:00Z)")
      ("event-spacing", po::value<std::string>(), "event time between consecutive events, e.g. 2ms or 300us (default: 1/rate in whole ms, or 100ms with --max-rate)")
      ("max-disorder", po::value<std::string>()->default_value("0"), "event times lag the clock by up to this (bounded out-of-order), e.g. 30s")
      ("late-fraction", po::value<double>()->default_value(0.0), "share of events made late by --late-by (beyond grace)")
      ("late-by", po::value<std::string>()->default_value("1h"), "lateness of those events")
      ("partitions", po::value<int>()->default_value(3), "partitions of topics created when missing")
      ("replication-factor", po::value<int>()->default_value(-1), "replication factor of topics created when missing (-1: the broker's default.replication.factor)")
      ("topic-retention-ms", po::value<int64_t>()->default_value(-1), "retention.ms of topics created when missing (-1: kept by time forever; records carry event times, and a replay of old events would otherwise be deleted at the broker's next retention check)")
      ("topic-prefix", po::value<std::string>()->default_value(""), "prefix of the three topic names")
      ("from-file", po::value<std::string>(), "replay a JSON-lines file (one event per line; topic by eventType), as fast as the broker takes it unless --rate is given")
      ("dry-run", po::bool_switch(), "write JSON lines to stdout instead of Kafka (not paced unless --rate is given)")
      ("summary-json", po::value<std::string>(), "also write the final summary as JSON to this file")
      ("progress", po::value<std::string>()->default_value("auto"), "progress line on stderr: auto (on a terminal), on, off")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error or off (default $EVENTFLOW_LOG_LEVEL, else info)");
  // clang-format on
  return desc;
}

Result<ProduceSettings> ProduceSettingsFrom(const cli::CommandLine& line) {
  const po::variables_map& vm = line.values;
  ProduceSettings s;
  s.kafka.kafka = line.kafka;
  s.kafka.bootstrap_servers = cli::BootstrapServers(vm);
  s.kafka.topic_prefix = vm["topic-prefix"].as<std::string>();
  s.kafka.partitions = vm["partitions"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckAtLeast("--partitions", s.kafka.partitions, 1));
  s.kafka.replication_factor = vm["replication-factor"].as<int>();
  EVENTFLOW_RETURN_IF_ERROR(
      cli::CheckReplicationFactor("--replication-factor", s.kafka.replication_factor));
  s.kafka.retention_ms = vm["topic-retention-ms"].as<int64_t>();
  if (s.kafka.retention_ms < -1 || s.kafka.retention_ms == 0) {
    return Status::InvalidArgument(
        "--topic-retention-ms: must be -1 (no time limit) or positive, got " +
        std::to_string(s.kafka.retention_ms));
  }
  s.dry_run = vm["dry-run"].as<bool>();
  if (vm.count("from-file")) s.from_file = vm["from-file"].as<std::string>();
  if (vm.count("summary-json")) s.summary_json = vm["summary-json"].as<std::string>();
  auto count = cli::ParseUnsigned("--count", vm["count"].as<std::string>());
  if (!count.ok()) return count.status();
  s.count = *count;

  auto rate = Rate(vm, s.dry_run || !s.from_file.empty());
  if (!rate.ok()) return rate.status();
  s.pump.rate = *rate;

  std::optional<uint64_t> seed;
  if (vm.count("seed")) {
    auto parsed = cli::ParseUnsigned("--seed", vm["seed"].as<std::string>());
    if (!parsed.ok()) return parsed.status();
    seed = *parsed;
  }
  s.traffic.seed = seed.value_or(std::random_device{}() ^
                                 (static_cast<uint64_t>(std::random_device{}()) << 32));
  s.traffic.num_users = vm["users"].as<int>();
  s.traffic.num_products = vm["products"].as<int>();
  if (vm.count("start-time")) {
    auto start = ParseTimestampMillis(vm["start-time"].as<std::string>());
    if (!start.ok()) return start.status().WithContext("--start-time");
    s.traffic.start_time_ms = *start;
  } else if (seed) {
    s.traffic.start_time_ms = kReproducibleStartMs;
  } else {
    s.traffic.start_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  }
  s.traffic.event_spacing_us =
      s.pump.rate > 0 ? static_cast<int64_t>(1000.0 / s.pump.rate) * 1000 : 100'000;
  if (vm.count("event-spacing")) {
    auto spacing = ParseDurationMicros(vm["event-spacing"].as<std::string>(), "--event-spacing");
    if (!spacing.ok()) return spacing.status();
    s.traffic.event_spacing_us = spacing->count();
  }
  auto disorder = ParseDuration(vm["max-disorder"].as<std::string>(), "--max-disorder");
  if (!disorder.ok()) return disorder.status();
  s.traffic.max_disorder_ms = disorder->count();
  auto late_by = ParseDuration(vm["late-by"].as<std::string>(), "--late-by");
  if (!late_by.ok()) return late_by.status();
  s.traffic.late_by_ms = late_by->count();
  s.traffic.late_fraction = vm["late-fraction"].as<double>();
  EVENTFLOW_RETURN_IF_ERROR(s.traffic.Validate());

  if (vm.count("duration")) {
    auto d = cli::ParsePositiveDuration("--duration", vm["duration"].as<std::string>());
    if (!d.ok()) return d.status();
    s.pump.duration = *d;
  }
  auto progress =
      cli::ParseChoice<std::string_view>("--progress", vm["progress"].as<std::string>(),
                                         {{"auto", "auto"}, {"on", "on"}, {"off", "off"}});
  if (!progress.ok()) return progress.status();
  s.pump.progress =
      *progress == "on" || (*progress == "auto" && ::isatty(STDERR_FILENO) && !s.dry_run);

  if (!s.from_file.empty() && s.count != 0) {
    return Status::InvalidArgument("--count cannot be combined with --from-file");
  }
  if (s.from_file.empty() && s.count == 0 && s.pump.duration.count() == 0 && s.dry_run) {
    return Status::InvalidArgument("--dry-run needs --count or --duration");
  }
  return s;
}

int RunProduceTool(const std::vector<std::string>& args) {
  cli::Tool tool("eventflow-produce");
  int exit_code = cli::kExitOk;
  const po::options_description desc = ProduceOptionsDescription();
  auto line = tool.Start(args, desc, {.kafka_passthrough = true}, &exit_code);
  if (!line) return exit_code;
  auto settings = ProduceSettingsFrom(*line);
  if (!settings.ok()) return tool.Fail(settings.status());

  std::unique_ptr<generator::EventSource> source;
  if (!settings->from_file.empty()) {
    auto file = generator::FileSource::Open(settings->from_file);
    if (!file.ok()) return tool.Fail(file.status());
    source = std::move(*file);
  } else {
    source = std::make_unique<generator::GeneratedSource>(settings->traffic, settings->count);
  }
  std::unique_ptr<generator::RecordSink> sink;
  if (settings->dry_run) {
    sink = std::make_unique<generator::LineSink>(stdout);
  } else {
    auto kafka = generator::KafkaSink::Create(settings->kafka);
    if (!kafka.ok()) return tool.Fail(kafka.status());
    sink = std::move(*kafka);
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  auto summary = generator::Pump(*source, *sink, settings->pump, g_stop);
  if (!summary.ok()) return tool.FailRunning(summary.status());
  tool.Message(summary->ToText());
  if (!settings->summary_json.empty()) {
    std::FILE* f = std::fopen(settings->summary_json.c_str(), "w");
    if (f == nullptr) {
      return tool.FailRunning(
          Status::IOError("cannot write --summary-json " + settings->summary_json));
    }
    std::fprintf(f, "%s\n", summary->ToJson().c_str());
    std::fclose(f);
  }
  return cli::kExitOk;
}

}  // namespace eventflow::tools
