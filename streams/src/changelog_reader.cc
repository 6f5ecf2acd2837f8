#include "changelog_reader.h"

#include <algorithm>
#include <map>

#include "eventflow/core/log.h"
#include "thread_shared.h"

namespace eventflow::streams {

using Clock = std::chrono::steady_clock;

// One registered changelog partition: an active task's restore, or a
// standby task's tail.
struct ChangelogReader::Partition {
  TaskId task;
  ProcessorStateManager* state = nullptr;
  ProcessorStateManager::Changelog changelog;
  std::string what;      // "task <id> store <name>"
  bool standby = false;  // a standby task's partition (never done)
  bool full = true;      // no usable stored offset: restoring from 0
  int64_t from = 0;      // where restoring starts (moved up past a gap)
  int64_t high = 0;      // restore: the changelog's end when it began; standby: as last seen
  int64_t next = 0;      // the offset after the last record read
  uint64_t restored = 0;
  int64_t remaining = 0;  // as last reported to RestoreProgress
  bool done = false;
  // Standbys only.
  bool at_end = false;  // an end-of-partition event at `next`, no record since
  int64_t stored = -1;  // the position last stored with the store's data
  int64_t lag = -1;
  std::vector<ConsumerItem> batch;
};

const char* ChangelogReader::KindName(RestoreKind kind) {
  switch (kind) {
    case RestoreKind::kNone:
      return "none";
    case RestoreKind::kTail:
      return "tail";
    case RestoreKind::kFull:
      return "full";
  }
  return "?";
}

ChangelogReader::ChangelogReader(KafkaClientSupplier* supplier, const StreamsConfig& config,
                                 std::string thread, RestoreProgress* progress, LostRecords* lost,
                                 std::function<void()> on_batch_restored)
    : supplier_(supplier),
      config_(config),
      thread_(std::move(thread)),
      progress_(progress),
      lost_(lost),
      on_batch_restored_(std::move(on_batch_restored)) {}

ChangelogReader::~ChangelogReader() = default;

Result<ConsumerClient*> ChangelogReader::consumer() {
  if (!consumer_) {
    auto created = supplier_->CreateRestoreConsumer(config_, thread_);
    if (!created.ok()) return created.status();
    consumer_ = std::move(*created);
  }
  return consumer_.get();
}

Status ChangelogReader::Register(TaskId task, ProcessorStateManager* state) {
  Unregister(task);
  last_found_ = nullptr;
  for (const ProcessorStateManager::Changelog& changelog : state->changelogs()) {
    auto p = std::make_unique<Partition>();
    p->task = task;
    p->state = state;
    p->changelog = changelog;
    p->what = state->what() + " store " + changelog.store;
    auto start = state->RestoreStart(changelog);
    if (!start.ok()) return start.status();
    p->full = !start->has_value();
    p->from = start->value_or(0);
    partitions_.push_back(std::move(p));
  }
  return Status::OK();
}

Status ChangelogReader::RegisterStandby(TaskId task, ProcessorStateManager* state) {
  Unregister(task);
  auto created = consumer();
  if (!created.ok()) return created.status();
  ConsumerClient& consumer = **created;
  // Every changelog's start and end in one round. Bounded: the thread loop
  // waits for this (a standby that cannot start now is tried again later).
  std::vector<kafka::PartitionOffset> asked;
  for (const ProcessorStateManager::Changelog& changelog : state->changelogs()) {
    asked.push_back({changelog.topic, changelog.partition, 0});
  }
  auto all_marks = consumer.QueryWatermarksOf(asked, std::chrono::seconds(5));
  if (!all_marks.ok()) {
    return all_marks.status().WithContext("standby " + state->what() +
                                          ": reading the ends of its changelogs");
  }
  std::vector<std::unique_ptr<Partition>> added;
  size_t index = 0;
  for (const ProcessorStateManager::Changelog& changelog : state->changelogs()) {
    const kafka::PartitionWatermarks& marks = (*all_marks)[index++];
    auto p = std::make_unique<Partition>();
    p->task = task;
    p->state = state;
    p->changelog = changelog;
    p->standby = true;
    p->what = "standby " + state->what() + " store " + changelog.store;
    auto start = state->RestoreStart(changelog);
    if (!start.ok()) return start.status();
    p->full = !start->has_value();
    p->from = start->value_or(0);
    if (!p->full && p->from > marks.high) {
      // The copy holds what the changelog does not (it was deleted or
      // truncated): start it over.
      EVENTFLOW_RETURN_IF_ERROR(state->Wipe(
          changelog, "its offset " + std::to_string(p->from) + " is beyond its changelog's end " +
                         std::to_string(marks.high)));
      p->full = true;
      p->from = 0;
    }
    if (p->from < marks.low) {
      if (!changelog.windowed) {
        // Data loss: a copy without those records must not look complete.
        const std::string reason =
            changelog.topic + " partition " + std::to_string(changelog.partition) +
            " starts at offset " + std::to_string(marks.low) + ", above the copy's offset " +
            std::to_string(p->from) + ": records of this compacted changelog are gone";
        EVENTFLOW_RETURN_IF_ERROR(state->Wipe(changelog, reason));
        return Status::DataLoss(p->what + ": " + reason);
      }
      EVENTFLOW_RETURN_IF_ERROR(Gap(*p, p->from, marks.low));
      p->from = marks.low;
    }
    p->next = p->from;
    p->stored = p->full ? -1 : p->from;
    p->high = marks.high;
    p->lag = std::max<int64_t>(0, p->high - p->next);
    added.push_back(std::move(p));
  }
  for (auto& p : added) partitions_.push_back(std::move(p));
  standby_count_ += added.size();
  standby_assignment_dirty_ = standby_assignment_dirty_ || !added.empty();
  last_found_ = nullptr;
  return Status::OK();
}

void ChangelogReader::Unregister(TaskId task) {
  const size_t erased = std::erase_if(partitions_, [&](const std::unique_ptr<Partition>& p) {
    if (p->task != task) return false;
    if (p->standby) {
      --standby_count_;
      standby_assignment_dirty_ = true;
    }
    return true;
  });
  if (erased > 0) last_found_ = nullptr;
}

Status ChangelogReader::FlushStandby(TaskId task) {
  for (auto& p : partitions_) {
    if (p->standby && p->task == task && (!p->batch.empty() || p->stored != p->next)) {
      EVENTFLOW_RETURN_IF_ERROR(Flush(*p));
    }
  }
  return Status::OK();
}

Status ChangelogReader::DropStandby(Partition& p, const std::string& reason) {
  const TaskId task = p.task;
  Log(LogLevel::kError, "standby",
      p.what + ": " + reason + "; wiping the copy and keeping no standby of task " +
          task.ToString() + " (where the task runs, its restore applies the data loss policy)");
  EVENTFLOW_RETURN_IF_ERROR(p.state->Wipe(p.changelog, reason));
  failed_standbys_.emplace_back(task, p.what + ": " + reason);
  Unregister(task);  // `p` is gone from here on
  return Status::OK();
}

TopicPartitionOffsets ChangelogReader::StandbyAssignment() const {
  TopicPartitionOffsets assignment;
  for (const auto& p : partitions_) {
    if (p->standby) assignment.emplace_back(p->changelog.topic, p->changelog.partition, p->next);
  }
  return assignment;
}

Status ChangelogReader::SyncStandbyAssignment() {
  if (!standby_assignment_dirty_) return Status::OK();
  auto created = consumer();
  if (!created.ok()) return created.status();
  const TopicPartitionOffsets assignment = StandbyAssignment();
  standby_assignment_dirty_ = false;
  return (assignment.empty() ? (*created)->Unassign() : (*created)->Assign(assignment))
      .WithContext("standby tasks' changelogs");
}

ChangelogReader::Partition* ChangelogReader::Find(const RawRecord& raw) {
  auto matches = [&](const Partition& p) {
    return p.changelog.partition == raw.partition && p.changelog.topic == raw.topic;
  };
  if (last_found_ != nullptr && matches(*last_found_)) return last_found_;
  for (auto& p : partitions_) {
    if (matches(*p)) return last_found_ = p.get();
  }
  return nullptr;
}

Result<uint64_t> ChangelogReader::Take(ConsumerClient& consumer, ConsumerItem& item) {
  const RawRecord& raw = item.record.raw;
  Partition* found = Find(raw);
  if (found == nullptr) return uint64_t{0};
  Partition& p = *found;
  if (item.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    // Under read_committed the end is the last stable offset.
    p.next = std::max(p.next, raw.offset);
    if (p.standby) {
      p.at_end = true;
      return uint64_t{0};
    }
    EVENTFLOW_RETURN_IF_ERROR(Flush(p));
    p.done = true;
    Report(p, 0, 0);
    return uint64_t{0};
  }
  if (item.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
    // The head was deleted while we read it: go on from the new start.
    auto marks = consumer.QueryWatermarks(p.changelog.topic, p.changelog.partition,
                                          std::chrono::seconds(30));
    if (!marks.ok()) {
      return marks.status().WithContext(p.what + ": reading " + p.changelog.topic);
    }
    EVENTFLOW_RETURN_IF_ERROR(Flush(p));
    const int64_t low = std::max(marks->low, p.next);
    if (p.next < low) {
      if (p.standby && !p.changelog.windowed) {
        EVENTFLOW_RETURN_IF_ERROR(DropStandby(
            p, p.changelog.topic + " partition " + std::to_string(p.changelog.partition) +
                   " lost offsets " + std::to_string(p.next) + " to " + std::to_string(low - 1) +
                   " while the standby read them"));
        return uint64_t{0};
      }
      EVENTFLOW_RETURN_IF_ERROR(Gap(p, p.next, low));
    }
    p.next = low;
    TopicPartitionOffsets seek{{p.changelog.topic, p.changelog.partition, low}};
    EVENTFLOW_RETURN_IF_ERROR(consumer.Seek(&seek, std::chrono::milliseconds(30'000))
                                  .WithContext(p.what + ": seeking " + p.changelog.topic));
    return uint64_t{0};
  }
  if (item.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::FromKafkaError(item.err, p.what + ": reading " + p.changelog.topic);
  }
  p.next = raw.offset + 1;
  p.at_end = false;
  p.batch.push_back(std::move(item));
  if (p.batch.size() >= static_cast<size_t>(config_.restore_batch_records)) {
    EVENTFLOW_RETURN_IF_ERROR(Flush(p));
  }
  return uint64_t{1};
}

Result<uint64_t> ChangelogReader::UpdateStandbys(std::chrono::milliseconds wait) {
  if (standby_count_ == 0) return uint64_t{0};
  auto created = consumer();
  if (!created.ok()) return created.status();
  EVENTFLOW_RETURN_IF_ERROR(SyncStandbyAssignment());
  items_.clear();
  (*created)->PollBatch(wait, static_cast<size_t>(config_.restore_batch_records), &items_);
  uint64_t taken = 0;
  for (ConsumerItem& item : items_) {
    auto n = Take(**created, item);
    if (!n.ok()) {
      items_.clear();
      return n.status();
    }
    taken += *n;
  }
  items_.clear();
  return taken;
}

Status ChangelogReader::CommitStandbys() {
  if (standby_count_ == 0) return Status::OK();
  auto created = consumer();
  if (!created.ok()) return created.status();
  for (auto& owned : partitions_) {
    Partition& p = *owned;
    if (!p.standby) continue;
    if (!p.batch.empty() || p.stored != p.next) EVENTFLOW_RETURN_IF_ERROR(Flush(p));
    const kafka::PartitionWatermarks marks =
        (*created)->CachedWatermarks(p.changelog.topic, p.changelog.partition);
    if (marks.high >= 0) p.high = marks.high;
    p.lag = p.at_end ? 0 : std::max<int64_t>(0, p.high - p.next);
  }
  return Status::OK();
}

std::vector<ChangelogReader::StandbyPartition> ChangelogReader::StandbyPartitions() const {
  std::vector<StandbyPartition> out;
  for (const auto& p : partitions_) {
    if (p->standby) out.push_back(StandbyPartition{p->task, p->changelog.store, p->next, p->lag});
  }
  return out;
}

void ChangelogReader::Report(Partition& p, uint64_t restored, int64_t remaining) {
  progress_->Add(p.changelog.store, restored, remaining - p.remaining);
  p.remaining = remaining;
}

// The changelog starts at `low`, above `from`, where the store needs it to
// start: the records in between are gone. A window or session changelog
// deletes by time (retention.ms counted from when each record was written,
// see ProcessorStateManager's changelog writer): expected, said at WARN. A
// key-value changelog is compacted and never loses its head by itself: that
// is data loss, handled by the data loss policy.
Status ChangelogReader::Gap(Partition& p, int64_t from, int64_t low) {
  const std::string range = "offsets " + std::to_string(from) + " to " + std::to_string(low - 1) +
                            " (up to " + std::to_string(low - from) + " record(s))";
  const std::string where = p.what + ": changelog " + p.changelog.topic + " partition " +
                            std::to_string(p.changelog.partition) + " starts at offset " +
                            std::to_string(low) + ", ";
  if (p.changelog.windowed) {
    Log(LogLevel::kWarn, "restore",
        where + range + " were deleted by its time retention (retention.ms, counted from when " +
            "each record was written); restoring from " + std::to_string(low) +
            ": windows last written longer ago than that are not restored (they have expired " +
            "unless this application was stopped or idle that long)");
    return Status::OK();
  }
  const std::string what = where + range +
                           " are gone (deleted by DeleteRecords or a retention set on this "
                           "compacted topic): the store cannot be restored completely";
  if (config_.data_loss_policy == DataLossPolicy::kFail) {
    return Status::DataLoss(what + "; stopping (on-data-loss=fail). To restore from offset " +
                            std::to_string(low) +
                            " and count the records lost, restart with on-data-loss=skip");
  }
  Log(LogLevel::kError, "restore",
      what + "; restoring from offset " + std::to_string(low) +
          " (on-data-loss=skip), counted in eventflow_records_lost_total");
  lost_->Add(p.changelog.topic, static_cast<uint64_t>(low - from));
  return Status::OK();
}

Status ChangelogReader::Flush(Partition& p) {
  std::vector<state::ChangelogRecord> records;
  records.reserve(p.batch.size());
  for (const ConsumerItem& item : p.batch) {
    records.push_back(state::ChangelogRecord{item.record.raw.key.value_or(std::string_view()),
                                             item.record.raw.value});
  }
  // The records are views into the items: restore before releasing them.
  EVENTFLOW_RETURN_IF_ERROR(p.state->Restore(p.changelog, records, p.next));
  if (p.standby) {
    p.stored = p.next;
    p.restored += p.batch.size();
    p.batch.clear();
    return Status::OK();
  }
  p.restored += p.batch.size();
  Report(p, p.batch.size(), std::max<int64_t>(0, p.high - p.next));
  p.batch.clear();
  if (on_batch_restored_) on_batch_restored_();
  return Status::OK();
}

Status ChangelogReader::RestoreActive() {
  const bool any_active = std::any_of(partitions_.begin(), partitions_.end(),
                                      [](const auto& p) { return !p->standby; });
  if (!any_active) return Status::OK();
  auto created = consumer();
  if (!created.ok()) return created.status();
  ConsumerClient& consumer = **created;
  const auto began = Clock::now();
  // Whatever way this returns, the remaining-records gauge goes back to 0.
  struct ClearRemaining {
    ChangelogReader* reader;
    ~ClearRemaining() {
      for (auto& p : reader->partitions_) {
        if (p->remaining != 0) reader->Report(*p, 0, 0);
      }
    }
  } clear_remaining{this};

  // Every changelog's start and end at once (a task moving with its
  // standby's copy replays a tail of each: dozens of partitions).
  std::vector<kafka::PartitionOffset> asked;
  for (const auto& owned : partitions_) {
    if (!owned->standby) asked.push_back({owned->changelog.topic, owned->changelog.partition, 0});
  }
  auto all_marks = consumer.QueryWatermarksOf(asked, std::chrono::seconds(30));
  if (!all_marks.ok()) {
    return all_marks.status().WithContext("restore: reading the ends of " +
                                          std::to_string(asked.size()) + " changelog partition(s)");
  }
  TopicPartitionOffsets assignment;
  size_t active = 0;
  for (auto& owned : partitions_) {
    Partition& p = *owned;
    if (p.standby) continue;
    const kafka::PartitionWatermarks& marks = (*all_marks)[active];
    ++active;
    p.high = marks.high;
    if (!p.full && p.from > marks.high) {
      corrupted_.push_back(
          Corrupted{p.task, p.changelog,
                    "its offset " + std::to_string(p.from) + " is beyond its changelog's end " +
                        std::to_string(marks.high) + " (" + p.changelog.topic + " partition " +
                        std::to_string(p.changelog.partition) + " was deleted or truncated)"});
      continue;
    }
    if (p.from < marks.low) {
      EVENTFLOW_RETURN_IF_ERROR(Gap(p, p.from, marks.low));
      p.from = marks.low;
    }
    p.next = p.from;
    p.done = p.from >= p.high;
    Report(p, 0, p.done ? 0 : p.high - p.from);
    if (!p.done) {
      assignment.push_back(TopicPartitionOffset{p.changelog.topic, p.changelog.partition, p.from});
    }
  }
  if (!corrupted_.empty()) {
    return Status::Corruption(std::to_string(corrupted_.size()) +
                              " store(s) hold offsets beyond their changelog's end");
  }

  if (!assignment.empty()) {
    // The standbys' partitions stay assigned (and are applied) meanwhile.
    const TopicPartitionOffsets standbys = StandbyAssignment();
    assignment.insert(assignment.end(), standbys.begin(), standbys.end());
    EVENTFLOW_RETURN_IF_ERROR(consumer.Assign(assignment).WithContext("restore"));
    standby_assignment_dirty_ = true;  // back to the standbys' partitions alone afterwards
    const auto deadline = Clock::now() + config_.restore_timeout;
    auto last_progress_log = Clock::now();
    const size_t batch_records = static_cast<size_t>(config_.restore_batch_records);
    auto pending = [&] {
      return std::any_of(partitions_.begin(), partitions_.end(),
                         [](const auto& p) { return !p->standby && !p->done; });
    };
    while (pending()) {
      const auto now = Clock::now();
      if (now > deadline) {
        return Status::TimedOut("restore did not finish within restore.timeout.ms (" +
                                std::to_string(config_.restore_timeout.count()) + " ms)");
      }
      if (now - last_progress_log >= std::chrono::seconds(10)) {
        last_progress_log = now;
        uint64_t restored = 0;
        int64_t remaining = 0;
        for (const auto& p : partitions_) {
          if (p->standby) continue;
          restored += p->restored + p->batch.size();
          remaining += p->done ? 0 : std::max<int64_t>(0, p->high - p->next);
        }
        Log(LogLevel::kInfo, "restore",
            "stream-thread " + thread_ + ": restoring " + std::to_string(active) +
                " store partition(s): " + std::to_string(restored) + " record(s) restored, " +
                std::to_string(remaining) + " to go");
      }
      items_.clear();
      consumer.PollBatch(std::chrono::milliseconds(200), batch_records, &items_);
      for (ConsumerItem& item : items_) {
        auto taken = Take(consumer, item);
        if (!taken.ok()) {
          items_.clear();
          return taken.status();
        }
      }
      items_.clear();
    }
    if (standby_count_ == 0) {
      standby_assignment_dirty_ = false;
      EVENTFLOW_RETURN_IF_ERROR(consumer.Unassign().WithContext("restore"));
    } else {
      EVENTFLOW_RETURN_IF_ERROR(SyncStandbyAssignment());
    }
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count();
  std::map<TaskId, RestoredTask> by_task;
  for (const auto& p : partitions_) {
    if (p->standby) continue;
    Log(LogLevel::kInfo, "restore",
        p->what + ": " + (p->full ? "full restore" : "tail replay") + " of " +
            std::to_string(p->restored) + " record(s) from offset " + std::to_string(p->from) +
            " (changelog end " + std::to_string(p->high) + "); all stores restored in " +
            std::to_string(ms) + " ms");
    RestoredTask& task = by_task[p->task];
    task.task = p->task;
    task.records += p->restored;
    if (p->full) {
      task.kind = RestoreKind::kFull;
    } else if (p->restored > 0 && task.kind == RestoreKind::kNone) {
      task.kind = RestoreKind::kTail;
    }
  }
  for (auto& [id, task] : by_task) restored_.push_back(task);
  std::erase_if(partitions_, [](const std::unique_ptr<Partition>& p) { return !p->standby; });
  last_found_ = nullptr;
  return Status::OK();
}

}  // namespace eventflow::streams
