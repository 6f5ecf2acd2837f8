#include "in_memory_engine.h"

#include <utility>

namespace eventflow::state::internal {
namespace {

// Merges a partition's pending layer over its committed map within [lower, upper):
// on equal keys the pending entry wins; pending tombstones hide the key.
class MergingIterator final : public KeyValueIterator {
 public:
  MergingIterator(const InMemoryEngine::Committed& committed,
                  const InMemoryEngine::Pending& pending, std::string_view lower,
                  std::optional<std::string_view> upper)
      : c_(committed.lower_bound(lower)),
        c_end_(upper ? committed.lower_bound(*upper) : committed.end()),
        p_(pending.lower_bound(lower)),
        p_end_(upper ? pending.lower_bound(*upper) : pending.end()) {
    Settle();
  }

  bool Valid() const override { return valid_; }
  void Next() override {
    if (on_pending_) {
      ++p_;
    } else {
      ++c_;
    }
    Settle();
  }
  std::string_view key() const override { return on_pending_ ? p_->first : c_->first; }
  std::string_view value() const override { return on_pending_ ? *p_->second : c_->second; }
  Status status() const override { return Status::OK(); }

 private:
  void Settle() {
    while (true) {
      const bool has_c = c_ != c_end_;
      const bool has_p = p_ != p_end_;
      if (!has_c && !has_p) {
        valid_ = false;
        return;
      }
      if (has_p && (!has_c || p_->first <= c_->first)) {
        if (has_c && p_->first == c_->first) ++c_;  // shadowed by the pending entry
        if (!p_->second) {                          // tombstone
          ++p_;
          continue;
        }
        on_pending_ = true;
      } else {
        on_pending_ = false;
      }
      valid_ = true;
      return;
    }
  }

  InMemoryEngine::Committed::const_iterator c_, c_end_;
  InMemoryEngine::Pending::const_iterator p_, p_end_;
  bool on_pending_ = false;
  bool valid_ = false;
};

// A partition's committed map within [lower, upper).
class CommittedIterator final : public KeyValueIterator {
 public:
  CommittedIterator(const InMemoryEngine::Committed& committed, std::string_view lower,
                    std::optional<std::string_view> upper)
      : it_(committed.lower_bound(lower)),
        end_(upper ? committed.lower_bound(*upper) : committed.end()) {}

  bool Valid() const override { return it_ != end_; }
  void Next() override { ++it_; }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  Status status() const override { return Status::OK(); }

 private:
  InMemoryEngine::Committed::const_iterator it_, end_;
};

}  // namespace

// The committed maps, read under the engine's lock held shared (see the header).
class InMemoryCommittedReader final : public EngineReader {
 public:
  explicit InMemoryCommittedReader(const InMemoryEngine& engine)
      : lock_(engine.mu_), engine_(engine) {}

  Status Get(int64_t partition, std::string_view key, std::string* value) override {
    const InMemoryEngine::Partition* p = engine_.Find(partition);
    if (p == nullptr) return Status::NotFound("");
    auto it = p->committed.find(key);
    if (it == p->committed.end()) return Status::NotFound("");
    value->assign(it->second);
    return Status::OK();
  }

  std::unique_ptr<KeyValueIterator> NewIterator(int64_t partition, std::string_view lower,
                                                std::optional<std::string_view> upper) override {
    const InMemoryEngine::Partition* p = engine_.Find(partition);
    if (p == nullptr || (upper && *upper <= lower)) return NewEmptyIterator();
    return std::make_unique<CommittedIterator>(p->committed, lower, upper);
  }

  Status GetMeta(std::string_view name, std::string* value) override {
    auto it = engine_.meta_.find(name);
    if (it == engine_.meta_.end()) return Status::NotFound("");
    value->assign(it->second);
    return Status::OK();
  }

  void ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const override {
    engine_.ListPartitions(from, to, out);
  }

 private:
  std::shared_lock<WriterPriorityMutex> lock_;
  const InMemoryEngine& engine_;
};

std::unique_ptr<EngineReader> InMemoryEngine::NewCommittedReader() {
  return std::make_unique<InMemoryCommittedReader>(*this);
}

InMemoryEngine::Partition* InMemoryEngine::Find(int64_t partition) {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? nullptr : &it->second;
}

const InMemoryEngine::Partition* InMemoryEngine::Find(int64_t partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? nullptr : &it->second;
}

InMemoryEngine::Partition& InMemoryEngine::FindOrCreate(int64_t partition) {
  if (Partition* p = Find(partition)) return *p;
  std::unique_lock<WriterPriorityMutex> lock(mu_);  // once per new partition
  return partitions_[partition];
}

Status InMemoryEngine::Get(int64_t partition, std::string_view key, std::string* value) {
  Partition* p = Find(partition);
  if (p != nullptr) {
    if (auto it = p->pending.find(key); it != p->pending.end()) {
      if (!it->second) return Status::NotFound("");
      value->assign(*it->second);
      return Status::OK();
    }
    if (auto it = p->committed.find(key); it != p->committed.end()) {
      value->assign(it->second);
      return Status::OK();
    }
  }
  return Status::NotFound("");
}

std::unique_ptr<KeyValueIterator> InMemoryEngine::NewIterator(
    int64_t partition, std::string_view lower, std::optional<std::string_view> upper) {
  Partition* p = Find(partition);
  if (p == nullptr || (upper && *upper <= lower)) return NewEmptyIterator();
  return std::make_unique<MergingIterator>(p->committed, p->pending, lower, upper);
}

Status InMemoryEngine::Put(int64_t partition, std::string_view key, std::string_view value) {
  Pending& pending = FindOrCreate(partition).pending;
  if (auto it = pending.find(key); it != pending.end()) {
    if (it->second) {
      it->second->assign(value);  // reuse the buffer
    } else {
      it->second.emplace(value);
    }
  } else {
    pending.emplace(std::string(key), std::string(value));
  }
  has_pending_ = true;
  return Status::OK();
}

Status InMemoryEngine::Delete(int64_t partition, std::string_view key) {
  Partition* p = Find(partition);
  if (p == nullptr) return Status::OK();  // nothing can exist there
  if (auto it = p->pending.find(key); it != p->pending.end()) {
    it->second.reset();
  } else {
    p->pending.emplace(std::string(key), std::nullopt);
  }
  has_pending_ = true;
  return Status::OK();
}

void InMemoryEngine::Abort() {
  for (auto& [id, p] : partitions_) p.pending.clear();
  has_pending_ = false;
}

void InMemoryEngine::Apply(Committed& committed, std::string_view key,
                           const std::optional<std::string_view>& value) {
  if (!value) {
    if (auto it = committed.find(key); it != committed.end()) committed.erase(it);
    return;
  }
  if (auto it = committed.find(key); it != committed.end()) {
    it->second.assign(*value);
  } else {
    committed.emplace(std::string(key), std::string(*value));
  }
}

Status InMemoryEngine::Commit(std::span<const MetaWrite> meta) {
  std::unique_lock<WriterPriorityMutex> lock(mu_);
  for (auto& [id, p] : partitions_) {
    for (auto& [key, value] : p.pending) {
      if (value) {
        p.committed.insert_or_assign(key, std::move(*value));
      } else {
        p.committed.erase(key);
      }
    }
    p.pending.clear();
  }
  for (const MetaWrite& m : meta) meta_.insert_or_assign(std::string(m.name), std::string(m.value));
  has_pending_ = false;
  return Status::OK();
}

Status InMemoryEngine::WriteDirect(std::span<const EngineWrite> writes,
                                   std::span<const MetaWrite> meta) {
  std::unique_lock<WriterPriorityMutex> lock(mu_);
  for (const EngineWrite& w : writes) {
    if (!w.value && Find(w.partition) == nullptr) continue;
    Apply(partitions_[w.partition].committed, w.key, w.value);
  }
  for (const MetaWrite& m : meta) meta_.insert_or_assign(std::string(m.name), std::string(m.value));
  return Status::OK();
}

Status InMemoryEngine::GetMeta(std::string_view name, std::string* value) {
  auto it = meta_.find(name);
  if (it == meta_.end()) return Status::NotFound("");
  value->assign(it->second);
  return Status::OK();
}

void InMemoryEngine::ListPartitions(int64_t from, int64_t to, std::vector<int64_t>* out) const {
  for (auto it = partitions_.lower_bound(std::max<int64_t>(from, 0));
       it != partitions_.end() && it->first <= to; ++it) {
    out->push_back(it->first);
  }
}

size_t InMemoryEngine::NumPartitions() const {
  return partitions_.size() - partitions_.count(kDefaultPartition);
}

Status InMemoryEngine::DropPartitionsBefore(int64_t id) {
  auto first = partitions_.lower_bound(0);
  if (first == partitions_.end() || first->first >= id) return Status::OK();
  std::unique_lock<WriterPriorityMutex> lock(mu_);
  partitions_.erase(partitions_.lower_bound(0), partitions_.lower_bound(std::max<int64_t>(id, 0)));
  return Status::OK();
}

Status InMemoryEngine::Wipe() {
  std::unique_lock<WriterPriorityMutex> lock(mu_);
  partitions_.clear();
  meta_.clear();
  has_pending_ = false;
  return Status::OK();
}

uint64_t InMemoryEngine::ApproximateNumEntries(int64_t partition) {
  Partition* p = Find(partition);
  return p == nullptr ? 0 : p->committed.size();
}

}  // namespace eventflow::state::internal
