// Crash injection for the runtime tests' child applications (echo_app,
// stateful_app): EVENTFLOW_TEST_CRASH_POINT = after-kafka-commit | mid-restore
// with EVENTFLOW_TEST_CRASH_AFTER = N makes a stream thread _exit(137) the
// N-th time it reaches that point (counted per thread) — the two crashes a
// kill -9 from outside cannot aim at. Installed through KafkaStreams'
// test hook; the library itself reads no environment for this.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "eventflow/core/log.h"
#include "eventflow/streams/kafka_streams.h"

namespace eventflow::testing {

//! Installs the crash point named by the environment on `streams` (before
//! Start()); does nothing when EVENTFLOW_TEST_CRASH_POINT is unset or unknown.
inline void InstallCrashPointFromEnv(streams::KafkaStreams& streams) {
  const char* point = std::getenv("EVENTFLOW_TEST_CRASH_POINT");
  if (point == nullptr) return;
  const std::string name = point;
  streams::RuntimeHookPoint at;
  if (name == "after-kafka-commit") {
    at = streams::RuntimeHookPoint::kAfterKafkaCommit;
  } else if (name == "mid-restore") {
    at = streams::RuntimeHookPoint::kMidRestore;
  } else {
    return;
  }
  int after = 1;
  if (const char* n = std::getenv("EVENTFLOW_TEST_CRASH_AFTER")) after = std::atoi(n);
  struct Hits {
    std::mutex mu;
    std::map<int, int> by_thread;
  };
  auto hits = std::make_shared<Hits>();
  streams.SetTestHook([at, after, name, hits](streams::RuntimeHookPoint reached, int thread) {
    if (reached != at) return;
    {
      std::lock_guard<std::mutex> lock(hits->mu);
      if (++hits->by_thread[thread] < after) return;
    }
    Log(LogLevel::kWarn, "stream-thread " + std::to_string(thread),
        "test fault injection: crashing at " + name);
    ::_exit(137);
  });
}

}  // namespace eventflow::testing
