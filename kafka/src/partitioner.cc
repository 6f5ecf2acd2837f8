#include "eventflow/kafka/partitioner.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <utility>

#include "eventflow/kafka/client_config.h"

namespace eventflow::kafka {
namespace {

// librdkafka's partitioners (its public API for partitioner_cb) ignore the
// topic handle and the opaques for keyed records; the key pointer is never
// null here, so the *_random ones hash it too.
int32_t Murmur2(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_murmur2(nullptr, key, length, partitions, nullptr, nullptr);
}
int32_t Murmur2Random(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_murmur2_random(nullptr, key, length, partitions, nullptr,
                                                 nullptr);
}
int32_t Consistent(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_consistent(nullptr, key, length, partitions, nullptr, nullptr);
}
int32_t ConsistentRandom(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_consistent_random(nullptr, key, length, partitions, nullptr,
                                                    nullptr);
}
int32_t Fnv1a(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_fnv1a(nullptr, key, length, partitions, nullptr, nullptr);
}
int32_t Fnv1aRandom(const void* key, size_t length, int32_t partitions) {
  return rd_kafka_msg_partitioner_fnv1a_random(nullptr, key, length, partitions, nullptr, nullptr);
}

}  // namespace

Result<KeyPartitioner> KeyPartitioner::Named(std::string_view name, std::string_view setting) {
  using Entry = std::pair<std::string_view, Function>;
  static constexpr std::array<Entry, 6> kKnown = {{
      {"murmur2_random", &Murmur2Random},
      {"murmur2", &Murmur2},
      {"consistent_random", &ConsistentRandom},
      {"consistent", &Consistent},
      {"fnv1a_random", &Fnv1aRandom},
      {"fnv1a", &Fnv1a},
  }};
  for (const Entry& e : kKnown) {
    if (e.first == name) return KeyPartitioner(std::string(name), e.second);
  }
  return Status::InvalidArgument(
      std::string(setting) + ": partitioner \"" + std::string(name) +
      "\" does not place a key in a fixed partition; interactive queries need one of "
      "murmur2_random, murmur2, consistent_random, consistent, fnv1a_random, fnv1a");
}

Result<KeyPartitioner> KeyPartitioner::ForDataProducers(const KafkaProperties& user) {
  const std::string* configured = user.Find("partitioner");
  return Named(configured != nullptr ? std::string_view(*configured) : kDataProducerPartitioner,
               "kafka.partitioner");
}

int32_t KeyPartitioner::Partition(std::string_view key, int32_t partitions) const {
  static const char kEmpty = 0;
  return function_(key.empty() ? &kEmpty : key.data(), key.size(), partitions);
}

}  // namespace eventflow::kafka
