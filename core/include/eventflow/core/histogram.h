// Histogram: counts of observations in fixed buckets, written by one thread
// and read by any (Prometheus' histogram: cumulative `le` buckets, a sum and a
// count).
//
// Made for hot paths: Observe() finds the bucket by a scan of a handful of
// bounds and updates two relaxed atomics with plain loads and stores (no
// read-modify-write, no lock, no allocation, no system call), which is why it
// has ONE writer: the thread that owns it (a stream thread, the sink thread).
// Readers (a scrape) load the same atomics; a snapshot taken while the writer
// works may be a few observations behind in some buckets, never torn. Its
// count is the sum of its buckets, so `_count` always equals the `+Inf` bucket.
//
// Lifecycle: the bounds are fixed at construction. Thread-safety: Observe()
// from the one writer; Read() and bounds() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

namespace eventflow {

class Histogram {
 public:
  //! What a reader sees.
  struct Snapshot {
    std::vector<double> bounds;    //!< upper bounds, ascending (+Inf implied after the last)
    std::vector<uint64_t> counts;  //!< per bucket, NOT cumulative; bounds.size() + 1 entries
    double sum = 0;                //!< sum of the observed values
    uint64_t count = 0;            //!< number of observations (sum of `counts`)
  };

  //! Buckets with these upper bounds (ascending; an empty list: one +Inf bucket).
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(std::initializer_list<double> upper_bounds)
      : Histogram(std::span<const double>(upper_bounds.begin(), upper_bounds.size())) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  //! Records one observation of `value` (the writer thread only).
  void Observe(double value) { ObserveN(value, 1); }
  //! Records `n` observations of `value` at once, e.g. a batch's average per
  //! record for each of its n records (the writer thread only).
  void ObserveN(double value, uint64_t n) {
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    std::atomic<uint64_t>& c = counts_[i];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + value * static_cast<double>(n),
               std::memory_order_relaxed);
  }

  //! Returns the bucket bounds.
  const std::vector<double>& bounds() const { return bounds_; }
  //! Returns the current counts and sum (any thread).
  Snapshot Read() const;
  //! Adds `other` (same bounds) into `into`, for sums over threads.
  static void Merge(const Snapshot& other, Snapshot* into);

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

}  // namespace eventflow
