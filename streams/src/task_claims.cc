#include "task_claims.h"

namespace eventflow::streams {

bool TaskClaims::TryClaimStandby(const TaskId& task, int thread) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = claims_.emplace(task, Claim{thread, false});
  return inserted || (it->second.thread == thread && !it->second.active);
}

Status TaskClaims::ClaimActive(const TaskId& task, int thread, std::chrono::milliseconds timeout,
                               const std::function<void()>& serve) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    auto [it, inserted] = claims_.emplace(task, Claim{thread, true});
    if (inserted || it->second.thread == thread) {
      it->second = Claim{thread, true};
      return Status::OK();
    }
    const Claim holder = it->second;
    if (!holder.active) {
      requests_[holder.thread].insert(task);
      requested_[static_cast<size_t>(holder.thread)].store(true, std::memory_order_relaxed);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::TimedOut("task " + task.ToString() + ": its stores are still open in " +
                              (holder.active ? "an active" : "a standby") +
                              " task of stream thread " + std::to_string(holder.thread) +
                              " of this instance after " + std::to_string(timeout.count()) +
                              " ms");
    }
    released_.wait_for(lock, std::chrono::milliseconds(10));
    if (serve) {
      lock.unlock();
      serve();
      lock.lock();
    }
  }
}

void TaskClaims::Release(const TaskId& task, int thread) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = claims_.find(task);
    if (it == claims_.end() || it->second.thread != thread) return;
    claims_.erase(it);
  }
  released_.notify_all();
}

std::vector<TaskId> TaskClaims::TakeReleaseRequests(int thread) {
  std::lock_guard<std::mutex> lock(mu_);
  requested_[static_cast<size_t>(thread)].store(false, std::memory_order_relaxed);
  auto it = requests_.find(thread);
  if (it == requests_.end()) return {};
  std::vector<TaskId> tasks(it->second.begin(), it->second.end());
  requests_.erase(it);
  return tasks;
}

}  // namespace eventflow::streams
