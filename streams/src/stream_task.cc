#include "eventflow/streams/stream_task.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>

#include "eventflow/core/log.h"
#include "processor_state_manager.h"

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

namespace {

constexpr int64_t kNoHold = std::numeric_limits<int64_t>::max();

// Parses a whole decimal int64 (optional '-'); false on anything else.
bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

Status BadMetadata(std::string_view metadata, const std::string& what) {
  std::string shown(metadata.substr(0, 120));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return Status::InvalidArgument("offset commit metadata \"" + shown +
                                 (metadata.size() > 120 ? "...\"" : "\"") + " is invalid: " + what +
                                 " (expected \"st=<ms>\" or \"st=<ms>;up=<n>:<d0>,...\")");
}

}  // namespace

std::string FormatWatermarkStamp(const WatermarkStamp& stamp) {
  std::string out = stamp.task.ToString() + ":" + std::to_string(stamp.watermark);
  if (stamp.origin_time >= 0) out += ":" + std::to_string(stamp.origin_time);
  return out;
}

Result<WatermarkStamp> ParseWatermarkStamp(std::string_view text) {
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("watermark stamp \"" + std::string(text.substr(0, 64)) +
                                   "\" is invalid: " + what +
                                   " (expected \"<subtopology>_<partition>:<watermark ms>"
                                   "[:<origin time ms>]\")");
  };
  const size_t underscore = text.find('_');
  const size_t colon = text.find(':');
  if (underscore == std::string_view::npos || colon == std::string_view::npos ||
      colon < underscore) {
    return bad("missing '_' or ':'");
  }
  int64_t sub = 0, partition = 0, watermark = 0;
  if (!ParseInt(text.substr(0, underscore), &sub) || sub < 0 || sub > 1'000'000) {
    return bad("bad sub-topology");
  }
  if (!ParseInt(text.substr(underscore + 1, colon - underscore - 1), &partition) || partition < 0 ||
      partition > std::numeric_limits<int32_t>::max()) {
    return bad("bad partition");
  }
  const size_t second = text.find(':', colon + 1);
  const std::string_view watermark_text = second == std::string_view::npos
                                              ? text.substr(colon + 1)
                                              : text.substr(colon + 1, second - colon - 1);
  // Times beyond year 9999 are no event times (and would overflow the
  // offset metadata's deltas).
  constexpr int64_t kMaxTime = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  if (!ParseInt(watermark_text, &watermark) || watermark < -1 || watermark > kMaxTime) {
    return bad("bad watermark");
  }
  int64_t origin = -1;
  if (second != std::string_view::npos &&
      (!ParseInt(text.substr(second + 1), &origin) || origin < 0 || origin > kMaxTime)) {
    return bad("bad origin time");
  }
  return WatermarkStamp{TaskId{static_cast<int>(sub), static_cast<int32_t>(partition)}, watermark,
                        origin};
}

std::string FormatOffsetMetadata(const PartitionTimes& times) {
  std::string out = "st=" + std::to_string(times.stream_time);
  if (!times.upstream_watermarks.empty()) {
    out += ";up=" + std::to_string(times.upstream_watermarks.size()) + ":";
    for (size_t i = 0; i < times.upstream_watermarks.size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(times.upstream_watermarks[i] - times.stream_time);
    }
  }
  if (times.last_processed >= 0) out += ";lp=" + std::to_string(times.last_processed);
  return out;
}

Result<PartitionTimes> ParseOffsetMetadata(std::string_view metadata) {
  PartitionTimes times;
  if (metadata.empty()) return times;
  if (!metadata.starts_with("st=")) return BadMetadata(metadata, "it does not start with \"st=\"");
  const size_t semi = metadata.find(';');
  if (!ParseInt(
          metadata.substr(3, semi == std::string_view::npos ? std::string_view::npos : semi - 3),
          &times.stream_time) ||
      times.stream_time < -1) {
    return BadMetadata(metadata, "the stream time is not an integer >= -1");
  }
  if (semi == std::string_view::npos) return times;
  std::string_view rest = metadata.substr(semi + 1);
  if (rest.starts_with("up=")) {
    rest.remove_prefix(3);
    const size_t colon = rest.find(':');
    int64_t n = 0;
    if (colon == std::string_view::npos || !ParseInt(rest.substr(0, colon), &n) || n < 1 ||
        n > 100'000) {
      return BadMetadata(metadata, "the upstream task count is not an integer in 1..100000");
    }
    rest.remove_prefix(colon + 1);
    // The list ends at the next ';' (then "lp=" follows) or at the end.
    const size_t end = rest.find(';');
    std::string_view list = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    times.upstream_watermarks.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const size_t comma = list.find(',');
      if ((comma == std::string_view::npos) != (i == n - 1)) {
        return BadMetadata(
            metadata, "it lists a number of upstream watermarks other than " + std::to_string(n));
      }
      int64_t delta = 0;
      if (!ParseInt(list.substr(0, comma), &delta)) {
        return BadMetadata(metadata,
                           "upstream watermark " + std::to_string(i) + " is not an integer");
      }
      int64_t w = 0;
      if (__builtin_add_overflow(times.stream_time, delta, &w) || w < -1) {
        return BadMetadata(metadata, "upstream watermark " + std::to_string(i) + " is below -1");
      }
      times.upstream_watermarks.push_back(w);
      if (comma != std::string_view::npos) list.remove_prefix(comma + 1);
    }
    if (rest.empty()) return times;
    rest.remove_prefix(1);  // ';'
  }
  if (!rest.starts_with("lp=")) {
    return BadMetadata(metadata, "expected \"up=\" or \"lp=\" after ';'");
  }
  if (!ParseInt(rest.substr(3), &times.last_processed) || times.last_processed < 0) {
    return BadMetadata(metadata, "the last-processed time is not an integer >= 0");
  }
  return times;
}

StreamTask::StreamTask(TaskId id, const Topology& topology,
                       const Topology::SubTopology& subtopology, TaskOptions options,
                       RecordCollector* collector)
    : id_(id),
      topology_(topology),
      subtopology_(subtopology),
      options_(std::move(options)),
      collector_(collector),
      stamp_prefix_(id.ToString() + ":"),
      dlq_topic_(DeadLetterTopic(options_.application_id)) {
  state_ = std::make_unique<ProcessorStateManager>(
      id, topology, subtopology.stores,
      ProcessorStateManager::Options{options_.application_id, options_.state_dir,
                                     options_.memory_budget, options_.rocksdb_config_setter});
  if (!options_.wall_clock) {
    options_.wall_clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  cached_wall_clock_ = options_.wall_clock();
}

StreamTask::~StreamTask() { Close(); }

Status StreamTask::Init() {
  auto instance =
      topology_.Instantiate(subtopology_, topology_.ResolverFor(options_.application_id));
  if (!instance.ok()) return instance.status().WithContext("task " + id_.ToString());
  instance_ = std::move(*instance);
  EVENTFLOW_RETURN_IF_ERROR(state_->Open(collector_, &cached_wall_clock_));
  // Before the nodes: their Init registers their stores with the cache, in
  // node order, which is FlushAll's order.
  if (options_.record_cache_bytes > 0 && !state_->stores().empty()) {
    cache_ = std::make_unique<state::RecordCache>(options_.record_cache_bytes);
  }
  for (auto& node : instance_.nodes) {
    // A user's Init may throw (e.g. its store is missing): the task cannot
    // run, and the error names the node instead of ending the process.
    try {
      node->Init(this);
    } catch (const std::exception& e) {
      return Status::InvalidArgument("task " + id_.ToString() + ": node \"" + node->name() +
                                     "\" failed to initialise: " + e.what());
    } catch (...) {
      return Status::InvalidArgument("task " + id_.ToString() + ": node \"" + node->name() +
                                     "\" failed to initialise: a non-standard exception");
    }
  }
  const TopicResolver resolve = topology_.ResolverFor(options_.application_id);
  for (const std::string& topic : subtopology_.sink_topics) {
    auto it = options_.repartition_sinks.find(resolve(topic));
    if (it != options_.repartition_sinks.end()) repartition_sinks_.emplace_back(*it);
    if (options_.e2e_latency && !topology_.IsInternalTopic(topic)) {
      const std::string resolved = resolve(topic);
      if (Histogram* h = options_.e2e_latency(resolved)) latency_sinks_.emplace_back(resolved, h);
    }
  }
  return Status::OK();
}

state::StateStore* StreamTask::GetStateStore(std::string_view name) {
  return state_->GetStore(name);
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
  state_->Abort();
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
  auto up = options_.upstream_tasks.find(state->topic);
  if (up != options_.upstream_tasks.end()) {
    state->upstream_ids = &up->second;
    state->upstream.resize(up->second.size());
  }
  // Once per partition: idleness is measured from its registration.
  state->active_ms = options_.wall_clock();
  for (Upstream& u : state->upstream) u.active_ms = state->active_ms;
  partitions_.push_back(std::move(state));
  return *partitions_.back();
}

void StreamTask::AddInputPartition(const std::string& topic, int32_t partition) {
  StateFor(topic, partition);
}

void StreamTask::AddRecord(BufferedRecord record) {
  PartitionState& p = StateFor(record.raw.topic, record.raw.partition);
  p.queue.push_back(std::move(record));
  ++p.received;
  p.idle = false;  // holds the watermark back again (it never goes down, though)
  ++buffered_;
}

int64_t StreamTask::TimeOf(const PartitionState& p) {
  if (p.idle) return kNoHold;
  if (p.upstream_ids == nullptr) return p.stream_time;
  int64_t t = kNoHold;
  for (const Upstream& u : p.upstream) {
    if (!u.idle) t = std::min(t, u.watermark);
  }
  return t;
}

int64_t StreamTask::ComputeWatermark(const PartitionState* current, int64_t time) const {
  int64_t w = kNoHold;
  for (const auto& p : partitions_) {
    int64_t t = TimeOf(*p);
    if (p.get() == current && t != kNoHold) t = std::max(t, time);
    w = std::min(w, t);
  }
  return w;
}

bool StreamTask::UpdateWatermark() {
  const int64_t w = ComputeWatermark(nullptr, -1);
  if (w == kNoHold || w <= watermark_) return false;  // all idle: it stays
  watermark_ = w;
  return true;
}

int64_t StreamTask::watermark() const {
  // During a record of a source partition, count the record in its partition
  // (its event time is the source's last timestamp); a repartition record's
  // stamp was applied before processing.
  const PartitionState* p = in_record_ ? current_ : nullptr;
  if (p == nullptr || p->upstream_ids != nullptr || p->source == nullptr) return watermark_;
  const int64_t ts = p->source->last_timestamp();
  if (ts <= p->stream_time) return watermark_;
  const int64_t w = ComputeWatermark(p, ts);
  return w == kNoHold ? watermark_ : std::max(watermark_, w);
}

int64_t StreamTask::record_partition_time() const {
  const PartitionState* p = in_record_ ? current_ : nullptr;
  if (p == nullptr) return -1;
  if (p->upstream_ids != nullptr) return current_origin_time_;
  if (p->source == nullptr) return p->stream_time;
  return std::max(p->stream_time, p->source->last_timestamp());
}

size_t StreamTask::buffered(std::string_view topic, int32_t partition) const {
  for (const auto& p : partitions_) {
    if (p->partition == partition && p->topic == topic) return p->queue.size();
  }
  return 0;
}

int64_t StreamTask::PartitionTime(std::string_view topic, int32_t partition) const {
  for (const auto& p : partitions_) {
    if (p->partition == partition && p->topic == topic) return TimeOf(*p);
  }
  return -1;
}

void StreamTask::ApplyStamp(PartitionState& p, std::string_view text) {
  auto stamp = ParseWatermarkStamp(text);
  size_t i = 0;
  if (stamp.ok()) {
    const std::vector<TaskId>& ids = *p.upstream_ids;
    while (i < ids.size() && ids[i] != stamp->task) ++i;
    if (i == ids.size()) {
      stamp = Status::InvalidArgument("watermark stamp from task " + stamp->task.ToString() +
                                      ", which does not write this topic");
    }
  }
  if (!stamp.ok()) {
    // Not from a task of this application (or of an older topology): the
    // record is still processed; the stamp cannot advance anything.
    if (!warned_stamp_) {
      warned_stamp_ = true;
      Log(LogLevel::kWarn, "stream-task",
          "task " + id_.ToString() + ", topic " + p.topic + ", partition " +
              std::to_string(p.partition) + ": ignoring " + stamp.status().message() +
              "; further ones in this task are ignored silently");
    }
    return;
  }
  current_origin_time_ = stamp->origin_time;
  Upstream& u = p.upstream[i];
  u.watermark = std::max(u.watermark, stamp->watermark);
  ++u.heard;
  u.idle = false;
}

bool StreamTask::RefreshIdle(int64_t now_ms) {
  const int64_t timeout = options_.watermark_idle_timeout.count();
  if (timeout <= 0) return false;
  for (auto& p : partitions_) {
    if (!p->queue.empty() || p->received != p->received_at_check) {
      p->received_at_check = p->received;
      p->active_ms = now_ms;
      p->idle = false;
    } else if (now_ms - p->active_ms >= timeout) {
      p->idle = true;
    }
    // An upstream task's records may wait unparsed in the buffer: judge
    // upstream tasks only when it is empty.
    if (!p->queue.empty()) continue;
    for (Upstream& u : p->upstream) {
      if (u.heard != u.heard_at_check) {
        u.heard_at_check = u.heard;
        u.active_ms = now_ms;
        u.idle = false;
      } else if (now_ms - u.active_ms >= timeout) {
        u.idle = true;
      }
    }
  }
  const int64_t w = ComputeWatermark(nullptr, -1);
  return w != kNoHold && w > watermark_;
}

Status StreamTask::AdvanceWatermark() {
  if (!UpdateWatermark()) return Status::OK();
  return PunctuateStreamTime();
}

Status StreamTask::EmitWatermarks() {
  if (repartition_sinks_.empty() || watermark_ <= emitted_watermark_) return Status::OK();
  Headers headers;
  headers.Add(kWatermarkRecordHeader, FormatWatermarkStamp({id_, watermark_}));
  for (const auto& [topic, partitions] : repartition_sinks_) {
    for (int32_t p = 0; p < partitions; ++p) {
      EVENTFLOW_RETURN_IF_ERROR(
          collector_->Send(topic, p, std::nullopt, std::nullopt, watermark_, headers)
              .WithContext("task " + id_.ToString() + ": sending its watermark to " + topic));
      ++counters_.watermark_records_sent;
    }
  }
  emitted_watermark_ = watermark_;
  return Status::OK();
}

Status StreamTask::WatermarkCollector::Send(std::string_view topic, int32_t partition,
                                            std::optional<std::string_view> key,
                                            std::optional<std::string_view> value,
                                            int64_t timestamp, const Headers& headers) {
  for (const auto& sink : task_->repartition_sinks_) {
    if (sink.first != topic) continue;
    // "<task id>:<watermark>" into a fixed buffer: no allocation per record.
    const std::string& prefix = task_->stamp_prefix_;
    const size_t n = std::min(prefix.size(), sizeof(stamp_) - 24);
    std::memcpy(stamp_, prefix.data(), n);
    const int64_t watermark = task_->watermark();
    auto [end, ec] = std::to_chars(stamp_ + n, stamp_ + sizeof(stamp_), watermark);
    // The origin time: the record in process's own partition time, else (a
    // punctuator or a cache flush) the watermark, which is never later.
    const int64_t origin = task_->in_record_ ? task_->record_partition_time() : watermark;
    if (ec == std::errc() && origin >= 0 && end < stamp_ + sizeof(stamp_)) {
      *end++ = ':';
      auto [end2, ec2] = std::to_chars(end, stamp_ + sizeof(stamp_), origin);
      end = ec2 == std::errc() ? end2 : end - 1;
    }
    return task_->collector_->SendWithHeader(topic, partition, key, value, timestamp, headers,
                                             kWatermarkHeader,
                                             std::string_view(stamp_, end - stamp_));
  }
  for (const auto& [name, latency] : task_->latency_sinks_) {
    if (name != topic) continue;
    // Against the wall clock the thread reads once per loop (and Process()
    // every 64 records): no clock reading per record.
    if (timestamp >= 0) {
      latency->Observe(
          static_cast<double>(std::max<int64_t>(0, task_->cached_wall_clock_ - timestamp)) / 1e3);
    }
    break;
  }
  return task_->collector_->Send(topic, partition, key, value, timestamp, headers);
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
  bool advanced = false;
  if (next->upstream_ids != nullptr && !raw.headers.empty()) {
    if (!raw.key && !raw.value) {
      if (const std::string* stamp = raw.headers.LastValue(kWatermarkRecordHeader)) {
        // A watermark record: consumed here, never processed nor dead-lettered.
        ++counters_.watermark_records;
        ApplyStamp(*next, *stamp);
        if (UpdateWatermark()) EVENTFLOW_RETURN_IF_ERROR(PunctuateStreamTime());
        return true;
      }
    }
    current_origin_time_ = -1;
    if (const std::string* stamp = raw.headers.LastValue(kWatermarkHeader)) {
      ApplyStamp(*next, *stamp);
      record.raw.headers.Remove(kWatermarkHeader);  // processors never see it
      advanced = UpdateWatermark();
    }
  }

  record_context_ = RecordContext{raw.topic, raw.partition, raw.offset};
  current_ = next;
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
    if (IsTransactionFailure(e.status())) {
      // The producer refuses everything: not this record's fault.
      in_record_ = false;
      current_ = nullptr;
      return e.status().WithContext("task " + id_.ToString() + ", topic " + std::string(raw.topic) +
                                    ", partition " + std::to_string(raw.partition) + ", offset " +
                                    std::to_string(raw.offset));
    }
    status = Status::InvalidArgument(std::string("producing output failed: ") + e.what());
    stage = "production";
  } catch (const StateStoreError& e) {
    // Not the record's fault (a full disk, an I/O error): nothing is
    // dead-lettered, the task fails and its thread stops without committing.
    in_record_ = false;
    current_ = nullptr;
    return e.status().WithContext(
        "task " + id_.ToString() + ": state store failed at topic " + std::string(raw.topic) +
        ", partition " + std::to_string(raw.partition) + ", offset " + std::to_string(raw.offset));
  } catch (const std::exception& e) {
    status = Status::InvalidArgument(std::string("processing failed: ") + e.what());
    stage = "processing";
  } catch (...) {
    status = Status::InvalidArgument("processing failed: unknown exception");
    stage = "processing";
  }
  in_record_ = false;
  current_ = nullptr;
  if (!status.ok()) {
    const ErrorPolicy policy = stage == "processing"   ? options_.processing_errors
                               : stage == "production" ? options_.production_errors
                                                       : options_.deserialization_errors;
    EVENTFLOW_RETURN_IF_ERROR(HandleBadRecord(raw, stage, status.message(), policy));
    if (advanced) EVENTFLOW_RETURN_IF_ERROR(PunctuateStreamTime());
    return true;
  }
  ++counters_.processed;
  const int64_t ts = next->source->last_timestamp();
  if (ts > next->stream_time) {
    next->stream_time = ts;
    // A repartition partition's time is its upstream tasks' watermarks.
    if (next->upstream_ids == nullptr && UpdateWatermark()) advanced = true;
  }
  stream_time_ = std::max(stream_time_, ts);
  if (advanced) EVENTFLOW_RETURN_IF_ERROR(PunctuateStreamTime());
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
  headers.Add(kDlqTimestampHeader, std::to_string(raw.timestamp));
  // Stamped with the wall clock: the topic's time retention counts from when
  // the record was dead-lettered, whatever (or however wrong) its own time.
  const Status sent =
      collector_->Send(dlq_topic_, -1, raw.key, raw.value, cached_wall_clock_, headers);
  if (!sent.ok()) {
    if (IsTransactionFailure(sent)) return sent;  // the producer, not the record
    // Not even the dead-letter topic takes it (e.g. larger than the producer's
    // limit): nothing can keep this record, so the task stops.
    return sent.WithContext("cannot dead-letter the bad record (" + std::string(stage) + ") at " +
                            where + " (" + error + ")");
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
    } catch (const StateStoreError& e) {
      // A failed store stops the task whatever the policy (see Process).
      result = e.status().WithContext("task " + id_.ToString() + ": " + std::string(kind) +
                                      " punctuator at " + std::to_string(now));
      break;
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
  // Stream-time punctuators follow the watermark (see ProcessorContext::Schedule).
  if (watermark_ < 0) return Status::OK();
  return FirePunctuators(stream_time_punctuators_, watermark_, "stream-time");
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
                                int64_t stream_time, std::span<const int64_t> upstream_watermarks) {
  PartitionState& p = StateFor(topic, partition);
  buffered_ -= p.queue.size();
  p.queue.clear();
  p.next_offset = next_offset;
  p.stream_time = stream_time;
  if (p.upstream_ids != nullptr) {
    const bool fits = upstream_watermarks.size() == p.upstream.size();
    if (!fits && !upstream_watermarks.empty()) {
      Log(LogLevel::kWarn, "stream-task",
          "task " + id_.ToString() + ", topic " + topic + ", partition " +
              std::to_string(partition) + ": the committed times list " +
              std::to_string(upstream_watermarks.size()) + " upstream watermark(s) but " +
              std::to_string(p.upstream.size()) +
              " upstream tasks write it now; they count as not heard from");
    }
    for (size_t i = 0; i < p.upstream.size(); ++i) {
      p.upstream[i].watermark = fits ? upstream_watermarks[i] : -1;
    }
  }
  stream_time_ = -1;
  for (const auto& q : partitions_) stream_time_ = std::max(stream_time_, q->stream_time);
  // A reset may lower a partition's time; the watermark never goes down
  // within a task's life (the runtime rebuilds tasks after a rewind).
  UpdateWatermark();
  restored_watermark_ = watermark_;
}

Status StreamTask::Resume() {
  std::vector<Punctuator> hooks = std::move(resume_hooks_);
  resume_hooks_.clear();
  if (restored_watermark_ < 0) return Status::OK();
  for (Punctuator& fn : hooks) {
    try {
      fn(restored_watermark_);
    } catch (const StateStoreError& e) {
      return e.status().WithContext("task " + id_.ToString() + ": resuming at watermark " +
                                    std::to_string(restored_watermark_));
    }
  }
  return Status::OK();
}

bool StreamTask::AdvancePartitionTo(std::string_view topic, int32_t partition, int64_t offset) {
  for (auto& p : partitions_) {
    if (p->partition != partition || p->topic != topic) continue;
    if (!p->queue.empty() || p->next_offset >= offset) return false;
    p->next_offset = offset;
    return true;
  }
  return false;
}

void StreamTask::ClearBuffers() {
  for (auto& p : partitions_) p->queue.clear();
  buffered_ = 0;
}

std::vector<PartitionProgress> StreamTask::Progress() const {
  std::vector<PartitionProgress> out;
  for (const auto& p : partitions_) {
    if (p->next_offset < 0) continue;
    PartitionProgress progress{p->topic, p->partition, p->next_offset, p->stream_time, {}};
    for (const Upstream& u : p->upstream) progress.upstream_watermarks.push_back(u.watermark);
    out.push_back(std::move(progress));
  }
  return out;
}

void StreamTask::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& node : instance_.nodes) node->Close();
  cache_.reset();  // its listeners point into the nodes; unflushed updates are dropped
  instance_.nodes.clear();
  state_->Close();  // uncommitted writes are dropped
}

}  // namespace eventflow::streams
