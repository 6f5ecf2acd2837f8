#include "eventflow/streams/shutdown.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "eventflow/core/log.h"

namespace eventflow::streams {
namespace {

std::atomic<int> g_signals{0};

void OnSignal(int) {
  if (g_signals.fetch_add(1) >= 1) ::_exit(130);  // second signal: exit at once
}

}  // namespace

int RunUntilSignalled(KafkaStreams& streams, std::chrono::milliseconds close_timeout) {
  struct sigaction action {};
  action.sa_handler = &OnSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  while (g_signals.load() == 0 && streams.state() != KafkaStreams::State::kError) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (g_signals.load() > 0) Log(LogLevel::kInfo, "kafka-streams", "signal received, closing");
  const bool in_time = streams.Close(close_timeout);
  const bool failed = streams.state() == KafkaStreams::State::kError;
  if (failed) Log(LogLevel::kError, "kafka-streams", streams.error().ToString());
  return (in_time && !failed) ? 0 : 1;
}

}  // namespace eventflow::streams
