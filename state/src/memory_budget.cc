#include "eventflow/state/memory_budget.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <string>

namespace eventflow::state {

Result<std::unique_ptr<StateMemoryBudget>> StateMemoryBudget::Create(
    const StateMemoryBudgetOptions& options) {
  if (options.total_bytes == 0) {
    return Status::InvalidArgument("state memory budget: total_bytes must be > 0");
  }
  if (!(options.record_cache_ratio >= 0.0 && options.record_cache_ratio < 1.0)) {
    return Status::InvalidArgument("state memory budget: record_cache_ratio " +
                                   std::to_string(options.record_cache_ratio) +
                                   " is not in [0, 1)");
  }
  if (!(options.write_buffer_ratio > 0.0 && options.write_buffer_ratio <= 1.0)) {
    return Status::InvalidArgument("state memory budget: write_buffer_ratio " +
                                   std::to_string(options.write_buffer_ratio) +
                                   " is not in (0, 1]");
  }
  if (options.num_shard_bits < -1 || options.num_shard_bits > 19) {
    return Status::InvalidArgument("state memory budget: num_shard_bits " +
                                   std::to_string(options.num_shard_bits) + " is not in [-1, 19]");
  }
  return std::unique_ptr<StateMemoryBudget>(new StateMemoryBudget(options));
}

StateMemoryBudget::StateMemoryBudget(const StateMemoryBudgetOptions& options) : options_(options) {
  record_cache_bytes_ =
      static_cast<size_t>(static_cast<double>(options.total_bytes) * options.record_cache_ratio);
  rocksdb_bytes_ = options.total_bytes - record_cache_bytes_;
  write_buffer_bytes_ =
      static_cast<size_t>(static_cast<double>(rocksdb_bytes_) * options.write_buffer_ratio);
  rocksdb::LRUCacheOptions cache_options;
  cache_options.capacity = rocksdb_bytes_;
  cache_options.num_shard_bits = options.num_shard_bits;
  cache_options.strict_capacity_limit = options.strict_capacity_limit;
  block_cache_ = rocksdb::NewLRUCache(cache_options);
  write_buffer_manager_ = std::make_shared<rocksdb::WriteBufferManager>(
      write_buffer_bytes_, block_cache_, options.stall_writes_at_limit);
}

StateMemoryBudget::~StateMemoryBudget() = default;

size_t StateMemoryBudget::RocksDbUsageBytes() const { return block_cache_->GetUsage(); }

void StateMemoryBudget::ApplyTo(rocksdb::Options& options) const {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache_;
  // Index and filter blocks count against the budget too (else they grow with
  // the data, outside any bound); L0's stay pinned so point reads stay cheap.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_manager = write_buffer_manager_;
}

}  // namespace eventflow::state
