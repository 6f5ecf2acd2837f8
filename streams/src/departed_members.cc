#include "departed_members.h"

#include <thread>

#include "eventflow/core/log.h"

namespace eventflow::streams {

DepartedMemberFencer::DepartedMemberFencer(std::set<std::string> own_threads,
                                           DescribeGroup describe, Fence fence,
                                           std::chrono::milliseconds fence_timeout)
    : own_threads_(std::move(own_threads)),
      describe_(std::move(describe)),
      fence_(std::move(fence)),
      fence_timeout_(fence_timeout) {}

std::vector<std::string> DepartedMemberFencer::OnAssignment(const std::string& thread) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto group = describe_();
  if (!group.ok()) {
    Log(LogLevel::kWarn, "stream-thread " + thread,
        "describing the consumer group to find departed members: " + group.status().ToString() +
            "; their open transactions end when the broker times them out");
    return {};
  }
  std::set<std::string> present;
  for (const kafka::GroupMember& m : group->members) {
    if (!m.group_instance_id.empty()) present.insert(m.group_instance_id);
  }
  // The assigned thread is a member: a description without it is not of the
  // generation that assigned it (e.g. the group's state was still being
  // loaded), and says nothing about who left.
  if (present.count(thread) == 0) return {};
  std::vector<std::string> departed;
  for (const std::string& member : known_) {
    if (present.count(member) == 0 && own_threads_.count(member) == 0) departed.push_back(member);
  }
  // All at once: each fence waits for the coordinator to abort that
  // member's transaction.
  std::vector<Status> results(departed.size());
  std::vector<int64_t> took_ms(departed.size(), 0);
  {
    std::vector<std::thread> fencers;
    fencers.reserve(departed.size());
    for (size_t i = 0; i < departed.size(); ++i) {
      fencers.emplace_back([this, &departed, &results, &took_ms, i] {
        const auto start = std::chrono::steady_clock::now();
        results[i] = fence_(departed[i], fence_timeout_);
        took_ms[i] = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
      });
    }
    for (std::thread& t : fencers) t.join();
  }
  known_ = std::move(present);
  std::vector<std::string> fenced;
  for (size_t i = 0; i < departed.size(); ++i) {
    if (results[i].ok()) {
      Log(LogLevel::kInfo, "stream-thread " + thread,
          "member " + departed[i] + " left the group: fenced its transactional id in " +
              std::to_string(took_ms[i]) + " ms (its open transaction, if any, is aborted)");
      fenced.push_back(departed[i]);
    } else {
      Log(LogLevel::kWarn, "stream-thread " + thread,
          "member " + departed[i] + " left the group; fencing its transactional id failed (" +
              results[i].ToString() +
              "): its open transaction ends when the broker times it out; retried at the next "
              "assignment");
      known_.insert(departed[i]);
    }
  }
  return fenced;
}

}  // namespace eventflow::streams
