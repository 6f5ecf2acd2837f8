#include "eventflow/streams/stream_task.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"

namespace eventflow::streams {

BufferedRecord MakeOwnedRecord(std::string_view topic, int32_t partition, int64_t offset,
                               int64_t timestamp, std::optional<std::string_view> key,
                               std::optional<std::string_view> value, Headers headers) {
  BufferedRecord r;
  r.bytes = std::make_unique<std::string[]>(3);
  r.bytes[0].assign(topic);
  if (key) r.bytes[1].assign(*key);
  if (value) r.bytes[2].assign(*value);
  r.raw.topic = r.bytes[0];
  r.raw.partition = partition;
  r.raw.offset = offset;
  r.raw.timestamp = timestamp;
  if (key) r.raw.key = std::string_view(r.bytes[1]);
  if (value) r.raw.value = std::string_view(r.bytes[2]);
  r.raw.headers = std::move(headers);
  return r;
}

StreamTask::StreamTask(TaskId id, const Topology& topology,
                       const Topology::SubTopology& subtopology, TaskOptions options,
                       RecordCollector* collector)
    : id_(id),
      topology_(topology),
      subtopology_(subtopology),
      options_(std::move(options)),
      collector_(collector),
      dlq_topic_(DeadLetterTopic(options_.application_id)) {
  if (!options_.wall_clock) {
    options_.wall_clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

StreamTask::~StreamTask() { Close(); }

Status StreamTask::Init() {
  auto instance =
      topology_.Instantiate(subtopology_, topology_.ResolverFor(options_.application_id));
  if (!instance.ok()) return instance.status().WithContext("task " + id_.ToString());
  instance_ = std::move(*instance);
  EVENTFLOW_RETURN_IF_ERROR(OpenStores());
  // Before the nodes: their Init registers their stores with the cache, in
  // node order, which is FlushAll's order.
  if (options_.record_cache_bytes > 0 && !stores_.empty()) {
    cache_ = std::make_unique<state::RecordCache>(options_.record_cache_bytes);
  }
  for (auto& node : instance_.nodes) node->Init(this);
  return Status::OK();
}

namespace {

// Sends a store's changes to its changelog partition (the task's partition)
// through the task's collector, so under exactly-once they are part of the
// task's transaction.
class TaskChangelogWriter final : public state::ChangelogWriter {
 public:
  TaskChangelogWriter(std::string topic, int32_t partition, RecordCollector* collector)
      : topic_(std::move(topic)), partition_(partition), collector_(collector) {}
  Status Log(std::string_view key, std::optional<std::string_view> value,
             int64_t timestamp) override {
    return collector_->Send(topic_, partition_, key, value, timestamp, no_headers_);
  }

 private:
  std::string topic_;
  int32_t partition_;
  RecordCollector* collector_;
  Headers no_headers_;
};

}  // namespace

Status StreamTask::OpenStores() {
  for (const std::string& name : subtopology_.stores) {
    const StoreSpec* spec = topology_.FindStore(name);
    if (spec == nullptr) return Status::Internal("unknown store " + name);
    state::StoreOptions options;
    options.name = spec->name;
    options.backend = spec->in_memory ? state::StoreBackend::kInMemory : state::StoreBackend::kRocksDb;
    options.state_dir = options_.state_dir;
    options.application_id = options_.application_id;
    options.task_id = id_.ToString();
    options.memory_budget = options_.memory_budget;
    options.rocksdb_config_setter = options_.rocksdb_config_setter;
    if (spec->logging) {
      changelog_writers_.push_back(std::make_unique<TaskChangelogWriter>(
          ChangelogTopic(options_.application_id, spec->name), id_.partition, collector_));
      options.changelog_writer = changelog_writers_.back().get();
    }
    std::unique_ptr<state::StateStore> store;
    switch (spec->kind) {
      case StoreSpec::Kind::kKeyValue: {
        auto kv = state::OpenKeyValueStore(options);
        if (!kv.ok()) return kv.status().WithContext("task " + id_.ToString());
        store = std::move(*kv);
        break;
      }
      case StoreSpec::Kind::kWindow: {
        state::WindowStoreOptions window;
        window.retention = spec->retention;
        window.segment_interval = spec->segment_interval;
        window.retain_duplicates = spec->retain_duplicates;
        auto ws = state::OpenWindowStore(options, window);
        if (!ws.ok()) return ws.status().WithContext("task " + id_.ToString());
        store = std::move(*ws);
        break;
      }
      case StoreSpec::Kind::kSession: {
        state::SessionStoreOptions session;
        session.retention = spec->retention;
        session.segment_interval = spec->segment_interval;
        auto ss = state::OpenSessionStore(options, session);
        if (!ss.ok()) return ss.status().WithContext("task " + id_.ToString());
        store = std::move(*ss);
        break;
      }
    }
    stores_.emplace(name, std::move(store));
  }
  return Status::OK();
}

state::StateStore* StreamTask::GetStateStore(std::string_view name) {
  auto it = stores_.find(name);
  return it != stores_.end() ? it->second.get() : nullptr;
}

Status StreamTask::CommitStores(const std::map<std::string, int64_t>& changelog_offsets) {
  for (auto& [name, store] : stores_) {
    auto it = changelog_offsets.find(name);
    const int64_t offset =
        it != changelog_offsets.end() ? it->second : store->CommittedOffset().value_or(0);
    EVENTFLOW_RETURN_IF_ERROR(store->Commit(offset).WithContext("task " + id_.ToString()));
  }
  return Status::OK();
}

Status StreamTask::FlushCache() {
  if (cache_ == nullptr) return Status::OK();
  return cache_->FlushAll().WithContext("task " + id_.ToString() + ": flushing the record cache");
}

Status StreamTask::ResizeCache(size_t bytes) {
  if (cache_ == nullptr) return Status::OK();
  return cache_->Resize(bytes).WithContext("task " + id_.ToString() +
                                           ": resizing the record cache");
}

void StreamTask::AbortStores() {
  if (cache_ != nullptr) cache_->Clear();  // it may hold rolled-back updates
  for (auto& [name, store] : stores_) store->Abort();
}

// Called per record by AddRecord(): a string_view, so finding the partition
// allocates nothing.
StreamTask::PartitionState& StreamTask::StateFor(std::string_view topic, int32_t partition) {
  for (auto& p : partitions_) {
    if (p->partition == partition && p->topic == topic) return *p;
  }
  auto state = std::make_unique<PartitionState>();
  state->topic.assign(topic);
  state->partition = partition;
  auto it = instance_.source_by_topic.find(state->topic);
  state->source = it != instance_.source_by_topic.end() ? it->second : nullptr;
  partitions_.push_back(std::move(state));
  return *partitions_.back();
}

void StreamTask::AddRecord(BufferedRecord record) {
  PartitionState& p = StateFor(record.raw.topic, record.raw.partition);
  p.queue.push_back(std::move(record));
  ++buffered_;
}

Result<bool> StreamTask::Process() {
  if (buffered_ == 0) return false;
  // The partition whose head record has the smallest timestamp goes first.
  PartitionState* next = nullptr;
  for (auto& p : partitions_) {
    if (p->queue.empty()) continue;
    if (next == nullptr || p->queue.front().raw.timestamp < next->queue.front().raw.timestamp) {
      next = p.get();
    }
  }
  BufferedRecord record = std::move(next->queue.front());
  next->queue.pop_front();
  --buffered_;
  const RawRecord& raw = record.raw;
  next->next_offset = raw.offset + 1;
  if (next->source == nullptr) {
    return Status::Internal("task " + id_.ToString() + " got a record of topic \"" +
                            std::string(raw.topic) + "\", which none of its sources reads");
  }

  record_context_ = RecordContext{raw.topic, raw.partition, raw.offset};
  in_record_ = true;
  // The wall clock is read once per 64 records: the bound is a day by default,
  // so a clock a few milliseconds stale changes nothing.
  if ((clock_reads_++ & 63) == 0) cached_wall_clock_ = options_.wall_clock();
  const int64_t max_timestamp = cached_wall_clock_ + options_.max_future_skew.count();
  Status status;
  std::string_view stage;
  try {
    status = next->source->ProcessRaw(raw, max_timestamp);
    if (!status.ok()) {
      stage = next->source->failure() == SourceNodeBase::Failure::kTimestamp ? "timestamp"
                                                                              : "deserialization";
    }
  } catch (const ProductionError& e) {
    status = Status::InvalidArgument(std::string("producing output failed: ") + e.what());
    stage = "production";
  } catch (const std::exception& e) {
    status = Status::InvalidArgument(std::string("processing failed: ") + e.what());
    stage = "processing";
  } catch (...) {
    status = Status::InvalidArgument("processing failed: unknown exception");
    stage = "processing";
  }
  in_record_ = false;
  if (!status.ok()) {
    const ErrorPolicy policy = stage == "processing"   ? options_.processing_errors
                               : stage == "production" ? options_.production_errors
                                                       : options_.deserialization_errors;
    EVENTFLOW_RETURN_IF_ERROR(HandleBadRecord(raw, stage, status.message(), policy));
    return true;
  }
  ++counters_.processed;
  const int64_t ts = next->source->last_timestamp();
  next->stream_time = std::max(next->stream_time, ts);
  if (ts > stream_time_) {
    stream_time_ = ts;
    EVENTFLOW_RETURN_IF_ERROR(PunctuateStreamTime());
  }
  return true;
}

Status StreamTask::HandleBadRecord(const RawRecord& raw, std::string_view stage,
                                   const std::string& error, ErrorPolicy policy) {
  const std::string where = "task " + id_.ToString() + ", topic " + std::string(raw.topic) +
                            ", partition " + std::to_string(raw.partition) + ", offset " +
                            std::to_string(raw.offset);
  if (policy == ErrorPolicy::kFail) {
    return Status::InvalidArgument("bad record (" + std::string(stage) + ") at " + where + ": " +
                                   error);
  }
  Headers headers = raw.headers;
  headers.Add(kDlqErrorHeader, error);
  headers.Add(kDlqStageHeader, stage);
  headers.Add(kDlqTopicHeader, raw.topic);
  headers.Add(kDlqPartitionHeader, std::to_string(raw.partition));
  headers.Add(kDlqOffsetHeader, std::to_string(raw.offset));
  const Status sent = collector_->Send(dlq_topic_, -1, raw.key, raw.value, raw.timestamp, headers);
  if (!sent.ok()) {
    // Not even the dead-letter topic takes it (e.g. larger than the producer's
    // limit): nothing can keep this record, so the task stops.
    return sent.WithContext("cannot dead-letter the bad record (" + std::string(stage) +
                            ") at " + where + " (" + error + ")");
  }
  ++counters_.dead_lettered;
  return Status::OK();
}

Cancellable StreamTask::Schedule(std::chrono::milliseconds interval, PunctuationType type,
                                 Punctuator punctuator) {
  if (interval.count() <= 0) {
    throw std::invalid_argument("punctuation interval must be positive, got " +
                                std::to_string(interval.count()) + " ms");
  }
  auto cancelled = std::make_shared<bool>(false);
  if (type == PunctuationType::kStreamTime) {
    // First at the first record (stream time >= 0), then at multiples of the interval.
    stream_time_punctuators_.push_back(
        Schedule_{0, interval.count(), std::move(punctuator), cancelled});
  } else {
    wall_clock_punctuators_.push_back(Schedule_{options_.wall_clock() + interval.count(),
                                                interval.count(), std::move(punctuator),
                                                cancelled});
  }
  return Cancellable(cancelled);
}

Status StreamTask::FirePunctuators(std::vector<Schedule_>& schedules, int64_t now,
                                   std::string_view kind) {
  Status result;
  // Index loop: a punctuator may schedule another (push_back).
  for (size_t i = 0; i < schedules.size() && result.ok(); ++i) {
    if (*schedules[i].cancelled || schedules[i].next > now) continue;
    // Next due time: the first multiple of the interval after `now`, counted
    // from the previous due time (missed periods are skipped, not replayed).
    const int64_t interval = schedules[i].interval;
    schedules[i].next += interval * ((now - schedules[i].next) / interval + 1);
    Punctuator fn = schedules[i].fn;  // the vector may grow while it runs
    ++counters_.punctuations;
    // A punctuator has no input record to dead-letter: under the default
    // policy its failure is logged and counted; under kFail it stops the task.
    std::string error;
    try {
      fn(now);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (error.empty()) continue;
    ++counters_.punctuation_errors;
    const std::string message = "task " + id_.ToString() + ": " + std::string(kind) +
                                " punctuator at " + std::to_string(now) + " failed: " + error;
    if (options_.processing_errors == ErrorPolicy::kFail) {
      result = Status::InvalidArgument(message);
    } else {
      Log(LogLevel::kWarn, "stream-task", message);
    }
  }
  std::erase_if(schedules, [](const Schedule_& s) { return *s.cancelled; });
  return result;
}

Status StreamTask::PunctuateStreamTime() {
  return FirePunctuators(stream_time_punctuators_, stream_time_, "stream-time");
}

bool StreamTask::WallClockPunctuationDue(int64_t now_ms) const {
  for (const Schedule_& s : wall_clock_punctuators_) {
    if (!*s.cancelled && s.next <= now_ms) return true;
  }
  return false;
}

Result<int> StreamTask::PunctuateWallClock(int64_t now_ms) {
  const uint64_t before = counters_.punctuations;
  EVENTFLOW_RETURN_IF_ERROR(FirePunctuators(wall_clock_punctuators_, now_ms, "wall-clock"));
  return static_cast<int>(counters_.punctuations - before);
}

void StreamTask::ResetPartition(const std::string& topic, int32_t partition, int64_t next_offset,
                                int64_t stream_time) {
  PartitionState& p = StateFor(topic, partition);
  buffered_ -= p.queue.size();
  p.queue.clear();
  p.next_offset = next_offset;
  p.stream_time = stream_time;
  stream_time_ = -1;
  for (const auto& q : partitions_) stream_time_ = std::max(stream_time_, q->stream_time);
}

void StreamTask::ClearBuffers() {
  for (auto& p : partitions_) p->queue.clear();
  buffered_ = 0;
}

std::vector<PartitionProgress> StreamTask::Progress() const {
  std::vector<PartitionProgress> out;
  for (const auto& p : partitions_) {
    if (p->next_offset >= 0) out.push_back({p->topic, p->partition, p->next_offset, p->stream_time});
  }
  return out;
}

void StreamTask::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& node : instance_.nodes) node->Close();
  cache_.reset();  // its listeners point into the nodes; unflushed updates are dropped
  instance_.nodes.clear();
  stores_.clear();  // uncommitted writes are dropped
  changelog_writers_.clear();
}

}  // namespace eventflow::streams
