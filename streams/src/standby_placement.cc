#include "standby_placement.h"

#include <algorithm>

namespace eventflow::streams {

std::vector<MemberView> MembersOf(const kafka::GroupDescription& group, const TaskLayout& layout) {
  std::vector<MemberView> members;
  members.reserve(group.members.size());
  for (const kafka::GroupMember& m : group.members) {
    MemberView view;
    view.member_id = m.member_id;
    view.group_instance_id = m.group_instance_id;
    std::set<TaskId> tasks;
    for (const kafka::PartitionOffset& p : m.assignment) {
      auto sub = layout.subtopology_of_topic.find(p.topic);
      if (sub != layout.subtopology_of_topic.end()) tasks.insert(TaskId{sub->second, p.partition});
    }
    view.tasks.assign(tasks.begin(), tasks.end());
    members.push_back(std::move(view));
  }
  return members;
}

std::optional<std::pair<std::string, int>> SplitGroupInstanceId(std::string_view id) {
  const size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size() ||
      id.size() - dash - 1 > 6) {
    return std::nullopt;
  }
  int thread = 0;
  for (char c : id.substr(dash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    thread = thread * 10 + (c - '0');
  }
  return std::make_pair(std::string(id.substr(0, dash)), thread);
}

std::string InstanceOf(const MemberView& member) {
  if (auto split = SplitGroupInstanceId(member.group_instance_id)) return split->first;
  return member.member_id;
}

std::vector<size_t> RangeOrder(const std::vector<MemberView>& members) {
  // librdkafka compares two static members by group.instance.id and anything
  // else by member id. With every member static that is one total order; a
  // dynamic member makes the assignor's order depend on the sort's path, and
  // we fall back to member ids (the broker's are "<group.instance.id>-<uuid>"
  // for static members, so the order rarely differs).
  const bool all_static = std::all_of(members.begin(), members.end(), [](const MemberView& m) {
    return !m.group_instance_id.empty();
  });
  auto key = [&](const MemberView& m) -> std::string {
    if (all_static) return m.group_instance_id;
    return m.member_id.empty() ? m.group_instance_id + "-" : m.member_id;
  };
  std::vector<size_t> order(members.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return key(members[a]) < key(members[b]); });
  return order;
}

std::map<TaskId, size_t> PredictRange(size_t n, const TaskLayout& layout) {
  std::map<TaskId, size_t> owner;
  if (n == 0) return owner;
  for (const auto& [sub, count] : layout.subtopology_tasks) {
    const size_t partitions = static_cast<size_t>(std::max(count, 0));
    const size_t per_member = partitions / n;
    const size_t with_extra = partitions % n;
    for (size_t i = 0; i < n; ++i) {
      const size_t start = per_member * i + std::min(i, with_extra);
      const size_t length = per_member + (i < with_extra ? 1 : 0);
      for (size_t p = start; p < start + length; ++p) {
        owner[TaskId{sub, static_cast<int32_t>(p)}] = i;
      }
    }
  }
  return owner;
}

StandbyPlan PlanStandbys(const std::vector<MemberView>& members, const TaskLayout& layout,
                         int num_standby_replicas) {
  StandbyPlan plan;
  std::vector<std::string> instance(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    instance[i] = InstanceOf(members[i]);
    for (const TaskId& t : members[i].tasks) plan.owners[t] = instance[i];
  }
  if (num_standby_replicas <= 0) return plan;
  const std::vector<size_t> order = RangeOrder(members);
  // The range assignment over the members of every instance but `gone`, as
  // task → member index; cached per set of instances left out.
  std::map<std::set<std::string>, std::map<TaskId, size_t>> cache;
  auto without = [&](const std::set<std::string>& gone) -> const std::map<TaskId, size_t>& {
    auto it = cache.find(gone);
    if (it != cache.end()) return it->second;
    std::vector<size_t> remaining;
    for (size_t m : order) {
      if (gone.count(instance[m]) == 0) remaining.push_back(m);
    }
    std::map<TaskId, size_t> owners;
    for (const auto& [task, position] : PredictRange(remaining.size(), layout)) {
      owners[task] = remaining[position];
    }
    return cache.emplace(gone, std::move(owners)).first->second;
  };
  for (const auto& [task, owner] : plan.owners) {
    if (layout.stateful.count(task.subtopology) == 0) continue;
    std::set<std::string> gone{owner};
    for (int k = 0; k < num_standby_replicas; ++k) {
      const std::map<TaskId, size_t>& predicted = without(gone);
      auto it = predicted.find(task);
      if (it == predicted.end()) break;  // no member left
      const MemberView& holder = members[it->second];
      if (!holder.group_instance_id.empty()) plan.standbys[holder.group_instance_id].insert(task);
      gone.insert(instance[it->second]);
    }
  }
  return plan;
}

std::map<std::string, std::set<TaskId>> PredictJoin(const std::vector<MemberView>& members,
                                                    const std::vector<std::string>& joining,
                                                    const TaskLayout& layout) {
  std::vector<MemberView> after = members;
  const size_t first_joining = after.size();
  for (const std::string& id : joining) {
    MemberView m;
    m.group_instance_id = id;
    after.push_back(std::move(m));
  }
  const std::vector<size_t> order = RangeOrder(after);
  std::map<std::string, std::set<TaskId>> predicted;
  for (const std::string& id : joining) predicted[id];
  for (const auto& [task, position] : PredictRange(order.size(), layout)) {
    const size_t m = order[position];
    if (m >= first_joining) predicted[after[m].group_instance_id].insert(task);
  }
  return predicted;
}

}  // namespace eventflow::streams
