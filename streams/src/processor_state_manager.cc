#include "processor_state_manager.h"

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/stream_task.h"

namespace eventflow::streams {
namespace {

// Sends a store's changes to its changelog partition (the task's partition)
// through the task's collector, so under exactly-once they are part of the
// task's transaction. The Kafka timestamp is the wall-clock time of writing,
// not the change's event time: the window is in the key already, and the
// broker's time retention of a window or session changelog must count from
// when the state was written — a replay of months-old events would otherwise
// have its changelog deleted at the next retention check, and a restore would
// miss state the store still needs.
class TaskChangelogWriter final : public state::ChangelogWriter {
 public:
  TaskChangelogWriter(std::string topic, int32_t partition, RecordCollector* collector,
                      const int64_t* wall_clock)
      : topic_(std::move(topic)),
        partition_(partition),
        collector_(collector),
        wall_clock_(wall_clock) {}
  Status Log(std::string_view key, std::optional<std::string_view> value,
             int64_t /*event_time*/) override {
    return collector_->Send(topic_, partition_, key, value, *wall_clock_, no_headers_);
  }

 private:
  std::string topic_;
  int32_t partition_;
  RecordCollector* collector_;
  const int64_t* wall_clock_;  // the task's cached wall clock (StreamTask::SetWallClock)
  Headers no_headers_;
};

}  // namespace

ProcessorStateManager::ProcessorStateManager(TaskId task, const Topology& topology,
                                             std::vector<std::string> stores, Options options)
    : task_(task),
      topology_(topology),
      store_names_(std::move(stores)),
      options_(std::move(options)),
      what_("task " + task.ToString()) {}

ProcessorStateManager::~ProcessorStateManager() { Close(); }

Status ProcessorStateManager::Open(RecordCollector* collector, const int64_t* wall_clock) {
  for (const std::string& name : store_names_) {
    const StoreSpec* spec = topology_.FindStore(name);
    if (spec == nullptr) return Status::Internal("unknown store " + name);
    state::StoreOptions options;
    options.name = spec->name;
    options.backend =
        spec->in_memory ? state::StoreBackend::kInMemory : state::StoreBackend::kRocksDb;
    options.state_dir = options_.state_dir;
    options.application_id = options_.application_id;
    options.task_id = task_.ToString();
    options.memory_budget = options_.memory_budget;
    options.rocksdb_config_setter = options_.rocksdb_config_setter;
    options.description.key_serde = spec->key_serde;
    options.description.value_serde = spec->value_serde;
    options.description.window_size_ms = spec->window_size_ms;
    if (spec->logging) {
      Changelog changelog{name, ChangelogTopic(options_.application_id, spec->name),
                          task_.partition, spec->kind != StoreSpec::Kind::kKeyValue};
      changelog_writers_.push_back(std::make_unique<TaskChangelogWriter>(
          changelog.topic, changelog.partition, collector, wall_clock));
      options.changelog_writer = changelog_writers_.back().get();
      options.description.changelog_topic = changelog.topic;
      options.description.changelog_partition = changelog.partition;
      changelogs_.push_back(std::move(changelog));
    }
    auto open = [&]() -> Result<std::unique_ptr<state::StateStore>> {
      auto upcast = [](auto opened) -> Result<std::unique_ptr<state::StateStore>> {
        if (!opened.ok()) return opened.status();
        return std::unique_ptr<state::StateStore>(std::move(*opened));
      };
      switch (spec->kind) {
        case StoreSpec::Kind::kKeyValue:
          return upcast(state::OpenKeyValueStore(options));
        case StoreSpec::Kind::kWindow: {
          state::WindowStoreOptions window;
          window.retention = spec->retention;
          window.segment_interval = spec->segment_interval;
          window.retain_duplicates = spec->retain_duplicates;
          return upcast(state::OpenWindowStore(options, window));
        }
        case StoreSpec::Kind::kSession: {
          state::SessionStoreOptions session;
          session.retention = spec->retention;
          session.segment_interval = spec->segment_interval;
          return upcast(state::OpenSessionStore(options, session));
        }
      }
      return Status::Internal("unknown kind of store " + name);
    };
    auto store = open();
    if (!store.ok() && store.status().code() == StatusCode::kCorruption && spec->logging &&
        options.backend == state::StoreBackend::kRocksDb) {
      // Unusable local state (e.g. files damaged when the disk filled up): the
      // changelog holds everything, so start over and restore it in full.
      Log(LogLevel::kWarn, "stream-task",
          what_ + ": " + store.status().ToString() +
              "; deleting the store's directory for a full restore from its changelog");
      EVENTFLOW_RETURN_IF_ERROR(state::DestroyStore(options).WithContext(what_));
      store = open();
    }
    if (!store.ok()) return store.status().WithContext(what_);
    stores_.emplace(name, std::move(*store));
  }
  return Status::OK();
}

state::StateStore* ProcessorStateManager::GetStore(std::string_view name) const {
  auto it = stores_.find(name);
  return it != stores_.end() ? it->second.get() : nullptr;
}

state::StateStore* ProcessorStateManager::StoreOf(const Changelog& changelog) const {
  return GetStore(changelog.store);
}

Result<std::optional<int64_t>> ProcessorStateManager::RestoreStart(const Changelog& changelog) {
  state::StateStore* store = StoreOf(changelog);
  if (store == nullptr) return Status::Internal(what_ + ": no store " + changelog.store);
  if (store->OffsetStatus().ok()) return std::optional<int64_t>(*store->CommittedOffset());
  // A new store has no offset (normal); a corrupt one is worth a warning.
  const Status why = store->OffsetStatus();
  Log(why.IsNotFound() ? LogLevel::kInfo : LogLevel::kWarn, "restore",
      what_ + " store " + changelog.store + ": " + why.ToString() +
          "; wiping it for a full restore");
  EVENTFLOW_RETURN_IF_ERROR(store->Wipe());
  return std::optional<int64_t>();
}

Status ProcessorStateManager::Wipe(const Changelog& changelog, std::string_view reason) {
  state::StateStore* store = StoreOf(changelog);
  if (store == nullptr) return Status::Internal(what_ + ": no store " + changelog.store);
  Log(LogLevel::kWarn, "restore",
      what_ + " store " + changelog.store + ": " + std::string(reason) +
          "; wiping it for a full restore");
  return store->Wipe().WithContext(what_);
}

Status ProcessorStateManager::Restore(const Changelog& changelog,
                                      std::span<const state::ChangelogRecord> records,
                                      int64_t end_offset) {
  state::StateStore* store = StoreOf(changelog);
  if (store == nullptr) return Status::Internal(what_ + ": no store " + changelog.store);
  return store->RestoreBatch(records, end_offset).WithContext(what_ + " store " + changelog.store);
}

Status ProcessorStateManager::Commit(const LastDelivered& last_delivered) {
  for (auto& [name, store] : stores_) {
    int64_t offset = store->CommittedOffset().value_or(0);
    if (last_delivered) {
      for (const Changelog& c : changelogs_) {
        if (c.store != name) continue;
        const int64_t last = last_delivered(c.topic, c.partition);
        if (last >= 0) offset = last + 1;  // where a replay would resume
      }
    }
    EVENTFLOW_RETURN_IF_ERROR(store->Commit(offset).WithContext(what_));
  }
  return Status::OK();
}

void ProcessorStateManager::Abort() {
  for (auto& [name, store] : stores_) store->Abort();
}

void ProcessorStateManager::Close() {
  stores_.clear();  // uncommitted writes are dropped
  changelog_writers_.clear();
}

}  // namespace eventflow::streams
