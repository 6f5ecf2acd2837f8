// Reading back what a windowed aggregation left behind, independently of the
// runtime: the latest value per (key, window) in its changelog topic, and the
// contents of its RocksDB window store directory once the application has
// stopped (a store is locked while open).
//
// Thread-safety: plain functions; a store directory must not be open elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/testing/kafka_fixture.h"

namespace eventflow::testing {

//! (user key, window start ms).
using WindowId = std::pair<std::string, int64_t>;

//! Value bytes per window.
using WindowValues = std::map<WindowId, std::string>;

//! Returns the latest value per window of a window store's changelog records
//! (in offset order per partition, as ReadAll returns them); an empty value
//! is a tombstone and removes the window. Returns Corruption naming the
//! partition and offset of a key that is not a window key.
Result<WindowValues> LatestPerWindow(const std::vector<ConsumedRecord>& changelog);

//! What a stopped application's window store holds.
struct WindowStoreContents {
  WindowValues values;                    //!< committed windows not expired
  std::optional<int64_t> committed_offset;  //!< changelog offset of the last commit
  int64_t expiry_horizon = 0;             //!< windows starting before this are expired
};

//! Opens the RocksDB window store <state_dir>/<application_id>/<task_id>/<store>
//! (retention as the application declared it, which fixes the segment
//! interval) and returns its committed contents. Returns NotFound when the
//! directory does not exist, or the store's error.
Result<WindowStoreContents> ReadWindowStore(const std::string& state_dir,
                                            const std::string& application_id,
                                            const std::string& task_id,
                                            const std::string& store,
                                            std::chrono::milliseconds retention);

}  // namespace eventflow::testing
