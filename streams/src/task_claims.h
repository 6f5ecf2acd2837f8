// TaskClaims: which stream thread of an instance has a task's stores open.
//
// A task's stores live in one directory per instance
// (<state_dir>/<application_id>/<task id>/), and RocksDB lets one handle
// open a store at a time. An active task and a standby task of the same task
// on two threads of one instance would collide; normally they do not — a
// standby is placed on the member that would get the task, the owner's
// instance never holds one, and under eager rebalancing every member has
// handled its revocation before any member gets its new assignment — but a
// plan taken before a rebalance and a member list that changed again can
// make them meet. So every thread claims a task here before opening its
// stores and releases it after closing them:
//   - a standby is created only when no thread has the task (TryClaimStandby);
//   - an active task always gets it: when another thread's standby holds it,
//     that thread is asked to release it (release_requested(): one relaxed
//     load per loop iteration of the holder) and the claimant waits, bounded,
//     serving its own release requests meanwhile so that two threads waiting
//     for each other both make progress (ClaimActive).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams {

class TaskClaims {
 public:
  //! Threads are numbered 0..kMaxThreads-1 (num_stream_threads is at most 64).
  static constexpr int kMaxThreads = 64;

  //! Claims `task` for a standby of `thread`. Returns true when it is
  //! claimed (no thread had it, or this thread's standby already has it).
  bool TryClaimStandby(const TaskId& task, int thread);

  //! Claims `task` for an active task of `thread` (see file comment), waiting
  //! up to `timeout` for another thread to release it and calling `serve`
  //! about every 10 ms meanwhile. Returns TimedOut naming the holder.
  Status ClaimActive(const TaskId& task, int thread, std::chrono::milliseconds timeout,
                     const std::function<void()>& serve);

  //! Releases `thread`'s claim of `task` (no-op when it holds none).
  void Release(const TaskId& task, int thread);

  //! True when another thread waits for standbys of `thread` (cheap: per loop).
  bool release_requested(int thread) const {
    return requested_[static_cast<size_t>(thread)].load(std::memory_order_relaxed);
  }
  //! The standby tasks other threads wait for; clears the request.
  std::vector<TaskId> TakeReleaseRequests(int thread);

 private:
  struct Claim {
    int thread = 0;
    bool active = false;
  };

  mutable std::mutex mu_;
  std::condition_variable released_;
  std::map<TaskId, Claim> claims_;
  std::map<int, std::set<TaskId>> requests_;
  std::array<std::atomic<bool>, kMaxThreads> requested_{};
};

}  // namespace eventflow::streams
