// What the runtime's unit tests share (runtime_test.cc,
// standby_runtime_test.cc): two small topologies (a stateless tag and a
// logged count), and RuntimeTest, which prepares what KafkaStreams::Start()
// would over a fake cluster (fake_kafka.h) and drives one stream thread's
// loop on the test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/topology.h"
#include "fake_kafka.h"
#include "stream_thread.h"

namespace eventflow::streams::runtime_test {

using testing::FakeClientSupplier;
using testing::FakeCluster;

inline constexpr char kIn[] = "in";
inline constexpr char kOut[] = "out";
inline constexpr char kApp[] = "app";
inline constexpr int kPartitions = 2;

// source → "v:" + value → sink.
class TagProcessor final : public Processor<std::string, std::string, std::string, std::string> {
 public:
  void Init(ProcessorContext<std::string, std::string>& context) override { context_ = &context; }
  void Process(Record<std::string, std::string> record) override {
    record.value = "v:" + record.value;
    context_->Forward(std::move(record));
  }

 private:
  ProcessorContext<std::string, std::string>* context_ = nullptr;
};

// Counts records per key in the logged RocksDB store "counts" and forwards the count.
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

inline Topology TagTopology() {
  Topology t;
  t.AddSource<std::string, std::string>("in", {kIn}, Serdes::String(), Serdes::String());
  t.AddProcessor<std::string, std::string, std::string, std::string>(
      "tag", [] { return std::make_unique<TagProcessor>(); }, {"in"});
  t.AddSink<std::string, std::string>("out", kOut, Serdes::String(), Serdes::String(), {"tag"});
  return t;
}

inline Topology CountTopology() {
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

inline std::string Changelog() { return ChangelogTopic(kApp, "counts"); }

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = std::filesystem::temp_directory_path() /
                 ("eventflow-runtime-test-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_dir_);
    cluster_.CreateTopic(kIn, kPartitions);
    cluster_.CreateTopic(kOut, kPartitions);
    cluster_.CreateTopic(Changelog(), kPartitions);
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

  // What KafkaStreams::Start() prepares, over the fake cluster.
  void Prepare(Topology topology) {
    topology_ = std::move(topology);
    ASSERT_TRUE(config_.Validate().ok());
    shared_ = PrepareShared(topology_, config_, "test", &cluster_, &supplier_);
  }

  // The shared state of an instance `instance` of `topology` with `config`
  // over `cluster`; *supplier is its fake client supplier.
  static std::unique_ptr<ThreadShared> PrepareShared(const Topology& topology,
                                                     const StreamsConfig& config,
                                                     const std::string& instance,
                                                     FakeCluster* cluster,
                                                     FakeClientSupplier** supplier) {
    auto shared = std::make_unique<ThreadShared>();
    shared->topology = &topology;
    shared->subtopologies = topology.SubTopologies();
    shared->config = &config;
    shared->instance_id = instance;
    shared->resolve = topology.ResolverFor(config.application_id);
    for (const Topology::SubTopology& sub : shared->subtopologies) {
      for (const std::string& topic : sub.source_topics) {
        shared->subtopology_of_topic[shared->resolve(topic)] = sub.id;
        shared->source_topics.push_back(shared->resolve(topic));
      }
    }
    auto owned = std::make_unique<FakeClientSupplier>(cluster);
    *supplier = owned.get();
    shared->client_supplier = std::move(owned);
    return shared;
  }

  // A new thread (the previous one shut down first), initialised.
  StreamThread& NewThread() {
    if (thread_) thread_->Shutdown(Status::OK());
    thread_.reset();
    thread_ = std::make_unique<StreamThread>(0, shared_.get(), nullptr);
    EXPECT_TRUE(thread_->Init().ok());
    return *thread_;
  }

  testing::FakeConsumer& consumer() { return *supplier_->main_consumer; }
  testing::FakeProducer& producer() { return *supplier_->producer; }

  // Assigns `partitions` partitions of the input and runs the loop once (the
  // rebalance runs inside its poll).
  Status AssignInput(int partitions = kPartitions) {
    TopicPartitionOffsets assignment;
    for (int p = 0; p < partitions; ++p) assignment.emplace_back(kIn, p);
    consumer().ScheduleAssignment(assignment);
    return thread_->RunOnce();
  }

  // Appends `n` records "<key>" → "<prefix><i>" to partition p of the input;
  // returns the values.
  std::vector<std::string> Produce(int32_t partition, int n, const std::string& prefix,
                                   const std::string& key = "k") {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) {
      values.push_back(prefix + std::to_string(i));
      cluster_.Append(kIn, partition, key, values.back());
    }
    return values;
  }

  // Runs the loop until the thread has processed `total` records (bounded).
  void ProcessUntil(uint64_t total) {
    for (int i = 0; i < 1000 && thread_->processed() < total; ++i) {
      ASSERT_TRUE(thread_->RunOnce().ok());
    }
    ASSERT_EQ(thread_->processed(), total);
  }

  // The output values visible to read_committed readers, sorted.
  std::vector<std::string> CommittedOutput() const {
    std::vector<std::string> values;
    for (int p = 0; p < kPartitions; ++p) {
      for (const auto& [key, value] : cluster_.Committed(kOut, p)) values.push_back(*value);
    }
    std::sort(values.begin(), values.end());
    return values;
  }

  // The expected output of the tag topology for `inputs`, sorted.
  static std::vector<std::string> Tagged(const std::vector<std::string>& inputs) {
    std::vector<std::string> values;
    for (const std::string& v : inputs) values.push_back("v:" + v);
    std::sort(values.begin(), values.end());
    return values;
  }

  int64_t GroupOffset(int32_t partition) const {
    auto it = cluster_.group_offsets.find({kIn, partition});
    return it == cluster_.group_offsets.end() ? -1 : it->second.offset;
  }

  // The value of `key` in task 0_0's store "counts" (nullopt: absent).
  std::optional<std::string> Stored(const std::string& key) {
    auto& tasks = thread_->task_manager().tasks();
    auto it = tasks.find(TaskId{0, 0});
    if (it == tasks.end()) return "<no task>";
    auto* store = dynamic_cast<state::KeyValueStore*>(it->second->GetStateStore("counts"));
    if (store == nullptr) return "<no store>";
    std::string value;
    return store->Get(key, &value).ok() ? std::optional<std::string>(value) : std::nullopt;
  }

  std::filesystem::path state_dir_;
  FakeCluster cluster_;
  StreamsConfig config_;
  Topology topology_;
  std::unique_ptr<ThreadShared> shared_;
  FakeClientSupplier* supplier_ = nullptr;
  std::unique_ptr<StreamThread> thread_;
};

}  // namespace eventflow::streams::runtime_test
