#include "eventflow/state/record_cache.h"

#include <unordered_map>
#include <utility>

namespace eventflow::state {
namespace {

constexpr size_t kMaxFreeEntries = 1024;          // recycled entries kept
constexpr size_t kMaxRecycledCapacity = 4 << 10;  // larger buffers are released

}  // namespace

// One cached key. Linked in the cache-wide LRU list and, while dirty, in its
// store's dirty list (ordered by last write).
struct RecordCache::Entry {
  Entry* lru_prev = nullptr;
  Entry* lru_next = nullptr;
  Entry* dirty_prev = nullptr;
  Entry* dirty_next = nullptr;
  std::string key;
  std::string value;
  bool has_value = false;
  bool dirty = false;
  StoreId store = 0;
  int64_t timestamp = 0;
};

struct RecordCache::StoreState {
  std::string name;
  FlushListener listener;
  // Keys view Entry::key, which lives as long as the map entry.
  std::unordered_map<std::string_view, std::unique_ptr<Entry>> index;
  Entry* dirty_head = nullptr;  // oldest write
  Entry* dirty_tail = nullptr;  // newest write
};

RecordCache::RecordCache(size_t max_bytes) : max_bytes_(max_bytes) {}

RecordCache::~RecordCache() = default;

RecordCache::StoreId RecordCache::AddStore(std::string name, FlushListener listener) {
  auto store = std::make_unique<StoreState>();
  store->name = std::move(name);
  store->listener = std::move(listener);
  stores_.push_back(std::move(store));
  return static_cast<StoreId>(stores_.size() - 1);
}

std::optional<RecordCache::StoreId> RecordCache::FindStore(std::string_view name) const {
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (stores_[i]->name == name) return static_cast<StoreId>(i);
  }
  return std::nullopt;
}

size_t RecordCache::Charge(const Entry& entry) {
  return entry.key.size() + (entry.has_value ? entry.value.size() : 0) + kEntryOverheadBytes;
}

void RecordCache::LinkLru(Entry* e) {
  e->lru_prev = lru_tail_;
  e->lru_next = nullptr;
  if (lru_tail_ != nullptr) {
    lru_tail_->lru_next = e;
  } else {
    lru_head_ = e;
  }
  lru_tail_ = e;
}

void RecordCache::UnlinkLru(Entry* e) {
  (e->lru_prev != nullptr ? e->lru_prev->lru_next : lru_head_) = e->lru_next;
  (e->lru_next != nullptr ? e->lru_next->lru_prev : lru_tail_) = e->lru_prev;
  e->lru_prev = e->lru_next = nullptr;
}

void RecordCache::LinkDirty(StoreState& s, Entry* e) {
  e->dirty_prev = s.dirty_tail;
  e->dirty_next = nullptr;
  if (s.dirty_tail != nullptr) {
    s.dirty_tail->dirty_next = e;
  } else {
    s.dirty_head = e;
  }
  s.dirty_tail = e;
}

void RecordCache::UnlinkDirty(StoreState& s, Entry* e) {
  (e->dirty_prev != nullptr ? e->dirty_prev->dirty_next : s.dirty_head) = e->dirty_next;
  (e->dirty_next != nullptr ? e->dirty_next->dirty_prev : s.dirty_tail) = e->dirty_prev;
  e->dirty_prev = e->dirty_next = nullptr;
}

Status RecordCache::Put(StoreId store, std::string_view key, std::optional<std::string_view> value,
                        int64_t timestamp) {
  return Insert(store, key, value, timestamp, /*dirty=*/true);
}

Status RecordCache::PutClean(StoreId store, std::string_view key,
                             std::optional<std::string_view> value, int64_t timestamp) {
  return Insert(store, key, value, timestamp, /*dirty=*/false);
}

Status RecordCache::Insert(StoreId store, std::string_view key,
                           std::optional<std::string_view> value, int64_t timestamp, bool dirty) {
  StoreState& s = *stores_[store];
  Entry* e;
  if (auto it = s.index.find(key); it != s.index.end()) {
    if (!dirty) return Status::OK();  // what the cache holds is at least as new
    e = it->second.get();
    size_bytes_ -= Charge(*e);
    UnlinkLru(e);
    if (e->dirty) UnlinkDirty(s, e);
  } else {
    std::unique_ptr<Entry> fresh;
    if (!free_entries_.empty()) {
      fresh = std::move(free_entries_.back());
      free_entries_.pop_back();
    } else {
      fresh = std::make_unique<Entry>();
    }
    e = fresh.get();
    e->key.assign(key);
    e->store = store;
    e->dirty = false;
    s.index.emplace(std::string_view(e->key), std::move(fresh));
    ++num_entries_;
  }
  e->has_value = value.has_value();
  if (value) {
    e->value.assign(*value);  // reuses the buffer
  } else {
    e->value.clear();
  }
  e->timestamp = timestamp;
  size_bytes_ += Charge(*e);
  LinkLru(e);
  if (dirty) {
    if (!e->dirty) ++num_dirty_;
    e->dirty = true;
    LinkDirty(s, e);
  }
  return MaybeEvict();
}

std::optional<RecordCache::CachedValue> RecordCache::Get(StoreId store, std::string_view key) {
  StoreState& s = *stores_[store];
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  Entry* e = it->second.get();
  UnlinkLru(e);
  LinkLru(e);
  CachedValue result{std::nullopt, e->timestamp, e->dirty};
  if (e->has_value) result.value = e->value;
  return result;
}

Status RecordCache::EmitThrough(StoreState& s, Entry* last) {
  ++listener_depth_;
  Status result;
  while (s.dirty_head != nullptr) {
    Entry* e = s.dirty_head;
    UnlinkDirty(s, e);
    e->dirty = false;
    --num_dirty_;
    result =
        s.listener(e->key, e->has_value ? std::optional<std::string_view>(e->value) : std::nullopt,
                   e->timestamp);
    if (!result.ok()) {
      result = result.WithContext("record cache: flushing store '" + s.name + "'");
      break;
    }
    if (e == last) break;
  }
  --listener_depth_;
  return result;
}

Status RecordCache::Flush(StoreId store) {
  Status result = EmitThrough(*stores_[store], nullptr);
  Status evicted = MaybeEvict();  // evictions that waited for the listeners
  return result.ok() ? evicted : result;
}

Status RecordCache::FlushAll() {
  // A listener may dirty a store flushed earlier in the pass (e.g. a store
  // registered out of topological order): repeat, but never forever.
  for (size_t pass = 0; pass <= stores_.size() && num_dirty_ > 0; ++pass) {
    for (StoreId id = 0; id < stores_.size(); ++id) {
      if (stores_[id]->dirty_head != nullptr) EVENTFLOW_RETURN_IF_ERROR(Flush(id));
    }
  }
  if (num_dirty_ > 0) {
    return Status::Internal("record cache: flush listeners keep making stores dirty (a cycle?)");
  }
  return Status::OK();
}

Status RecordCache::MaybeEvict() {
  if (listener_depth_ > 0) return Status::OK();  // the outermost call evicts
  while (size_bytes_ > max_bytes_ && lru_head_ != nullptr) {
    Entry* e = lru_head_;
    if (e->dirty) {
      // Emit it and its store's older writes first; it then stays the LRU
      // head (listeners cannot touch its store) and is removed next round.
      EVENTFLOW_RETURN_IF_ERROR(EmitThrough(*stores_[e->store], e));
      continue;
    }
    Remove(e);
    ++evictions_;
  }
  return Status::OK();
}

void RecordCache::Remove(Entry* e) {
  StoreState& s = *stores_[e->store];
  UnlinkLru(e);
  if (e->dirty) {
    UnlinkDirty(s, e);
    --num_dirty_;
  }
  size_bytes_ -= Charge(*e);
  --num_entries_;
  auto it = s.index.find(e->key);
  std::unique_ptr<Entry> owned = std::move(it->second);
  s.index.erase(it);
  if (free_entries_.size() < kMaxFreeEntries) {
    if (owned->key.capacity() > kMaxRecycledCapacity) std::string().swap(owned->key);
    if (owned->value.capacity() > kMaxRecycledCapacity) std::string().swap(owned->value);
    free_entries_.push_back(std::move(owned));
  }
}

void RecordCache::Clear() {
  for (auto& s : stores_) {
    s->index.clear();
    s->dirty_head = s->dirty_tail = nullptr;
  }
  lru_head_ = lru_tail_ = nullptr;
  size_bytes_ = 0;
  num_entries_ = 0;
  num_dirty_ = 0;
}

Status RecordCache::Resize(size_t max_bytes) {
  max_bytes_ = max_bytes;
  return MaybeEvict();
}

}  // namespace eventflow::state
