// The Kafka runtime (StreamThread, TaskManager, StreamsProducer,
// ChangelogReader) driven through fake clients (fake_kafka.h), no broker:
// commits, aborts and rewinds, fencing, lost and revoked assignments,
// restores from a stored offset, corrupted offsets, data loss. Each test runs
// the thread's loop (RunOnce) on the test thread and checks what reached the
// fake cluster — committed output, group offsets, restore positions, store
// contents — against what the input implies.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "runtime_fixture.h"

namespace eventflow::streams {
namespace {

using namespace runtime_test;  // NOLINT: the fixture's names, as before it moved
using testing::FakeClientSupplier;
using testing::FakeCluster;

TEST_F(RuntimeTest, CommitSendsOutputAndOffsetsInOneTransaction) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  // Every partition assigned at an explicit position: no committed offset, so the beginning.
  ASSERT_EQ(consumer().assigns.size(), 1u);
  for (const TopicPartitionOffset& tp : consumer().assigns[0]) {
    EXPECT_EQ(tp.offset, RD_KAFKA_OFFSET_BEGINNING) << tp.topic << " " << tp.partition;
  }
  EXPECT_EQ(thread_->state(), ThreadState::kRunning);
  std::vector<std::string> inputs = Produce(0, 7, "a");
  const std::vector<std::string> more = Produce(1, 5, "b");
  inputs.insert(inputs.end(), more.begin(), more.end());
  ProcessUntil(12);
  EXPECT_TRUE(CommittedOutput().empty()) << "output is visible before the commit";
  ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  EXPECT_EQ(producer().commits, 1);
  EXPECT_EQ(producer().aborts, 0);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_EQ(GroupOffset(0), 7);
  EXPECT_EQ(GroupOffset(1), 5);
  // The offsets carry the partitions' stream times as metadata.
  for (int p = 0; p < kPartitions; ++p) {
    const auto& committed = cluster_.group_offsets.at({kIn, p});
    EXPECT_TRUE(ParseOffsetMetadata(committed.metadata).ok()) << committed.metadata;
  }
  // Nothing processed since: no empty transaction.
  ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  EXPECT_EQ(producer().commits, 1);
  EXPECT_EQ(producer().begins, 1);
}

TEST_F(RuntimeTest, AbortableCommitErrorAbortsAndRewindsToTheCommittedOffsets) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  std::vector<std::string> inputs = Produce(0, 4, "a");
  std::vector<std::string> more = Produce(1, 3, "b");
  inputs.insert(inputs.end(), more.begin(), more.end());
  ProcessUntil(7);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  more = Produce(0, 5, "c");
  inputs.insert(inputs.end(), more.begin(), more.end());
  more = Produce(1, 2, "d");
  inputs.insert(inputs.end(), more.begin(), more.end());
  ProcessUntil(14);
  producer().fail_next_commit = Status::Aborted("the transaction must be aborted");
  ASSERT_TRUE(thread_->MaybeCommit(true).ok()) << "an abortable error is recovered from";
  EXPECT_EQ(producer().aborts, 1);
  EXPECT_EQ(producer().recreates, 0);
  // Every partition sought back to its committed offset.
  ASSERT_FALSE(consumer().seeks.empty());
  std::map<int32_t, int64_t> sought;
  for (const TopicPartitionOffset& tp : consumer().seeks.back()) sought[tp.partition] = tp.offset;
  EXPECT_EQ(sought, (std::map<int32_t, int64_t>{{0, 4}, {1, 3}}));
  EXPECT_EQ(consumer().Position(kIn, 0), 4);
  EXPECT_EQ(consumer().Position(kIn, 1), 3);
  EXPECT_EQ(GroupOffset(0), 4);
  // The rolled-back records are processed again and committed exactly once.
  ProcessUntil(21);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_EQ(GroupOffset(0), 9);
  EXPECT_EQ(GroupOffset(1), 5);
}

TEST_F(RuntimeTest, CommitThatTimesOutIsRetriedNeverAborted) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(0, 6, "a");
  ProcessUntil(6);
  producer().fail_next_commit = Status::TimedOut("commit timed out");
  producer().fail_commit_times = 3;
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(producer().aborts, 0);
  EXPECT_TRUE(consumer().seeks.empty());
  EXPECT_EQ(producer().commits, 1);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_EQ(GroupOffset(0), 6);
}

TEST_F(RuntimeTest, FencedProducerIsRecreatedAndTheThreadRewinds) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  std::vector<std::string> inputs = Produce(0, 3, "a");
  ProcessUntil(3);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  const std::vector<std::string> more = Produce(0, 4, "b");
  inputs.insert(inputs.end(), more.begin(), more.end());
  ProcessUntil(7);
  producer().fail_next_commit = Status::Fenced("producer fenced");
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(producer().recreates, 1);
  EXPECT_EQ(producer().inits, 2) << "the new producer initialises transactions";
  EXPECT_EQ(producer().aborts, 0) << "a fenced producer cannot abort";
  EXPECT_EQ(consumer().Position(kIn, 0), 3);
  ProcessUntil(11);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_EQ(GroupOffset(0), 7);
}

TEST_F(RuntimeTest, FencedProducerWithFencedConsumerIsAZombieAndStops) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 3, "a");
  ProcessUntil(3);
  consumer().SetFatal(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  producer().fail_next_commit = Status::Fenced("producer fenced");
  const Status s = thread_->MaybeCommit(true);
  EXPECT_EQ(s.code(), StatusCode::kFenced) << s.ToString();
  EXPECT_NE(s.message().find("consumer fenced too"), std::string::npos) << s.ToString();
  EXPECT_FALSE(thread_->self_fenced()) << "held its assignment: another process has its id";
  EXPECT_EQ(producer().recreates, 0);
  EXPECT_TRUE(CommittedOutput().empty());
  EXPECT_EQ(GroupOffset(0), -1);
}

TEST_F(RuntimeTest, AbortThatFailsRecreatesTheProducer) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(1, 5, "a");
  ProcessUntil(5);
  producer().fail_next_commit = Status::Aborted("abortable");
  producer().fail_next_abort = Status::TimedOut("abort timed out");
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(producer().aborts, 1);
  EXPECT_EQ(producer().recreates, 1);
  EXPECT_EQ(consumer().Position(kIn, 1), 0);
  ProcessUntil(10);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
}

TEST_F(RuntimeTest, FatalProducerWhileProcessingRecreatesItAndRewinds) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  std::vector<std::string> inputs = Produce(0, 2, "a");
  ProcessUntil(2);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  const std::vector<std::string> more = Produce(0, 3, "b");
  inputs.insert(inputs.end(), more.begin(), more.end());
  producer().fail_next_send = Status::Fatal("the producer failed fatally");
  // The task fails with the producer's status; the loop recovers from it.
  for (int i = 0; i < 10 && producer().recreates == 0; ++i) ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_EQ(producer().recreates, 1);
  EXPECT_EQ(consumer().Position(kIn, 0), 2);
  for (int i = 0; i < 100 && GroupOffset(0) < 5; ++i) {
    ASSERT_TRUE(thread_->RunOnce().ok());
    ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  }
  EXPECT_EQ(CommittedOutput(), Tagged(inputs)) << "no record dead-lettered or lost";
  EXPECT_TRUE(cluster_.Committed(DeadLetterTopic(kApp), 0).empty());
}

TEST_F(RuntimeTest, LostAssignmentAbortsAndCommitsNothing) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 4, "a");
  ProcessUntil(4);
  consumer().ScheduleRevocation(/*lost=*/true);
  ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_EQ(producer().aborts, 1);
  EXPECT_EQ(producer().commits, 0);
  EXPECT_TRUE(thread_->task_manager().tasks().empty());
  EXPECT_TRUE(thread_->task_manager().assignment_lost());
  EXPECT_EQ(consumer().detached_queues, 0) << "partition queues given back";
  EXPECT_EQ(consumer().unassigns, 1);
  EXPECT_EQ(GroupOffset(0), -1);
  EXPECT_TRUE(CommittedOutput().empty());
  EXPECT_EQ(thread_->state(), ThreadState::kRebalancing);
  // Nothing to commit afterwards either.
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(producer().commits, 0);
}

TEST_F(RuntimeTest, RevocationCommitsAndClosesTheTasks) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(0, 4, "a");
  ProcessUntil(4);
  consumer().ScheduleRevocation(/*lost=*/false);
  ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_EQ(producer().commits, 1);
  EXPECT_EQ(GroupOffset(0), 4);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_TRUE(thread_->task_manager().tasks().empty());
  EXPECT_EQ(consumer().detached_queues, 0);
  // Assigned again: processing resumes from the committed offset.
  const std::vector<std::string> more = Produce(0, 2, "b");
  ASSERT_TRUE(AssignInput().ok());
  EXPECT_EQ(consumer().assigns.back()[0].offset, 4);
  ProcessUntil(6);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  std::vector<std::string> all = inputs;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(CommittedOutput(), Tagged(all));
}

TEST_F(RuntimeTest, RevocationWhoseCommitFailsAbortsAndTheNextOwnerResumesFromTheLastCommit) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(0, 3, "a");
  ProcessUntil(3);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  Produce(0, 3, "b");
  ProcessUntil(6);
  producer().fail_next_commit = Status::Aborted("abortable");
  consumer().ScheduleRevocation(/*lost=*/false);
  ASSERT_TRUE(thread_->RunOnce().ok()) << "a failed commit on revocation does not stop the thread";
  EXPECT_EQ(producer().aborts, 1);
  EXPECT_EQ(GroupOffset(0), 3);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_TRUE(thread_->task_manager().tasks().empty());
}

TEST_F(RuntimeTest, CommittedOffsetsReadOnAssignmentRetryATimeOutTwice) {
  Prepare(TagTopology());
  cluster_.group_offsets[{kIn, 0}] = {2, "st=5"};
  Produce(0, 2, "a");
  NewThread();
  consumer().FailCommitted(Status::TimedOut("unstable offsets"), 2);
  const Status assigned = AssignInput();
  ASSERT_TRUE(assigned.ok()) << assigned.ToString();
  EXPECT_EQ(consumer().assigns.back()[0].offset, 2);
  EXPECT_EQ(consumer().assigns.back()[1].offset, RD_KAFKA_OFFSET_BEGINNING);
  EXPECT_EQ(thread_->task_manager().tasks().at(TaskId{0, 0})->PartitionTime(kIn, 0), 5);

  NewThread();
  consumer().FailCommitted(Status::TimedOut("unstable offsets"), 3);
  EXPECT_EQ(AssignInput().code(), StatusCode::kTimedOut);
}

TEST_F(RuntimeTest, AssignmentTheConsumerRefusesStopsTheThread) {
  Prepare(TagTopology());
  NewThread();
  consumer().FailNextAssign(Status::InvalidArgument("assigning: refused by the test"));
  const Status s = AssignInput();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("refused by the test"), std::string::npos) << s.ToString();
}

TEST_F(RuntimeTest, UnassignmentTheConsumerRefusesStopsTheThread) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(0, 3, "a");
  ProcessUntil(3);
  consumer().FailNextUnassign(Status::IOError("unassigning: refused by the test"));
  consumer().ScheduleRevocation(/*lost=*/false);
  const Status s = thread_->RunOnce();
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
  // The revocation itself went through: committed, tasks closed.
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_TRUE(thread_->task_manager().tasks().empty());
}

TEST_F(RuntimeTest, FatalConsumerRefusingTheUnassignmentStopsWithTheFatalErrorsCause) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 3, "a");
  ProcessUntil(3);
  // The session expired and the rejoin fenced our own member id: the lost
  // assignment's Unassign() is refused with kFatal, the cause comes by Poll.
  consumer().SetFatal(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  consumer().ScheduleRevocation(/*lost=*/true);
  const Status s = thread_->RunOnce();
  EXPECT_EQ(s.code(), StatusCode::kFenced) << s.ToString();
  EXPECT_NE(s.message().find("fenced by its own rejoin"), std::string::npos) << s.ToString();
  EXPECT_TRUE(thread_->self_fenced());
  EXPECT_EQ(consumer().unassigns, 1);
}

// Records the source ("a" or "b", the value's first letter) of each record
// in the order the task processes them.
class OrderProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  explicit OrderProcessor(std::vector<char>* order) : order_(order) {}
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    order_->push_back(record.value.empty() ? '?' : record.value[0]);
    context_->Forward(std::move(record));
  }

 private:
  std::vector<char>* order_;
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

TEST_F(RuntimeTest, EveryInputPartitionOfATaskIsFedUpToItsOwnBufferLimit) {
  // One task reads partition 0 of two topics, one of which runs ahead in
  // time: the task keeps its records buffered while it takes the earlier
  // ones of the other. The buffer limit is per partition: were it the
  // task's, the partition ahead — when the loop feeds it first — would fill
  // it on every loop, the one behind would never be fed, and every record
  // ahead would be processed before the first one behind. Run with either
  // topic ahead, since which one the loop feeds first is not the test's.
  constexpr int kLimit = 4;
  constexpr int kEach = 20;
  config_.max_buffered_records_per_partition = kLimit;
  for (const bool first_ahead : {true, false}) {
    SCOPED_TRACE(first_ahead ? "the first topic ahead" : "the second topic ahead");
    const std::string first = first_ahead ? "a1" : "a2";
    const std::string second = first_ahead ? "b1" : "b2";
    const std::string& ahead = first_ahead ? first : second;
    const std::string& behind = first_ahead ? second : first;
    cluster_.CreateTopic(first, 1);
    cluster_.CreateTopic(second, 1);
    std::vector<char> order;  // 'A': a record ahead, 'B': one behind
    Topology t;
    t.AddSource<std::string, std::string>("in", {first, second}, Serdes::String(),
                                          Serdes::String());
    t.AddProcessor<std::string, std::string, std::string, std::string>(
        "order", [&order] { return std::make_unique<OrderProcessor>(&order); }, {"in"});
    t.AddSink<std::string, std::string>("out", kOut, Serdes::String(), Serdes::String(),
                                        {"order"});
    Prepare(std::move(t));
    NewThread();
    consumer().ScheduleAssignment(
        {TopicPartitionOffset(first, 0), TopicPartitionOffset(second, 0)});
    ASSERT_TRUE(thread_->RunOnce().ok());
    ASSERT_EQ(thread_->task_manager().tasks().size(), 1u);
    for (int i = 0; i < kEach; ++i) {
      cluster_.Append(ahead, 0, "k", "A" + std::to_string(i), /*timestamp=*/100000 + i);
      cluster_.Append(behind, 0, "k", "B" + std::to_string(i), /*timestamp=*/i);
    }
    ProcessUntil(2 * kEach);
    ASSERT_EQ(order.size(), static_cast<size_t>(2 * kEach));
    // Both partitions are fed on every loop and the heads behind are
    // earlier, so the partition ahead is never more than one buffer's worth
    // ahead of the other.
    EXPECT_EQ(order.front(), 'B');
    int lead = 0, most = 0;
    for (char source : order) {
      lead += source == 'A' ? 1 : -1;
      most = std::max(most, lead);
    }
    EXPECT_LE(most, kLimit) << std::string(order.begin(), order.end());
    thread_->Shutdown(Status::OK());
    thread_.reset();
  }
}

// Records, per input partition, the largest event time processed so far, and
// after each record the largest lead of partition 0 over partition 1.
class LeadProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  explicit LeadProcessor(int64_t* most_lead, int64_t (*times)[2])
      : most_lead_(most_lead), times_(times) {}
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    const int32_t p = context_->record_context()->partition;
    (*times_)[p] = std::max((*times_)[p], record.timestamp);
    if ((*times_)[0] >= 0 && (*times_)[1] >= 0) {
      *most_lead_ = std::max(*most_lead_, (*times_)[0] - (*times_)[1]);
    }
    context_->Forward(std::move(record));
  }

 private:
  int64_t* most_lead_;
  int64_t (*times_)[2];
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

TEST_F(RuntimeTest, TasksOfASubTopologyAdvanceTogetherInEventTime) {
  // Partitions 0 and 1 of the input span the same 4000 s of event time, with
  // 2 s between records on partition 0 and 1 s on partition 1. Equal batches
  // per task would move task 0_0 twice as fast in event time: it would end
  // 2000 s ahead of 0_1 (whatever is downstream of both — a repartition
  // topic's watermark is the minimum of its writers' — keeps every window of
  // those 2000 s open). A task ahead of its sibling by more than a second
  // gets a small batch, so 0_0 leads by at most about one batch of its own
  // (200 records, 400 s here).
  constexpr int kSpanS = 4000;
  int64_t most_lead = -1;
  int64_t times[2] = {-1, -1};
  Topology t;
  t.AddSource<std::string, std::string>("in", {kIn}, Serdes::String(), Serdes::String());
  t.AddProcessor<std::string, std::string, std::string, std::string>(
      "lead", [&] { return std::make_unique<LeadProcessor>(&most_lead, &times); }, {"in"});
  t.AddSink<std::string, std::string>("out", kOut, Serdes::String(), Serdes::String(), {"lead"});
  Prepare(std::move(t));
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  for (int s = 0; s < kSpanS; ++s) {
    if (s % 2 == 0) cluster_.Append(kIn, 0, "k", "x", /*timestamp=*/int64_t{s} * 1000);
    cluster_.Append(kIn, 1, "k", "y", /*timestamp=*/int64_t{s} * 1000);
  }
  ProcessUntil(kSpanS / 2 + kSpanS);
  EXPECT_EQ(times[0], int64_t{kSpanS - 2} * 1000);
  EXPECT_EQ(times[1], int64_t{kSpanS - 1} * 1000);
  EXPECT_LE(most_lead, 500 * 1000) << "task 0_0 ran ahead of 0_1 by " << most_lead / 1000 << " s";
}

// A broker down longer than the transaction time-out: it aborted the open
// transaction (the producer is found fenced), and the consumer's session
// expired meanwhile. The lost assignment's abort recreates the producer, the
// tasks are closed uncommitted, and the thread goes on.
TEST_F(RuntimeTest, LostAssignmentWhoseAbortFindsTheProducerFencedRecreatesIt) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 3, "a");
  ProcessUntil(3);
  producer().fenced = true;
  consumer().ScheduleRevocation(/*lost=*/true);
  ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_EQ(producer().recreates, 1);
  EXPECT_TRUE(thread_->task_manager().tasks().empty());
  EXPECT_FALSE(thread_->self_fenced());
  EXPECT_TRUE(CommittedOutput().empty());
  // Assigned again: the partitions are processed from the beginning.
  const std::vector<std::string> inputs = {"a0", "a1", "a2"};
  ASSERT_TRUE(AssignInput().ok());
  ProcessUntil(6);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
}

// The same, when the consumer's own rejoin has fenced its member id
// (FENCED_INSTANCE_ID) by the time the lost assignment is handled: the
// producer's recovery sees both fenced, which is not another process with our
// instance id — the supervisor replaces the thread (self_fenced()).
TEST_F(RuntimeTest, LostAssignmentWithFencedProducerAndOwnRejoinFencedConsumerIsSelfFenced) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 3, "a");
  ProcessUntil(3);
  producer().fenced = true;
  consumer().SetFatal(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  consumer().ScheduleRevocation(/*lost=*/true);
  const Status s = thread_->RunOnce();
  EXPECT_EQ(s.code(), StatusCode::kFenced) << s.ToString();
  EXPECT_NE(s.message().find("fenced by its own rejoin"), std::string::npos) << s.ToString();
  EXPECT_TRUE(thread_->self_fenced());
  EXPECT_TRUE(CommittedOutput().empty());
}

// Seen on a broker down for 15 s: the thread was blocked committing while
// its consumer's session expired and its own rejoin fenced its member id; the
// restarted broker had aborted the transaction, so the commit fails and the
// abort finds the producer fenced — before the lost revocation is polled.
// Not a zombie: the thread is replaced, the instance goes on.
TEST_F(RuntimeTest, FailedCommitWithFencedProducerAfterTheSessionExpiredIsSelfFenced) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 3, "a");
  ProcessUntil(3);
  producer().fail_next_commit = Status::Unavailable("coordinator unreachable");
  producer().fenced = true;
  consumer().LoseAssignment();
  consumer().SetFatal(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  const Status s = thread_->MaybeCommit(true);
  EXPECT_EQ(s.code(), StatusCode::kFenced) << s.ToString();
  EXPECT_NE(s.message().find("fenced by its own rejoin"), std::string::npos) << s.ToString();
  EXPECT_TRUE(thread_->self_fenced());
  EXPECT_TRUE(CommittedOutput().empty());
}

class RestoreTest : public RuntimeTest {
 protected:
  // A first run of the count topology on partition 0: counts k1 twice and k2
  // once and commits (the store's offset is then 3).
  void FirstRun() {
    Prepare(CountTopology());
    NewThread();
    ASSERT_TRUE(AssignInput(1).ok());
    cluster_.Append(kIn, 0, "k1", "x");
    cluster_.Append(kIn, 0, "k2", "x");
    cluster_.Append(kIn, 0, "k1", "x");
    ProcessUntil(3);
    ASSERT_TRUE(thread_->MaybeCommit(true).ok());
    ASSERT_EQ(Stored("k1"), "2");
    ASSERT_EQ(cluster_.End(Changelog(), 0), 3);
  }
  // The last value per key of the committed changelog (what a restore must give).
  std::map<std::string, std::string> ChangelogModel() const {
    std::map<std::string, std::string> model;
    for (const auto& [key, value] : cluster_.Committed(Changelog(), 0)) {
      if (value)
        model[*key] = *value;
      else
        model.erase(*key);
    }
    return model;
  }
};

TEST_F(RestoreTest, NewTaskReplaysTheChangelogTailFromTheStoredOffset) {
  FirstRun();
  // The Kafka transaction of two more changes committed, but the process died
  // before the store committed them: the changelog is ahead of the store.
  cluster_.Append(Changelog(), 0, "k2", "5");
  cluster_.Append(Changelog(), 0, "k3", "1");
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  ASSERT_NE(supplier_->restore_consumer, nullptr);
  ASSERT_EQ(supplier_->restore_consumer->assigns.size(), 1u);
  EXPECT_EQ(supplier_->restore_consumer->assigns[0][0].topic, Changelog());
  EXPECT_EQ(supplier_->restore_consumer->assigns[0][0].offset, 3) << "a tail replay";
  const std::map<std::string, std::string> model = ChangelogModel();
  ASSERT_EQ(model.size(), 3u);
  for (const auto& [key, value] : model) EXPECT_EQ(Stored(key), value) << key;
  const auto metrics = shared_->restore_progress->Snapshot().at("counts");
  EXPECT_EQ(metrics.restored_records_total, 2u);
  EXPECT_EQ(metrics.remaining_records, 0);
  // Counting goes on from the restored state.
  cluster_.Append(kIn, 0, "k3", "x");
  ProcessUntil(1);
  EXPECT_EQ(Stored("k3"), "2");
}

TEST_F(RestoreTest, RestoreConsumerRefusingTheUnassignmentStopsTheThread) {
  FirstRun();
  cluster_.Append(Changelog(), 0, "k2", "5");
  supplier_->on_restore_consumer = [](testing::FakeConsumer& restore) {
    restore.FailNextUnassign(Status::IOError("unassigning: refused by the test"));
  };
  NewThread();
  const Status s = AssignInput(1);
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("restore: unassigning: refused by the test"), std::string::npos)
      << s.ToString();
}

TEST_F(RestoreTest, StoreOffsetBeyondTheChangelogEndIsWipedAndRestoredInFull) {
  FirstRun();
  // The changelog was deleted and recreated: it now ends below the store's offset.
  cluster_.Truncate(Changelog(), 0);
  cluster_.Append(Changelog(), 0, "k9", "7");
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  ASSERT_NE(supplier_->restore_consumer, nullptr);
  ASSERT_EQ(supplier_->restore_consumer->assigns.size(), 1u);
  EXPECT_EQ(supplier_->restore_consumer->assigns[0][0].offset, 0) << "a full restore";
  EXPECT_EQ(Stored("k9"), "7");
  EXPECT_EQ(Stored("k1"), std::nullopt) << "state the changelog no longer has is gone";
  EXPECT_EQ(Stored("k2"), std::nullopt);
}

TEST_F(RestoreTest, StoreWithoutOffsetIsRestoredInFull) {
  FirstRun();
  thread_->Shutdown(Status::OK());
  thread_.reset();
  std::filesystem::remove_all(state_dir_);  // the local state is lost
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  EXPECT_EQ(supplier_->restore_consumer->assigns[0][0].offset, 0);
  EXPECT_EQ(Stored("k1"), "2");
  EXPECT_EQ(Stored("k2"), "1");
}

TEST_F(RestoreTest, KeyValueChangelogHeadGoneIsDataLossUnderFail) {
  FirstRun();
  for (int i = 0; i < 3; ++i) cluster_.Append(Changelog(), 0, "k" + std::to_string(i), "9");
  cluster_.DeleteRecordsBefore(Changelog(), 0, 5);  // the store needs 3 and 4
  NewThread();
  const Status s = AssignInput(1);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_TRUE(shared_->lost_records->Snapshot().empty());
}

TEST_F(RestoreTest, KeyValueChangelogHeadGoneIsCountedAndSkippedUnderSkip) {
  config_.data_loss_policy = DataLossPolicy::kSkip;
  FirstRun();
  for (int i = 0; i < 3; ++i) cluster_.Append(Changelog(), 0, "k" + std::to_string(i), "9");
  cluster_.DeleteRecordsBefore(Changelog(), 0, 5);
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  EXPECT_EQ(shared_->lost_records->Snapshot().at(Changelog()), 2u);
  EXPECT_EQ(supplier_->restore_consumer->assigns[0][0].offset, 5);
  EXPECT_EQ(Stored("k2"), "9");
}

TEST_F(RuntimeTest, InputDeletedBeforeItWasReadIsDataLossUnderFailAndSkippedUnderSkip) {
  for (DataLossPolicy policy : {DataLossPolicy::kFail, DataLossPolicy::kSkip}) {
    SCOPED_TRACE(policy == DataLossPolicy::kFail ? "fail" : "skip");
    cluster_ = FakeCluster();
    cluster_.CreateTopic(kIn, kPartitions);
    cluster_.CreateTopic(kOut, kPartitions);
    config_.data_loss_policy = policy;
    Prepare(TagTopology());
    cluster_.group_offsets[{kIn, 0}] = {2, "st=-1"};
    Produce(0, 8, "a");
    cluster_.DeleteRecordsBefore(kIn, 0, 5);  // offsets 2..4 were never read
    NewThread();
    // The out-of-range position shows up as soon as the partition is read.
    Status s = AssignInput();
    for (int i = 0; i < 10 && s.ok() && thread_->processed() < 3; ++i) s = thread_->RunOnce();
    if (policy == DataLossPolicy::kFail) {
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
      EXPECT_EQ(thread_->processed(), 0u);
    } else {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(shared_->lost_records->Snapshot().at(kIn), 3u);
      ProcessUntil(3);
      ASSERT_TRUE(thread_->MaybeCommit(true).ok());
      EXPECT_EQ(GroupOffset(0), 8);
      EXPECT_EQ(CommittedOutput(), Tagged({"a5", "a6", "a7"}));
    }
    thread_->Shutdown(Status::OK());
    thread_.reset();
  }
}

TEST_F(RuntimeTest, AtLeastOnceFlushesThenCommitsOffsets) {
  config_.processing_guarantee = ProcessingGuarantee::kAtLeastOnce;
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(0, 5, "a");
  ProcessUntil(5);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  EXPECT_EQ(producer().flushes, 1);
  EXPECT_EQ(producer().begins, 0);
  EXPECT_EQ(GroupOffset(0), 5);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
}

TEST_F(RuntimeTest, ShutdownCommitsClosesTasksAndLeavesTheGroup) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const std::vector<std::string> inputs = Produce(1, 3, "a");
  ProcessUntil(3);
  thread_->Shutdown(Status::OK());
  EXPECT_EQ(thread_->state(), ThreadState::kDead);
  EXPECT_TRUE(thread_->error().ok());
  EXPECT_EQ(GroupOffset(1), 3);
  EXPECT_EQ(CommittedOutput(), Tagged(inputs));
  EXPECT_EQ(consumer().closes, 1);
  EXPECT_EQ(consumer().detached_queues, 0);
}


// ------------------------------------------------------------------ metrics
// The thread's probe (what KafkaStreams::metrics() reports per thread)
// against what each test drove: the records it appended, the commits it
// made, the timestamps it gave, the offsets it placed.

const TaskMetrics* FindTask(const ThreadMetrics& m, const std::string& id) {
  for (const TaskMetrics& t : m.tasks) {
    if (t.task == id) return &t;
  }
  return nullptr;
}

const Histogram::Snapshot* FindLatency(const ThreadMetrics& m, const std::string& topic) {
  for (const auto& [name, h] : m.e2e_latency) {
    if (name == topic) return &h;
  }
  return nullptr;
}

const PartitionLag* FindPartition(const ThreadMetrics& m, const std::string& topic, int32_t p) {
  for (const PartitionLag& l : m.partitions) {
    if (l.topic == topic && l.partition == p) return &l;
  }
  return nullptr;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(RuntimeTest, MetricsCountWhatTheThreadProcessedAndCommitted) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  const auto start = std::chrono::steady_clock::now();
  const int64_t timestamp = NowMs() - 3000;  // every record is 3 s old when produced
  uint64_t n0 = 0, n1 = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4 + round; ++i, ++n0) cluster_.Append(kIn, 0, "k", "a", timestamp);
    for (int i = 0; i < 2; ++i, ++n1) cluster_.Append(kIn, 1, "k", "b", timestamp);
    ProcessUntil(n0 + n1);
    ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t total = n0 + n1;
  const ThreadMetrics m = thread_->probe().Snapshot();
  EXPECT_EQ(m.thread, "test-0");
  EXPECT_EQ(m.active_tasks, 2);
  EXPECT_EQ(m.restoring_tasks, 0);
  EXPECT_EQ(m.standby_tasks, 0);
  EXPECT_EQ(m.rebalances, 1u);
  ASSERT_NE(FindTask(m, "0_0"), nullptr);
  ASSERT_NE(FindTask(m, "0_1"), nullptr);
  EXPECT_TRUE(FindTask(m, "0_0")->active);
  EXPECT_EQ(FindTask(m, "0_0")->processed, n0);
  EXPECT_EQ(FindTask(m, "0_1")->processed, n1);
  EXPECT_EQ(FindTask(m, "0_0")->dead_lettered, 0u);
  // One observation per record taken; the batches' times add up to the
  // process time.
  EXPECT_EQ(m.process_duration.count, total);
  EXPECT_NEAR(m.process_duration.sum, m.process_seconds, 1e-6);
  EXPECT_GT(m.process_seconds, 0);
  EXPECT_GT(m.poll_seconds, 0);
  // One observation per commit that did work: three.
  EXPECT_EQ(m.commit_duration.count, 3u);
  EXPECT_EQ(m.transactions_committed, static_cast<uint64_t>(producer().commits));
  EXPECT_EQ(m.transactions_committed, 3u);
  EXPECT_EQ(m.transactions_aborted, 0u);
  EXPECT_EQ(m.commits_failed, 0u);
  EXPECT_GT(m.commit_seconds, 0);
  // End-to-end latency of every output record: between 3 s and 3 s plus the
  // test's duration (the thread's wall clock is read once per loop).
  const Histogram::Snapshot* e2e = FindLatency(m, kOut);
  ASSERT_NE(e2e, nullptr);
  EXPECT_EQ(e2e->count, total);
  EXPECT_GE(e2e->sum / static_cast<double>(e2e->count), 3.0 - 0.001);
  EXPECT_LE(e2e->sum / static_cast<double>(e2e->count), 3.0 + elapsed + 0.001);
  // Positions: after the last record taken from each partition.
  ASSERT_NE(FindPartition(m, kIn, 0), nullptr);
  EXPECT_EQ(FindPartition(m, kIn, 0)->position, static_cast<int64_t>(n0));
  EXPECT_EQ(FindPartition(m, kIn, 1)->position, static_cast<int64_t>(n1));
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, -1) << "no statistics: the end is unknown";
}

TEST_F(RuntimeTest, MetricsCountAnAbortedCommitAndTheReprocessing) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 4, "a");
  ProcessUntil(4);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  Produce(0, 3, "b");
  ProcessUntil(7);
  producer().fail_next_commit = Status::Aborted("the transaction must be aborted");
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  ProcessUntil(10);  // the 3 rolled-back records again
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  const ThreadMetrics m = thread_->probe().Snapshot();
  EXPECT_EQ(m.commit_duration.count, 3u);
  EXPECT_EQ(m.commits_failed, 1u);
  EXPECT_EQ(m.transactions_aborted, static_cast<uint64_t>(producer().aborts));
  EXPECT_EQ(m.transactions_aborted, 1u);
  EXPECT_EQ(m.transactions_committed, 2u);
  // The task was rebuilt by the rewind; its slot continues: 4 + 3 + 3 again.
  ASSERT_NE(FindTask(m, "0_0"), nullptr);
  EXPECT_EQ(FindTask(m, "0_0")->processed, 10u);
  EXPECT_EQ(m.process_duration.count, 10u);
  EXPECT_EQ(m.active_tasks, 2);
}

TEST_F(RuntimeTest, MetricsOfRevokedTasksKeepTheirTotalsAndLeaveTheGauges) {
  Prepare(TagTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 5, "a");
  ProcessUntil(5);
  consumer().ScheduleRevocation(/*lost=*/false);
  ASSERT_TRUE(thread_->RunOnce().ok());
  ThreadMetrics m = thread_->probe().Snapshot();
  EXPECT_EQ(m.active_tasks, 0);
  EXPECT_TRUE(m.partitions.empty()) << "no lag for partitions no longer assigned";
  ASSERT_NE(FindTask(m, "0_0"), nullptr);
  EXPECT_FALSE(FindTask(m, "0_0")->active);
  EXPECT_EQ(FindTask(m, "0_0")->processed, 5u);
  EXPECT_EQ(m.transactions_committed, 1u) << "revocation commits";
  // Assigned again: the same slot goes on.
  ASSERT_TRUE(AssignInput().ok());
  Produce(0, 2, "b");
  ProcessUntil(7);
  m = thread_->probe().Snapshot();
  EXPECT_EQ(m.rebalances, 2u);
  EXPECT_EQ(m.active_tasks, 2);
  EXPECT_TRUE(FindTask(m, "0_0")->active);
  EXPECT_EQ(FindTask(m, "0_0")->processed, 7u);
  EXPECT_EQ(FindPartition(m, kIn, 0)->position, 7);
}

TEST_F(RuntimeTest, MetricsOfAReplacementThreadContinueItsPredecessors) {
  Prepare(TagTopology());
  shared_->thread_probes.push_back(std::make_shared<ThreadProbe>("test-0", true));
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  Produce(0, 5, "a");
  ProcessUntil(5);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  NewThread();  // the first one shuts down
  ASSERT_TRUE(AssignInput(1).ok());
  Produce(0, 3, "b");
  ProcessUntil(3);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  const ThreadMetrics m = shared_->thread_probes[0]->Snapshot();
  EXPECT_EQ(&thread_->probe(), shared_->thread_probes[0].get());
  EXPECT_EQ(FindTask(m, "0_0")->processed, 8u);
  EXPECT_EQ(m.transactions_committed, 2u);
  EXPECT_EQ(m.commit_duration.count, 2u);
  EXPECT_EQ(m.rebalances, 2u);
}

// A librdkafka statistics report naming the input's partitions' offsets.
std::string StatisticsReport(const std::map<int32_t, std::pair<int64_t, int64_t>>& ls_and_hi) {
  std::string partitions;
  for (const auto& [p, offsets] : ls_and_hi) {
    if (!partitions.empty()) partitions += ",";
    partitions += "\"" + std::to_string(p) + "\": {\"partition\": " + std::to_string(p) +
                  ", \"lo_offset\": 0, \"ls_offset\": " + std::to_string(offsets.first) +
                  ", \"hi_offset\": " + std::to_string(offsets.second) + "}";
  }
  return std::string("{\"type\": \"consumer\", \"topics\": {\"") + kIn +
         "\": {\"topic\": \"" + kIn + "\", \"partitions\": {" + partitions + "}}}}";
}

TEST_F(RuntimeTest, LagIsTheStableEndMinusThePositionAndStepsOverTransactionMarkers) {
  Prepare(TagTopology());
  supplier_->main_consumer_partition_eof = true;
  supplier_->main_consumer_statistics = true;
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  // 3 records, then an aborted transaction's 2: read_committed readers never
  // see offsets 3 and 4 (a real log would also have its markers there).
  Produce(0, 3, "a");
  for (int i = 0; i < 2; ++i) {
    testing::FakeRecord aborted;
    aborted.key = "k";
    aborted.value = "aborted";
    aborted.aborted = true;
    cluster_.At(kIn, 0).log.push_back(aborted);
  }
  ASSERT_EQ(cluster_.StableEnd(kIn, 0), 5);
  consumer().stats->Put(StatisticsReport({{0, {5, 5}}}));
  ThreadMetrics m = thread_->probe().Snapshot();
  ASSERT_NE(FindPartition(m, kIn, 0), nullptr);
  EXPECT_EQ(FindPartition(m, kIn, 0)->end, 5);
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, 5) << "nothing taken: from the log start";
  ProcessUntil(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(thread_->RunOnce().ok());  // the end is signalled
  m = thread_->probe().Snapshot();
  EXPECT_EQ(FindPartition(m, kIn, 0)->position, 5) << "the end-of-partition offset";
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, 0);
  // Four more, reported before the thread takes them: lag 4, then 0.
  Produce(0, 4, "b");
  consumer().stats->Put(StatisticsReport({{0, {9, 9}}}));
  m = thread_->probe().Snapshot();
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, 4);
  ProcessUntil(7);
  m = thread_->probe().Snapshot();
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, 0);
  // An open transaction: the stable end stays below the high watermark, and
  // lag is measured to the stable end (read_committed).
  consumer().stats->Put(StatisticsReport({{0, {9, 12}}}));
  m = thread_->probe().Snapshot();
  EXPECT_EQ(FindPartition(m, kIn, 0)->end, 9);
  EXPECT_EQ(FindPartition(m, kIn, 0)->lag, 0);
}

TEST_F(RestoreTest, MetricsCountRestoringTasksWhileTheirStoresRestore) {
  FirstRun();
  for (int i = 0; i < 3; ++i) cluster_.Append(Changelog(), 0, "k" + std::to_string(i), "9");
  std::vector<ThreadMetrics> seen;
  shared_->test_hook = [&](RuntimeHookPoint point, int) {
    if (point == RuntimeHookPoint::kMidRestore) seen.push_back(thread_->probe().Snapshot());
  };
  NewThread();
  ASSERT_TRUE(AssignInput(1).ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].restoring_tasks, 1);
  EXPECT_EQ(seen[0].active_tasks, 1);
  ASSERT_NE(FindTask(seen[0], "0_0"), nullptr);
  EXPECT_TRUE(FindTask(seen[0], "0_0")->restoring);
  const ThreadMetrics after = thread_->probe().Snapshot();
  EXPECT_EQ(after.restoring_tasks, 0);
  EXPECT_FALSE(FindTask(after, "0_0")->restoring);
  EXPECT_EQ(after.active_tasks, 1);
}

TEST_F(RestoreTest, MetricsSampleTheStoresRocksDbFigures) {
  FirstRun();  // 3 writes of 2 keys, committed; 3 records processed
  thread_->task_manager().SampleStores();
  const ThreadMetrics m = thread_->probe().Snapshot();
  ASSERT_EQ(m.stores.size(), 1u);
  const StoreMetrics& s = m.stores[0];
  EXPECT_EQ(s.task, "0_0");
  EXPECT_EQ(s.store, "counts");
  EXPECT_TRUE(s.persistent);
  // RocksDB's estimate counts memtable entries (overwrites and the store's
  // offset entries included): at least the keys written.
  EXPECT_GE(s.estimated_keys, 2u) << "two distinct keys";
  EXPECT_GT(s.memtable_bytes, 0u) << "committed writes sit in the memtable";
  // Ten new keys, committed: the estimate grows by at least ten.
  for (int i = 0; i < 10; ++i) cluster_.Append(kIn, 0, "new" + std::to_string(i), "x");
  ProcessUntil(13);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  thread_->task_manager().SampleStores();
  const ThreadMetrics later = thread_->probe().Snapshot();
  ASSERT_EQ(later.stores.size(), 1u);
  EXPECT_GE(later.stores[0].estimated_keys, s.estimated_keys + 10);
  EXPECT_GE(later.stores[0].memtable_bytes, s.memtable_bytes);  // arena blocks: may not grow
  // Closed: no longer reported.
  consumer().ScheduleRevocation(false);
  ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_TRUE(thread_->probe().Snapshot().stores.empty());
}

}  // namespace
}  // namespace eventflow::streams
