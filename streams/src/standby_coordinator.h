// StandbyCoordinator: an instance's view of its standby tasks and of its
// warm-up before joining the group (num_standby_replicas > 0).
//
// How instances learn the assignment: from the consumer group itself. The
// coordinator describes the group (DescribeConsumerGroups through the Admin
// API: members with group.instance.id, member id and assigned partitions)
// after each rebalance its stream threads take part in (OnRebalance), every
// refresh_interval, and again soon while the group is not Stable, does not
// list all of this instance's members yet, or changed while it was being
// described. From a usable description every instance computes the same
// placement (standby_placement.h: PlanStandbys), and each stream thread
// keeps the standbys of its own member, StandbysOf(thread). A thread picks a
// new plan up when version() changes (one relaxed load per loop iteration).
//
// Warm-up (warmup_timeout > 0). Before its threads subscribe, a starting
// instance describes the group. When the group is empty or already lists
// one of this instance's members (a static member restarting within its
// session: its partitions wait for it, nobody else runs them) it joins at
// once. Otherwise it predicts the tasks each of its threads will get once
// they join (PredictJoin: the range assignor over the present members plus
// the new ones), keeps the stateful ones that another instance runs now as
// standbys of those threads, and lets the threads subscribe (may_join())
// only when every thread reports its warm copies within
// acceptable_recovery_lag of their changelogs' ends (ReportWarmup), or when
// warmup_timeout has passed (logged). Meanwhile the old owners keep
// processing; the prediction is renewed on each refresh, so a group that
// changes meanwhile changes what is warmed. After joining, the warm copies
// stay until the first plan of the new generation replaces them: the thread
// that gets a task it warmed turns the standby into the active task, whose
// restore replays only the tail written since.
//
// Driving: Tick() does the work (describe when due, compute, decide); Start()
// runs it on a thread of its own every 100 ms and at once after OnRebalance(),
// so no stream thread ever waits for the Admin API. Tests call Tick() directly.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "standby_placement.h"

namespace eventflow::streams {

class StandbyCoordinator {
 public:
  using Clock = std::chrono::steady_clock;
  //! Describes the application's consumer group (the Admin API in production).
  using DescribeGroup = std::function<Result<kafka::GroupDescription>()>;

  struct Options {
    std::string instance_id;  //!< this instance (its members are "<instance_id>-<thread>")
    int threads = 1;          //!< its stream threads
    int num_standby_replicas = 1;
    int64_t acceptable_recovery_lag = 10'000;
    //! 0: no warm-up (join at once).
    std::chrono::milliseconds warmup_timeout{300'000};
    //! The plan is described again at least this often.
    std::chrono::milliseconds refresh_interval{30'000};
    //! ... and this soon after a description it could not use (or a failure).
    std::chrono::milliseconds retry_interval{500};
  };

  //! Where the instance stands in its warm-up.
  enum class Warmup { kDeciding, kWarming, kJoined };

  StandbyCoordinator(TaskLayout layout, Options options, DescribeGroup describe);
  ~StandbyCoordinator();

  // Stream threads.
  //! Changes whenever a thread's standby tasks change (one relaxed load).
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  //! The standby tasks `thread` should keep now (its warm-up tasks while warming up).
  std::set<TaskId> StandbysOf(int thread) const;
  //! True once the threads may subscribe (see file comment).
  bool may_join() const { return warmup_state() == Warmup::kJoined; }
  //! A thread's largest lag among its standbys, as of plan `version` (-1:
  //! not known yet). Warm-up ends when every thread reported a known lag within
  //! acceptable_recovery_lag for the current version.
  void ReportWarmup(int thread, uint64_t version, int64_t max_lag);
  //! A stream thread of this instance was assigned or revoked partitions.
  void OnRebalance();

  // The driver.
  //! Describes the group when due and recomputes (see file comment).
  void Tick();
  //! Runs Tick() on a thread of its own until Stop().
  void Start();
  void Stop();

  // Figures.
  Warmup warmup_state() const { return warmup_.load(std::memory_order_acquire); }
  //! Tasks this instance warms up before joining (0 once joined).
  int warmup_tasks() const { return warmup_tasks_.load(std::memory_order_relaxed); }

 private:
  //! Decides whether to warm up, and what (kDeciding, kWarming).
  void PlanWarmup(const kafka::GroupDescription& group, Clock::time_point now);
  //! Places the standbys (kJoined).
  void PlanStandbysFrom(const kafka::GroupDescription& group);
  //! Replaces the threads' standby sets; bumps the version when they changed.
  void Publish(std::map<int, std::set<TaskId>> sets);
  //! Joins: logs `why`.
  void Join(const std::string& why);
  std::string MemberId(int thread) const;

  const TaskLayout layout_;
  const Options options_;
  const DescribeGroup describe_;

  std::atomic<uint64_t> version_{1};
  std::atomic<uint64_t> generation_{0};  // bumped by OnRebalance
  std::atomic<Warmup> warmup_{Warmup::kDeciding};
  std::atomic<int> warmup_tasks_{0};

  mutable std::mutex mu_;  // guards what follows
  std::map<int, std::set<TaskId>> sets_;
  std::map<int, int64_t> reported_lag_;  // thread → lag as of version_
  Clock::time_point warmup_deadline_{};
  Clock::time_point warmup_began_{};
  Clock::time_point next_describe_{};  // zero: describe at the next tick
  uint64_t planned_generation_ = ~uint64_t{0};
  bool describe_failing_ = false;  // logged once per outage

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace eventflow::streams
