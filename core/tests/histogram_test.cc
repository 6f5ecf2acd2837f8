// Histogram against an independent count: seeded random observations are
// bucketed by a direct comparison with each bound; a reader thread sees
// monotonic, consistent snapshots while the writer observes.
#include "eventflow/core/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

namespace eventflow {
namespace {

TEST(HistogramTest, BucketsMatchAnIndependentCount) {
  const std::vector<double> bounds = {0.001, 0.01, 0.1, 1, 10};
  Histogram h(bounds);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-5, 2);
  std::vector<uint64_t> expected(bounds.size() + 1, 0);
  double expected_sum = 0;
  uint64_t expected_count = 0;
  for (int i = 0; i < 10000; ++i) {
    double v = std::pow(10.0, exponent(rng));
    if (i % 100 == 0) v = bounds[static_cast<size_t>(i / 100) % bounds.size()];  // on a bound: le
    const uint64_t n = (i % 7 == 0) ? 3 : 1;
    size_t bucket = bounds.size();
    for (size_t b = 0; b < bounds.size(); ++b) {
      if (v <= bounds[b]) {
        bucket = b;
        break;
      }
    }
    expected[bucket] += n;
    expected_sum += v * static_cast<double>(n);
    expected_count += n;
    h.ObserveN(v, n);
  }
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.bounds, bounds);
  EXPECT_EQ(s.counts, expected);
  EXPECT_EQ(s.count, expected_count);
  EXPECT_NEAR(s.sum, expected_sum, 1e-9 * expected_sum);

  Histogram::Snapshot total;
  Histogram::Merge(s, &total);
  Histogram::Merge(s, &total);
  EXPECT_EQ(total.count, 2 * expected_count);
  EXPECT_EQ(total.counts[0], 2 * expected[0]);
  EXPECT_NEAR(total.sum, 2 * expected_sum, 1e-9 * expected_sum);
}

TEST(HistogramTest, AReaderSeesMonotonicSnapshotsWhileTheWriterObserves) {
  Histogram h({1, 2, 3});
  constexpr uint64_t kObservations = 200000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kObservations; ++i) h.Observe(static_cast<double>(i % 4) + 0.5);
  });
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const Histogram::Snapshot s = h.Read();
    EXPECT_GE(s.count, last);
    last = s.count;
  }
  writer.join();
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, kObservations);
  for (uint64_t c : s.counts) EXPECT_EQ(c, kObservations / 4);
}

TEST(HistogramTest, NoBoundsIsOneInfBucket) {
  Histogram h(std::span<const double>{});
  h.Observe(123);
  const Histogram::Snapshot s = h.Read();
  ASSERT_EQ(s.counts.size(), 1u);
  EXPECT_EQ(s.counts[0], 1u);
  EXPECT_EQ(s.sum, 123);
}

}  // namespace
}  // namespace eventflow
