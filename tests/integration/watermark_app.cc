// eventflow-test-watermark-app: the application of the watermark runtime
// test (tests/integration/watermark_runtime_test.cc), run as a child process
// so that the test can hold one instance back (SIGSTOP) while another races
// ahead.
//
// Topology: source(--input: key = any, value = group name, Kafka timestamp =
// event time) → SelectKey(value) → repartition "rekey" → tumbling windowed
// count (--window-ms, --grace-ms, emit on window close, store "counts") →
// sink(--output: key "<group>@<window start ms>", value "<count>", strings).
// Exactly-once. SIGTERM/SIGINT close the instance gracefully; at exit it
// prints "watermark-app: exit <rc>, processed <n>, dropped_late <n>" to stderr.
//
// Usage: eventflow-test-watermark-app --bootstrap B --app-id A --instance-id I
//          --input T --output T --state-dir D [--window-ms 60000] [--grace-ms 10000]
//          [--commit-interval-ms M] [--session-timeout-ms 30000]
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/streams_builder.h"

int main(int argc, char** argv) {
  using eventflow::streams::Serdes;
  using S = std::string;
  eventflow::streams::StreamsConfig config;
  S input, output;
  int64_t window_ms = 60'000, grace_ms = 10'000;
  config.session_timeout = std::chrono::milliseconds(30'000);
  for (int i = 1; i + 1 < argc; i += 2) {
    const S flag = argv[i];
    const S value = argv[i + 1];
    if (flag == "--bootstrap") config.bootstrap_servers = value;
    else if (flag == "--app-id") config.application_id = value;
    else if (flag == "--instance-id") config.instance_id = value;
    else if (flag == "--input") input = value;
    else if (flag == "--output") output = value;
    else if (flag == "--state-dir") config.state_dir = value;
    else if (flag == "--window-ms") window_ms = std::stoll(value);
    else if (flag == "--grace-ms") grace_ms = std::stoll(value);
    else if (flag == "--commit-interval-ms") config.commit_interval = std::chrono::milliseconds(std::stoll(value));
    else if (flag == "--session-timeout-ms") config.session_timeout = std::chrono::milliseconds(std::stoll(value));
    else {
      std::fprintf(stderr, "watermark-app: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  config.processing_guarantee = eventflow::streams::ProcessingGuarantee::kExactlyOnceV2;

  eventflow::streams::StreamsBuilder builder;
  builder
      .Stream<S, S>(input, eventflow::streams::Consumed<S, S>::With(Serdes::String(),
                                                                    Serdes::String()))
      .SelectKey([](const S&, const S& group) { return group; })
      .GroupByKey(eventflow::streams::Grouped<S, S>::With(Serdes::String(), Serdes::String())
                      .WithName("rekey"))
      .WindowedBy(eventflow::streams::TimeWindows::OfSizeAndGrace(
          std::chrono::milliseconds(window_ms), std::chrono::milliseconds(grace_ms)))
      .WithEmitStrategy(eventflow::streams::EmitStrategy::kOnWindowClose)
      .Count(eventflow::streams::Materialized<S, int64_t>::As("counts"))
      .ToStream()
      .Map([](const eventflow::streams::Windowed<S>& window, const std::optional<int64_t>& count) {
        return eventflow::streams::KeyValue<S, S>(
            window.key + "@" + std::to_string(window.start),
            count ? std::to_string(*count) : S("null"));
      })
      .To(output, eventflow::streams::Produced<S, S>::With(Serdes::String(), Serdes::String()));

  eventflow::streams::KafkaStreams streams(builder.Build(), config);
  const eventflow::Status s = streams.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "watermark-app: %s\n", s.ToString().c_str());
    return 2;
  }
  const int rc = eventflow::streams::RunUntilSignalled(streams);
  std::fprintf(stderr, "watermark-app: exit %d, processed %llu, dropped_late %llu\n", rc,
               static_cast<unsigned long long>(streams.processed()),
               static_cast<unsigned long long>(streams.dropped_late()));
  return rc;
}
