#include "queryable_stores.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"
#include "processor_state_manager.h"

namespace eventflow::streams {

// ---------------------------------------------------------------------------
// HostInfo

std::string HostInfo::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostInfo> HostInfo::Parse(std::string_view text, std::string_view setting) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(setting) + ": \"" + std::string(text) +
                                   "\" is not host:port (" + std::string(why) + ")");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address goes in brackets");
  }
  if (host.empty()) return bad("no host");
  int port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return bad("the port must be 1-65535");
  }
  return HostInfo{std::string(host), port};
}

// ---------------------------------------------------------------------------
// QueryableStores

QueryableStores::Layout QueryableStores::LayoutOf(
    const Topology& topology, const std::vector<Topology::SubTopology>& subtopologies,
    const std::map<int, int>& tasks, const TopicResolver& resolve) {
  Layout layout;
  for (const StoreSpec& store : topology.stores()) {
    for (const Topology::SubTopology& sub : subtopologies) {
      if (std::find(sub.stores.begin(), sub.stores.end(), store.name) == sub.stores.end()) continue;
      auto count = tasks.find(sub.id);
      layout.infos.push_back(QueryableStoreInfo{
          store.name, store.kind, count != tasks.end() ? count->second : 0, std::chrono::milliseconds(store.window_size_ms)});
      layout.subtopologies.push_back(sub.id);
      std::vector<std::string> topics;
      for (const std::string& t : sub.source_topics) topics.push_back(resolve(t));
      layout.source_topics.push_back(std::move(topics));
      break;
    }
  }
  return layout;
}

QueryableStores::QueryableStores(std::vector<QueryableStoreInfo> infos,
                                 std::vector<int> subtopologies,
                                 Result<kafka::KeyPartitioner> partitioner)
    : infos_(std::move(infos)),
      subtopologies_(std::move(subtopologies)),
      partitioner_(std::move(partitioner)) {}

const QueryableStoreInfo* QueryableStores::Find(std::string_view name) const {
  for (const QueryableStoreInfo& info : infos_) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

int QueryableStores::SubtopologyOf(const QueryableStoreInfo& info) const {
  return subtopologies_[static_cast<size_t>(&info - infos_.data())];
}

Result<int> QueryableStores::PartitionOf(const QueryableStoreInfo& info,
                                         std::string_view key) const {
  if (!partitioner_.ok()) return partitioner_.status();
  return partitioner_->Partition(key, std::max(info.partitions, 1));
}

void QueryableStores::Register(TaskId task, const ProcessorStateManager& stores) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, store] : stores.stores()) {
    auto slot = std::make_shared<Slot>();
    slot->task = task;
    slot->store = store.get();
    slots_[SlotKey(name, task.partition)] = std::move(slot);
  }
}

void QueryableStores::SetRunning(TaskId task) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, slot] : slots_) {
    if (slot->task == task) slot->running.store(true);
  }
}

void QueryableStores::Unregister(TaskId task) {
  std::vector<std::shared_ptr<Slot>> removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (it->second->task == task) {
        removed.push_back(std::move(it->second));
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::shared_ptr<Slot>& slot : removed) {
    std::unique_lock<WriterPriorityMutex> lock(slot->mu);  // waits for reads in progress
    slot->store = nullptr;
    slot->running.store(false);
  }
}

std::shared_ptr<QueryableStores::Slot> QueryableStores::FindSlot(const std::string& store,
                                                                 int partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(SlotKey(store, partition));
  return it == slots_.end() ? nullptr : it->second;
}

QueryableStores::PartitionState QueryableStores::StateOf(const std::string& store,
                                                         int partition) const {
  std::shared_ptr<Slot> slot = FindSlot(store, partition);
  if (!slot) return PartitionState::kAbsent;
  return slot->running.load() ? PartitionState::kRunning : PartitionState::kRestoring;
}

std::vector<int> QueryableStores::LocalPartitions(const std::string& store) const {
  std::vector<int> partitions;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = slots_.lower_bound(SlotKey(store, -1));
       it != slots_.end() && it->first.first == store; ++it) {
    partitions.push_back(it->first.second);
  }
  return partitions;
}

Status QueryableStores::Read(const std::string& store, int partition,
                             const std::function<Status(state::StateStore&)>& read) const {
  const std::string what = "store " + store + " partition " + std::to_string(partition);
  std::shared_ptr<Slot> slot = FindSlot(store, partition);
  if (!slot) return Status::Unavailable(what + " is not running on this instance");
  std::shared_lock<WriterPriorityMutex> lock(slot->mu);
  if (slot->store == nullptr) {
    return Status::Unavailable(what + " was closed on this instance (its task moved)");
  }
  if (!slot->running.load()) return Status::Unavailable(what + " is restoring");
  return read(*slot->store);
}

// ---------------------------------------------------------------------------
// ReadOnlyStore

namespace {

Status WrongKind(const QueryableStoreInfo& info, std::string_view wanted) {
  static constexpr std::string_view kNames[] = {"key-value", "window", "session"};
  return Status::InvalidArgument("store " + info.name + " is a " +
                                 std::string(kNames[static_cast<int>(info.kind)]) +
                                 " store, not a " + std::string(wanted) + " store");
}

template <typename Store>
Result<Store*> As(state::StateStore& store) {
  auto* typed = dynamic_cast<Store*>(&store);
  if (typed == nullptr) return Status::Internal("store " + store.name() + " has another kind");
  return typed;
}

}  // namespace

Status ReadOnlyStore::Get(std::string_view key, std::string* value) const {
  if (info_->kind != StoreSpec::Kind::kKeyValue) return WrongKind(*info_, "key-value");
  Result<int> keyed = partition_ ? Result<int>(*partition_) : stores_->PartitionOf(*info_, key);
  if (!keyed.ok()) return keyed.status();
  const int partition = *keyed;
  return stores_->Read(info_->name, partition, [&](state::StateStore& store) -> Status {
    auto kv = As<state::KeyValueStore>(store);
    if (!kv.ok()) return kv.status();
    return (*kv)->NewCommittedView()->Get(key, value);
  });
}

Status ReadOnlyStore::Range(std::string_view from, std::string_view to, size_t limit,
                            std::vector<KeyValueEntry>* out) const {
  if (info_->kind != StoreSpec::Kind::kKeyValue) return WrongKind(*info_, "key-value");
  const std::vector<int> partitions =
      partition_ ? std::vector<int>{*partition_} : stores_->LocalPartitions(info_->name);
  std::vector<KeyValueEntry> found;
  for (int partition : partitions) {
    EVENTFLOW_RETURN_IF_ERROR(
        stores_->Read(info_->name, partition, [&](state::StateStore& store) -> Status {
          auto kv = As<state::KeyValueStore>(store);
          if (!kv.ok()) return kv.status();
          auto view = (*kv)->NewCommittedView();
          auto it =
              view->Range(from, to.empty() ? std::nullopt : std::optional<std::string_view>(to));
          // Each partition is in key order: its first `limit` are enough.
          for (size_t n = 0; it->Valid() && n < limit; it->Next(), ++n) {
            found.push_back({std::string(it->key()), std::string(it->value())});
          }
          return it->status();
        }));
  }
  std::sort(found.begin(), found.end(),
            [](const KeyValueEntry& a, const KeyValueEntry& b) { return a.key < b.key; });
  if (found.size() > limit) found.resize(limit);
  for (KeyValueEntry& e : found) out->push_back(std::move(e));
  return Status::OK();
}

namespace {

// Appends the windows of `it` (at most `max`; InvalidArgument beyond).
Status CollectWindows(state::WindowIterator& it, int64_t window_size, size_t max,
                      std::vector<WindowEntry>* out) {
  for (; it.Valid(); it.Next()) {
    if (out->size() >= max) {
      return Status::InvalidArgument("more than " + std::to_string(max) +
                                     " windows in the time range; narrow it");
    }
    out->push_back({std::string(it.key()), it.window_start(), it.window_start() + window_size,
                    std::string(it.value())});
  }
  return it.status();
}

// The most windows one FetchAllWindows call reads before it refuses (they are
// sorted in memory).
constexpr size_t kMaxWindowsScanned = 200'000;

}  // namespace

Status ReadOnlyStore::FetchWindows(std::string_view key, int64_t time_from, int64_t time_to,
                                   std::vector<WindowEntry>* out) const {
  if (info_->kind != StoreSpec::Kind::kWindow) return WrongKind(*info_, "window");
  Result<int> keyed = partition_ ? Result<int>(*partition_) : stores_->PartitionOf(*info_, key);
  if (!keyed.ok()) return keyed.status();
  const int partition = *keyed;
  return stores_->Read(info_->name, partition, [&](state::StateStore& store) -> Status {
    auto window = As<state::WindowStore>(store);
    if (!window.ok()) return window.status();
    auto view = (*window)->NewCommittedView();
    if (!view.ok()) return view.status();
    auto it = (*view)->Fetch(key, time_from, time_to);
    return CollectWindows(*it, info_->window_size.count(), kMaxWindowsScanned, out);
  });
}

Status ReadOnlyStore::FetchAllWindows(int64_t time_from, int64_t time_to, size_t limit,
                                      std::vector<WindowEntry>* out) const {
  if (info_->kind != StoreSpec::Kind::kWindow) return WrongKind(*info_, "window");
  const std::vector<int> partitions =
      partition_ ? std::vector<int>{*partition_} : stores_->LocalPartitions(info_->name);
  std::vector<WindowEntry> found;
  for (int partition : partitions) {
    EVENTFLOW_RETURN_IF_ERROR(
        stores_->Read(info_->name, partition, [&](state::StateStore& store) -> Status {
          auto window = As<state::WindowStore>(store);
          if (!window.ok()) return window.status();
          auto view = (*window)->NewCommittedView();
          if (!view.ok()) return view.status();
          auto it = (*view)->FetchAll(time_from, time_to);
          return CollectWindows(*it, info_->window_size.count(), kMaxWindowsScanned, &found);
        }));
  }
  std::sort(found.begin(), found.end(), [](const WindowEntry& a, const WindowEntry& b) {
    return std::tie(a.key, a.start) < std::tie(b.key, b.start);
  });
  if (found.size() > limit) found.resize(limit);
  for (WindowEntry& e : found) out->push_back(std::move(e));
  return Status::OK();
}

Status ReadOnlyStore::FetchSessions(std::string_view key, int64_t earliest_end,
                                    int64_t latest_start, std::vector<SessionEntry>* out) const {
  if (info_->kind != StoreSpec::Kind::kSession) return WrongKind(*info_, "session");
  Result<int> keyed = partition_ ? Result<int>(*partition_) : stores_->PartitionOf(*info_, key);
  if (!keyed.ok()) return keyed.status();
  const int partition = *keyed;
  return stores_->Read(info_->name, partition, [&](state::StateStore& store) -> Status {
    auto session = As<state::SessionStore>(store);
    if (!session.ok()) return session.status();
    auto view = (*session)->NewCommittedView();
    if (!view.ok()) return view.status();
    auto it = (*view)->FindSessions(key, earliest_end, latest_start);
    for (; it->Valid(); it->Next()) {
      out->push_back({std::string(it->key()), it->start(), it->end(), std::string(it->value())});
    }
    return it->status();
  });
}

}  // namespace eventflow::streams
