// Standby tasks and warm-up through the runtime over fake clients (no
// broker): instance A runs the count topology; instance B, on the same fake
// cluster with its own state directory, keeps standbys of A's tasks and
// takes them over. Stores are compared with a count per key of the
// committed input (the model); aborted and uncommitted changelog records must
// never reach a standby; a standby that becomes active replays exactly the
// changelog records written since its last update. Also the
// StandbyCoordinator's warm-up decisions and placement over fake group
// descriptions, and TaskClaims across real threads (label threads).
#include <atomic>
#include <thread>

#include "runtime_fixture.h"
#include "standby_coordinator.h"
#include "task_claims.h"

namespace eventflow::streams {
namespace {

using namespace runtime_test;  // NOLINT: the runtime fixture's names
using testing::FakeClientSupplier;
using testing::FakeCluster;

class StandbyRuntimeTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    config_b_ = config_;
    config_b_.state_dir = (state_dir_ / "b").string();
    config_b_.instance_id = "b";
    config_b_.commit_interval = std::chrono::milliseconds(1);  // standbys store at once
  }
  void TearDown() override {
    thread_b_.reset();
    shared_b_.reset();
    RuntimeTest::TearDown();
  }

  // Instance B (after Prepare()): its shared state and thread, initialised;
  // `coordinator` (may be null) is its StandbyCoordinator.
  void StartB(std::unique_ptr<StandbyCoordinator> coordinator = nullptr) {
    ASSERT_TRUE(config_b_.Validate().ok()) << config_b_.Validate().ToString();
    shared_b_ = PrepareShared(topology_, config_b_, "b", &cluster_, &supplier_b_);
    supplier_b_->on_restore_consumer = [this](testing::FakeConsumer& c) {
      c.paused = supplier_b_paused_;
    };
    shared_b_->standby = std::move(coordinator);
    thread_b_ = std::make_unique<StreamThread>(0, shared_b_.get(), nullptr);
    ASSERT_TRUE(thread_b_->Init().ok());
  }
  // Runs B's loop (and its coordinator) `n` times.
  void RunB(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(thread_b_->RunOnce().ok());
      if (shared_b_->standby) shared_b_->standby->Tick();
    }
  }
  // Runs B for `time` of wall clock.
  void RunBFor(std::chrono::milliseconds time) {
    const auto until = std::chrono::steady_clock::now() + time;
    while (std::chrono::steady_clock::now() < until) RunB(1);
  }
  // Runs B until `done`, for up to 30 s (standbys store their positions
  // every commit interval of wall-clock time, so iterations alone do not bound it).
  template <typename Done>
  void RunBUntil(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < deadline) RunB(1);
    ASSERT_TRUE(done());
  }

  // Appends records with the given keys to input partition `p`; the model
  // counts them once committed (Commit()).
  void Input(int32_t p, const std::vector<std::string>& keys) {
    for (const std::string& k : keys) cluster_.Append(kIn, p, k, "x");
    pending_[p].insert(pending_[p].end(), keys.begin(), keys.end());
  }
  // A commits; what it processed becomes part of the model.
  void CommitA() {
    ASSERT_TRUE(thread_->MaybeCommit(true).ok());
    for (auto& [p, keys] : pending_) {
      for (const std::string& k : keys) ++model_[p][k];
    }
    pending_.clear();
  }

  // The standby store "counts" of task `t` on B (nullptr: no such standby).
  state::KeyValueStore* StandbyStore(TaskId t) {
    const auto& standbys = thread_b_->task_manager().standbys();
    auto it = standbys.find(t);
    if (it == standbys.end()) return nullptr;
    return dynamic_cast<state::KeyValueStore*>(it->second->state_manager().GetStore("counts"));
  }
  // The active store "counts" of task `t` on B.
  state::KeyValueStore* ActiveStoreB(TaskId t) {
    auto& tasks = thread_b_->task_manager().tasks();
    auto it = tasks.find(t);
    if (it == tasks.end()) return nullptr;
    return dynamic_cast<state::KeyValueStore*>(it->second->GetStateStore("counts"));
  }
  // Compares a store with the model of partition `p`; "" when equal.
  std::string Differs(state::KeyValueStore* store, int32_t p) {
    if (store == nullptr) return "no store";
    std::string diff;
    size_t n = 0;
    auto it = store->All();
    for (; it->Valid(); it->Next()) ++n;
    if (n != model_[p].size()) {
      diff += "keys " + std::to_string(n) + " vs model " + std::to_string(model_[p].size()) + "; ";
    }
    for (const auto& [key, count] : model_[p]) {
      std::string value;
      if (!store->Get(key, &value).ok() || value != std::to_string(count)) {
        diff += key + "=" + value + " vs " + std::to_string(count) + "; ";
      }
    }
    return diff;
  }
  const StandbyMetrics* StandbyFigures(const std::string& task) {
    figures_ = thread_b_->probe().Snapshot();
    for (const StandbyMetrics& s : figures_.standbys) {
      if (s.task == task) return &s;
    }
    return nullptr;
  }

  StreamsConfig config_b_;
  std::unique_ptr<ThreadShared> shared_b_;
  FakeClientSupplier* supplier_b_ = nullptr;
  bool supplier_b_paused_ = false;  // B's restore consumer starts paused
  std::unique_ptr<StreamThread> thread_b_;
  std::map<int32_t, std::map<std::string, int>> model_;  // committed counts per partition
  std::map<int32_t, std::vector<std::string>> pending_;  // processed by A, not committed
  ThreadMetrics figures_;
};

std::vector<std::string> Keys(int n, int seed) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("k" + std::to_string((i * 7 + seed) % 5));
  return keys;
}

TEST_F(StandbyRuntimeTest, StandbyTailsTheCommittedChangelogAndTakesOverReplayingOnlyTheTail) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  StartB();
  thread_b_->task_manager().SetStandbys({TaskId{0, 0}});

  Input(0, Keys(20, 1));
  ProcessUntil(20);
  CommitA();
  // A transaction that aborts: its changelog records stay in the log, marked
  // aborted; the standby must never apply them. A then processes them again.
  Input(0, Keys(5, 2));
  ProcessUntil(25);
  producer().fail_next_commit = Status::Aborted("abortable, by the test");
  ASSERT_TRUE(thread_->MaybeCommit(true).ok()) << "recovered by rewinding";
  ASSERT_EQ(producer().aborts, 1);
  ProcessUntil(30);
  CommitA();
  RunBUntil([&] {
    const StandbyMetrics* s = StandbyFigures("0_0");
    return s != nullptr && s->lag == 0;
  });
  EXPECT_EQ(Differs(StandbyStore(TaskId{0, 0}), 0), "");
  const StandbyMetrics* figures = StandbyFigures("0_0");
  ASSERT_NE(figures, nullptr);
  EXPECT_EQ(figures->position, cluster_.End(Changelog(), 0));
  EXPECT_EQ(figures_.standby_tasks, 1);
  // Records the standby applied: the committed changelog records (aborted
  // ones skipped).
  EXPECT_EQ(figures_.standby_records, cluster_.Committed(Changelog(), 0).size());
  // Nothing was written to Kafka by B, and B has no active task.
  EXPECT_EQ(supplier_b_->producer->sent, 0u);
  EXPECT_TRUE(thread_b_->task_manager().tasks().empty());

  // An open transaction of A: the standby stops at its start (the last
  // stable offset), where it has read all there is to the state: lag 0.
  Input(0, Keys(3, 3));
  ProcessUntil(33);
  RunBUntil([&] {
    return StandbyFigures("0_0")->position == cluster_.StableEnd(Changelog(), 0);
  });
  RunBFor(std::chrono::milliseconds(20));  // and no further
  EXPECT_EQ(Differs(StandbyStore(TaskId{0, 0}), 0), "") << "uncommitted changes reached the standby";
  figures = StandbyFigures("0_0");
  EXPECT_EQ(figures->position, cluster_.StableEnd(Changelog(), 0));
  EXPECT_LT(figures->position, cluster_.End(Changelog(), 0));
  EXPECT_EQ(figures->lag, 0);
  CommitA();

  // The standby's copy is stored with its offset: what it read is flushed.
  RunBUntil([&] { return StandbyFigures("0_0")->position == cluster_.End(Changelog(), 0); });
  // A processes 7 more and commits while B does not run: B's copy is 7
  // changelog records behind when the task moves.
  Input(0, Keys(7, 4));
  ProcessUntil(40);
  CommitA();
  consumer().ScheduleRevocation(/*lost=*/false);
  ASSERT_TRUE(thread_->RunOnce().ok());
  ASSERT_TRUE(thread_->task_manager().tasks().empty());

  supplier_b_->main_consumer->ScheduleAssignment({{kIn, 0}, {kIn, 1}});
  RunB(1);
  ASSERT_EQ(thread_b_->task_manager().tasks().size(), 2u);
  EXPECT_TRUE(thread_b_->task_manager().standbys().empty()) << "the standby became the active task";
  EXPECT_EQ(Differs(ActiveStoreB(TaskId{0, 0}), 0), "");
  figures_ = thread_b_->probe().Snapshot();
  EXPECT_EQ(figures_.arrivals.restores_tail, 1u) << "task 0_0 from its standby's offset";
  EXPECT_EQ(figures_.arrivals.restores_full, 1u) << "task 0_1: no copy on B";
  EXPECT_EQ(figures_.arrivals.restores_none, 0u);
  EXPECT_EQ(figures_.arrivals.restore_records, 7u) << "only the 7 records written since";
  EXPECT_EQ(figures_.standby_tasks, 0);

  // B goes on counting from the restored state; its first batch measures the
  // processing gap from A's last processing (carried in A's commits).
  EXPECT_EQ(figures_.move_gap_moved.count, 0u);
  for (const std::string& k : Keys(4, 5)) cluster_.Append(kIn, 0, k, "x");
  for (int i = 0; i < 100 && thread_b_->processed() < 4; ++i) RunB(1);
  ASSERT_EQ(thread_b_->processed(), 4u);
  ASSERT_TRUE(thread_b_->MaybeCommit(true).ok());
  for (const std::string& k : Keys(4, 5)) ++model_[0][k];
  EXPECT_EQ(Differs(ActiveStoreB(TaskId{0, 0}), 0), "");
  figures_ = thread_b_->probe().Snapshot();
  EXPECT_EQ(figures_.move_gap_moved.count, 1u) << "task 0_0's first batch here";
  EXPECT_EQ(figures_.move_gap_stayed.count, 0u);
  EXPECT_GE(figures_.move_gap_moved.sum, 0.0);
  EXPECT_LT(figures_.move_gap_moved.sum, 60.0);
}

TEST_F(StandbyRuntimeTest, StandbyOfAKeyValueChangelogMissingItsHeadIsDroppedNotFailed) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Input(0, Keys(6, 1));
  ProcessUntil(6);
  CommitA();
  cluster_.DeleteRecordsBefore(Changelog(), 0, 2);  // records of the compacted changelog gone
  StartB();
  thread_b_->task_manager().SetStandbys({TaskId{0, 0}, TaskId{0, 1}});
  RunB(5);
  EXPECT_EQ(StandbyStore(TaskId{0, 0}), nullptr) << "no standby without a complete changelog";
  EXPECT_NE(StandbyStore(TaskId{0, 1}), nullptr) << "the other standby runs";
  RunB(5);  // the thread runs on (RunB asserts it); not retried until the plan changes
  EXPECT_EQ(StandbyStore(TaskId{0, 0}), nullptr);
}

// The fake group: members with their assigned input partitions.
kafka::GroupDescription Group(
    const std::vector<std::pair<std::string, std::vector<int32_t>>>& members) {
  kafka::GroupDescription group;
  group.state = "Stable";
  for (const auto& [gid, partitions] : members) {
    kafka::GroupMember m;
    m.group_instance_id = gid;
    m.member_id = gid + "-0b7d";
    for (int32_t p : partitions) m.assignment.push_back({kIn, p, -1});
    group.members.push_back(std::move(m));
  }
  return group;
}

TaskLayout CountLayout() {
  TaskLayout layout;
  layout.subtopology_tasks = {{0, kPartitions}};
  layout.subtopology_of_topic = {{kIn, 0}};
  layout.stateful = {0};
  return layout;
}

TEST_F(StandbyRuntimeTest, JoiningInstanceWarmsItsTasksAndJoinsOnlyWithinTheLag) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(AssignInput().ok());
  Input(1, Keys(10, 1));
  ProcessUntil(10);
  CommitA();

  // B joins an application whose member a-0 runs both tasks: with members
  // [a-0, b-0] the range assignor will give b-0 partition 1.
  config_b_.num_standby_replicas = 1;
  config_b_.acceptable_recovery_lag = 0;
  auto group = std::make_shared<kafka::GroupDescription>(Group({{"a-0", {0, 1}}}));
  StandbyCoordinator::Options options;
  options.instance_id = "b";
  options.threads = 1;
  options.num_standby_replicas = 1;
  options.acceptable_recovery_lag = 0;
  options.warmup_timeout = std::chrono::minutes(10);
  options.retry_interval = std::chrono::milliseconds(0);
  auto coordinator = std::make_unique<StandbyCoordinator>(
      CountLayout(), options, [group]() -> Result<kafka::GroupDescription> { return *group; });
  StandbyCoordinator* c = coordinator.get();
  // B's changelog fetches are slow: nothing arrives for now.
  supplier_b_paused_ = true;
  StartB(std::move(coordinator));
  EXPECT_EQ(supplier_b_->main_consumer->subscribes, 0) << "no join before the warm-up";
  RunBUntil([&] { return StandbyFigures("0_1") != nullptr; });
  RunB(50);
  EXPECT_EQ(c->warmup_state(), StandbyCoordinator::Warmup::kWarming);
  EXPECT_EQ(c->warmup_tasks(), 1);
  EXPECT_EQ(c->StandbysOf(0), (std::set<TaskId>{TaskId{0, 1}}));
  EXPECT_FALSE(c->may_join()) << "its copy is 10 records behind, more than the lag allowed";
  EXPECT_EQ(supplier_b_->main_consumer->subscribes, 0);
  EXPECT_EQ(thread_b_->state(), ThreadState::kStarting);
  EXPECT_EQ(StandbyFigures("0_1")->lag, 10);

  // A keeps processing meanwhile; then B's fetches come through.
  Input(1, Keys(5, 2));
  ProcessUntil(15);
  CommitA();
  supplier_b_->restore_consumer->paused = false;
  RunBUntil([&] { return supplier_b_->main_consumer->subscribes == 1; });
  EXPECT_EQ(Differs(StandbyStore(TaskId{0, 1}), 1), "");
  EXPECT_TRUE(c->may_join());
  EXPECT_EQ(thread_b_->state(), ThreadState::kRebalancing);

  // The rebalance: A keeps partition 0, B gets partition 1.
  consumer().ScheduleRevocation(false);
  consumer().ScheduleAssignment({{kIn, 0}});
  ASSERT_TRUE(thread_->RunOnce().ok());
  *group = Group({{"a-0", {0}}, {"b-0", {1}}});
  supplier_b_->main_consumer->ScheduleAssignment({{kIn, 1}});
  RunB(1);
  ASSERT_EQ(thread_b_->task_manager().tasks().size(), 1u);
  EXPECT_EQ(Differs(ActiveStoreB(TaskId{0, 1}), 1), "");
  figures_ = thread_b_->probe().Snapshot();
  EXPECT_EQ(figures_.arrivals.restores_none, 1u) << "the warm copy was at the end";
  EXPECT_EQ(figures_.arrivals.restore_records, 0u);

  // After the rebalance B follows the new plan: if a left, b would get task
  // 0_0, so B keeps its standby.
  Input(0, Keys(8, 3));
  ProcessUntil(23);
  CommitA();
  RunBUntil([&] {
    const StandbyMetrics* s = StandbyFigures("0_0");
    return s != nullptr && s->lag == 0;
  });
  EXPECT_EQ(c->StandbysOf(0), (std::set<TaskId>{TaskId{0, 0}}));
  EXPECT_EQ(Differs(StandbyStore(TaskId{0, 0}), 0), "");
}

// ---------------------------------------------------------------- coordinator

StandbyCoordinator::Options CoordinatorOptions() {
  StandbyCoordinator::Options options;
  options.instance_id = "b";
  options.threads = 2;
  options.num_standby_replicas = 1;
  options.acceptable_recovery_lag = 100;
  options.warmup_timeout = std::chrono::minutes(10);
  options.retry_interval = std::chrono::milliseconds(0);
  options.refresh_interval = std::chrono::milliseconds(0);
  return options;
}

TEST(StandbyCoordinatorTest, JoinsAtOnceWhenWarmingUpCannotHelp) {
  const TaskLayout layout = CountLayout();
  struct Case {
    std::string why;
    Result<kafka::GroupDescription> group;
  };
  std::vector<Case> cases;
  cases.push_back({"empty group", Group({})});
  cases.push_back({"its own member still there (a quick restart)", Group({{"a-0", {0}}, {"b-1", {1}}})});
  cases.push_back({"describe fails", Status::Unavailable("no broker")});
  for (const Case& c : cases) {
    StandbyCoordinator coordinator(layout, CoordinatorOptions(),
                                   [&]() -> Result<kafka::GroupDescription> { return c.group; });
    EXPECT_FALSE(coordinator.may_join()) << c.why << ": undecided before the first tick";
    coordinator.Tick();
    EXPECT_TRUE(coordinator.may_join()) << c.why;
    EXPECT_EQ(coordinator.warmup_tasks(), 0) << c.why;
  }
  StandbyCoordinator off(layout, [] {
    auto o = CoordinatorOptions();
    o.warmup_timeout = std::chrono::milliseconds(0);
    return o;
  }(), [] { return Group({{"a-0", {0, 1}}}); });
  EXPECT_TRUE(off.may_join()) << "warm-up off";
}

TEST(StandbyCoordinatorTest, WarmsThePredictedTasksUntilEveryThreadReportsALagWithinTheLimit) {
  // a-0 runs both tasks; b-0 and b-1 join: members [a-0, b-0, b-1] → b-0
  // gets partition 1, b-1 nothing.
  kafka::GroupDescription group = Group({{"a-0", {0, 1}}});
  StandbyCoordinator c(CountLayout(), CoordinatorOptions(), [&] { return group; });
  c.Tick();
  ASSERT_EQ(c.warmup_state(), StandbyCoordinator::Warmup::kWarming);
  EXPECT_EQ(c.StandbysOf(0), (std::set<TaskId>{TaskId{0, 1}}));
  EXPECT_EQ(c.StandbysOf(1), std::set<TaskId>{});
  EXPECT_EQ(c.warmup_tasks(), 1);
  const uint64_t v = c.version();
  c.ReportWarmup(0, v, 500);
  c.ReportWarmup(1, v, 0);
  c.Tick();
  EXPECT_FALSE(c.may_join()) << "thread 0 is 500 behind";
  c.ReportWarmup(0, v - 1, 50);  // about an older plan: ignored
  c.Tick();
  EXPECT_FALSE(c.may_join());
  c.ReportWarmup(0, v, -1);  // not known yet
  c.Tick();
  EXPECT_FALSE(c.may_join());
  // The group changes meanwhile (a second instance c joins first): the
  // prediction follows. Members [a-0, b-0, b-1, c-0] → b-0: 1, the rest nothing.
  group = Group({{"a-0", {0}}, {"c-0", {1}}});
  c.Tick();
  EXPECT_EQ(c.StandbysOf(0), (std::set<TaskId>{TaskId{0, 1}}));
  c.ReportWarmup(0, c.version(), 100);
  c.ReportWarmup(1, c.version(), 0);
  c.Tick();
  EXPECT_TRUE(c.may_join()) << "every thread within acceptable.recovery.lag";
  EXPECT_EQ(c.warmup_tasks(), 0);
}

TEST(StandbyCoordinatorTest, JoinsAfterTheWarmupTimeout) {
  auto options = CoordinatorOptions();
  options.warmup_timeout = std::chrono::milliseconds(1);
  StandbyCoordinator c(CountLayout(), options, [] { return Group({{"a-0", {0, 1}}}); });
  const auto began = std::chrono::steady_clock::now();
  c.Tick();
  ASSERT_EQ(c.warmup_state(), StandbyCoordinator::Warmup::kWarming);
  while (!c.may_join() && std::chrono::steady_clock::now() - began < std::chrono::seconds(10)) {
    c.Tick();
  }
  EXPECT_TRUE(c.may_join());
}

TEST(StandbyCoordinatorTest, PlacesStandbysFromStableDescriptionsListingItsMembers) {
  auto options = CoordinatorOptions();
  options.warmup_timeout = std::chrono::milliseconds(0);
  kafka::GroupDescription group = Group({{"a-0", {0}}, {"b-0", {1}}, {"b-1", {}}});
  group.state = "PreparingRebalance";
  StandbyCoordinator c(CountLayout(), options, [&] { return group; });
  const uint64_t v0 = c.version();
  c.Tick();
  EXPECT_EQ(c.version(), v0) << "not Stable: no plan";
  group.state = "Stable";
  group.members.pop_back();  // b-1 missing
  c.OnRebalance();
  c.Tick();
  EXPECT_EQ(c.version(), v0) << "b-1 not in the group: no plan";
  group = Group({{"a-0", {0}}, {"b-0", {1}}, {"b-1", {}}});
  c.OnRebalance();
  c.Tick();
  ASSERT_NE(c.version(), v0);
  // The model: task 0_0 (owner a) goes where it would if a left: members
  // [b-0, b-1] → b-0 gets partition 0. Task 0_1 (owner b): to a-0.
  EXPECT_EQ(c.StandbysOf(0), (std::set<TaskId>{TaskId{0, 0}}));
  EXPECT_EQ(c.StandbysOf(1), std::set<TaskId>{});
  const uint64_t v1 = c.version();
  c.OnRebalance();
  c.Tick();
  EXPECT_EQ(c.version(), v1) << "the same plan: no new version";
}

// ---------------------------------------------------------------- claims

TEST(TaskClaimsTest, StandbysYieldToActiveTasksAcrossThreads) {
  TaskClaims claims;
  const TaskId t{0, 3};
  EXPECT_TRUE(claims.TryClaimStandby(t, 1));
  EXPECT_TRUE(claims.TryClaimStandby(t, 1)) << "its own";
  EXPECT_FALSE(claims.TryClaimStandby(t, 0)) << "another thread's standby";
  EXPECT_FALSE(claims.release_requested(1));
  // Thread 1 serves release requests on its own loop; thread 0 claims the
  // task for an active task and waits for it.
  std::atomic<bool> stop{false};
  std::atomic<int> released{0};
  std::thread holder([&] {
    while (!stop.load()) {
      if (claims.release_requested(1)) {
        for (const TaskId& id : claims.TakeReleaseRequests(1)) {
          claims.Release(id, 1);
          released.fetch_add(1);
        }
      }
      std::this_thread::yield();
    }
  });
  const Status s = claims.ClaimActive(t, 0, std::chrono::seconds(30), nullptr);
  stop = true;
  holder.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(released.load(), 1);
  EXPECT_FALSE(claims.TryClaimStandby(t, 1)) << "active on thread 0 now";
  claims.Release(t, 0);
  EXPECT_TRUE(claims.TryClaimStandby(t, 1));
}

TEST(TaskClaimsTest, TwoThreadsWaitingForEachOtherBothGetTheirTasks) {
  TaskClaims claims;
  const TaskId a{0, 0}, b{0, 1};
  ASSERT_TRUE(claims.TryClaimStandby(a, 1));  // thread 1 holds a's standby
  ASSERT_TRUE(claims.TryClaimStandby(b, 0));  // thread 0 holds b's standby
  auto serve = [&](int thread) {
    return [&claims, thread] {
      for (const TaskId& id : claims.TakeReleaseRequests(thread)) claims.Release(id, thread);
    };
  };
  Status sa, sb;
  std::thread t0([&] { sa = claims.ClaimActive(a, 0, std::chrono::seconds(30), serve(0)); });
  std::thread t1([&] { sb = claims.ClaimActive(b, 1, std::chrono::seconds(30), serve(1)); });
  t0.join();
  t1.join();
  EXPECT_TRUE(sa.ok()) << sa.ToString();
  EXPECT_TRUE(sb.ok()) << sb.ToString();
}

TEST(TaskClaimsTest, AnActiveClaimHeldElsewhereTimesOutNamingTheHolder) {
  TaskClaims claims;
  ASSERT_TRUE(claims.ClaimActive(TaskId{1, 2}, 3, std::chrono::seconds(1), nullptr).ok());
  const Status s = claims.ClaimActive(TaskId{1, 2}, 4, std::chrono::milliseconds(30), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kTimedOut);
  EXPECT_NE(s.message().find("task 1_2"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("stream thread 3"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace eventflow::streams
