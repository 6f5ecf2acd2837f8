// docs/dsl.md, "State stores and the Processor API": a processor of our own
// in the DSL (Process) keeping state in a KeyValueStore and forwarding from a
// wall-clock punctuator; tested by moving the driver's mock clock.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

// [START processor]
// Sums the amounts of each key in the store "pending-totals" and, every 10 s
// of wall-clock time, forwards each key's total and forgets it: one record per
// key and period instead of one per payment.
class PeriodicTotals final : public Processor<std::string, int64_t, std::string, int64_t> {
 public:
  static constexpr std::string_view kStore = "pending-totals";

  void Init(ProcessorContext<std::string, int64_t>& context) override {
    context_ = &context;
    store_ = context.GetStateStore<state::KeyValueStore>(kStore);
    if (store_ == nullptr) throw std::logic_error("the store \"pending-totals\" is not connected");
    context.Schedule(std::chrono::seconds(10), PunctuationType::kWallClockTime,
                     [this](int64_t now) { Flush(now); });
  }

  void Process(Record<std::string, int64_t> record) override {
    const Status got = store_->Get(record.key, &bytes_);
    int64_t total = 0;
    if (!got.IsNotFound()) {
      Check(got);
      Check(serde_->Deserialize(bytes_, &total));
    }
    bytes_.clear();
    serde_->Serialize(total + record.value, &bytes_);
    Check(store_->Put(record.key, bytes_, record.timestamp));
  }

 private:
  void Flush(int64_t now) {
    std::vector<Record<std::string, int64_t>> totals;
    auto it = store_->All();
    for (; it->Valid(); it->Next()) {
      Record<std::string, int64_t> total{std::string(it->key()), 0, now, {}};
      Check(serde_->Deserialize(it->value(), &total.value));
      totals.push_back(std::move(total));
    }
    Check(it->status());
    for (Record<std::string, int64_t>& total : totals) {
      Check(store_->Delete(total.key, now));
      context_->Forward(std::move(total));
    }
  }

  // A failed store stops the task (StateStoreError); any other error is the
  // record's, which then goes to the dead-letter topic.
  static void Check(const Status& status) {
    if (status.ok()) return;
    if (IsStoreFailure(status)) throw StateStoreError(status);
    throw std::runtime_error(status.ToString());
  }

  ProcessorContext<std::string, int64_t>* context_ = nullptr;
  state::KeyValueStore* store_ = nullptr;
  SerdePtr<int64_t> serde_ = Serdes::Int64();
  std::string bytes_;  // reused: no allocation per record once grown
};
// [END processor]

// [START process-wiring]
Topology PaymentTotals() {
  StreamsBuilder builder;
  builder
      .Stream<std::string, int64_t>("payments")  // account → cents
      .Process([] { return std::make_unique<PeriodicTotals>(); }, Named::As("periodic-totals"))
      .To("payment-totals");
  Topology topology = builder.Build();
  // A key-value store (RocksDB, changelogged) for the processor named above;
  // every task gets its own instance.
  StoreSpec store;
  store.name = std::string(PeriodicTotals::kStore);
  topology.AddStateStore(store, {"periodic-totals"});
  return topology;
}
// [END process-wiring]

using Payments = std::vector<std::pair<std::string, int64_t>>;

TEST(ProcessorApiExample, TotalsAreForwardedEveryTenSecondsOfWallClock) {
  const std::vector<Payments> batches = {
      {{"acc-1", 500}, {"acc-2", 70}, {"acc-1", 25}},
      {{"acc-3", 9}, {"acc-1", 1}, {"acc-3", 11}, {"acc-3", 100}}};
  // [START test-punctuator]
  constexpr int64_t kStart = 1'700'000'000'000;
  TestDriverOptions options;
  options.initial_wall_clock_ms = kStart;  // the mock wall clock; only the test moves it
  TopologyTestDriver driver(PaymentTotals(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto payments = driver.CreateInputTopic("payments", Serdes::String(), Serdes::Int64());
  auto totals = driver.CreateOutputTopic("payment-totals", Serdes::String(), Serdes::Int64());
  for (const auto& [account, cents] : batches[0]) {
    ASSERT_TRUE(payments.PipeInput(account, cents, kStart).ok());
  }
  EXPECT_TRUE(totals.IsEmpty());  // nothing before the punctuator fires
  ASSERT_TRUE(driver.AdvanceWallClockTime(std::chrono::seconds(10)).ok());
  // [END test-punctuator]

  int64_t now = kStart;
  for (size_t b = 0; b < batches.size(); ++b) {
    if (b > 0) {
      for (const auto& [account, cents] : batches[b]) {
        ASSERT_TRUE(payments.PipeInput(account, cents, now).ok());
      }
      ASSERT_TRUE(driver.AdvanceWallClockTime(std::chrono::seconds(5)).ok());
      EXPECT_TRUE(totals.IsEmpty()) << "only half a period has passed";
      ASSERT_TRUE(driver.AdvanceWallClockTime(std::chrono::seconds(5)).ok());
    }
    now += 10'000;
    std::map<std::string, int64_t> sums;  // the batch's totals, in key order as the store
    for (const auto& [account, cents] : batches[b]) sums[account] += cents;
    auto records = totals.ReadRecordsToList();
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    std::vector<std::tuple<std::string, int64_t, int64_t>> got, expected;
    for (const auto& r : *records) got.emplace_back(r.key, r.value, r.timestamp);
    for (const auto& [account, sum] : sums) expected.emplace_back(account, sum, now);
    EXPECT_EQ(got, expected) << "batch " << b;
    // The store is empty again after each flush.
    auto* store = dynamic_cast<state::KeyValueStore*>(driver.GetStateStore("pending-totals"));
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->All()->Valid());
  }
  // Every Put and Delete went to the store's changelog, from which it would be
  // restored: one update per payment, one tombstone per key and flush.
  size_t puts = 0, deletes = 0, expected_deletes = 0;
  for (const TestRecord& change :
       driver.OutputQueue(ChangelogTopic("test-app", "pending-totals"))) {
    ++(change.value ? puts : deletes);
  }
  size_t payments_piped = 0;
  for (const Payments& batch : batches) {
    payments_piped += batch.size();
    expected_deletes += std::map<std::string, int64_t>(batch.begin(), batch.end()).size();
  }
  EXPECT_EQ(puts, payments_piped);
  EXPECT_EQ(deletes, expected_deletes);
}

}  // namespace
}  // namespace eventflow::streams
