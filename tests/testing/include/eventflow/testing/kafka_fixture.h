// Kafka helpers for integration tests against the real local broker:
// uniquely named topics that are deleted afterwards, reading a topic back to
// its end, and running the project's tool binaries.
//
// Thread-safety: none; use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/kafka_admin.h"
#include "eventflow/streams/kafka_client.h"
#include "eventflow/streams/kafka_properties.h"

namespace eventflow::testing {

//! Properties with bootstrap.servers set to the test broker.
streams::KafkaProperties TestKafkaProperties();

//! Creates topics on construction (failing the test when that fails) and
//! deletes them on destruction.
class ScopedTopics {
 public:
  explicit ScopedTopics(std::vector<streams::NewTopic> topics);
  ~ScopedTopics();
  ScopedTopics(const ScopedTopics&) = delete;
  ScopedTopics& operator=(const ScopedTopics&) = delete;

  //! The name of the i-th topic.
  const std::string& name(size_t i) const { return topics_[i].name; }

 private:
  std::vector<streams::NewTopic> topics_;
  streams::KafkaHandle admin_;
};

//! One record read back from a topic.
struct ConsumedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
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

//! Runs `argv` (argv[0] is a path) with `env` added to the environment, waits
//! for it and captures its output. Fails the test when it cannot be started.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {});

}  // namespace eventflow::testing
