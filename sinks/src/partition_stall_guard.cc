#include "partition_stall_guard.h"

#include <algorithm>

namespace eventflow::sinks {
namespace {

using std::chrono::milliseconds;

PartitionStallGuard::Duration QueryInterval(milliseconds timeout) {
  return std::clamp<PartitionStallGuard::Duration>(timeout / 3, milliseconds(100),
                                                   std::chrono::seconds(10));
}

}  // namespace

PartitionStallGuard::PartitionStallGuard(milliseconds timeout)
    : timeout_(timeout),
      query_interval_(QueryInterval(timeout)),
      round_(std::min<Duration>(std::chrono::seconds(1), query_interval_)),
      next_round_(round_) {}

bool PartitionStallGuard::Tick(Clock::time_point now) {
  if (!enabled()) return false;
  // Polls come every 100 ms at most; a longer gap is the process stopped
  // (SIGSTOP) or starved, which is no time its fetchers had to deliver in.
  if (now > last_ && last_ != Clock::time_point{}) {
    waited_ += std::min<Duration>(now - last_, std::chrono::seconds(1));
  }
  last_ = now;
  if (waited_ < next_round_) return false;
  next_round_ = waited_ + round_;
  return true;
}

void PartitionStallGuard::Reset(Watch* w, int64_t position) const {
  *w = Watch{};
  w->position = position;
  w->still_since = waited_;
}

void PartitionStallGuard::Observe(Watch* w, int64_t position) const {
  if (position == w->position) return;
  w->position = position;
  w->still_since = waited_;
  w->lag_seen.reset();
  w->stalled = false;
}

bool PartitionStallGuard::WantsEnd(Watch* w, int64_t position) const {
  Observe(w, position);
  if (waited_ - w->still_since < query_interval_ || waited_ < w->next_ask) return false;
  w->next_ask = waited_ + query_interval_;
  return true;
}

PartitionStallGuard::Verdict PartitionStallGuard::Judge(Watch* w, int64_t position,
                                                        int64_t end) const {
  Observe(w, position);
  if (end <= position) {
    w->still_since = waited_;
    w->lag_seen.reset();
    w->stalled = false;
    return Verdict::kFine;
  }
  if (!w->lag_seen) {
    w->lag_seen = waited_;
    w->lag_end = end;
    return Verdict::kLagging;
  }
  if (waited_ - *w->lag_seen < timeout_) return Verdict::kLagging;
  const bool first = !w->stalled;
  w->stalled = true;
  // The next verdict (a restart that did not help) a whole time-out later.
  w->lag_seen = waited_;
  w->lag_end = end;
  return first ? Verdict::kStalled : Verdict::kStillStalled;
}

}  // namespace eventflow::sinks
