#include "eventflow/kafka/kafka_admin.h"

#include <algorithm>
#include <thread>

#include "eventflow/core/log.h"
#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

using Clock = std::chrono::steady_clock;

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// How long one wait lasts before the client's connection errors are checked.
constexpr int kSliceMs = 250;

// Waits for the admin result event of `type` on `queue`; an authentication or
// TLS failure of `client` ends the wait (PollConnectionErrors).
Result<KafkaEvent> AwaitResult(rd_kafka_t* client, rd_kafka_queue_t* queue,
                               rd_kafka_event_type_t type, Clock::time_point deadline,
                               std::string_view what) {
  while (true) {
    KafkaEvent ev(rd_kafka_queue_poll(queue, std::min(RemainingMs(deadline), kSliceMs)));
    if (!ev) {
      EVENTFLOW_RETURN_IF_ERROR(PollConnectionErrors(client).WithContext(what));
      if (RemainingMs(deadline) > 0) continue;
      return Status::TimedOut(std::string(what) + ": no answer from the broker in time");
    }
    if (rd_kafka_event_type(ev.get()) == type) {
      EVENTFLOW_RETURN_IF_ERROR(FromKafkaError(rd_kafka_event_error(ev.get()), what));
      return ev;
    }
  }
}

// The cluster's metadata (all topics), asked for in slices so that an
// authentication or TLS failure of `client` ends the wait.
Result<KafkaMetadata> FetchMetadata(rd_kafka_t* client, Clock::time_point deadline,
                                    std::string_view what) {
  while (true) {
    const rd_kafka_metadata_t* raw = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(
        client, 1, nullptr, &raw, std::max(std::min(RemainingMs(deadline), kSliceMs), 1));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaMetadata(raw);
    EVENTFLOW_RETURN_IF_ERROR(PollConnectionErrors(client).WithContext(what));
    // rd_kafka_metadata() answers _TRANSPORT when no connection is up within
    // its time-out: a new client whose TLS and SASL handshakes take longer
    // than one slice (SCRAM on a busy machine) is not failed for that.
    if ((err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) &&
        RemainingMs(deadline) > 0) {
      continue;
    }
    // A failed login also fails the request (e.g. "Broker transport failure"),
    // sometimes before librdkafka has queued the error saying why: give it a
    // moment, so that the message names the cause.
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EVENTFLOW_RETURN_IF_ERROR(PollConnectionErrors(client).WithContext(what));
    }
    return FromKafkaError(err, what);
  }
}

// The deadline of a request to a group coordinator: the caller's, but never
// less than a minute. librdkafka 2.0.2 aborts the process
// (rd_kafka_enq_once_del_source_return: "eonce->refcnt > 0"; librdkafka
// issues 4605 and 3663) when such a request has timed out while its
// coordinator lookup was pending and the lookup then finds the coordinator:
// the late send path releases the request's once-only reference a second
// time. Seen when an instance described its group while a new 3-broker
// cluster was still electing the group coordinator (5 s time-out). With a
// minute the lookup ends long before the request times out unless no
// coordinator exists for that long; the caller waits for the answer.
// The same double release follows when the found coordinator cannot be sent
// the request at all (rd_kafka_admin_coord_request fails it, then
// rd_kafka_coord_req_fail answers it again), e.g. a broker that does not
// serve the API: Kafka brokers serve DescribeGroups, DeleteGroups and
// OffsetCommit; librdkafka's mock cluster serves only OffsetCommit of them,
// so tests on the mock use AlterConsumerGroupOffsets.
Clock::time_point GroupRequestDeadline(Clock::time_point deadline) {
  return std::max(deadline, Clock::now() + std::chrono::seconds(60));
}

AdminOptions MakeOptions(rd_kafka_t* client, rd_kafka_admin_op_t op,
                         Clock::time_point deadline) {
  AdminOptions options(rd_kafka_AdminOptions_new(client, op));
  char errstr[512];
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), RemainingMs(deadline), errstr,
                                              sizeof(errstr));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), RemainingMs(deadline), errstr,
                                            sizeof(errstr));
  return options;
}

// The first per-topic error other than `acceptable` (e.g. "already exists").
Status CheckTopicResults(const rd_kafka_topic_result_t** results, size_t n,
                         rd_kafka_resp_err_t acceptable, std::string_view verb) {
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == acceptable) continue;
    const char* detail = rd_kafka_topic_result_error_string(results[i]);
    return FromKafkaError(err, std::string(verb) + " topic \"" +
                                   rd_kafka_topic_result_name(results[i]) + "\"" +
                                   (detail != nullptr ? std::string(" (") + detail + ")" : ""));
  }
  return Status::OK();
}

// Partition counts of the topics in `names` whose metadata has a leader for
// every partition; topics missing or still leaderless get -1.
Result<std::vector<int>> ReadyPartitionCounts(rd_kafka_t* client,
                                              std::span<const std::string> names,
                                              Clock::time_point deadline) {
  auto fetched = FetchMetadata(client, deadline, "reading cluster metadata");
  if (!fetched.ok()) return fetched.status();
  const KafkaMetadata& md = *fetched;
  std::vector<int> counts(names.size(), -1);
  for (size_t i = 0; i < names.size(); ++i) {
    for (int t = 0; t < md->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& topic = md->topics[t];
      if (names[i] != topic.topic || topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      bool ready = topic.partition_cnt > 0;
      for (int p = 0; p < topic.partition_cnt; ++p) {
        ready = ready && topic.partitions[p].leader >= 0 &&
                topic.partitions[p].err == RD_KAFKA_RESP_ERR_NO_ERROR;
      }
      if (ready) counts[i] = topic.partition_cnt;
    }
  }
  return counts;
}

}  // namespace

Status EnsureTopics(rd_kafka_t* client, std::span<const NewTopic> topics,
                    std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::OK();
  const Clock::time_point deadline = Clock::now() + timeout;
  char errstr[512];

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  struct Cleanup {
    std::vector<rd_kafka_NewTopic_t*>* v;
    ~Cleanup() { rd_kafka_NewTopic_destroy_array(v->data(), v->size()); }
  } cleanup{&new_topics};
  for (const NewTopic& t : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.num_partitions,
                                                    t.replication_factor, errstr, sizeof(errstr));
    if (nt == nullptr) {
      return Status::InvalidArgument("topic \"" + t.name + "\": " + errstr);
    }
    new_topics.push_back(nt);
    for (const auto& [key, value] : t.configs) {
      EVENTFLOW_RETURN_IF_ERROR(
          FromKafkaError(rd_kafka_NewTopic_set_config(nt, key.c_str(), value.c_str()),
                         "topic \"" + t.name + "\" config " + key));
    }
  }

  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_CREATETOPICS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  rd_kafka_CreateTopics(client, new_topics.data(), new_topics.size(), options.get(),
                        queue.get());
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, deadline,
                        "creating topics");
  if (!ev.ok()) return ev.status();

  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
  EVENTFLOW_RETURN_IF_ERROR(
      CheckTopicResults(results, n, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, "creating"));

  // Wait until every topic is visible with leaders, and check partition counts
  // of topics that existed before.
  std::vector<std::string> names;
  for (const NewTopic& t : topics) names.push_back(t.name);
  while (true) {
    auto counts = ReadyPartitionCounts(client, names, deadline);
    bool all_ready = counts.ok();
    for (size_t i = 0; counts.ok() && i < names.size(); ++i) {
      if ((*counts)[i] < 0) {
        all_ready = false;
      } else if ((*counts)[i] != topics[i].num_partitions) {
        return Status::InvalidArgument(
            "topic \"" + names[i] + "\" exists with " + std::to_string((*counts)[i]) +
            " partitions, but " + std::to_string(topics[i].num_partitions) + " are required");
      }
    }
    if (all_ready) return Status::OK();
    if (RemainingMs(deadline) == 0) {
      return counts.ok() ? Status::TimedOut("created topics have no leader yet")
                         : counts.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status DeleteTopics(rd_kafka_t* client, std::span<const std::string> topics,
                    std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::OK();
  const Clock::time_point deadline = Clock::now() + timeout;
  std::vector<rd_kafka_DeleteTopic_t*> dels;
  for (const std::string& t : topics) dels.push_back(rd_kafka_DeleteTopic_new(t.c_str()));
  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_DELETETOPICS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  rd_kafka_DeleteTopics(client, dels.data(), dels.size(), options.get(), queue.get());
  rd_kafka_DeleteTopic_destroy_array(dels.data(), dels.size());
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_DELETETOPICS_RESULT, deadline,
                        "deleting topics");
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev->get()), &n);
  return CheckTopicResults(results, n, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "deleting");
}

Result<int> PartitionCount(rd_kafka_t* client, const std::string& topic,
                           std::chrono::milliseconds timeout) {
  // Ask for all topics: asking for one unknown topic would not auto-create it
  // here (auto-creation is off) but still costs a round trip per topic.
  auto fetched = FetchMetadata(client, Clock::now() + timeout,
                               "reading metadata for topic \"" + topic + "\"");
  if (!fetched.ok()) return fetched.status();
  const KafkaMetadata& md = *fetched;
  for (int t = 0; t < md->topic_cnt; ++t) {
    if (topic == md->topics[t].topic && md->topics[t].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      return md->topics[t].partition_cnt;
    }
  }
  return Status::NotFound("topic \"" + topic + "\" does not exist");
}

Result<std::map<std::string, std::string>> DescribeTopicConfigs(
    rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  rd_kafka_DescribeConfigs(client, &resource, 1, options.get(), queue.get());
  rd_kafka_ConfigResource_destroy(resource);
  const std::string what = "describing the configuration of topic \"" + topic + "\"";
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, deadline, what);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev->get()), &n);
  std::map<std::string, std::string> configs;
  for (size_t i = 0; i < n; ++i) {
    EVENTFLOW_RETURN_IF_ERROR(FromKafkaError(rd_kafka_ConfigResource_error(resources[i]), what));
    size_t count = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &count);
    for (size_t e = 0; e < count; ++e) {
      const char* value = rd_kafka_ConfigEntry_value(entries[e]);
      if (rd_kafka_ConfigEntry_is_sensitive(entries[e]) || value == nullptr) continue;
      configs[rd_kafka_ConfigEntry_name(entries[e])] = value;
    }
  }
  return configs;
}

void WarnAboutTopicConfigs(rd_kafka_t* client, std::span<const NewTopic> topics,
                           std::string_view why, std::chrono::milliseconds timeout) {
  for (const NewTopic& t : topics) {
    if (t.configs.empty()) continue;
    auto configs = DescribeTopicConfigs(client, t.name, timeout);
    if (!configs.ok()) {
      Log(LogLevel::kWarn, "kafka-admin", configs.status().ToString());
      continue;
    }
    for (const auto& [key, want] : t.configs) {
      auto it = configs->find(key);
      if (it == configs->end() || it->second == want) continue;
      Log(LogLevel::kWarn, "kafka-admin",
          "topic \"" + t.name + "\" exists with " + key + "=" + it->second + ", not " + want +
              " as it would have been created: " + std::string(why));
    }
  }
}

void StartDeleteRecords(rd_kafka_t* client, std::span<const PartitionOffset> offsets,
                        std::chrono::milliseconds timeout, rd_kafka_queue_t* queue) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const PartitionOffset& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  }
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list.get());
  AdminOptions options =
      MakeOptions(client, RD_KAFKA_ADMIN_OP_DELETERECORDS, Clock::now() + timeout);
  rd_kafka_DeleteRecords(client, &del, 1, options.get(), queue);
  rd_kafka_DeleteRecords_destroy(del);
}

Status DeleteRecordsOutcome(rd_kafka_event_t* event) {
  EVENTFLOW_RETURN_IF_ERROR(
      FromKafkaError(rd_kafka_event_error(event), "deleting records"));
  const rd_kafka_DeleteRecords_result_t* result = rd_kafka_event_DeleteRecords_result(event);
  if (result == nullptr) return Status::Internal("not a DeleteRecords result event");
  const rd_kafka_topic_partition_list_t* parts = rd_kafka_DeleteRecords_result_offsets(result);
  for (int i = 0; parts != nullptr && i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = parts->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafkaError(tp.err, std::string("deleting records of ") + tp.topic +
                                        " partition " + std::to_string(tp.partition));
    }
  }
  return Status::OK();
}

Status DeleteRecordsBefore(rd_kafka_t* client, std::span<const PartitionOffset> offsets,
                           std::chrono::milliseconds timeout) {
  if (offsets.empty()) return Status::OK();
  const Clock::time_point deadline = Clock::now() + timeout;
  KafkaQueue queue(rd_kafka_queue_new(client));
  StartDeleteRecords(client, offsets, timeout, queue.get());
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_DELETERECORDS_RESULT, deadline,
                        "deleting records");
  if (!ev.ok()) return ev.status();
  return DeleteRecordsOutcome(ev->get());
}

Result<GroupDescription> DescribeConsumerGroup(rd_kafka_t* client, const std::string& group,
                                               std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = GroupRequestDeadline(Clock::now() + timeout);
  const std::string what = "describing consumer group \"" + group + "\"";
  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(client, groups, 1, options.get(), queue.get());
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, deadline,
                        what);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** described =
      rd_kafka_DescribeConsumerGroups_result_groups(
          rd_kafka_event_DescribeConsumerGroups_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (group != rd_kafka_ConsumerGroupDescription_group_id(described[i])) continue;
    if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(described[i])) {
      return FromKafkaError(rd_kafka_error_code(error),
                            what + " (" + rd_kafka_error_string(error) + ")");
    }
    GroupDescription description;
    description.state =
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(described[i]));
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(described[i]);
    for (size_t m = 0; m < members; ++m) {
      const rd_kafka_MemberDescription_t* member =
          rd_kafka_ConsumerGroupDescription_member(described[i], m);
      GroupMember out;
      auto text = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
      out.member_id = text(rd_kafka_MemberDescription_consumer_id(member));
      out.client_id = text(rd_kafka_MemberDescription_client_id(member));
      out.group_instance_id = text(rd_kafka_MemberDescription_group_instance_id(member));
      out.host = text(rd_kafka_MemberDescription_host(member));
      const rd_kafka_MemberAssignment_t* assignment = rd_kafka_MemberDescription_assignment(member);
      const rd_kafka_topic_partition_list_t* parts =
          assignment != nullptr ? rd_kafka_MemberAssignment_partitions(assignment) : nullptr;
      for (int p = 0; parts != nullptr && p < parts->cnt; ++p) {
        out.assignment.push_back(
            PartitionOffset{parts->elems[p].topic, parts->elems[p].partition, -1});
      }
      description.members.push_back(std::move(out));
    }
    return description;
  }
  return Status::Internal(what + ": the answer does not describe the group");
}

namespace {

// The outcome of one group in a DeleteGroups / AlterConsumerGroupOffsets
// result: the group's error, else the first partition's error.
Status CheckGroupResults(const rd_kafka_group_result_t** results, size_t n,
                         const std::string& group, rd_kafka_resp_err_t ignore,
                         const std::string& what) {
  for (size_t i = 0; i < n; ++i) {
    if (group != rd_kafka_group_result_name(results[i])) continue;
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(results[i])) {
      if (rd_kafka_error_code(error) == ignore) return Status::OK();
      return FromKafkaError(error, what);
    }
    const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(results[i]);
    for (int p = 0; parts != nullptr && p < parts->cnt; ++p) {
      EVENTFLOW_RETURN_IF_ERROR(
          FromKafkaError(parts->elems[p].err, what + ": " + parts->elems[p].topic + " partition " +
                                                  std::to_string(parts->elems[p].partition)));
    }
    return Status::OK();
  }
  return Status::Internal(what + ": the answer does not name the group");
}

}  // namespace

Status DeleteConsumerGroup(rd_kafka_t* client, const std::string& group,
                           std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = GroupRequestDeadline(Clock::now() + timeout);
  const std::string what = "deleting consumer group \"" + group + "\"";
  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_DELETEGROUPS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  rd_kafka_DeleteGroup_t* del = rd_kafka_DeleteGroup_new(group.c_str());
  rd_kafka_DeleteGroups(client, &del, 1, options.get(), queue.get());
  rd_kafka_DeleteGroup_destroy(del);
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_DELETEGROUPS_RESULT, deadline, what);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_group_result_t** results =
      rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev->get()), &n);
  return CheckGroupResults(results, n, group, RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND, what);
}

Status AlterConsumerGroupOffsets(rd_kafka_t* client, const std::string& group,
                                 std::span<const PartitionOffset> offsets,
                                 std::chrono::milliseconds timeout) {
  if (offsets.empty()) return Status::OK();
  const Clock::time_point deadline = GroupRequestDeadline(Clock::now() + timeout);
  const std::string what = "committing offsets for consumer group \"" + group + "\"";
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const PartitionOffset& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  }
  AdminOptions options = MakeOptions(client, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, deadline);
  KafkaQueue queue(rd_kafka_queue_new(client));
  rd_kafka_AlterConsumerGroupOffsets_t* alter =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_AlterConsumerGroupOffsets(client, &alter, 1, options.get(), queue.get());
  rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
  auto ev = AwaitResult(client, queue.get(), RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
                        deadline, what);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_group_result_t** results = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev->get()), &n);
  return CheckGroupResults(results, n, group, RD_KAFKA_RESP_ERR_NO_ERROR, what);
}

namespace {

// Asks the cluster for `topic`'s metadata, which updates the client's cache
// (partition leaders); failures are left to the caller's next attempt.
void RefreshTopicMetadata(rd_kafka_t* client, const std::string& topic,
                          Clock::time_point deadline) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(client, topic.c_str(), nullptr);
  if (handle == nullptr) return;
  const rd_kafka_metadata_t* md = nullptr;
  const int timeout_ms = std::max(std::min(RemainingMs(deadline), 5'000), 1);
  if (rd_kafka_metadata(client, 0, handle, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(handle);
}

// One ListOffsets round trip for `partition`: `spec` RD_KAFKA_OFFSET_BEGINNING
// gives the log start, RD_KAFKA_OFFSET_END the end (the last stable offset for
// a read_committed client). rd_kafka_offsets_for_times, not
// rd_kafka_query_watermark_offsets: in librdkafka 2.0.2 the latter ignores
// its time-out while the leader it asks is down (seen blocking 47 s, until
// the broker came back); the former gives up after `timeout_ms`.
rd_kafka_resp_err_t ListOffset(rd_kafka_t* client, const std::string& topic, int partition,
                               int64_t spec, int timeout_ms, int64_t* offset) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = spec;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(client, list.get(), timeout_ms);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) *offset = list->elems[0].offset;
  return err;
}

// How long one ListOffsets attempt may wait before the leader is looked up again.
constexpr int kListOffsetsAttemptMs = 5'000;

}  // namespace

Result<PartitionWatermarks> QueryWatermarks(rd_kafka_t* client, const std::string& topic,
                                            int partition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(50);
  while (true) {
    PartitionWatermarks w;
    const int attempt_ms = std::max(std::min(RemainingMs(deadline), kListOffsetsAttemptMs), 1);
    rd_kafka_resp_err_t err =
        ListOffset(client, topic, partition, RD_KAFKA_OFFSET_BEGINNING, attempt_ms, &w.low);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      err = ListOffset(client, topic, partition, RD_KAFKA_OFFSET_END, attempt_ms, &w.high);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return w;
    Status s = FromKafkaError(
        err, "watermarks of " + topic + " partition " + std::to_string(partition));
    // An attempt that timed out asked a leader that is down.
    const bool transient = s.code() == StatusCode::kUnavailable || s.IsTimedOut() ||
                           err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (!transient || Clock::now() + backoff >= deadline) return s;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    // librdkafka 2.0.2 asks the leader its metadata cache names and does not
    // refresh that cache when the answer is "not the leader" or the broker is
    // down: after a leader moved (a broker of a cluster went down), every
    // retry would ask the old one. A metadata request for the topic updates
    // the cache.
    RefreshTopicMetadata(client, topic, deadline);
  }
}

Result<std::vector<PartitionWatermarks>> QueryWatermarksOf(
    rd_kafka_t* client, std::span<const PartitionOffset> partitions,
    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<PartitionWatermarks> out(partitions.size());
  if (partitions.empty()) return out;
  // One ListOffsets round per end (librdkafka sends one request per leader).
  std::vector<bool> answered(partitions.size(), true);
  for (const int64_t spec : {int64_t{RD_KAFKA_OFFSET_BEGINNING}, int64_t{RD_KAFKA_OFFSET_END}}) {
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (const PartitionOffset& p : partitions) {
      rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = spec;
    }
    const int attempt_ms = std::max(std::min(RemainingMs(deadline), kListOffsetsAttemptMs), 1);
    const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(client, list.get(), attempt_ms);
    for (size_t i = 0; i < partitions.size(); ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        answered[i] = false;
        continue;
      }
      (spec == RD_KAFKA_OFFSET_BEGINNING ? out[i].low : out[i].high) = e.offset;
    }
  }
  // Whatever the round did not answer (a leader moving or down, a topic just
  // created) is asked again alone, with QueryWatermarks' retries.
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (answered[i]) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto one = QueryWatermarks(client, partitions[i].topic, partitions[i].partition,
                               std::max(left, std::chrono::milliseconds(1)));
    if (!one.ok()) return one.status();
    out[i] = *one;
  }
  return out;
}

}  // namespace eventflow::kafka
