// eventflow-test-stateful-app: stateful streams applications for the
// recovery tests (tests/integration/stateful_recovery_test.cc) and the
// windowed-count benchmark driver, run as a child process so that a test can
// kill -9 it. Exactly-once by default; SIGTERM/SIGINT close it gracefully.
//
// --mode windowed-count
//   source(--input; key and value UTF-8 text, event time = the Kafka record
//   timestamp) → GroupByKey → tumbling windows of --window-ms with --grace-ms
//   → Count into the changelogged window store "counts" (RocksDB under
//   --state-dir; changelog "<application-id>-counts-changelog") → the output
//   topic (--output) as simple text:
//     key   "<key>@<window start ms>"
//     value "<count>"
//   --emit update (default): each update (merged per commit by the record
//   cache unless --caching false); --emit close: each window's final count
//   once, when stream time passes window end + grace.
//
// --mode stream-join
//   source(--input, the left stream) and source(--right), keys and values
//   UTF-8 text, event time = the record timestamp → KStream–KStream
//   Join/LeftJoin/OuterJoin (--join inner|left|outer) within JoinWindows of
//   --before-ms / --after-ms with --grace-ms, stores named "join-..."
//   (changelogs "<application-id>-join-this-join-store-changelog", ...) →
//   the output topic: key = the key, value "<left value>|<right value>",
//   "null" for the missing side of a left/outer result.
//
// Usage: eventflow-test-stateful-app --mode windowed-count
//          --application-id A --input I --output O [--bootstrap B]
//          [--instance-id ID] [--state-dir D] [--emit update|close]
//          [--window-ms 1000] [--grace-ms 500] [--caching true|false]
//          [--guarantee eos|alos] [--threads N] [--commit-interval-ms M]
//          [--session-timeout-ms S]
//          [--standby-replicas N] [--acceptable-recovery-lag L]
//          [--warmup-timeout-ms T] [--kafka <librdkafka property>=<value>]...
//        eventflow-test-stateful-app --mode stream-join --application-id A
//          --input LEFT --right RIGHT --output O [--join inner|left|outer]
//          [--before-ms 100] [--after-ms 100] [--grace-ms 500] (other flags as above)
// --bootstrap defaults to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.
// --session-timeout-ms defaults to 6000 (a killed instance's partitions move
// within seconds); 0 keeps the library's default (StreamsConfig).
// On exit it prints "stateful-app: exit <rc>, processed <n>" to stderr.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/time_windowed_kstream.h"
#include "eventflow/streams/windowed.h"
#include "crash_point.h"

namespace {

namespace es = eventflow::streams;
using eventflow::Status;

struct Options {
  std::string mode;
  std::string input;
  std::string output;
  std::string right;
  std::string join = "inner";
  int64_t before_ms = 100;
  int64_t after_ms = 100;
  std::string emit = "update";
  int64_t window_ms = 1000;
  int64_t grace_ms = 500;
  bool caching = true;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "stateful-app: %s (see the comment at the top of stateful_app.cc)\n",
               why.c_str());
  std::exit(2);
}

bool ParseBool(const std::string& flag, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  Usage(flag + " must be true or false, got \"" + value + "\"");
}

// The windowed count (see the file comment).
void BuildWindowedCount(const Options& o, es::StreamsBuilder& builder) {
  auto windows = es::TimeWindows::OfSizeAndGrace(std::chrono::milliseconds(o.window_ms),
                                                 std::chrono::milliseconds(o.grace_ms));
  auto materialized = es::Materialized<std::string, int64_t>::As("counts");
  if (!o.caching) materialized = materialized.WithCachingDisabled();
  builder.Stream<std::string, std::string>(o.input)
      .GroupByKey()
      .WindowedBy(windows)
      .WithEmitStrategy(o.emit == "close" ? es::EmitStrategy::kOnWindowClose
                                          : es::EmitStrategy::kOnWindowUpdate)
      .Count(materialized)
      .ToStream()
      .Map([](const es::Windowed<std::string>& key, const std::optional<int64_t>& count) {
        // A windowed count never deletes; "" would mark a tombstone.
        return es::KeyValue<std::string, std::string>(
            key.key + "@" + std::to_string(key.start), count ? std::to_string(*count) : "");
      })
      .To(o.output);
}

// The stream-stream join (see the file comment).
void BuildStreamJoin(const Options& o, es::StreamsBuilder& builder) {
  auto left = builder.Stream<std::string, std::string>(o.input);
  auto right = builder.Stream<std::string, std::string>(o.right);
  const auto windows = es::JoinWindows::OfTimeDifferenceAndGrace(
                           std::chrono::milliseconds(o.before_ms),
                           std::chrono::milliseconds(o.grace_ms))
                           .After(std::chrono::milliseconds(o.after_ms));
  const auto joined = es::StreamJoined<std::string, std::string, std::string>::As("join");
  auto text = [](const std::optional<std::string>& v) { return v ? *v : std::string("null"); };
  if (o.join == "inner") {
    left.Join(
            right, [](const std::string& l, const std::string& r) { return l + "|" + r; },
            windows, joined)
        .To(o.output);
  } else if (o.join == "left") {
    left.LeftJoin(
            right,
            [text](const std::string& l, const std::optional<std::string>& r) {
              return l + "|" + text(r);
            },
            windows, joined)
        .To(o.output);
  } else {
    left.OuterJoin(
            right,
            [text](const std::optional<std::string>& l, const std::optional<std::string>& r) {
              return text(l) + "|" + text(r);
            },
            windows, joined)
        .To(o.output);
  }
}

}  // namespace

int main(int argc, char** argv) {
  es::StreamsConfig config;
  if (const char* env = std::getenv("KAFKA_BOOTSTRAP_SERVERS")) config.bootstrap_servers = env;
  if (config.bootstrap_servers.empty()) config.bootstrap_servers = "127.0.0.1:9092";
  Options o;
  // Short enough that a killed static member's partitions move in tests.
  int64_t session_timeout_ms = 6000;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage("flag " + flag + " needs a value");
    const std::string value = argv[i + 1];
    if (flag == "--mode") o.mode = value;
    else if (flag == "--bootstrap") config.bootstrap_servers = value;
    else if (flag == "--application-id") config.application_id = value;
    else if (flag == "--instance-id") config.instance_id = value;
    else if (flag == "--input") o.input = value;
    else if (flag == "--output") o.output = value;
    else if (flag == "--state-dir") config.state_dir = value;
    else if (flag == "--right") o.right = value;
    else if (flag == "--join") o.join = value;
    else if (flag == "--before-ms") o.before_ms = std::stoll(value);
    else if (flag == "--after-ms") o.after_ms = std::stoll(value);
    else if (flag == "--emit") o.emit = value;
    else if (flag == "--window-ms") o.window_ms = std::stoll(value);
    else if (flag == "--grace-ms") o.grace_ms = std::stoll(value);
    else if (flag == "--caching") o.caching = ParseBool(flag, value);
    else if (flag == "--threads") config.num_stream_threads = std::stoi(value);
    else if (flag == "--session-timeout-ms") session_timeout_ms = std::stoll(value);
    else if (flag == "--standby-replicas") config.num_standby_replicas = std::stoi(value);
    else if (flag == "--acceptable-recovery-lag") config.acceptable_recovery_lag = std::stoll(value);
    else if (flag == "--warmup-timeout-ms") {
      config.warmup_timeout = std::chrono::milliseconds(std::stoll(value));
    } else if (flag == "--kafka") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) Usage("--kafka needs <property>=<value>");
      config.kafka.Set(value.substr(0, eq), value.substr(eq + 1));
    } else if (flag == "--commit-interval-ms") {
      config.commit_interval = std::chrono::milliseconds(std::stoi(value));
    } else if (flag == "--guarantee") {
      if (value != "eos" && value != "alos") Usage("--guarantee must be eos or alos");
      config.processing_guarantee = value == "alos" ? es::ProcessingGuarantee::kAtLeastOnce
                                                    : es::ProcessingGuarantee::kExactlyOnceV2;
    } else {
      Usage("unknown flag " + flag);
    }
  }
  if (o.input.empty() || o.output.empty() || config.application_id.empty()) {
    Usage("--application-id, --input and --output are required");
  }
  if (o.emit != "update" && o.emit != "close") Usage("--emit must be update or close");
  if (session_timeout_ms > 0) config.session_timeout = std::chrono::milliseconds(session_timeout_ms);

  es::StreamsBuilder builder;
  if (o.mode == "windowed-count") {
    BuildWindowedCount(o, builder);
  } else if (o.mode == "stream-join") {
    if (o.right.empty()) Usage("--mode stream-join needs --right");
    if (o.join != "inner" && o.join != "left" && o.join != "outer") {
      Usage("--join must be inner, left or outer");
    }
    BuildStreamJoin(o, builder);
  } else {
    Usage("--mode must be windowed-count or stream-join, got \"" + o.mode + "\"");
  }
  es::Topology topology = builder.Build();
  if (Status valid = topology.Validate(); !valid.ok()) {
    std::fprintf(stderr, "stateful-app: %s\n", valid.ToString().c_str());
    return 2;
  }
  es::KafkaStreams streams(topology, config);
  eventflow::testing::InstallCrashPointFromEnv(streams);
  if (Status s = streams.Start(); !s.ok()) {
    std::fprintf(stderr, "stateful-app: %s\n", s.ToString().c_str());
    return 2;
  }
  const int rc = es::RunUntilSignalled(streams);
  std::fprintf(stderr, "stateful-app: exit %d, processed %llu\n", rc,
               static_cast<unsigned long long>(streams.processed()));
  return rc;
}
