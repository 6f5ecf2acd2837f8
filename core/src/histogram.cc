#include "eventflow/core/histogram.h"

#include <algorithm>
#include <cassert>

namespace eventflow {

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()));
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void Histogram::Merge(const Snapshot& other, Snapshot* into) {
  if (into->counts.empty()) {
    *into = other;
    return;
  }
  assert(into->bounds == other.bounds);
  for (size_t i = 0; i < into->counts.size() && i < other.counts.size(); ++i) {
    into->counts[i] += other.counts[i];
  }
  into->sum += other.sum;
  into->count += other.count;
}

}  // namespace eventflow
