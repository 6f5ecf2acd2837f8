#include "application_reset.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "eventflow/cli/values.h"
#include "eventflow/core/duration.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow_tool.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;
using Clock = std::chrono::steady_clock;

struct ResetSettings {
  ResetPlan plan;
  std::string bootstrap_servers;
  kafka::KafkaProperties kafka;
  ResetInputOffsets input_offsets = ResetInputOffsets::kEarliest;
  bool dry_run = false;
  std::chrono::milliseconds wait_for_empty{0};
  std::chrono::milliseconds timeout{60'000};
};

po::options_description ResetOptionsDescription() {
  po::options_description desc(
      "eventflow reset: makes the next start of an application reprocess its input from\n"
      "scratch (Kafka Streams' application reset tool). Deletes the topology's internal topics\n"
      "(repartition topics and store changelogs) and the consumer group with its offsets;\n"
      "input and output topics are kept. Refused while the group has members (stop every\n"
      "instance first). Instances' local stores are wiped by the runtime at their next start.\n\n"
      "Environment: KAFKA_BOOTSTRAP_SERVERS (the flag overrides it). --kafka.<property>=<value>\n"
      "is passed to librdkafka unchanged (TLS, SASL; --kafka-file <property>=<path> reads a\n"
      "value from a file). Exit codes: 0 done, 2 bad setting, 1 members present or a broker\n"
      "request failed.\n\nOptions");
  AddPipelineOptions(&desc);
  // clang-format off
  desc.add_options()
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("application-id", po::value<std::string>()->default_value("eventflow"), "the application (consumer group, prefix of its internal topics)")
      ("input-offsets", po::value<std::string>()->default_value("earliest"), "where the input partitions start afterwards: earliest (the group and its offsets are deleted) or latest (their end offsets now are committed: existing input is skipped)")
      ("delete-dlq", po::bool_switch(), "also delete the dead-letter topic <application-id>-dlq (kept by default)")
      ("wait-for-empty", po::value<std::string>()->default_value("0s"), "wait this long for the group's members to leave (static members stay for session.timeout.ms, 45s by default, after their process stopped)")
      ("timeout", po::value<std::string>()->default_value("60s"), "bound on each broker request")
      ("dry-run", po::bool_switch(), "print what would be deleted and change nothing")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error or off (default $EVENTFLOW_LOG_LEVEL, else info)");
  // clang-format on
  return desc;
}

Result<ResetSettings> ResetSettingsFrom(const cli::CommandLine& line) {
  const po::variables_map& vm = line.values;
  ResetSettings s;
  const topologies::NamedTopology* entry = nullptr;
  topologies::PipelineOptions pipeline;
  EVENTFLOW_RETURN_IF_ERROR(PipelineSettings(vm, &entry, &pipeline));
  const std::string application_id = vm["application-id"].as<std::string>();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--application-id", application_id));
  auto offsets = cli::ParseChoice<ResetInputOffsets>(
      "--input-offsets", vm["input-offsets"].as<std::string>(),
      {{"earliest", ResetInputOffsets::kEarliest}, {"latest", ResetInputOffsets::kLatest}});
  if (!offsets.ok()) return offsets.status();
  s.input_offsets = *offsets;
  auto wait = ParseDuration(vm["wait-for-empty"].as<std::string>(), "--wait-for-empty");
  if (!wait.ok()) return wait.status();
  EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotNegative("--wait-for-empty", wait->count()));
  s.wait_for_empty = *wait;
  auto timeout = cli::ParsePositiveDuration("--timeout", vm["timeout"].as<std::string>());
  if (!timeout.ok()) return timeout.status();
  s.timeout = *timeout;
  s.dry_run = vm["dry-run"].as<bool>();
  s.bootstrap_servers = cli::BootstrapServers(vm);
  s.kafka = line.kafka;
  streams::Topology topology = entry->Build(pipeline);
  EVENTFLOW_RETURN_IF_ERROR(topology.Validate());
  s.plan = PlanReset(topology, application_id, vm["delete-dlq"].as<bool>());
  return s;
}

std::string MemberList(const kafka::GroupDescription& group) {
  std::string out;
  for (const kafka::GroupMember& m : group.members) {
    if (!out.empty()) out += ", ";
    out += m.group_instance_id.empty() ? m.client_id : m.group_instance_id;
    if (!m.host.empty()) out += " (" + m.host + ")";
  }
  return out;
}

// Describes the group until it has no members, at most `wait`.
Result<kafka::GroupDescription> AwaitEmptyGroup(rd_kafka_t* admin, const ResetSettings& s) {
  const Clock::time_point deadline = Clock::now() + s.wait_for_empty;
  while (true) {
    auto group = kafka::DescribeConsumerGroup(admin, s.plan.group, s.timeout);
    if (!group.ok() || group->members.empty() || s.dry_run || Clock::now() >= deadline) {
      return group;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::seconds(1),
                                                          deadline - Clock::now()));
  }
}

int Execute(cli::Tool& tool, const ResetSettings& s) {
  auto props = kafka::BuildClientConfig(kafka::ClientRole::kAdmin,
                                        {.bootstrap_servers = s.bootstrap_servers}, s.kafka);
  if (!props.ok()) return tool.Fail(props.status());
  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, *props);
  if (!client.ok()) return tool.Fail(client.status());
  rd_kafka_t* admin = client->get();
  const char* verb = s.dry_run ? "would delete" : "deleting";

  auto group = AwaitEmptyGroup(admin, s);
  if (!group.ok()) return tool.FailRunning(group.status());
  std::cout << "consumer group " << s.plan.group << ": " << group->state << ", "
            << group->members.size() << " member(s)\n";
  if (!group->members.empty()) {
    tool.Message("consumer group \"" + s.plan.group + "\" has " +
                 std::to_string(group->members.size()) + " member(s): " + MemberList(*group) +
                 "; stop every instance first" +
                 (s.wait_for_empty.count() > 0 ? " (waited " + std::to_string(s.wait_for_empty.count()) + " ms" +
                                                     ", --wait-for-empty)"
                                               : " (static members leave after "
                                                 "session.timeout.ms: --wait-for-empty)") +
                 (s.dry_run ? "; a reset now would be refused" : ""));
    if (!s.dry_run) return cli::kExitFailure;
  }

  std::vector<std::string> topics = s.plan.internal_topics;
  if (!s.plan.dead_letter_topic.empty()) topics.push_back(s.plan.dead_letter_topic);
  std::vector<std::string> existing;
  for (const std::string& topic : topics) {
    auto partitions = kafka::PartitionCount(admin, topic, s.timeout);
    if (partitions.status().code() == StatusCode::kNotFound) {
      std::cout << "topic " << topic << ": does not exist\n";
      continue;
    }
    if (!partitions.ok()) return tool.FailRunning(partitions.status());
    std::cout << verb << " topic " << topic << " (" << *partitions << " partitions)\n";
    existing.push_back(topic);
  }

  // The input's end offsets, read before anything changes.
  std::vector<kafka::PartitionOffset> ends;
  if (s.input_offsets == ResetInputOffsets::kLatest) {
    for (const std::string& topic : s.plan.input_topics) {
      auto partitions = kafka::PartitionCount(admin, topic, s.timeout);
      if (!partitions.ok()) return tool.FailRunning(partitions.status());
      for (int p = 0; p < *partitions; ++p) {
        auto marks = kafka::QueryWatermarks(admin, topic, p, s.timeout);
        if (!marks.ok()) return tool.FailRunning(marks.status());
        ends.push_back({topic, p, marks->high});
      }
    }
  }
  std::cout << verb << " consumer group " << s.plan.group << " and its committed offsets\n";
  if (s.input_offsets == ResetInputOffsets::kLatest) {
    std::cout << (s.dry_run ? "would commit" : "committing") << " the end offsets of "
              << ends.size() << " input partition(s) of "
              << s.plan.input_topics.size() << " topic(s) for group " << s.plan.group << "\n";
  } else {
    std::cout << "input topics (" << s.plan.input_topics.size()
              << ") will be read from their beginning\n";
  }
  if (s.dry_run) {
    std::cout << "dry run: nothing changed\n";
    return cli::kExitOk;
  }

  // The group first: the coordinator refuses it if a member joined since the
  // check, before anything else changed.
  if (Status st = kafka::DeleteConsumerGroup(admin, s.plan.group, s.timeout); !st.ok()) {
    return tool.FailRunning(st);
  }
  std::cout << "deleted consumer group " << s.plan.group << "\n";
  if (Status st = kafka::DeleteTopics(admin, existing, s.timeout); !st.ok()) {
    return tool.FailRunning(st);
  }
  for (const std::string& topic : existing) std::cout << "deleted topic " << topic << "\n";
  if (!ends.empty()) {
    if (Status st = kafka::AlterConsumerGroupOffsets(admin, s.plan.group, ends, s.timeout);
        !st.ok()) {
      return tool.FailRunning(st);
    }
    std::cout << "committed the end offsets of " << ends.size() << " input partition(s)\n";
  }
  std::cout << "reset of application " << s.plan.group << " done\n";
  return cli::kExitOk;
}

}  // namespace

ResetPlan PlanReset(const streams::Topology& topology, const std::string& application_id,
                    bool delete_dlq) {
  ResetPlan plan;
  plan.group = application_id;
  const streams::TopicResolver resolve = topology.ResolverFor(application_id);
  for (const streams::InternalTopicSpec& spec : topology.internal_topics()) {
    plan.internal_topics.push_back(resolve(spec.name));
  }
  for (const streams::StoreSpec& store : topology.stores()) {
    if (store.logging) {
      plan.internal_topics.push_back(streams::ChangelogTopic(application_id, store.name));
    }
  }
  for (const streams::Topology::SubTopology& sub : topology.SubTopologies()) {
    for (const std::string& topic : sub.source_topics) {
      if (topology.IsInternalTopic(topic)) continue;
      if (std::find(plan.input_topics.begin(), plan.input_topics.end(), topic) ==
          plan.input_topics.end()) {
        plan.input_topics.push_back(topic);
      }
    }
  }
  if (delete_dlq) plan.dead_letter_topic = streams::DeadLetterTopic(application_id);
  return plan;
}

int RunReset(cli::Tool& tool, const std::vector<std::string>& args) {
  const po::options_description desc = ResetOptionsDescription();
  int exit_code = cli::kExitOk;
  auto line = tool.Start(args, desc, {.kafka_passthrough = true}, &exit_code);
  if (!line) return exit_code;
  auto settings = ResetSettingsFrom(*line);
  if (!settings.ok()) return tool.Fail(settings.status());
  return Execute(tool, *settings);
}

}  // namespace eventflow::tools
