#include "eventflow/streams/streams_config.h"

#include <unistd.h>

#include <cctype>

#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/partitioner.h"
#include "eventflow/streams/memory_split.h"
#include "eventflow/streams/store_query.h"

namespace eventflow::streams {
namespace {

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

Status StreamsConfig::Validate() const {
  if (!ValidName(application_id)) {
    return Status::InvalidArgument(
        "application.id \"" + application_id +
        "\" is invalid: use 1-200 characters of [a-zA-Z0-9._-] (it prefixes topic names)");
  }
  if (bootstrap_servers.empty()) {
    return Status::InvalidArgument("bootstrap.servers is not set");
  }
  if (!instance_id.empty() && !ValidName(instance_id)) {
    return Status::InvalidArgument("instance.id \"" + instance_id +
                                   "\" is invalid: use characters of [a-zA-Z0-9._-]");
  }
  if (num_stream_threads < 1 || num_stream_threads > 64) {
    return Status::InvalidArgument("num.stream.threads must be within 1..64, got " +
                                   std::to_string(num_stream_threads));
  }
  if (commit_interval.count() < 0) {
    return Status::InvalidArgument("commit.interval.ms must not be negative");
  }
  if (max_buffered_records_per_partition < 1) {
    return Status::InvalidArgument("buffered.records.per.partition must be positive");
  }
  if (state_memory_bytes != 0 && state_memory_bytes < (size_t{1} << 20)) {
    return Status::InvalidArgument("statestore.memory.bytes must be at least 1 MiB, got " +
                                   std::to_string(state_memory_bytes));
  }
  {
    auto split = SplitMemoryBudget(*this);
    if (!split.ok()) return split.status();
  }
  if (!(record_cache_ratio >= 0 && record_cache_ratio < 1)) {
    return Status::InvalidArgument("statestore.cache.ratio must be within [0, 1), got " +
                                   std::to_string(record_cache_ratio));
  }
  if (watermark_idle_timeout.count() < 0) {
    return Status::InvalidArgument("watermark.idle.timeout.ms must not be negative, got " +
                                   std::to_string(watermark_idle_timeout.count()) +
                                   " (0 turns the idle timeout off)");
  }
  if (repartition_purge_interval.count() < 0) {
    return Status::InvalidArgument("repartition.purge.interval.ms must not be negative, got " +
                                   std::to_string(repartition_purge_interval.count()) +
                                   " (0 turns purging off)");
  }
  if (windowstore_changelog_additional_retention.count() < 0) {
    return Status::InvalidArgument(
        "windowstore.changelog.additional.retention.ms must not be negative, got " +
        std::to_string(windowstore_changelog_additional_retention.count()));
  }
  if (partition_stall_timeout.count() < 0) {
    return Status::InvalidArgument("partition.stall.timeout.ms must not be negative, got " +
                                   std::to_string(partition_stall_timeout.count()) +
                                   " (0 turns the check off)");
  }
  if (restore_batch_records < 1) {
    return Status::InvalidArgument("restore.batch.records must be positive, got " +
                                   std::to_string(restore_batch_records));
  }
  if (restore_timeout.count() <= 0) {
    return Status::InvalidArgument("restore.timeout.ms must be positive, got " +
                                   std::to_string(restore_timeout.count()));
  }
  if (replication_factor == 0 || replication_factor < -1) {
    return Status::InvalidArgument(
        "replication.factor must be -1 (the broker's default.replication.factor) or positive, "
        "got " + std::to_string(replication_factor));
  }
  if (num_standby_replicas < 0 || num_standby_replicas > 16) {
    return Status::InvalidArgument("num.standby.replicas must be within 0..16, got " +
                                   std::to_string(num_standby_replicas));
  }
  if (num_standby_replicas > 0 && instance_id.empty()) {
    return Status::InvalidArgument(
        "num.standby.replicas needs instance.id: instances are told apart by their static "
        "group membership (group.instance.id = <instance id>-<thread>)");
  }
  if (acceptable_recovery_lag < 0) {
    return Status::InvalidArgument("acceptable.recovery.lag must not be negative, got " +
                                   std::to_string(acceptable_recovery_lag));
  }
  if (warmup_timeout.count() < 0) {
    return Status::InvalidArgument("warmup.timeout.ms must not be negative, got " +
                                   std::to_string(warmup_timeout.count()) +
                                   " (0: join without warming up)");
  }
  if (session_timeout.count() < 1000) {
    return Status::InvalidArgument("session.timeout.ms must be at least 1000");
  }
  if (!application_server.empty()) {
    // Other instances find this one's keys by their partition: the
    // producers' partitioner must place keys.
    if (auto endpoint = HostInfo::Parse(application_server, "application.server"); !endpoint.ok()) {
      return endpoint.status();
    }
    if (auto partitioner = kafka::KeyPartitioner::ForDataProducers(kafka); !partitioner.ok()) {
      return partitioner.status().WithContext("application.server is set");
    }
  }
  // Any value of a property one of the stream threads' clients decides itself
  // (kafka/client_config.h) is refused, even the value it would have.
  for (const auto& [key, value] : kafka.entries()) {
    if (key == "auto.offset.reset") {
      return Status::InvalidArgument(
          "kafka.auto.offset.reset is set by the runtime (a partition without committed offset "
          "starts at its beginning; a position below the log start follows the data loss "
          "policy, on.data.loss=fail|skip)");
    }
    for (kafka::ClientRole role :
         {kafka::ClientRole::kMainConsumer, kafka::ClientRole::kRestoreConsumer,
          kafka::ClientRole::kTransactionalProducer, kafka::ClientRole::kAtLeastOnceProducer}) {
      if (kafka::IsForcedSetting(role, key)) {
        return Status::InvalidArgument("kafka." + key +
                                       " is set by the runtime and cannot be overridden");
      }
    }
  }
  return Status::OK();
}

std::chrono::milliseconds StreamsConfig::EffectiveCommitInterval() const {
  if (commit_interval.count() > 0) return commit_interval;
  return processing_guarantee == ProcessingGuarantee::kExactlyOnceV2
             ? std::chrono::milliseconds(100)
             : std::chrono::milliseconds(30'000);
}

std::string StreamsConfig::EffectiveInstanceId() const {
  if (!instance_id.empty()) return instance_id;
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "instance";
  std::string id;
  for (const char* p = host; *p != '\0'; ++p) {
    id.push_back(std::isalnum(static_cast<unsigned char>(*p)) || *p == '-' ? *p : '-');
  }
  return id;
}

}  // namespace eventflow::streams
