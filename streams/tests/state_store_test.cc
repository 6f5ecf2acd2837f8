// State stores inside tasks: processors reach the task's store instance
// through ProcessorContext::GetStateStore, writes are committed after each
// commit (here: after each piped record), uncommitted writes are dropped when
// processing fails, and RocksDB stores survive the task (same state_dir).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/topology.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

using S = std::string;

// Counts records per key in the "counts" store and forwards the new count.
class Counter final : public Processor<S, S, S, S> {
 public:
  void Init(ProcessorContext<S, S>& context) override {
    context_ = &context;
    store_ = context.GetStateStore<state::KeyValueStore>("counts");
    if (store_ == nullptr) throw std::logic_error("no counts store");
  }
  void Process(Record<S, S> record) override {
    std::string current;
    const Status got = store_->Get(record.key, &current);
    if (!got.ok() && !got.IsNotFound()) throw std::runtime_error(got.ToString());
    const int64_t count = (got.ok() ? std::stoll(current) : 0) + 1;
    const Status put = store_->Put(record.key, std::to_string(count), record.timestamp);
    if (!put.ok()) throw std::runtime_error(put.ToString());
    if (record.value == "fail-after-write") throw std::runtime_error("asked to fail");
    context_->Forward(record.WithKeyValue(record.key, std::to_string(count)));
  }

 private:
  ProcessorContext<S, S>* context_ = nullptr;
  state::KeyValueStore* store_ = nullptr;
};

Topology CountingTopology(bool in_memory) {
  Topology topology;
  topology.AddSource<S, S>("source", {"in"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("counter", [] { return std::make_unique<Counter>(); }, {"source"})
      .AddSink<S, S>("sink", "out", Serdes::String(), Serdes::String(), {"counter"});
  StoreSpec spec;
  spec.name = "counts";
  spec.in_memory = in_memory;
  topology.AddStateStore(spec, {"counter"});
  return topology;
}

std::string Read(state::StateStore* store, const std::string& key) {
  auto* kv = dynamic_cast<state::KeyValueStore*>(store);
  std::string value;
  const Status s = kv->Get(key, &value);
  return s.ok() ? value : s.IsNotFound() ? "<none>" : s.ToString();
}

class StateStoreInTaskTest : public ::testing::TestWithParam<bool> {};

TEST_P(StateStoreInTaskTest, ProcessorsCountIntoTheTasksStore) {
  TopologyTestDriver driver(CountingTopology(GetParam()));
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  const std::vector<std::string> keys = {"a", "b", "a", "c", "a", "b"};
  std::map<std::string, int> expected;
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(in.PipeInput(keys[i], "x", static_cast<int64_t>(i)).ok());
    ++expected[keys[i]];
  }
  for (const auto& [key, count] : expected) {
    EXPECT_EQ(Read(driver.GetStateStore("counts"), key), std::to_string(count)) << key;
  }
  auto out = driver.CreateOutputTopic("out", Serdes::String(), Serdes::String());
  auto values = out.ReadKeyValuesToList();
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::pair<S, S>>{
                         {"a", "1"}, {"b", "1"}, {"a", "2"}, {"c", "1"}, {"a", "3"}, {"b", "2"}}));
  EXPECT_EQ(driver.GetStateStore("nope"), nullptr);
}

TEST_P(StateStoreInTaskTest, WritesOfAFailedRecordAreNotCommitted) {
  TestDriverOptions options;
  options.processing_errors = ErrorPolicy::kFail;
  TopologyTestDriver driver(CountingTopology(GetParam()), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
  ASSERT_TRUE(in.PipeInput("a", "x", 1).ok());
  EXPECT_FALSE(in.PipeInput("a", "fail-after-write", 2).ok());
  EXPECT_EQ(Read(driver.GetStateStore("counts"), "a"), "1");
}

INSTANTIATE_TEST_SUITE_P(RocksDbAndInMemory, StateStoreInTaskTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "InMemory" : "RocksDb"; });

TEST(StateStoreTopologyTest, RocksDbStoreOutlivesTheTask) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("eventflow-store-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TestDriverOptions options;
  options.state_dir = dir;
  {
    TopologyTestDriver driver(CountingTopology(false), options);
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
    ASSERT_TRUE(in.PipeInput("k", "x", 1).ok());
    ASSERT_TRUE(in.PipeInput("k", "x", 2).ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "test-app" / "0_0" / "counts"));
  {
    TopologyTestDriver driver(CountingTopology(false), options);
    auto in = driver.CreateInputTopic("in", Serdes::String(), Serdes::String());
    ASSERT_TRUE(in.PipeInput("k", "x", 3).ok());
    EXPECT_EQ(Read(driver.GetStateStore("counts"), "k"), "3");
  }
  std::filesystem::remove_all(dir);
}

TEST(StateStoreTopologyTest, DescribeListsStoresAndSharedStoresJoinSubTopologies) {
  Topology topology;
  topology.AddSource<S, S>("s1", {"t1"}, Serdes::String(), Serdes::String())
      .AddSource<S, S>("s2", {"t2"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("p1", [] { return std::make_unique<Counter>(); }, {"s1"})
      .AddProcessor<S, S, S, S>("p2", [] { return std::make_unique<Counter>(); }, {"s2"});
  StoreSpec spec;
  spec.name = "counts";
  topology.AddStateStore(spec, {"p1", "p2"});
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  const auto subs = topology.SubTopologies();
  ASSERT_EQ(subs.size(), 1u);  // without the shared store these would be two
  EXPECT_EQ(subs[0].stores, std::vector<std::string>{"counts"});
  EXPECT_NE(topology.Describe().find("Processor: p1 (stores: [counts])"), std::string::npos)
      << topology.Describe();
}

TEST(StateStoreTopologyTest, BadStoreDeclarationsAreReported) {
  Topology topology;
  topology.AddSource<S, S>("s", {"t"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("p", [] { return std::make_unique<Counter>(); }, {"s"});
  StoreSpec spec;
  spec.name = "counts";
  topology.AddStateStore(spec, {"missing"});
  EXPECT_EQ(topology.Validate().message(),
            "state store \"counts\" names unknown processor \"missing\"");
  Topology twice;
  twice.AddSource<S, S>("s", {"t"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("p", [] { return std::make_unique<Counter>(); }, {"s"});
  twice.AddStateStore(spec, {"p"}).AddStateStore(spec, {"p"});
  EXPECT_EQ(twice.Validate().message(), "state store \"counts\" is declared twice");
}

TEST(StateStoreTopologyTest, StoreOfAnotherKindIsNotReturned) {
  class Probe final : public Processor<S, S, S, S> {
   public:
    void Init(ProcessorContext<S, S>& context) override {
      if (context.GetStateStore<state::WindowStore>("counts") != nullptr) {
        throw std::logic_error("a key-value store came back as a window store");
      }
      if (context.GetStateStore<state::KeyValueStore>("counts") == nullptr) {
        throw std::logic_error("the key-value store is missing");
      }
    }
    void Process(Record<S, S>) override {}
  };
  Topology topology;
  topology.AddSource<S, S>("s", {"t"}, Serdes::String(), Serdes::String())
      .AddProcessor<S, S, S, S>("p", [] { return std::make_unique<Probe>(); }, {"s"});
  StoreSpec spec;
  spec.name = "counts";
  topology.AddStateStore(spec, {"p"});
  TopologyTestDriver driver(topology);  // Init would throw on a wrong answer
  EXPECT_TRUE(driver.status().ok()) << driver.status().ToString();
}

}  // namespace
}  // namespace eventflow::streams
