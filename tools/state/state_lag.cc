#include "state_lag.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>

#include "eventflow/cli/values.h"
#include "eventflow/inspector/output.h"
#include "eventflow/inspector/state_dir.h"
#include "eventflow/inspector/store_reader.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/stream_task.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;
using Clock = std::chrono::steady_clock;
using inspector::JsonLine;
using inspector::OutputFormat;
using inspector::TextTable;

// One store's row.
struct StoreLag {
  inspector::StoreLocation location;
  std::string topic;  // "" when the store is not logged
  int32_t partition = -1;
  std::optional<int64_t> stored;
  std::optional<int64_t> log_start;
  std::optional<int64_t> end;
  std::optional<int64_t> records_behind;
  bool count_capped = false;  // records_behind is a lower bound
  std::string status = "ok";  // ok, not logged, no offset, beyond end, or the error
  bool failed = false;

  std::optional<int64_t> OffsetLag() const {
    if (!stored || !end) return std::nullopt;
    return std::max<int64_t>(0, *end - *stored);
  }
};

po::options_description Options() {
  po::options_description desc(
      "eventflow state-lag: how far behind its changelog each local state store is.\n\nOptions");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("state-dir", po::value<std::string>()->default_value("/tmp/eventflow-streams"), "the state directory (eventflow run --state-dir), or an application's or task's directory in it")
      ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092)")
      ("output", po::value<std::string>()->default_value("table"), "table or jsonl")
      ("timeout", po::value<std::string>()->default_value("30s"), "bound on the whole look at the broker")
      ("count-limit", po::value<std::string>()->default_value("100000"), "records counted behind per partition at most")
      ("log-level", po::value<std::string>(), "debug, info, warn, error or off");
  // clang-format on
  return desc;
}

// The changelog of a store: recorded, or by the naming rule for a store
// written before stores recorded it.
void ResolveChangelog(const inspector::StoreInfo& info, StoreLag* lag) {
  if (info.changelog_recorded) {
    lag->topic = info.changelog_topic;
    lag->partition = info.changelog_partition;
    if (lag->topic.empty()) lag->status = "not logged";
    return;
  }
  lag->topic = streams::ChangelogTopic(info.location.application_id, info.location.store);
  const std::string& task = info.location.task_id;
  lag->partition = std::stoi(task.substr(task.find('_') + 1));  // IsTaskId checked it
}

// Counts the committed records from each lag's stored offset to the end of
// its partition (read_committed: aborted records and markers not counted).
Status CountRecordsBehind(rd_kafka_t* consumer, std::vector<StoreLag*>& lags, int64_t limit,
                          Clock::time_point deadline) {
  if (lags.empty()) return Status::OK();
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(lags.size())));
  std::map<std::pair<std::string, int32_t>, StoreLag*> by_partition;
  for (StoreLag* lag : lags) {
    lag->records_behind = 0;
    const int64_t from = std::max(*lag->stored, lag->log_start.value_or(0));
    rd_kafka_topic_partition_list_add(list.get(), lag->topic.c_str(), lag->partition)->offset =
        from;
    by_partition[{lag->topic, lag->partition}] = lag;
  }
  EVENTFLOW_RETURN_IF_ERROR(
      kafka::FromKafkaError(rd_kafka_assign(consumer, list.get()), "assigning the changelogs"));
  size_t open = by_partition.size();
  std::map<std::pair<std::string, int32_t>, bool> done;
  while (open > 0) {
    if (Clock::now() > deadline) {
      return Status::TimedOut("counting the changelog records behind the stores (--timeout)");
    }
    kafka::KafkaMessage msg(rd_kafka_consumer_poll(consumer, 100));
    if (!msg) continue;
    const std::pair<std::string, int32_t> key{rd_kafka_topic_name(msg->rkt), msg->partition};
    auto it = by_partition.find(key);
    if (it == by_partition.end() || done[key]) continue;
    StoreLag* lag = it->second;
    bool finished = false;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      finished = true;  // the last stable offset: nothing committed lies beyond
    } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka::FromKafkaError(
          msg->err, "reading " + key.first + " partition " + std::to_string(key.second));
    } else {
      ++*lag->records_behind;
      if (*lag->records_behind >= limit) {
        lag->count_capped = msg->offset + 1 < *lag->end;
        finished = true;
      }
    }
    if (finished) {
      done[key] = true;
      --open;
    }
  }
  return Status::OK();
}

void Print(const std::vector<StoreLag>& lags, OutputFormat format, std::ostream& out) {
  TextTable table({"APPLICATION", "TASK", "STORE", "CHANGELOG", "PARTITION", "STORED", "END",
                   "OFFSET LAG", "RECORDS BEHIND", "STATUS"});
  auto text = [](std::optional<int64_t> v) { return v ? std::to_string(*v) : std::string("-"); };
  for (const StoreLag& lag : lags) {
    if (format == OutputFormat::kJsonLines) {
      JsonLine line;
      line.String("application", lag.location.application_id)
          .String("task", lag.location.task_id)
          .String("store", lag.location.store)
          .String("path", lag.location.path.string());
      if (lag.topic.empty()) {
        line.Null("changelog_topic").Null("changelog_partition");
      } else {
        line.String("changelog_topic", lag.topic).Int("changelog_partition", lag.partition);
      }
      line.OptionalInt("stored_offset", lag.stored)
          .OptionalInt("log_start_offset", lag.log_start)
          .OptionalInt("end_offset", lag.end)
          .OptionalInt("offset_lag", lag.OffsetLag())
          .OptionalInt("records_behind", lag.records_behind)
          .Bool("records_behind_is_lower_bound", lag.count_capped)
          .String("status", lag.status)
          .Print(out);
      continue;
    }
    std::string behind = text(lag.records_behind);
    if (lag.count_capped) behind = ">= " + behind;
    table.AddRow({lag.location.application_id, lag.location.task_id, lag.location.store,
                  lag.topic.empty() ? "-" : lag.topic,
                  lag.partition >= 0 ? std::to_string(lag.partition) : "-", text(lag.stored),
                  text(lag.end), text(lag.OffsetLag()), behind, lag.status});
  }
  if (format == OutputFormat::kTable) table.Print(out);
}

}  // namespace

int RunStateLag(cli::Tool& tool, const std::vector<std::string>& args) {
  const po::options_description desc = Options();
  int exit_code = cli::kExitOk;
  auto line = tool.Start(args, desc, {.kafka_passthrough = true}, &exit_code);
  if (!line) return exit_code;
  const po::variables_map& vm = line->values;
  auto format = cli::ParseChoice<OutputFormat>(
      "--output", vm["output"].as<std::string>(),
      {{"table", OutputFormat::kTable}, {"jsonl", OutputFormat::kJsonLines}});
  if (!format.ok()) return tool.Fail(format.status());
  auto timeout = cli::ParsePositiveDuration("--timeout", vm["timeout"].as<std::string>());
  if (!timeout.ok()) return tool.Fail(timeout.status());
  auto limit = cli::ParseUnsigned("--count-limit", vm["count-limit"].as<std::string>());
  if (!limit.ok()) return tool.Fail(limit.status());
  if (Status s = cli::CheckPositive("--count-limit", static_cast<int64_t>(*limit)); !s.ok()) {
    return tool.Fail(s);
  }
  const std::string state_dir = vm["state-dir"].as<std::string>();
  auto stores = inspector::FindStores(state_dir);
  if (!stores.ok()) return tool.Fail(stores.status().WithContext("--state-dir"));
  const Clock::time_point deadline = Clock::now() + *timeout;

  // The stores' side, read as eventflow-state reads them.
  std::vector<StoreLag> lags;
  for (const inspector::StoreLocation& location : *stores) {
    StoreLag& lag = lags.emplace_back();
    lag.location = location;
    auto reader = inspector::StoreReader::Open(location.path);
    if (!reader.ok()) {
      lag.status = reader.status().message();
      lag.failed = true;
      continue;
    }
    ResolveChangelog((*reader)->info(), &lag);
    lag.stored = (*reader)->info().changelog_offset;
    if (!lag.stored && lag.status == "ok") lag.status = "no offset";
  }

  // The broker's side.
  const std::string application =
      lags.empty() ? std::string("eventflow") : lags.front().location.application_id;
  auto props = kafka::BuildClientConfig(kafka::ClientRole::kRestoreConsumer,
                                        {.bootstrap_servers = cli::BootstrapServers(vm),
                                         .client_id = "eventflow-state-lag",
                                         .group_id = application + "-state-lag"},
                                        line->kafka);
  if (!props.ok()) return tool.Fail(props.status());
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, *props);
  if (!consumer.ok()) return tool.Fail(consumer.status());
  std::vector<StoreLag*> to_count;
  for (StoreLag& lag : lags) {
    if (lag.failed || lag.topic.empty()) continue;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto marks = kafka::QueryWatermarks(consumer->get(), lag.topic, lag.partition,
                                        std::max(left, std::chrono::milliseconds(1)));
    if (!marks.ok()) {
      lag.status = marks.status().message();
      lag.failed = true;
      continue;
    }
    lag.log_start = marks->low;
    lag.end = marks->high;
    if (!lag.stored) continue;
    if (*lag.stored > marks->high) {
      lag.status = "beyond end";  // the runtime would wipe it and restore in full
    } else if (*lag.stored < marks->high) {
      to_count.push_back(&lag);
    } else {
      lag.records_behind = 0;
    }
  }
  Status counted =
      CountRecordsBehind(consumer->get(), to_count, static_cast<int64_t>(*limit), deadline);
  rd_kafka_consumer_close(consumer->get());
  Print(lags, *format, std::cout);
  std::cout.flush();
  if (!counted.ok()) return tool.FailRunning(counted);
  for (const StoreLag& lag : lags) {
    if (lag.failed) {
      tool.Message(lag.location.path.string() + ": " + lag.status);
      exit_code = cli::kExitFailure;
    }
  }
  return exit_code;
}

}  // namespace eventflow::tools
