// Standby placement and warm-up prediction: pure functions over a consumer
// group's description (members with their group.instance.id, member id and
// assigned partitions), computed the same way by every instance of an
// application, so that all of them agree on where each task's standbys live
// without talking to each other.
//
// Why prediction works. The stream threads' consumers use librdkafka's
// `range` assignor with eager rebalancing: for each subscribed topic it lays
// the members out in order — by group.instance.id when both members of a
// comparison have one (static membership, which standbys require), else by
// member id, which the broker makes "<group.instance.id>-<uuid>" — and gives
// member i the i-th contiguous range of partitions (the first
// partitions % members members get one more). Every sub-topology's source
// topics have the task count as partition count, so a task (sub-topology,
// partition) goes to the member holding that partition of every source
// topic, and the assignment after any change of the member list can be
// computed in advance (PredictRange).
//
// Placement (PlanStandbys). The first standby of a task goes to the member
// that would get the task if its owner's instance left the group (the range
// assignment over the remaining members), the k-th to the member that would
// get it if the owner and the instances of the first k-1 standbys left. So a
// standby is never on the owner's instance, no two copies share an instance,
// instances without active tasks take part (they are members too), and when
// an instance goes away its tasks land where their warm copy is. Only tasks of
// sub-topologies with logged stores get standbys.
//
// Warm-up (PredictJoin): the tasks each member of a joining instance would
// get once its members join (the range assignment over the present members
// plus the new ones).
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams {

//! What placement needs to know of the application's topology.
struct TaskLayout {
  //! Sub-topology id → its task count (the partition count of its sources).
  std::map<int, int> subtopology_tasks;
  //! Resolved source topic → sub-topology (to read members' assignments).
  std::map<std::string, int> subtopology_of_topic;
  //! Sub-topologies with logged stores: only their tasks get standbys.
  std::set<int> stateful;
};

//! One member of the group as placement sees it.
struct MemberView {
  std::string member_id;          //!< the coordinator's id ("<group.instance.id>-<uuid>")
  std::string group_instance_id;  //!< "<instance id>-<thread index>"; empty: dynamic member
  std::vector<TaskId> tasks;      //!< the tasks of its assigned partitions
};

//! The members of `group`, with their assigned partitions read as tasks
//! (partitions of topics the layout does not know are ignored).
std::vector<MemberView> MembersOf(const kafka::GroupDescription& group, const TaskLayout& layout);

//! "<instance>-<thread>" → {instance, thread}; nullopt when `group_instance_id`
//! does not end in "-<digits>".
std::optional<std::pair<std::string, int>> SplitGroupInstanceId(std::string_view group_instance_id);

//! The instance a member belongs to: its group.instance.id without the
//! thread suffix, or (a dynamic member) its member id.
std::string InstanceOf(const MemberView& member);

//! Indices of `members` in the range assignor's order (see file comment).
std::vector<size_t> RangeOrder(const std::vector<MemberView>& members);

//! The range assignment of every task of `layout` over `members_in_order`
//! members (already in the assignor's order): task → position in that order.
//! Empty when there are no members.
std::map<TaskId, size_t> PredictRange(size_t members_in_order, const TaskLayout& layout);

//! Where standbys go (see file comment).
struct StandbyPlan {
  //! The standby tasks of each member, by group.instance.id (members
  //! without one get none).
  std::map<std::string, std::set<TaskId>> standbys;
  //! The instance running each task according to the description.
  std::map<TaskId, std::string> owners;
};

//! Places `num_standby_replicas` standbys of every stateful task (see file
//! comment). Tasks nobody runs (the group is rebalancing) get none.
StandbyPlan PlanStandbys(const std::vector<MemberView>& members, const TaskLayout& layout,
                         int num_standby_replicas);

//! The tasks each of `joining` (group.instance.ids of the joining instance's
//! members) would get once they join `members` (see file comment).
std::map<std::string, std::set<TaskId>> PredictJoin(const std::vector<MemberView>& members,
                                                    const std::vector<std::string>& joining,
                                                    const TaskLayout& layout);

}  // namespace eventflow::streams
