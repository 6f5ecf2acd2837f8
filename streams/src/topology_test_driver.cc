#include "eventflow/streams/topology_test_driver.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>

#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/partitioner.h"
#include "processor_state_manager.h"
#include "queryable_stores.h"

namespace eventflow::streams {

TopologyTestDriver::TopologyTestDriver(const Topology& topology, TestDriverOptions options)
    : topology_(topology), options_(std::move(options)) {
  wall_clock_ms_ = options_.initial_wall_clock_ms.value_or(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  status_ = topology_.Validate();
  if (!status_.ok()) return;
  if (options_.state_dir) {
    state_dir_ = *options_.state_dir;
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eventflow-ttd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      status_ = Status::IOError("cannot create a state directory under /tmp");
      return;
    }
    state_dir_ = tmpl;
    owns_state_dir_ = true;
  }
  subtopologies_ = topology_.SubTopologies();
  const TopicResolver resolve = topology_.ResolverFor(options_.application_id);
  for (const InternalTopicSpec& t : topology_.internal_topics()) {
    internal_topics_.push_back(resolve(t.name));
  }
  // Watermarks through repartition topics: one partition each, written by
  // the one task of every sub-topology with a sink to it.
  std::map<std::string, std::vector<TaskId>, std::less<>> upstream_tasks;
  std::map<std::string, int, std::less<>> repartition_sinks;
  for (const Topology::SubTopology& sub : subtopologies_) {
    for (const std::string& topic : sub.sink_topics) {
      if (!topology_.IsInternalTopic(topic)) continue;
      upstream_tasks[resolve(topic)].push_back(TaskId{sub.id, 0});
      repartition_sinks[resolve(topic)] = 1;
    }
  }
  for (const Topology::SubTopology& sub : subtopologies_) {
    TaskOptions task_options;
    task_options.upstream_tasks = upstream_tasks;
    task_options.repartition_sinks = repartition_sinks;
    task_options.watermark_idle_timeout = options_.watermark_idle_timeout;
    task_options.application_id = options_.application_id;
    task_options.deserialization_errors = options_.deserialization_errors;
    task_options.processing_errors = options_.processing_errors;
    task_options.production_errors = options_.production_errors;
    task_options.max_future_skew = options_.max_future_skew;
    task_options.wall_clock = [this] { return wall_clock_ms_; };
    task_options.state_dir = state_dir_;
    task_options.record_cache_bytes = options_.record_cache_bytes;
    auto task = std::make_unique<StreamTask>(TaskId{sub.id, 0}, topology_, sub, task_options, this);
    status_ = task->Init();
    if (!status_.ok()) return;
    for (const std::string& topic : sub.source_topics) {
      task_by_topic_[resolve(topic)] = task.get();
      task->AddInputPartition(resolve(topic), 0);
    }
    tasks_.push_back(std::move(task));
  }
  std::map<int, int> one_task_each;
  for (const Topology::SubTopology& sub : subtopologies_) one_task_each[sub.id] = 1;
  QueryableStores::Layout layout =
      QueryableStores::LayoutOf(topology_, subtopologies_, one_task_each, resolve);
  queryable_ = std::make_unique<QueryableStores>(
      std::move(layout.infos), std::move(layout.subtopologies),
      kafka::KeyPartitioner::Named(kafka::kDataProducerPartitioner, "partitioner"));
  for (auto& task : tasks_) {
    queryable_->Register(task->task_id(), task->state_manager());
    queryable_->SetRunning(task->task_id());
  }
}

TopologyTestDriver::~TopologyTestDriver() {
  for (auto& task : tasks_) {
    if (queryable_) queryable_->Unregister(task->task_id());
    task->Close();
  }
  tasks_.clear();
  if (owns_state_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(state_dir_, ignored);
  }
}

state::StateStore* TopologyTestDriver::GetStateStore(std::string_view name) {
  for (auto& task : tasks_) {
    if (state::StateStore* store = task->GetStateStore(name)) return store;
  }
  return nullptr;
}

Status TopologyTestDriver::Send(std::string_view topic, int32_t,
                                std::optional<std::string_view> key,
                                std::optional<std::string_view> value, int64_t timestamp,
                                const Headers& headers) {
  const size_t bytes = (key ? key->size() : 0) + (value ? value->size() : 0);
  if (bytes > options_.max_record_bytes) {
    return Status::InvalidArgument("record of " + std::to_string(bytes) + " bytes for topic " +
                                   std::string(topic) + " exceeds max_record_bytes " +
                                   std::to_string(options_.max_record_bytes));
  }
  TestRecord r;
  r.topic.assign(topic);
  if (key) r.key.emplace(*key);
  if (value) r.value.emplace(*value);
  r.timestamp = timestamp;
  r.headers = headers;
  const bool internal = std::find(internal_topics_.begin(), internal_topics_.end(), r.topic) !=
                        internal_topics_.end();
  auto it = task_by_topic_.find(r.topic);
  if (internal && it != task_by_topic_.end()) {
    // A repartition topic: feed it to the sub-topology reading it (processed by Drain()).
    it->second->AddRecord(
        MakeOwnedRecord(r.topic, 0, next_offset_[r.topic]++, timestamp, key, value, headers));
    return Status::OK();
  }
  outputs_[r.topic].push_back(std::move(r));
  return Status::OK();
}

Status TopologyTestDriver::PipeRaw(const std::string& topic, std::optional<std::string_view> key,
                                   std::optional<std::string_view> value, int64_t timestamp,
                                   Headers headers) {
  EVENTFLOW_RETURN_IF_ERROR(status_);
  auto it = task_by_topic_.find(topic);
  if (it == task_by_topic_.end()) {
    return Status::InvalidArgument("no source of the topology reads topic \"" + topic + "\"");
  }
  it->second->AddRecord(
      MakeOwnedRecord(topic, 0, next_offset_[topic]++, timestamp, key, value, std::move(headers)));
  return Drain();
}

Status TopologyTestDriver::ProcessAll() {
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& task : tasks_) {
      while (task->buffered() > 0) {
        auto r = task->Process();
        if (!r.ok()) {
          task->AbortStores();
          return r.status();
        }
        progress = true;
      }
    }
  }
  return Status::OK();
}

Status TopologyTestDriver::Drain() {
  EVENTFLOW_RETURN_IF_ERROR(ProcessAll());
  return options_.commit_every_input ? Commit() : Status::OK();
}

Status TopologyTestDriver::Commit() {
  EVENTFLOW_RETURN_IF_ERROR(status_);
  // A flush may write repartition topics, whose records the downstream task
  // processes, whose cache then needs flushing in turn.
  for (;;) {
    for (auto& task : tasks_) EVENTFLOW_RETURN_IF_ERROR(task->FlushCache());
    for (auto& task : tasks_) EVENTFLOW_RETURN_IF_ERROR(task->EmitWatermarks());
    bool more = false;
    for (auto& task : tasks_) more = more || task->buffered() > 0;
    if (!more) break;
    EVENTFLOW_RETURN_IF_ERROR(ProcessAll());
  }
  for (auto& task : tasks_) EVENTFLOW_RETURN_IF_ERROR(task->state_manager().Commit(nullptr));
  return Status::OK();
}

Status TopologyTestDriver::AdvanceWallClockTime(std::chrono::milliseconds advance) {
  EVENTFLOW_RETURN_IF_ERROR(status_);
  wall_clock_ms_ += advance.count();
  for (auto& task : tasks_) {
    task->SetWallClock(wall_clock_ms_);
    auto fired = task->PunctuateWallClock(wall_clock_ms_);
    if (!fired.ok()) return fired.status();
    if (task->RefreshIdle(wall_clock_ms_)) EVENTFLOW_RETURN_IF_ERROR(task->AdvanceWatermark());
  }
  return Drain();
}

std::vector<std::string> TopologyTestDriver::ProducedTopicNames() const {
  std::vector<std::string> names;
  for (const auto& [topic, queue] : outputs_) names.push_back(topic);
  return names;
}

}  // namespace eventflow::streams

namespace eventflow::streams {

std::vector<QueryableStoreInfo> TopologyTestDriver::QueryableStoreInfos() const {
  return queryable_ ? queryable_->infos() : std::vector<QueryableStoreInfo>{};
}

Result<ReadOnlyStore> TopologyTestDriver::Store(const StoreQueryParameters& params) const {
  const QueryableStoreInfo* info = queryable_ ? queryable_->Find(params.store) : nullptr;
  if (info == nullptr) return Status::NotFound("no store named " + params.store);
  if (params.partition && *params.partition != 0) {
    return Status::InvalidArgument("store " + params.store + " has partition 0 only, not " +
                                   std::to_string(*params.partition));
  }
  return queryable_->Handle(*info, params.partition);
}

Result<KeyQueryMetadata> TopologyTestDriver::QueryMetadataForKey(std::string_view store,
                                                                 std::string_view) const {
  if (queryable_ == nullptr || queryable_->Find(store) == nullptr) {
    return Status::NotFound("no store named " + std::string(store));
  }
  KeyQueryMetadata metadata;
  metadata.partition = 0;
  metadata.local = true;
  return metadata;
}

Result<std::vector<StreamsMetadata>> TopologyTestDriver::StreamsMetadataForStore(
    std::string_view store) const {
  if (queryable_ == nullptr || queryable_->Find(store) == nullptr) {
    return Status::NotFound("no store named " + std::string(store));
  }
  StreamsMetadata local;
  local.local = true;
  local.partitions = {0};
  return std::vector<StreamsMetadata>{local};
}

}  // namespace eventflow::streams
