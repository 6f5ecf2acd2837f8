// Topic administration through librdkafka's Admin API, on any client handle.
//
// Applications create their topics themselves (the broker's automatic topic
// creation is off): input topics by the generator, changelog and repartition
// topics by the runtime before processing starts. EnsureTopics() is
// idempotent and checks that an existing topic has the partition count the
// caller needs, since co-partitioning depends on it.
//
// Thread-safety: the functions are safe to call concurrently on one handle.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/kafka/data_loss.h"

namespace eventflow::kafka {

//! A topic to create.
struct NewTopic {
  std::string name;                 //!< topic name
  int num_partitions = 3;           //!< partition count
  int replication_factor = -1;      //!< -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;  //!< e.g. cleanup.policy
};

//! EnsureTopics, DeleteTopics and PartitionCount are what applications call
//! first, so while they wait for a broker they watch the client for
//! authentication and TLS failures (PollConnectionErrors in kafka_client.h) and
//! return InvalidArgument naming the failure at once, instead of timing out.

//! Creates the topics that do not exist and waits until their metadata (with a
//! leader for every partition) is visible to `client`. An existing topic is
//! accepted when its partition count equals the requested one; otherwise the
//! result is InvalidArgument naming the topic, the expected and the actual count.
Status EnsureTopics(rd_kafka_t* client, std::span<const NewTopic> topics,
                    std::chrono::milliseconds timeout);

//! Deletes the topics; a topic that does not exist is not an error.
Status DeleteTopics(rd_kafka_t* client, std::span<const std::string> topics,
                    std::chrono::milliseconds timeout);

//! Returns the partition count of `topic`, or NotFound when it does not exist.
Result<int> PartitionCount(rd_kafka_t* client, const std::string& topic,
                           std::chrono::milliseconds timeout);

//! Returns the configuration of `topic` as the broker reports it (every
//! entry, defaults included; sensitive values are not returned), or the
//! error naming the topic.
Result<std::map<std::string, std::string>> DescribeTopicConfigs(rd_kafka_t* client,
                                                                const std::string& topic,
                                                                std::chrono::milliseconds timeout);

//! Checks the existing topics among `topics` against the configs they would
//! have been created with and logs a WARN for each entry that differs
//! (naming topic, setting, its value and the intended one, and `why`). The
//! topics are not changed: they may be shared, or set that way on purpose.
void WarnAboutTopicConfigs(rd_kafka_t* client, std::span<const NewTopic> topics,
                           std::string_view why, std::chrono::milliseconds timeout);

//! A partition and an offset in it.
struct PartitionOffset {
  std::string topic;   //!< topic name
  int32_t partition;   //!< partition number
  int64_t offset;      //!< offset
};

//! Deletes the records of each partition below its offset (Kafka's
//! DeleteRecords: the partition's log start moves there) and waits for the
//! answer. Returns the first per-partition error, naming topic and partition.
Status DeleteRecordsBefore(rd_kafka_t* client, std::span<const PartitionOffset> offsets,
                           std::chrono::milliseconds timeout);

//! Starts the same request without waiting: its result event
//! (RD_KAFKA_EVENT_DELETERECORDS_RESULT) arrives on `queue`, and
//! DeleteRecordsOutcome() reads it.
void StartDeleteRecords(rd_kafka_t* client, std::span<const PartitionOffset> offsets,
                        std::chrono::milliseconds timeout, rd_kafka_queue_t* queue);

//! Returns OK when every partition of a DeleteRecords result event succeeded,
//! else the first error naming topic and partition.
Status DeleteRecordsOutcome(rd_kafka_event_t* event);

//! One member of a consumer group, as the group coordinator describes it.
struct GroupMember {
  std::string member_id;          //!< the coordinator's id of the member
  std::string client_id;          //!< the member's client.id
  std::string group_instance_id;  //!< static membership id; empty for a dynamic member
  std::string host;               //!< the address the coordinator sees, e.g. "/127.0.0.1"
  //! The partitions assigned to the member (topic, partition; offset unused).
  std::vector<PartitionOffset> assignment;
};

//! A consumer group as its coordinator describes it.
struct GroupDescription {
  //! "Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"
  //! or "Unknown".
  std::string state;
  std::vector<GroupMember> members;  //!< in the coordinator's order
};

//! Describes consumer group `group` (members with client id, host and
//! assignment: DescribeConsumerGroups through the Admin API). A group that
//! does not exist is described as "Dead" with no members. Returns the
//! request's error naming the group, TimedOut after `timeout` — but never
//! before a minute: group requests wait out the coordinator's lookup, see
//! GroupRequestDeadline in kafka_admin.cc (a librdkafka 2.0.2 abort). The same
//! holds for DeleteConsumerGroup and AlterConsumerGroupOffsets.
Result<GroupDescription> DescribeConsumerGroup(rd_kafka_t* client, const std::string& group,
                                               std::chrono::milliseconds timeout);

//! Deletes consumer group `group` with its committed offsets (Kafka's
//! DeleteGroups). A group that does not exist is not an error; a group with
//! members is refused by the coordinator (the error names the group).
//! Returns the request's error naming the group, TimedOut after `timeout`.
Status DeleteConsumerGroup(rd_kafka_t* client, const std::string& group,
                           std::chrono::milliseconds timeout);

//! Commits `offsets` for consumer group `group` from outside the group
//! (Kafka's AlterConsumerGroupOffsets, with empty offset metadata); a group
//! that does not exist is created empty with these offsets, a group with
//! members is refused. Returns the first error, naming
//! the group (and topic and partition for a per-partition error).
Status AlterConsumerGroupOffsets(rd_kafka_t* client, const std::string& group,
                                 std::span<const PartitionOffset> offsets,
                                 std::chrono::milliseconds timeout);

//! Asks the partition's leader for its log start and end (ListOffsets; the
//! end is the last stable offset for a read_committed client). Transient
//! answers — no leader yet (a topic just created), leadership moving (a
//! broker restart), the leader unreachable (each attempt waits up to 5 s) —
//! are retried until `timeout`, each time with the topic's metadata refreshed
//! first (librdkafka 2.0.2 keeps asking the leader it cached); any other
//! error, or the transient one still there at the deadline, is returned with
//! `topic` and `partition` named.
Result<PartitionWatermarks> QueryWatermarks(rd_kafka_t* client, const std::string& topic,
                                            int partition, std::chrono::milliseconds timeout);

//! QueryWatermarks for many partitions at once (their offsets are ignored),
//! in the same order: one ListOffsets round for the starts and one for the
//! ends, each a request per leader, then QueryWatermarks alone for any
//! partition those rounds did not answer. A restore of dozens of changelog
//! partitions asked them one by one (two round trips each) and took seconds.
Result<std::vector<PartitionWatermarks>> QueryWatermarksOf(
    rd_kafka_t* client, std::span<const PartitionOffset> partitions,
    std::chrono::milliseconds timeout);

}  // namespace eventflow::kafka
