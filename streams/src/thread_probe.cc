#include "thread_probe.h"

#include "eventflow/state/record_cache.h"

namespace eventflow::streams {

ThreadProbe::ThreadProbe(std::string thread, bool exactly_once)
    : thread_(std::move(thread)), exactly_once_(exactly_once) {}

ThreadProbe::TaskSlot* ThreadProbe::Task(const TaskId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = tasks_[id];
  if (!slot) slot = std::make_unique<TaskSlot>();
  return slot.get();
}

ThreadProbe::StoreSlot* ThreadProbe::Store(const TaskId& id, const std::string& store) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = stores_[{id, store}];
  if (!slot) slot = std::make_unique<StoreSlot>();
  return slot.get();
}

ThreadProbe::PartitionSlot* ThreadProbe::Partition(const std::string& topic, int32_t partition) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = partitions_[{topic, partition}];
  if (!slot) slot = std::make_unique<PartitionSlot>();
  return slot.get();
}

Histogram* ThreadProbe::E2eLatency(const std::string& topic) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& h = e2e_[topic];
  if (!h) h = std::make_unique<Histogram>(kE2eLatencyBuckets);
  return h.get();
}

void ThreadProbe::DeactivateStores(const TaskId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = stores_.lower_bound({id, std::string()});
       it != stores_.end() && it->first.first == id; ++it) {
    it->second->active.store(false, std::memory_order_relaxed);
  }
}

ThreadProbe::StandbySlot* ThreadProbe::Standby(const TaskId& id, const std::string& store) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = standbys_[{id, store}];
  if (!slot) slot = std::make_unique<StandbySlot>();
  return slot.get();
}

void ThreadProbe::DeactivateStandby(const TaskId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = standbys_.lower_bound({id, std::string()});
       it != standbys_.end() && it->first.first == id; ++it) {
    it->second->active.store(false, std::memory_order_relaxed);
  }
}

void ThreadProbe::SetClientStatistics(std::shared_ptr<kafka::StatisticsMailbox> consumer,
                                      std::shared_ptr<kafka::StatisticsMailbox> producer) {
  std::lock_guard<std::mutex> lock(mu_);
  consumer_stats_ = std::move(consumer);
  producer_stats_ = std::move(producer);
}

void ThreadProbe::Publish(TaskSlot* slot, StreamTask& task) {
  const TaskCounters& c = task.counters();
  const TaskCounters& f = slot->folded;
  slot->processed.Set(f.processed + c.processed);
  slot->dead_lettered.Set(f.dead_lettered + c.dead_lettered);
  slot->punctuations.Set(f.punctuations + c.punctuations);
  slot->watermark_records.Set(f.watermark_records + c.watermark_records);
  if (const state::RecordCache* cache = task.record_cache()) {
    slot->cache_hits.Set(slot->folded_hits + cache->hits());
    slot->cache_misses.Set(slot->folded_misses + cache->misses());
    slot->cache_evictions.Set(slot->folded_evictions + cache->evictions());
    slot->cache_bytes.Set(cache->size_bytes());
    slot->cache_entries.Set(cache->num_entries());
  }
}

void ThreadProbe::Fold(TaskSlot* slot, StreamTask& task) {
  Publish(slot, task);
  const TaskCounters& c = task.counters();
  TaskCounters& f = slot->folded;
  f.processed += c.processed;
  f.dead_lettered += c.dead_lettered;
  f.punctuations += c.punctuations;
  f.punctuation_errors += c.punctuation_errors;
  f.dropped_late += c.dropped_late;
  f.watermark_records += c.watermark_records;
  f.watermark_records_sent += c.watermark_records_sent;
  if (const state::RecordCache* cache = task.record_cache()) {
    slot->folded_hits += cache->hits();
    slot->folded_misses += cache->misses();
    slot->folded_evictions += cache->evictions();
  }
  slot->cache_bytes.Set(0);
  slot->cache_entries.Set(0);
  slot->active.store(false, std::memory_order_relaxed);
  slot->restoring.store(false, std::memory_order_relaxed);
}

ThreadMetrics ThreadProbe::Snapshot() const {
  ThreadMetrics m;
  m.thread = thread_;
  m.dropped_late = dropped_late.Get();
  m.rebalances = rebalances.Get();
  m.commits_failed = commits_failed.Get();
  m.transactions_committed = transactions_committed.Get();
  m.transactions_aborted = transactions_aborted.Get();
  m.poll_seconds = static_cast<double>(poll_ns.Get()) / 1e9;
  m.process_seconds = static_cast<double>(process_ns.Get()) / 1e9;
  m.punctuate_seconds = static_cast<double>(punctuate_ns.Get()) / 1e9;
  m.commit_seconds = static_cast<double>(commit_ns.Get()) / 1e9;
  m.process_duration = process_duration.Read();
  m.commit_duration = commit_duration.Read();
  m.active_tasks = active_tasks.load(std::memory_order_relaxed);
  m.restoring_tasks = restoring_tasks.load(std::memory_order_relaxed);
  m.standby_tasks = standby_tasks.load(std::memory_order_relaxed);
  m.standby_records = standby_records.Get();
  m.arrivals.restores_none = restores_none.Get();
  m.arrivals.restores_tail = restores_tail.Get();
  m.arrivals.restores_full = restores_full.Get();
  m.arrivals.restore_records = restore_records.Get();
  m.move_gap_moved = move_gap_moved.Read();
  m.move_gap_stayed = move_gap_stayed.Read();
  std::shared_ptr<kafka::StatisticsMailbox> consumer_stats;
  std::shared_ptr<kafka::StatisticsMailbox> producer_stats;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [topic, h] : e2e_) m.e2e_latency.emplace_back(topic, h->Read());
    for (const auto& [id, slot] : tasks_) {
      TaskMetrics& t = m.tasks.emplace_back();
      t.task = id.ToString();
      t.active = slot->active.load(std::memory_order_relaxed);
      t.restoring = slot->restoring.load(std::memory_order_relaxed);
      t.processed = slot->processed.Get();
      t.dead_lettered = slot->dead_lettered.Get();
      t.punctuations = slot->punctuations.Get();
      t.watermark_records = slot->watermark_records.Get();
      t.cache_hits = slot->cache_hits.Get();
      t.cache_misses = slot->cache_misses.Get();
      t.cache_evictions = slot->cache_evictions.Get();
      t.cache_bytes = slot->cache_bytes.Get();
      t.cache_entries = slot->cache_entries.Get();
    }
    for (const auto& [key, slot] : stores_) {
      if (!slot->active.load(std::memory_order_relaxed)) continue;
      StoreMetrics& s = m.stores.emplace_back();
      s.task = key.first.ToString();
      s.store = key.second;
      s.persistent = slot->persistent.load(std::memory_order_relaxed);
      s.live_sst_bytes = slot->live_sst_bytes.Get();
      s.memtable_bytes = slot->memtable_bytes.Get();
      s.estimated_keys = slot->estimated_keys.Get();
    }
    for (const auto& [key, slot] : standbys_) {
      if (!slot->active.load(std::memory_order_relaxed)) continue;
      StandbyMetrics& s = m.standbys.emplace_back();
      s.task = key.first.ToString();
      s.store = key.second;
      s.position = slot->position.load(std::memory_order_relaxed);
      s.lag = slot->lag.load(std::memory_order_relaxed);
    }
    for (const auto& [key, slot] : partitions_) {
      if (!slot->assigned.load(std::memory_order_relaxed)) continue;
      PartitionLag& p = m.partitions.emplace_back();
      p.topic = key.first;
      p.partition = key.second;
      p.position = slot->position.load(std::memory_order_relaxed);
    }
    consumer_stats = consumer_stats_;
    producer_stats = producer_stats_;
  }
  // Parsing (when a new report came) happens here, on the reader's thread.
  if (consumer_stats) m.consumer_statistics = consumer_stats->Latest();
  if (producer_stats) m.producer_statistics = producer_stats->Latest();
  if (m.consumer_statistics) {
    for (PartitionLag& p : m.partitions) {
      const kafka::PartitionStatistics* s = m.consumer_statistics->Find(p.topic, p.partition);
      if (s == nullptr) continue;
      p.end = exactly_once_ ? s->ls_offset : s->hi_offset;
      if (p.end < 0) {
        p.end = -1;
        continue;
      }
      // Nothing taken yet and no committed offset: it starts at the log start.
      const int64_t from = p.position >= 0 ? p.position : s->lo_offset;
      if (from >= 0) p.lag = std::max<int64_t>(0, p.end - from);
    }
  }
  return m;
}

}  // namespace eventflow::streams
