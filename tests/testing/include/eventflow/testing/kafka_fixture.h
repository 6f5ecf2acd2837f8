// Kafka helpers for integration tests against the real local broker:
// uniquely named topics that are deleted afterwards, reading a topic back to
// its end, and running the project's tool binaries.
//
// Thread-safety: none; use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::testing {

//! Properties with bootstrap.servers set to the test broker.
kafka::KafkaProperties TestKafkaProperties();

//! Creates topics on construction (failing the test when that fails) and
//! deletes them on destruction. Topics without a retention.ms of their own get
//! retention.ms=-1: test records carry old event times, which the broker's
//! time retention would delete at its next check; Retention::kBrokerDefault
//! leaves them the broker's.
class ScopedTopics {
 public:
  enum class Retention { kKeepRecords, kBrokerDefault };
  explicit ScopedTopics(std::vector<kafka::NewTopic> topics,
                        Retention retention = Retention::kKeepRecords);
  ~ScopedTopics();
  ScopedTopics(const ScopedTopics&) = delete;
  ScopedTopics& operator=(const ScopedTopics&) = delete;

  //! The name of the i-th topic.
  const std::string& name(size_t i) const { return topics_[i].name; }

 private:
  std::vector<kafka::NewTopic> topics_;
  kafka::KafkaHandle admin_;
};

//! One record read back from a topic.
struct ConsumedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  //! The value of the first header named `name`, or "" when absent.
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

//! Reads every partition of `topic` from the beginning to its end as of the
//! call (read_committed stops at the last stable offset). Returns the records
//! in partition, then offset order, or an error after `timeout`.
Result<std::vector<ConsumedRecord>> ReadAll(const std::string& topic, bool read_committed,
                                            std::chrono::milliseconds timeout =
                                                std::chrono::seconds(60));

//! Result of a child process.
struct ProcessResult {
  int exit_code = -1;   //!< exit status, or 128 + signal
  std::string out;      //!< everything written to stdout
  std::string err;      //!< everything written to stderr
};

//! A child process running in the background (e.g. an application instance
//! that a test kills). The destructor kills it (SIGKILL) if still running.
class ChildProcess {
 public:
  //! Starts `argv` with stdout and stderr appended to `log_path` and `env`
  //! ("NAME=value") added to the environment (replacing inherited values).
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::vector<std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  //! Sends `signal` (e.g. SIGKILL, SIGTERM); for SIGSTOP returns once the
  //! process has stopped (bounded).
  void Signal(int signal);
  //! Waits up to `timeout` for the exit and returns the exit code (128 +
  //! signal when killed). On time-out it fails the test naming `what` (e.g.
  //! "instance a") and the time waited, kills the process (SIGKILL) and
  //! returns -1: no test waits for a child without a bound.
  int Wait(std::chrono::milliseconds timeout, std::string_view what);
  //! True until Wait() reaped it.
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

//! Runs `argv` (argv[0] is a path) with `env` added to the environment, waits
//! for it and captures its output. Fails the test when it cannot be started.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {});

}  // namespace eventflow::testing
