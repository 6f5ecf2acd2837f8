#include "standby_coordinator.h"

#include <algorithm>

#include "eventflow/core/log.h"

namespace eventflow::streams {
namespace {

constexpr char kLog[] = "standby";

std::string Describe(const std::map<int, std::set<TaskId>>& sets, const std::string& instance) {
  std::string out;
  for (const auto& [thread, tasks] : sets) {
    if (!out.empty()) out += "; ";
    out += instance + "-" + std::to_string(thread) + ":";
    if (tasks.empty()) out += " none";
    for (const TaskId& t : tasks) out += " " + t.ToString();
  }
  return out;
}

}  // namespace

StandbyCoordinator::StandbyCoordinator(TaskLayout layout, Options options, DescribeGroup describe)
    : layout_(std::move(layout)), options_(std::move(options)), describe_(std::move(describe)) {
  if (options_.warmup_timeout.count() <= 0) warmup_.store(Warmup::kJoined);
}

StandbyCoordinator::~StandbyCoordinator() { Stop(); }

std::string StandbyCoordinator::MemberId(int thread) const {
  return options_.instance_id + "-" + std::to_string(thread);
}

std::set<TaskId> StandbyCoordinator::StandbysOf(int thread) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sets_.find(thread);
  return it != sets_.end() ? it->second : std::set<TaskId>{};
}

void StandbyCoordinator::ReportWarmup(int thread, uint64_t version, int64_t max_lag) {
  std::lock_guard<std::mutex> lock(mu_);
  if (version == version_.load(std::memory_order_relaxed)) reported_lag_[thread] = max_lag;
}

void StandbyCoordinator::OnRebalance() {
  generation_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
  }
  wake_.notify_one();
}

void StandbyCoordinator::Publish(std::map<int, std::set<TaskId>> sets) {
  // mu_ held.
  if (sets == sets_) return;
  sets_ = std::move(sets);
  reported_lag_.clear();
  version_.fetch_add(1, std::memory_order_acq_rel);
}

void StandbyCoordinator::Join(const std::string& why) {
  // mu_ held.
  Log(LogLevel::kInfo, kLog, "instance " + options_.instance_id + ": " + why);
  warmup_.store(Warmup::kJoined, std::memory_order_release);
  warmup_tasks_.store(0, std::memory_order_relaxed);
  next_describe_ = {};
}

void StandbyCoordinator::Tick() {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Warmup state = warmup_.load(std::memory_order_relaxed);
    if (state == Warmup::kWarming) {
      int ready = 0;
      int64_t worst = 0;
      for (int t = 0; t < options_.threads; ++t) {
        auto it = reported_lag_.find(t);
        if (it == reported_lag_.end() || it->second < 0) continue;
        worst = std::max(worst, it->second);
        if (it->second <= options_.acceptable_recovery_lag) ++ready;
      }
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - warmup_began_).count();
      if (ready == options_.threads) {
        Join("warm-up done after " + std::to_string(waited) + " ms: every task it will get is within " +
             std::to_string(worst) + " offset(s) of its changelog's end (acceptable.recovery.lag " +
             std::to_string(options_.acceptable_recovery_lag) + "); joining the group");
      } else if (now >= warmup_deadline_) {
        Log(LogLevel::kWarn, kLog,
            "instance " + options_.instance_id + ": warm-up not done after warmup.timeout.ms (" +
                std::to_string(options_.warmup_timeout.count()) + " ms; " +
                std::to_string(ready) + " of " + std::to_string(options_.threads) +
                " thread(s) caught up); joining anyway: the tasks not caught up restore the rest");
        Join("joining the group after the warm-up time-out");
      }
    }
    const bool due = next_describe_ == Clock::time_point{} || now >= next_describe_ ||
                     (warmup_.load(std::memory_order_relaxed) == Warmup::kJoined &&
                      generation_.load(std::memory_order_relaxed) != planned_generation_);
    if (!due) return;
    // At most one describe per retry interval, whatever triggers it.
    next_describe_ = now + options_.retry_interval;
  }
  const uint64_t generation = generation_.load(std::memory_order_relaxed);
  Result<kafka::GroupDescription> described = describe_();
  std::lock_guard<std::mutex> lock(mu_);
  if (!described.ok()) {
    if (!describe_failing_) {
      Log(LogLevel::kWarn, kLog,
          "cannot describe the consumer group to place standby tasks: " +
              described.status().ToString() + "; retrying");
    }
    describe_failing_ = true;
    if (warmup_.load(std::memory_order_relaxed) == Warmup::kDeciding) {
      Join("joining the group without warming up (the group could not be described)");
      next_describe_ = now + options_.retry_interval;
    }
    return;
  }
  describe_failing_ = false;
  if (warmup_.load(std::memory_order_relaxed) != Warmup::kJoined) {
    PlanWarmup(*described, now);
    return;
  }
  if (generation_.load(std::memory_order_relaxed) != generation) {
    next_describe_ = {};  // a rebalance meanwhile: describe again
    return;
  }
  if (described->state != "Stable") return;  // retried after retry_interval
  const std::vector<MemberView> members = MembersOf(*described, layout_);
  for (int t = 0; t < options_.threads; ++t) {
    const std::string id = MemberId(t);
    if (std::none_of(members.begin(), members.end(),
                     [&](const MemberView& m) { return m.group_instance_id == id; })) {
      return;  // this instance has not joined (yet, or again): retried
    }
  }
  const StandbyPlan plan = PlanStandbys(members, layout_, options_.num_standby_replicas);
  std::map<int, std::set<TaskId>> sets;
  for (int t = 0; t < options_.threads; ++t) {
    auto it = plan.standbys.find(MemberId(t));
    sets[t] = it != plan.standbys.end() ? it->second : std::set<TaskId>{};
  }
  if (sets != sets_) {
    Log(LogLevel::kInfo, kLog,
        "standby tasks of instance " + options_.instance_id + " (" +
            std::to_string(members.size()) + " group member(s)): " +
            Describe(sets, options_.instance_id));
  }
  Publish(std::move(sets));
  planned_generation_ = generation;
  next_describe_ = now + options_.refresh_interval;
}

void StandbyCoordinator::PlanWarmup(const kafka::GroupDescription& group, Clock::time_point now) {
  // mu_ held.
  const std::vector<MemberView> members = MembersOf(group, layout_);
  const bool deciding = warmup_.load(std::memory_order_relaxed) == Warmup::kDeciding;
  if (std::any_of(members.begin(), members.end(),
                  [&](const MemberView& m) { return InstanceOf(m) == options_.instance_id; })) {
    Join("its members are still in the group (a restart within the session time-out: their "
         "tasks wait for it); joining without warming up");
    return;
  }
  if (members.empty()) {
    Join("the group has no members; joining without warming up");
    return;
  }
  std::vector<std::string> joining;
  for (int t = 0; t < options_.threads; ++t) joining.push_back(MemberId(t));
  const auto predicted = PredictJoin(members, joining, layout_);
  const StandbyPlan now_running = PlanStandbys(members, layout_, 0);
  std::map<int, std::set<TaskId>> sets;
  int total = 0;
  for (int t = 0; t < options_.threads; ++t) {
    std::set<TaskId>& set = sets[t];
    for (const TaskId& task : predicted.at(MemberId(t))) {
      if (layout_.stateful.count(task.subtopology) && now_running.owners.count(task)) {
        set.insert(task);
      }
    }
    total += static_cast<int>(set.size());
  }
  if (total == 0) {
    Join("none of the tasks it would get keeps state elsewhere; joining without warming up");
    return;
  }
  if (deciding || sets != sets_) {
    Log(LogLevel::kInfo, kLog,
        "instance " + options_.instance_id + ": warming up " + std::to_string(total) +
            " task(s) before joining the group (" + std::to_string(members.size()) +
            " member(s) now; up to warmup.timeout.ms " +
            std::to_string(options_.warmup_timeout.count()) + " ms): " +
            Describe(sets, options_.instance_id));
  }
  if (deciding) {
    warmup_began_ = now;
    warmup_deadline_ = now + options_.warmup_timeout;
    warmup_.store(Warmup::kWarming, std::memory_order_release);
  }
  warmup_tasks_.store(total, std::memory_order_relaxed);
  Publish(std::move(sets));
  // Follow the group while warming up: a member joining or leaving meanwhile
  // changes what this instance will get.
  next_describe_ = now + std::min<std::chrono::milliseconds>(options_.refresh_interval,
                                                             std::chrono::seconds(5));
}

void StandbyCoordinator::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(wake_mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || woken_; });
        if (stop_) return;
        woken_ = false;
      }
      Tick();
    }
  });
}

void StandbyCoordinator::Stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace eventflow::streams
