// Opens the storage engine a StoreOptions asks for (the one place that picks
// the backend).
#pragma once

#include <cstdint>
#include <memory>

#include "eventflow/core/status.h"
#include "eventflow/state/store_options.h"
#include "storage_engine.h"

namespace eventflow::state::internal {

//! Validates `options` and opens a RocksDB engine in StoreDirectory(options) or
//! an in-memory one. `segment_interval` is 0 for key-value stores.
Result<std::unique_ptr<StorageEngine>> OpenEngine(const StoreOptions& options,
                                                  int64_t segment_interval);

}  // namespace eventflow::state::internal
