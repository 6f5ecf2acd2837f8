// Interactive queries through the runtime (store_query.h), driven over fake
// clients (fake_kafka.h) on the test thread, no broker:
//   - committed-only visibility: what a task wrote since its last commit —
//     in its store's pending layer or in its record cache — is invisible to a
//     reader until the commit, then visible; counts checked against the input;
//   - a store is unreadable (Unavailable) while it restores, after its task
//     closed, and on partitions this instance does not run;
//   - wrong kinds and bad partitions are refused;
//   - readers on other threads while the thread revokes and re-creates its
//     tasks (label threads: run under TSan);
// and StreamsMetadataState over a fake group description: owners and
// endpoints from client ids, refresh after rebalances, staleness, failures.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/partitioner.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology.h"
#include "fake_kafka.h"
#include "queryable_stores.h"
#include "stream_thread.h"
#include "streams_metadata_state.h"

namespace eventflow::streams {
namespace {

using testing::FakeClientSupplier;
using testing::FakeCluster;

constexpr char kIn[] = "in";
constexpr char kOut[] = "out";
constexpr char kApp[] = "app";
constexpr int kPartitions = 2;

// Counts records per key in the key-value store "counts" (no cache).
class CountProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override {
    context_ = &context;
    store_ = context.GetStateStore<state::KeyValueStore>("counts");
  }
  void Process(Record<std::string, std::string> record) override {
    std::string current;
    const Status got = store_->Get(record.key, &current);
    const int64_t count = (got.ok() ? std::stoll(current) : 0) + 1;
    if (!store_->Put(record.key, std::to_string(count), record.timestamp).ok()) {
      throw std::runtime_error("put failed");
    }
    record.value = std::to_string(count);
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
  state::KeyValueStore* store_ = nullptr;
};

Topology CountTopology() {
  Topology t;
  t.AddSource<std::string, std::string>("in", {kIn}, Serdes::String(), Serdes::String());
  t.AddProcessor<std::string, std::string, std::string, std::string>(
      "count", [] { return std::make_unique<CountProcessor>(); }, {"in"});
  StoreSpec counts;
  counts.name = "counts";
  t.AddStateStore(counts, {"count"});
  t.AddSink<std::string, std::string>("out", kOut, Serdes::String(), Serdes::String(), {"count"});
  return t;
}

// Per key, one-minute windowed counts through the record cache (DSL Count).
Topology WindowedCountTopology() {
  StreamsBuilder builder;
  builder
      .Stream<std::string, std::string>(
          kIn, Consumed<std::string, std::string>::With(Serdes::String(), Serdes::String()))
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(1), std::chrono::hours(1)))
      .Count(Materialized<std::string, int64_t>::As("windowed-counts"))
      .ToStream()
      .Map([](const Windowed<std::string>& k, const std::optional<int64_t>& v) {
        return KeyValue<std::string, std::string>(k.key, v ? std::to_string(*v) : "");
      })
      .To(kOut, Produced<std::string, std::string>::With(Serdes::String(), Serdes::String()));
  return builder.Build();
}

int PartitionOf(const std::string& key) {
  return kafka::KeyPartitioner::Named("murmur2_random", "test")->Partition(key, kPartitions);
}

class InteractiveQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = std::filesystem::temp_directory_path() /
                 ("eventflow-iq-test-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_dir_);
    cluster_.CreateTopic(kIn, kPartitions);
    cluster_.CreateTopic(kOut, kPartitions);
    config_.application_id = kApp;
    config_.bootstrap_servers = "fake:9092";
    config_.state_dir = state_dir_.string();
    config_.partition_stall_timeout = std::chrono::milliseconds(0);
    config_.repartition_purge_interval = std::chrono::milliseconds(0);
    config_.commit_interval = std::chrono::hours(1);  // commits only when a test asks
  }
  void TearDown() override {
    thread_.reset();
    std::filesystem::remove_all(state_dir_);
  }

  // What KafkaStreams::Start() prepares, over the fake cluster, with the
  // queryable stores (and a record cache budget).
  void Prepare(Topology topology) {
    topology_ = std::move(topology);
    ASSERT_TRUE(config_.Validate().ok());
    ASSERT_TRUE(topology_.Validate().ok()) << topology_.Validate().ToString();
    shared_ = std::make_unique<ThreadShared>();
    shared_->topology = &topology_;
    shared_->subtopologies = topology_.SubTopologies();
    shared_->config = &config_;
    shared_->instance_id = "test";
    shared_->resolve = topology_.ResolverFor(kApp);
    for (const Topology::SubTopology& sub : shared_->subtopologies) {
      shared_->subtopology_tasks[sub.id] = kPartitions;
      for (const std::string& topic : sub.source_topics) {
        shared_->subtopology_of_topic[shared_->resolve(topic)] = sub.id;
        shared_->source_topics.push_back(shared_->resolve(topic));
      }
    }
    for (const StoreSpec& store : topology_.stores()) {
      cluster_.CreateTopic(ChangelogTopic(kApp, store.name), kPartitions);
    }
    state::StateMemoryBudgetOptions budget;
    budget.total_bytes = 64 << 20;
    auto created_budget = state::StateMemoryBudget::Create(budget);
    ASSERT_TRUE(created_budget.ok());
    shared_->memory_budget = std::move(*created_budget);
    auto supplier = std::make_unique<FakeClientSupplier>(&cluster_);
    supplier_ = supplier.get();
    shared_->client_supplier = std::move(supplier);
    QueryableStores::Layout layout = QueryableStores::LayoutOf(
        topology_, shared_->subtopologies, shared_->subtopology_tasks, shared_->resolve);
    shared_->queryable_stores =
        std::make_unique<QueryableStores>(std::move(layout.infos), std::move(layout.subtopologies),
                                          kafka::KeyPartitioner::Named("murmur2_random", "test"));
  }

  StreamThread& NewThread() {
    if (thread_) thread_->Shutdown(Status::OK());
    thread_.reset();
    thread_ = std::make_unique<StreamThread>(0, shared_.get(), nullptr);
    EXPECT_TRUE(thread_->Init().ok());
    return *thread_;
  }

  testing::FakeConsumer& consumer() { return *supplier_->main_consumer; }

  Status Assign(std::vector<int> partitions = {0, 1}) {
    TopicPartitionOffsets assignment;
    for (int p : partitions) assignment.emplace_back(kIn, p);
    consumer().ScheduleAssignment(assignment);
    return thread_->RunOnce();
  }

  // Appends a record of `key` to its partition (as the producer would place it).
  void Produce(const std::string& key, int64_t timestamp = 0) {
    cluster_.Append(kIn, PartitionOf(key), key, "x", timestamp);
  }

  void ProcessUntil(uint64_t total) {
    for (int i = 0; i < 1000 && thread_->processed() < total; ++i) {
      ASSERT_TRUE(thread_->RunOnce().ok());
    }
    ASSERT_EQ(thread_->processed(), total);
  }

  ReadOnlyStore Store(const std::string& name, std::optional<int> partition = std::nullopt) {
    const QueryableStoreInfo* info = shared_->queryable_stores->Find(name);
    EXPECT_NE(info, nullptr) << name;
    return shared_->queryable_stores->Handle(*info, partition);
  }

  // The value of `key` in "counts" as a reader sees it ("<status>" otherwise).
  std::string Read(const std::string& key) {
    std::string value;
    const Status s = Store("counts").Get(key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  }

  std::filesystem::path state_dir_;
  FakeCluster cluster_;
  StreamsConfig config_;
  Topology topology_;
  std::unique_ptr<ThreadShared> shared_;
  FakeClientSupplier* supplier_ = nullptr;
  std::unique_ptr<StreamThread> thread_;
};

TEST_F(InteractiveQueryTest, PendingWritesAreInvisibleUntilTheCommit) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(Assign().ok());
  std::map<std::string, int> sent;  // the model: records per key
  for (int i = 0; i < 30; ++i) {
    const std::string key = "user-" + std::to_string(i % 7);
    Produce(key);
    ++sent[key];
  }
  ProcessUntil(30);
  for (const auto& [key, count] : sent) {
    EXPECT_EQ(Read(key), "<NotFound: >") << key << " is visible before its commit";
  }
  ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  for (const auto& [key, count] : sent) EXPECT_EQ(Read(key), std::to_string(count)) << key;
  // Later writes stay invisible until the next commit.
  Produce("user-0");
  Produce("user-new");
  ProcessUntil(32);
  EXPECT_EQ(Read("user-0"), std::to_string(sent["user-0"]));
  EXPECT_EQ(Read("user-new"), "<NotFound: >");
  ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  EXPECT_EQ(Read("user-0"), std::to_string(sent["user-0"] + 1));
  EXPECT_EQ(Read("user-new"), "1");
  // A range over both partitions, in key order, limited.
  std::vector<KeyValueEntry> entries;
  ASSERT_TRUE(Store("counts").Range("user-1", "user-4", 100, &entries).ok());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "user-1");
  EXPECT_EQ(entries[2].key, "user-3");
  EXPECT_EQ(entries[2].value, std::to_string(sent["user-3"]));
  entries.clear();
  ASSERT_TRUE(Store("counts").Range("", "", 2, &entries).ok());
  EXPECT_EQ(entries.size(), 2u);
}

TEST_F(InteractiveQueryTest, RecordCacheContentsAreInvisibleUntilTheCommit) {
  Prepare(WindowedCountTopology());
  NewThread();
  ASSERT_TRUE(Assign().ok());
  constexpr int64_t kMinute = 60'000;
  // The model: count per (key, window start).
  std::map<std::pair<std::string, int64_t>, int64_t> model;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "k" + std::to_string(i % 5);
    const int64_t t = (i % 3) * kMinute + i;
    Produce(key, t);
    ++model[{key, t / kMinute * kMinute}];
  }
  ProcessUntil(40);
  std::vector<WindowEntry> windows;
  ASSERT_TRUE(Store("windowed-counts").FetchAllWindows(0, 10 * kMinute, 1000, &windows).ok());
  EXPECT_TRUE(windows.empty()) << "cached (uncommitted) windows are visible";
  ASSERT_TRUE(thread_->MaybeCommit(/*force=*/true).ok());
  ASSERT_TRUE(Store("windowed-counts").FetchAllWindows(0, 10 * kMinute, 1000, &windows).ok());
  std::map<std::pair<std::string, int64_t>, int64_t> seen;
  for (const WindowEntry& w : windows) {
    int64_t count = 0;
    ASSERT_TRUE(Int64Serde().Deserialize(w.value, &count).ok());
    seen[{w.key, w.start}] = count;
    EXPECT_EQ(w.end, w.start + kMinute);
  }
  EXPECT_EQ(seen, model);
  // One key's windows, in the key's partition.
  std::vector<WindowEntry> k1;
  ASSERT_TRUE(Store("windowed-counts").FetchWindows("k1", 0, 10 * kMinute, &k1).ok());
  ASSERT_FALSE(k1.empty());
  for (const WindowEntry& w : k1) EXPECT_EQ(w.key, "k1");
}

TEST_F(InteractiveQueryTest, RestoringClosedAndAbsentPartitionsAreUnavailable) {
  Prepare(CountTopology());
  // A first run commits counts; the second restores them.
  NewThread();
  ASSERT_TRUE(Assign().ok());
  for (int i = 0; i < 10; ++i) Produce("k" + std::to_string(i));
  ProcessUntil(10);
  ASSERT_TRUE(thread_->MaybeCommit(true).ok());
  thread_->Shutdown(Status::OK());
  thread_.reset();
  std::filesystem::remove_all(state_dir_);  // a full restore follows
  std::vector<std::string> during_restore;
  shared_->test_hook = [&](RuntimeHookPoint point, int) {
    if (point == RuntimeHookPoint::kMidRestore) during_restore.push_back(Read("k1"));
  };
  config_.restore_batch_records = 1;
  NewThread();
  const int p = PartitionOf("k1");
  ASSERT_TRUE(Assign({p}).ok());
  ASSERT_FALSE(during_restore.empty());
  for (const std::string& r : during_restore)
    EXPECT_NE(r.find("restoring"), std::string::npos) << r;
  EXPECT_EQ(Read("k1"), "1");
  // A key of the partition this instance does not run.
  std::string other = "k0";
  for (int i = 0; PartitionOf(other) == p; ++i) other = "x" + std::to_string(i);
  EXPECT_NE(Read(other).find("not running on this instance"), std::string::npos);
  // Revoked: closed.
  consumer().ScheduleRevocation(false);
  ASSERT_TRUE(thread_->RunOnce().ok());
  EXPECT_NE(Read("k1").find("Unavailable"), std::string::npos);
}

TEST_F(InteractiveQueryTest, WrongKindsAndPartitionsAreRefused) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(Assign().ok());
  std::vector<WindowEntry> windows;
  EXPECT_TRUE(Store("counts").FetchWindows("k", 0, 1, &windows).IsInvalidArgument());
  std::vector<SessionEntry> sessions;
  EXPECT_TRUE(Store("counts").FetchSessions("k", 0, 1, &sessions).IsInvalidArgument());
  std::string value;
  EXPECT_EQ(Store("counts", 5).Get("k", &value).code(), StatusCode::kUnavailable);
  EXPECT_EQ(shared_->queryable_stores->Find("nope"), nullptr);
}

// Readers on other threads while the stream thread processes, commits, and
// loses and regains its tasks (closing and reopening the stores): a read is
// a committed count or Unavailable, never anything else, and never touches a
// closed store (TSan and ASan watch).
TEST_F(InteractiveQueryTest, ReadersRaceTasksClosingAndReopening) {
  Prepare(CountTopology());
  NewThread();
  ASSERT_TRUE(Assign().ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> ok_reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        std::string value;
        const Status s = Store("counts").Get("hot", &value);
        if (s.ok()) {
          ++ok_reads;
          if (std::stoll(value) < 1) ++bad;
        } else if (s.code() != StatusCode::kUnavailable && !s.IsNotFound()) {
          ++bad;
        }
        std::vector<KeyValueEntry> entries;
        const Status r2 = Store("counts").Range("", "", 10, &entries);
        if (!r2.ok() && r2.code() != StatusCode::kUnavailable) ++bad;
      }
    });
  }
  uint64_t total = 0;
  for (int round = 0; round < 15; ++round) {
    for (int i = 0; i < 5; ++i) Produce("hot");
    total += 5;
    ProcessUntil(total);
    ASSERT_TRUE(thread_->MaybeCommit(true).ok());
    consumer().ScheduleRevocation(false);
    ASSERT_TRUE(thread_->RunOnce().ok());
    ASSERT_TRUE(Assign().ok());
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(Read("hot"), std::to_string(total));
}

// ---------------------------------------------------------------------------
// StreamsMetadataState over a fake group description.

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    QueryableStoreInfo counts{"counts", StoreSpec::Kind::kKeyValue, 4, {}};
    stores_ = std::make_unique<QueryableStores>(
        std::vector<QueryableStoreInfo>{counts}, std::vector<int>{0},
        kafka::KeyPartitioner::Named("murmur2_random", "test"));
  }
  std::unique_ptr<StreamsMetadataState> Make(StreamsMetadataState::Options options = {}) {
    return std::make_unique<StreamsMetadataState>(
        stores_.get(), std::vector<std::vector<std::string>>{{"app-in-repartition", "in"}},
        HostInfo{"127.0.0.1", 8081},
        [this]() -> Result<kafka::GroupDescription> {
          ++describes_;
          if (!fail_.ok()) return fail_;
          return group_;
        },
        options);
  }
  static kafka::GroupMember Member(std::string client_id, std::vector<int> partitions) {
    kafka::GroupMember m;
    m.client_id = std::move(client_id);
    for (int p : partitions) m.assignment.push_back({"in", p, -1});
    return m;
  }
  // A key of partition p.
  static std::string KeyOf(int p) {
    auto partitioner = kafka::KeyPartitioner::Named("murmur2_random", "test");
    for (int i = 0;; ++i) {
      std::string key = "key-" + std::to_string(i);
      if (partitioner->Partition(key, 4) == p) return key;
    }
  }
  const QueryableStoreInfo& counts() const { return *stores_->Find("counts"); }

  std::unique_ptr<QueryableStores> stores_;
  kafka::GroupDescription group_;
  Status fail_;
  int describes_ = 0;
};

TEST_F(MetadataTest, OwnersAndEndpointsComeFromTheGroupDescription) {
  group_.state = "Stable";
  group_.members = {Member("app-a-0-consumer@127.0.0.1:8081", {0}),
                    Member("app-b-0-consumer@[::1]:8082", {1, 2}), Member("app-c-0-consumer", {3})};
  auto metadata = Make();
  for (int p = 0; p < 4; ++p) {
    auto m = metadata->ForKey(counts(), KeyOf(p));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->partition, p);
    if (p == 0) {
      EXPECT_TRUE(m->local);
      EXPECT_EQ(m->active_host, (HostInfo{"127.0.0.1", 8081}));
    } else if (p < 3) {
      EXPECT_FALSE(m->local);
      EXPECT_EQ(m->active_host, (HostInfo{"::1", 8082}));
      EXPECT_EQ(m->active_host->ToString(), "[::1]:8082");
    } else {
      EXPECT_FALSE(m->active_host.has_value()) << "a member without an endpoint";
    }
  }
  EXPECT_EQ(describes_, 1) << "cached";
  auto all = metadata->ForStore(counts());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_TRUE((*all)[0].local);
  EXPECT_EQ((*all)[0].partitions, std::vector<int>{0});
  EXPECT_FALSE((*all)[1].host.has_value());
  EXPECT_EQ((*all)[1].partitions, std::vector<int>{3});
  EXPECT_EQ((*all)[2].partitions, (std::vector<int>{1, 2}));
}

TEST_F(MetadataTest, RebalancesStalenessAndUnstableGroupsRefreshTheDescription) {
  group_.state = "Stable";
  group_.members = {Member("x@127.0.0.1:8082", {0, 1, 2, 3})};
  auto metadata = Make(
      {.max_age = std::chrono::hours(1), .min_refresh_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(1)).ok());
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(2)).ok());
  EXPECT_EQ(describes_, 1);
  group_.members = {Member("y@127.0.0.1:8083", {0, 1, 2, 3})};
  metadata->OnRebalance();
  EXPECT_EQ(metadata->ForKey(counts(), KeyOf(1))->active_host, (HostInfo{"127.0.0.1", 8083}));
  EXPECT_EQ(describes_, 2);
  metadata->MarkStale();
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(1)).ok());
  EXPECT_EQ(describes_, 3);
  group_.state = "PreparingRebalance";
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(1)).ok());
  EXPECT_EQ(describes_, 3) << "still fresh";
  metadata->MarkStale();
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(1)).ok());
  ASSERT_TRUE(metadata->ForKey(counts(), KeyOf(1)).ok());
  EXPECT_EQ(describes_, 5) << "an unstable group is described again on the next query";
  // A failed refresh falls back to the last description.
  fail_ = Status::Unavailable("broker down");
  metadata->MarkStale();
  EXPECT_EQ(metadata->ForKey(counts(), KeyOf(1))->active_host, (HostInfo{"127.0.0.1", 8083}));
}

TEST_F(MetadataTest, NoDescriptionAtAllIsTheDescribeError) {
  fail_ = Status::TimedOut("describing consumer group \"app\": no answer");
  auto metadata = Make();
  auto m = metadata->ForKey(counts(), KeyOf(1));
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.status().IsTimedOut());
}

TEST(HostInfoTest, ParsesAndPrintsEndpoints) {
  EXPECT_EQ(HostInfo::Parse("localhost:8080", "s")->ToString(), "localhost:8080");
  EXPECT_EQ(HostInfo::Parse("[::1]:9", "s")->host, "::1");
  for (const char* bad : {"localhost", ":80", "h:0", "h:65536", "h:x", "::1:80", "h:80x"}) {
    auto parsed = HostInfo::Parse(bad, "application.server");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("application.server"), std::string::npos);
  }
  EXPECT_EQ(StreamsMetadataState::EndpointOfClientId("app-i-0-consumer@h:1"), (HostInfo{"h", 1}));
  EXPECT_EQ(StreamsMetadataState::EndpointOfClientId("app@x-i-0-consumer@[::1]:2"),
            (HostInfo{"::1", 2}));
  EXPECT_FALSE(StreamsMetadataState::EndpointOfClientId("app-i-0-consumer").has_value());
}

}  // namespace
}  // namespace eventflow::streams
