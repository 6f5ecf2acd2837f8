// StateMemoryBudget: validation, the split of total_bytes, and that every
// RocksDB store opened with the budget shares its one block cache, which is
// also charged for the stores' memtables.
#include "eventflow/state/memory_budget.h"

#include <gtest/gtest.h>
#include <rocksdb/cache.h>
#include <rocksdb/write_buffer_manager.h>

#include <memory>
#include <string>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/window_store.h"
#include "test_util.h"

namespace eventflow::state {
namespace {

using testing::MakeOptions;
using testing::TempDir;
using testing::Unwrap;

TEST(StateMemoryBudgetTest, SplitsTotalBytes) {
  StateMemoryBudgetOptions options;
  options.total_bytes = 100 << 20;
  options.record_cache_ratio = 0.25;
  options.write_buffer_ratio = 0.5;
  auto budget = Unwrap(StateMemoryBudget::Create(options));
  EXPECT_EQ(budget->record_cache_bytes(), size_t{25} << 20);
  EXPECT_EQ(budget->rocksdb_bytes(), size_t{75} << 20);
  EXPECT_EQ(budget->write_buffer_bytes(), (size_t{75} << 20) / 2);
  EXPECT_EQ(budget->block_cache()->GetCapacity(), size_t{75} << 20);
  EXPECT_EQ(budget->write_buffer_manager()->buffer_size(), (size_t{75} << 20) / 2);
  EXPECT_TRUE(budget->write_buffer_manager()->cost_to_cache());
}

TEST(StateMemoryBudgetTest, RejectsBadOptionsNamingThem) {
  StateMemoryBudgetOptions options;
  options.total_bytes = 0;
  Status s = StateMemoryBudget::Create(options).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("total_bytes"), std::string::npos);
  options = {};
  options.record_cache_ratio = 1.0;
  s = StateMemoryBudget::Create(options).status();
  EXPECT_NE(s.message().find("record_cache_ratio"), std::string::npos);
  options = {};
  options.write_buffer_ratio = 0;
  s = StateMemoryBudget::Create(options).status();
  EXPECT_NE(s.message().find("write_buffer_ratio"), std::string::npos);
  options = {};
  options.num_shard_bits = 40;
  EXPECT_TRUE(StateMemoryBudget::Create(options).status().IsInvalidArgument());
}

TEST(StateMemoryBudgetTest, StoresShareOneCacheThatAlsoPaysForMemtables) {
  TempDir dir;
  StateMemoryBudgetOptions budget_options;
  budget_options.total_bytes = 64 << 20;
  auto budget = Unwrap(StateMemoryBudget::Create(budget_options));

  StoreOptions kv_options = MakeOptions(dir, "kv");
  kv_options.memory_budget = budget.get();
  StoreOptions window_options = MakeOptions(dir, "windows");
  window_options.memory_budget = budget.get();
  auto kv = Unwrap(OpenKeyValueStore(kv_options));
  auto windows = Unwrap(OpenWindowStore(window_options, WindowStoreOptions{}));

  // Both report the one shared cache.
  EXPECT_EQ(kv->GetIntProperty("rocksdb.block-cache-capacity"), budget->rocksdb_bytes());
  EXPECT_EQ(windows->GetIntProperty("rocksdb.block-cache-capacity"), budget->rocksdb_bytes());

  const size_t usage_before = budget->RocksDbUsageBytes();
  const std::string value(1000, 'v');
  for (int i = 0; i < 4000; ++i) {
    ASSERT_TRUE(kv->Put("key" + std::to_string(i), value, 0).ok());
    ASSERT_TRUE(windows->Put("key" + std::to_string(i % 50), i, value, 0).ok());
  }
  ASSERT_TRUE(kv->Commit(1).ok());
  ASSERT_TRUE(windows->Commit(1).ok());
  // ~8 MB landed in memtables; the write buffer manager charged it to the cache.
  const size_t usage_after = budget->RocksDbUsageBytes();
  EXPECT_GT(usage_after, usage_before + (4u << 20));
  EXPECT_GE(budget->write_buffer_manager()->memory_usage(), size_t{7} << 20);
  EXPECT_EQ(kv->GetIntProperty("rocksdb.block-cache-usage"), usage_after);
  EXPECT_EQ(windows->GetIntProperty("rocksdb.block-cache-usage"), usage_after);
  EXPECT_LE(usage_after, budget->rocksdb_bytes());
}

TEST(StateMemoryBudgetTest, StoresWithoutABudgetHaveTheirOwnCache) {
  TempDir dir;
  auto budget = Unwrap(StateMemoryBudget::Create({}));
  StoreOptions with = MakeOptions(dir, "with");
  with.memory_budget = budget.get();
  auto a = Unwrap(OpenKeyValueStore(with));
  auto b = Unwrap(OpenKeyValueStore(MakeOptions(dir, "without")));
  EXPECT_EQ(a->GetIntProperty("rocksdb.block-cache-capacity"), budget->rocksdb_bytes());
  EXPECT_NE(b->GetIntProperty("rocksdb.block-cache-capacity"), budget->rocksdb_bytes());
  // In-memory stores have no RocksDB properties.
  auto memory = Unwrap(OpenKeyValueStore(MakeOptions(dir, "memory", StoreBackend::kInMemory)));
  EXPECT_EQ(memory->GetIntProperty("rocksdb.block-cache-capacity"), std::nullopt);
}

}  // namespace
}  // namespace eventflow::state
