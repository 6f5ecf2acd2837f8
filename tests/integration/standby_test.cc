// Standby replicas and warm-up on the real broker (label kafka).
//
// 1. What the placement relies on, checked against Kafka 4.x and librdkafka
//    2.0.2: a static member's member id is "<group.instance.id>-<uuid>", and
//    the range assignor lays members out by group.instance.id — so the
//    assignment after a member joins or leaves is the one standby_placement.h
//    predicts (PredictRange, PredictJoin), with consumers joining and
//    leaving a real group.
// 2. The windowed-count application (windowed_count_app.h) with
//    --standby-replicas 1: instance a runs alone; instance b joins while the
//    input flows, warms the task it will get while a keeps processing, and
//    joins only then, taking it over with a tail within
//    acceptable.recovery.lag; it keeps standbys of a's tasks; a is killed
//    (kill -9, never restarted) and b takes a's tasks over from its standby
//    copies, replaying only a tail (asserted from b's scaling-event log
//    lines). The committed output, the changelog and b's stores equal the
//    counts recomputed from the input.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"
#include "standby_placement.h"
#include "windowed_count_app.h"

namespace eventflow {
namespace {

using namespace windowed_count_test;  // NOLINT: the application and its checks
using streams::MemberView;
using streams::StandbyPlan;
using streams::TaskId;
using streams::TaskLayout;
using testing::ChildProcess;
using testing::ScopedTopics;

// ------------------------------------------------------- range assignor facts

// A plain group consumer with static membership and the range assignor,
// as the stream threads' consumers are configured for the group protocol.
struct Member {
  std::string id;  // group.instance.id
  kafka::KafkaHandle handle;
};

Member Join(const std::string& group, const std::string& topic, const std::string& gid) {
  kafka::KafkaProperties props = testing::TestKafkaProperties();
  props.Set("group.id", group);
  props.Set("group.instance.id", gid);
  props.Set("client.id", group + "-" + gid);
  props.Set("partition.assignment.strategy", "range");
  props.Set("session.timeout.ms", "6000");
  props.Set("enable.auto.commit", "false");
  auto handle = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, props);
  EXPECT_TRUE(handle.ok()) << handle.status().ToString();
  Member m{gid, std::move(*handle)};
  rd_kafka_poll_set_consumer(m.handle.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(m.handle.get(), topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  return m;
}

std::set<int32_t> AssignmentOf(Member& m) {
  rd_kafka_topic_partition_list_t* list = nullptr;
  std::set<int32_t> out;
  if (rd_kafka_assignment(m.handle.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (int i = 0; i < list->cnt; ++i) out.insert(list->elems[i].partition);
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

// Polls every member until the group is Stable with every one of `members`
// in it and each member's own assignment equals what the coordinator
// describes (bounded); returns the description.
kafka::GroupDescription AwaitStable(const std::string& group, std::vector<Member>& members,
                                    rd_kafka_t* admin) {
  kafka::GroupDescription last;
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (Member& m : members) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(m.handle.get(), 20);
      if (msg != nullptr) rd_kafka_message_destroy(msg);
    }
    auto described = kafka::DescribeConsumerGroup(admin, group, 5s);
    if (!described.ok() || described->state != "Stable" ||
        described->members.size() != members.size()) {
      continue;
    }
    bool agree = true;
    for (Member& m : members) {
      auto it = std::find_if(described->members.begin(), described->members.end(),
                             [&](const kafka::GroupMember& g) { return g.group_instance_id == m.id; });
      if (it == described->members.end()) {
        agree = false;
        break;
      }
      std::set<int32_t> described_partitions;
      for (const kafka::PartitionOffset& p : it->assignment) described_partitions.insert(p.partition);
      agree = agree && described_partitions == AssignmentOf(m);
    }
    if (agree) return *described;
    last = *described;
  }
  ADD_FAILURE() << "group " << group << " not stable with " << members.size()
                << " members in time (last state " << last.state << ")";
  return last;
}

TEST(StandbyPlacementOnTheBrokerTest, StaticMemberIdsAndRangeAssignmentsAreAsPredicted) {
  constexpr int kTopicPartitions = 7;
  ScopedTopics topics({{UniqueName("range-in"), kTopicPartitions, -1, {}}});
  const std::string topic = topics.name(0);
  const std::string group = UniqueName("range-group");
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  TaskLayout layout;
  layout.subtopology_tasks = {{0, kTopicPartitions}};
  layout.subtopology_of_topic = {{topic, 0}};
  layout.stateful = {0};

  // Compares the members' real assignments with PredictRange over the
  // described members in RangeOrder.
  auto check = [&](const kafka::GroupDescription& described, const std::string& when) {
    const std::vector<MemberView> views = streams::MembersOf(described, layout);
    for (const MemberView& v : views) {
      EXPECT_EQ(v.member_id.rfind(v.group_instance_id + "-", 0), 0u)
          << when << ": member id " << v.member_id << " of " << v.group_instance_id;
    }
    const std::vector<size_t> order = streams::RangeOrder(views);
    std::map<std::string, std::set<TaskId>> predicted;
    for (const auto& [task, position] : streams::PredictRange(order.size(), layout)) {
      predicted[views[order[position]].group_instance_id].insert(task);
    }
    for (const MemberView& v : views) {
      const std::set<TaskId> actual(v.tasks.begin(), v.tasks.end());
      EXPECT_EQ(actual, predicted[v.group_instance_id]) << when << ": " << v.group_instance_id;
    }
  };

  // Three single-thread instances whose group.instance.id order differs from
  // their join order.
  std::vector<Member> members;
  members.push_back(Join(group, topic, "node-b-0"));
  members.push_back(Join(group, topic, "node-c-0"));
  auto two = AwaitStable(group, members, admin->get());
  check(two, "two members");
  // A third member's assignment, predicted before it joins.
  const std::vector<MemberView> before = streams::MembersOf(two, layout);
  const auto predicted = streams::PredictJoin(before, {"node-a-0"}, layout);
  members.push_back(Join(group, topic, "node-a-0"));
  auto three = AwaitStable(group, members, admin->get());
  check(three, "three members");
  const std::set<int32_t> got = AssignmentOf(members.back());
  std::set<int32_t> want;
  for (const TaskId& t : predicted.at("node-a-0")) want.insert(t.partition);
  EXPECT_EQ(got, want) << "PredictJoin";
  // An instance leaves for good (closed, then removed when its session times
  // out): the others get what the prediction without it says, and its tasks
  // land where their standbys were.
  const std::vector<MemberView> with_three = streams::MembersOf(three, layout);
  rd_kafka_consumer_close(members[1].handle.get());
  members.erase(members.begin() + 1);
  auto after = AwaitStable(group, members, admin->get());
  check(after, "after node-c-0 left");
  const StandbyPlan plan = streams::PlanStandbys(with_three, layout, 1);
  // Every task node-a-1 ran had its standby on the member that got it now.
  for (const MemberView& v : with_three) {
    if (v.group_instance_id != "node-c-0") continue;
    for (const TaskId& t : v.tasks) {
      bool found = false;
      for (Member& m : members) {
        if (AssignmentOf(m).count(t.partition) == 0) continue;
        found = true;
        EXPECT_TRUE(plan.standbys.count(m.id) && plan.standbys.at(m.id).count(t))
            << "task " << t.ToString() << " went to " << m.id << ", whose standbys were elsewhere";
      }
      EXPECT_TRUE(found) << "task " << t.ToString() << " not assigned after the leave";
    }
  }
  for (Member& m : members) rd_kafka_consumer_close(m.handle.get());
}

// ----------------------------------------------------- standbys, end to end

using testing::ParseTaskArrivals;
using testing::TaskArrival;

TEST(StandbyTest, JoiningInstanceWarmsUpThenStandbysTakeOverAKilledInstanceWithATail) {
  ScopedTopics topics({{UniqueName("sb-in"), kPartitions, -1, {}},
                       {UniqueName("sb-out"), kPartitions, -1, {}}});
  WindowedCountApp app;
  app.emit = "update";
  app.input = topics.name(0);
  app.output = topics.name(1);
  std::filesystem::create_directories(app.log_dir);
  constexpr int64_t kAcceptableLag = 5000;
  auto args = [&](const std::string& instance) {
    std::vector<std::string> a = app.Args(instance);
    a.insert(a.end(), {"--standby-replicas", "1", "--acceptable-recovery-lag",
                       std::to_string(kAcceptableLag), "--warmup-timeout-ms", "120000",
                       // A killed instance's open transaction blocks its
                       // partitions' committed offsets until the broker aborts
                       // it: keep that short for the test.
                       "--kafka", "transaction.timeout.ms=10000"});
    return a;
  };
  const int64_t base = BaseTime();
  std::atomic<bool> stop{false};
  std::thread producer([&] { ProduceInput(app.input, base, 0, 60'000, 2'000, &stop); });

  auto a = std::make_unique<ChildProcess>(args("a"), app.Log("a"));
  const Status a_started =
      testing::AwaitCommitted(app.app_id, app.input, std::vector<int64_t>(kPartitions, 2000), 90s);
  ASSERT_TRUE(a_started.ok()) << a_started.ToString() << "; see " << app.Log("a");

  // b joins: it warms the task it will get (members [a-0, b-0]: partition 2)
  // and joins only once that copy is within the lag; a keeps processing.
  auto b = std::make_unique<ChildProcess>(args("b"), app.Log("b"));
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "warming up 1 task(s) before joining", 1, 60s))
      << "see " << app.Log("b");
  auto committed_at_warmup = testing::CommittedOffsets(app.app_id, app.input);
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "subscribing (joining the group)", 1, 120s))
      << "see " << app.Log("b");
  auto committed_at_join = testing::CommittedOffsets(app.app_id, app.input);
  ASSERT_TRUE(committed_at_warmup.ok() && committed_at_join.ok());
  EXPECT_GT((*committed_at_join)[2], (*committed_at_warmup)[2])
      << "a kept processing partition 2 while b warmed it up";
  {
    const std::string b_log = testing::ReadFileFrom(app.Log("b"));
    EXPECT_NE(b_log.find("warm-up done"), std::string::npos) << "see " << app.Log("b");
  }
  // b took task 0_2 over from its warm copy, and keeps standbys of a's tasks.
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "task 0_2 moved here", 1, 120s))
      << "see " << app.Log("b");
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "standby task 0_0 started", 1, 60s))
      << "see " << app.Log("b");
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), 0, "standby task 0_1 started", 1, 60s))
      << "see " << app.Log("b");
  const size_t b_mark = testing::FileSize(app.Log("b"));
  std::this_thread::sleep_for(3s);  // input flows; b's standbys follow a

  // kill -9 a, never restarted: b takes 0_0 and 0_1 from its standbys.
  a->Signal(SIGKILL);
  EXPECT_EQ(a->Wait(30s, "instance a"), 128 + SIGKILL);
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), b_mark, "task 0_0 moved here", 1, 120s))
      << "see " << app.Log("b");
  ASSERT_TRUE(testing::AwaitLogText(app.Log("b"), b_mark, "task 0_1 moved here", 1, 120s))
      << "see " << app.Log("b");
  stop = true;
  producer.join();
  auto ends = testing::EndOffsets(app.input);
  ASSERT_TRUE(ends.ok());
  const Status caught_up = testing::AwaitCommitted(app.app_id, app.input, *ends, 120s);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString() << "; see " << app.Log("b");
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(60s, "instance b"), 0) << "see " << app.Log("b");

  const std::string b_log = testing::ReadFileFrom(app.Log("b"));
  const std::vector<TaskArrival> joined = ParseTaskArrivals(b_log.substr(0, b_mark));
  const std::vector<TaskArrival> took_over = ParseTaskArrivals(b_log.substr(b_mark));
  auto find = [](const std::vector<TaskArrival>& list, const std::string& task) -> const TaskArrival* {
    for (const TaskArrival& x : list) {
      if (x.task == task && x.moved) return &x;
    }
    return nullptr;
  };
  const TaskArrival* warm = find(joined, "0_2");
  ASSERT_NE(warm, nullptr) << "see " << app.Log("b");
  EXPECT_TRUE(warm->from_standby);
  EXPECT_NE(warm->kind, "full");
  EXPECT_LE(warm->records, kAcceptableLag + 1000)
      << "more than a tail replayed after the warm-up (the copy was within the lag at the join)";
  std::printf("b joined: task 0_2 restore %s of %lld records, gap %.3f s\n", warm->kind.c_str(),
              static_cast<long long>(warm->records), warm->gap_seconds);
  for (const char* task : {"0_0", "0_1"}) {
    const TaskArrival* x = find(took_over, task);
    ASSERT_NE(x, nullptr) << task << "; see " << app.Log("b");
    EXPECT_TRUE(x->from_standby) << task;
    EXPECT_NE(x->kind, "full") << task;
    EXPECT_LE(x->records, kAcceptableLag) << task << ": more than a tail replayed";
    EXPECT_GT(x->gap_seconds, 0) << task;
    std::printf("b took over after kill -9: task %s restore %s of %lld records, gap %.3f s\n", task,
                x->kind.c_str(), static_cast<long long>(x->records), x->gap_seconds);
  }

  const Expected expected = ReadInputAndRecompute(app.input);
  ExpectExactResults(app, expected, {{"b", {0, 1, 2}}});
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(app.log_dir);
}

}  // namespace
}  // namespace eventflow
