// KeyPartitioner: the partition a producer sends a keyed record to, computed
// by the same code the producer runs — librdkafka's built-in partitioners,
// chosen by the `partitioner` property.
//
// Interactive queries use it to find the task that holds a key: a store's
// task is (sub-topology, partition), and the partition is where the key's
// records were produced — into a repartition topic by the application's own
// producer, into an input topic by whoever wrote it (the project's producers
// partition like Java clients: murmur2_random, client_config.h). Records
// whose producer partitioned otherwise are looked up in the wrong task.
//
// Thread-safety: an immutable value; Partition() is a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::kafka {

class KeyPartitioner {
 public:
  //! Returns the partitioner librdkafka's `partitioner` property `name`
  //! selects: murmur2_random (Java's default for keyed records), murmur2,
  //! consistent_random, consistent (CRC32), fnv1a_random, fnv1a. Returns
  //! InvalidArgument naming `setting` for "random" (no key decides the
  //! partition) or an unknown name.
  static Result<KeyPartitioner> Named(std::string_view name, std::string_view setting);

  //! Returns the partitioner of the project's data producers given the
  //! user's kafka.* settings: their `partitioner`, else murmur2_random.
  static Result<KeyPartitioner> ForDataProducers(const KafkaProperties& user);

  //! Returns the partition (0 .. partitions - 1) of a record with the
  //! non-empty `key` in a topic of `partitions` (> 0) partitions. (For an
  //! empty key the *_random partitioners choose at random; the result is then
  //! that of the hash of no bytes, which the producer does not promise.)
  int32_t Partition(std::string_view key, int32_t partitions) const;

  //! Returns the partitioner's name, e.g. "murmur2_random".
  const std::string& name() const { return name_; }

 private:
  using Function = int32_t (*)(const void* key, size_t length, int32_t partitions);
  KeyPartitioner(std::string name, Function function)
      : name_(std::move(name)), function_(function) {}

  std::string name_;
  Function function_;
};

}  // namespace eventflow::kafka
