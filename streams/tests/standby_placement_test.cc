// Standby placement and warm-up prediction (standby_placement.h) against an
// independent model of librdkafka's range assignor: members in order, each
// partition handed to the next member until that member has its share
// ((partitions + members - 1 - i) / members for the i-th member). Random
// groups (instances, threads per instance, members without tasks) check the
// placement's properties: never on the owner's instance, distinct instances
// per task, as many copies as other instances allow, only stateful tasks,
// the same plan whatever order the description lists the members in, and
// each copy where the model puts the task once the instances before it leave.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "standby_placement.h"

namespace eventflow::streams {
namespace {

// The model: the range assignment of `partitions` partitions over the
// members `ordered` (group.instance.ids in the assignor's order).
std::map<int, std::string> ModelRange(const std::vector<std::string>& ordered, int partitions) {
  std::map<int, std::string> owner;
  const int n = static_cast<int>(ordered.size());
  int p = 0;
  for (int i = 0; i < n; ++i) {
    const int share = (partitions + n - 1 - i) / n;
    for (int k = 0; k < share; ++k) owner[p++] = ordered[static_cast<size_t>(i)];
  }
  EXPECT_EQ(p, partitions);
  return owner;
}

std::string InstanceOfId(const std::string& gid) { return gid.substr(0, gid.rfind('-')); }

struct Group {
  TaskLayout layout;
  std::vector<MemberView> members;  // with tasks from the model
};

// A group of `instances` instances "i<k>" with `threads[k]` threads each,
// over sub-topologies with the given task counts (odd ids stateless); the
// members' tasks are the model's range assignment.
Group MakeGroup(const std::vector<int>& threads, const std::vector<int>& task_counts) {
  Group g;
  for (size_t s = 0; s < task_counts.size(); ++s) {
    g.layout.subtopology_tasks[static_cast<int>(s)] = task_counts[s];
    g.layout.subtopology_of_topic["topic-" + std::to_string(s)] = static_cast<int>(s);
    if (s % 2 == 0) g.layout.stateful.insert(static_cast<int>(s));
  }
  std::vector<std::string> ids;
  for (size_t i = 0; i < threads.size(); ++i) {
    for (int t = 0; t < threads[i]; ++t) ids.push_back("i" + std::to_string(i) + "-" + std::to_string(t));
  }
  std::vector<std::string> ordered = ids;
  std::sort(ordered.begin(), ordered.end());
  std::map<std::string, std::vector<TaskId>> tasks;
  for (size_t s = 0; s < task_counts.size(); ++s) {
    for (const auto& [p, gid] : ModelRange(ordered, task_counts[s])) {
      tasks[gid].push_back(TaskId{static_cast<int>(s), p});
    }
  }
  for (const std::string& id : ids) {
    MemberView m;
    m.group_instance_id = id;
    m.member_id = id + "-5f0c2e1a-uuid";
    m.tasks = tasks[id];
    std::sort(m.tasks.begin(), m.tasks.end());
    g.members.push_back(std::move(m));
  }
  return g;
}

TEST(StandbyPlacementTest, SplitsGroupInstanceIds) {
  EXPECT_EQ(SplitGroupInstanceId("node-a-3"), std::make_pair(std::string("node-a"), 3));
  EXPECT_EQ(SplitGroupInstanceId("x-12"), std::make_pair(std::string("x"), 12));
  EXPECT_EQ(SplitGroupInstanceId("x"), std::nullopt);
  EXPECT_EQ(SplitGroupInstanceId("x-"), std::nullopt);
  EXPECT_EQ(SplitGroupInstanceId("-1"), std::nullopt);
  EXPECT_EQ(SplitGroupInstanceId("x-1a"), std::nullopt);
  EXPECT_EQ(SplitGroupInstanceId(""), std::nullopt);
}

TEST(StandbyPlacementTest, PredictRangeMatchesTheModel) {
  for (int members = 1; members <= 7; ++members) {
    for (int partitions = 0; partitions <= 13; ++partitions) {
      TaskLayout layout;
      layout.subtopology_tasks[0] = partitions;
      std::vector<std::string> ordered;
      for (int i = 0; i < members; ++i) ordered.push_back("m" + std::to_string(i));
      const std::map<int, std::string> model = ModelRange(ordered, partitions);
      const std::map<TaskId, size_t> predicted = PredictRange(static_cast<size_t>(members), layout);
      ASSERT_EQ(predicted.size(), model.size());
      for (const auto& [p, who] : model) {
        EXPECT_EQ(ordered[predicted.at(TaskId{0, p})], who) << members << " " << partitions;
      }
    }
  }
  EXPECT_TRUE(PredictRange(0, TaskLayout{{{0, 4}}, {}, {}}).empty());
}

TEST(StandbyPlacementTest, RangeOrderSortsStaticMembersByGroupInstanceId) {
  std::vector<MemberView> members(3);
  members[0].group_instance_id = "b-0";
  members[0].member_id = "b-0-aaa";
  members[1].group_instance_id = "a-10";
  members[1].member_id = "a-10-zzz";
  members[2].group_instance_id = "a-1";
  members[2].member_id = "a-1-yyy";
  EXPECT_EQ(RangeOrder(members), (std::vector<size_t>{2, 1, 0}));
}

TEST(StandbyPlacementTest, ReadsTasksFromAGroupDescription) {
  TaskLayout layout;
  layout.subtopology_of_topic = {{"in", 0}, {"other-in", 0}, {"app-x-repartition", 1}};
  kafka::GroupDescription group;
  group.state = "Stable";
  kafka::GroupMember m;
  m.member_id = "a-0-uuid";
  m.group_instance_id = "a-0";
  m.assignment = {{"in", 2, -1}, {"other-in", 2, -1}, {"app-x-repartition", 0, -1}, {"unknown", 5, -1}};
  group.members.push_back(m);
  const std::vector<MemberView> members = MembersOf(group, layout);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].tasks, (std::vector<TaskId>{TaskId{0, 2}, TaskId{1, 0}}));
  EXPECT_EQ(InstanceOf(members[0]), "a");
}

TEST(StandbyPlacementTest, RandomGroupsKeepThePlacementRules) {
  std::mt19937 rng(20240613);
  for (int round = 0; round < 300; ++round) {
    const int instances = 1 + static_cast<int>(rng() % 6);
    std::vector<int> threads;
    for (int i = 0; i < instances; ++i) threads.push_back(1 + static_cast<int>(rng() % 3));
    std::vector<int> counts;
    const int subs = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < subs; ++s) counts.push_back(1 + static_cast<int>(rng() % 12));
    const int replicas = static_cast<int>(rng() % 4);
    Group g = MakeGroup(threads, counts);
    const StandbyPlan plan = PlanStandbys(g.members, g.layout, replicas);

    // The same plan whatever order the description lists the members in.
    std::vector<MemberView> shuffled = g.members;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(PlanStandbys(shuffled, g.layout, replicas).standbys, plan.standbys);

    std::map<TaskId, std::vector<std::string>> copies;  // task → standby member ids
    for (const auto& [gid, tasks] : plan.standbys) {
      for (const TaskId& t : tasks) copies[t].push_back(gid);
    }
    std::vector<std::string> all_ids;
    for (const MemberView& m : g.members) all_ids.push_back(m.group_instance_id);
    std::sort(all_ids.begin(), all_ids.end());
    for (const MemberView& owner : g.members) {
      for (const TaskId& t : owner.tasks) {
        const std::string owner_instance = InstanceOfId(owner.group_instance_id);
        EXPECT_EQ(plan.owners.at(t), owner_instance);
        if (g.layout.stateful.count(t.subtopology) == 0) {
          EXPECT_EQ(copies.count(t), 0u) << "stateless task " << t.ToString() << " got a standby";
          continue;
        }
        const std::vector<std::string>& held = copies[t];
        EXPECT_EQ(held.size(), static_cast<size_t>(std::min(replicas, instances - 1)))
            << t.ToString();
        // Each copy where the model puts the task once the owner and the
        // earlier copies' instances are gone; never on the owner's instance.
        std::set<std::string> gone{owner_instance};
        for (size_t k = 0; k < held.size(); ++k) {
          std::vector<std::string> remaining;
          for (const std::string& id : all_ids) {
            if (gone.count(InstanceOfId(id)) == 0) remaining.push_back(id);
          }
          const std::string expected =
              ModelRange(remaining, g.layout.subtopology_tasks.at(t.subtopology)).at(t.partition);
          EXPECT_NE(std::find(held.begin(), held.end(), expected), held.end())
              << "task " << t.ToString() << " copy " << k << " expected on " << expected;
          gone.insert(InstanceOfId(expected));
        }
        std::set<std::string> holder_instances;
        for (const std::string& gid : held) {
          EXPECT_NE(InstanceOfId(gid), owner_instance) << "standby on the owner's instance";
          EXPECT_TRUE(holder_instances.insert(InstanceOfId(gid)).second)
              << "two copies of " << t.ToString() << " on one instance";
        }
      }
    }
  }
}

TEST(StandbyPlacementTest, InstancesWithoutTasksHoldStandbys) {
  // 4 single-thread instances, 3 tasks: i3 runs nothing, but would get task
  // 2 if i2 left, so it keeps task 2's standby.
  Group g = MakeGroup({1, 1, 1, 1}, {3});
  ASSERT_TRUE(g.members[3].tasks.empty());
  const StandbyPlan plan = PlanStandbys(g.members, g.layout, 1);
  ASSERT_TRUE(plan.standbys.count("i3-0"));
  const std::map<int, std::string> if_i2_left = ModelRange({"i0-0", "i1-0", "i3-0"}, 3);
  for (const TaskId& t : plan.standbys.at("i3-0")) {
    EXPECT_EQ(if_i2_left.at(t.partition), "i3-0");
  }
  EXPECT_FALSE(plan.standbys.at("i3-0").empty());
}

TEST(StandbyPlacementTest, PredictJoinMatchesTheModel) {
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {
    std::vector<int> threads;
    const int instances = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < instances; ++i) threads.push_back(1 + static_cast<int>(rng() % 2));
    const int tasks = 1 + static_cast<int>(rng() % 12);
    Group g = MakeGroup(threads, {tasks});
    // The joining instance "j" (sorts after "i…") or "a" (before), 1-2 threads.
    const std::string joiner = rng() % 2 ? "j" : "a";
    std::vector<std::string> joining;
    for (int t = 0; t < 1 + static_cast<int>(rng() % 2); ++t) {
      joining.push_back(joiner + "-" + std::to_string(t));
    }
    std::vector<std::string> all = joining;
    for (const MemberView& m : g.members) all.push_back(m.group_instance_id);
    std::sort(all.begin(), all.end());
    const std::map<int, std::string> model = ModelRange(all, tasks);
    const auto predicted = PredictJoin(g.members, joining, g.layout);
    for (const std::string& id : joining) {
      std::set<TaskId> expected;
      for (const auto& [p, who] : model) {
        if (who == id) expected.insert(TaskId{0, p});
      }
      EXPECT_EQ(predicted.at(id), expected) << id;
    }
  }
}

}  // namespace
}  // namespace eventflow::streams
