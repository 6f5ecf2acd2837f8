// Finding the stores of a state directory, for eventflow-state.
//
// LAYOUT (eventflow/state/store_options.h): every RocksDB store of an
// application lives in
//
//   <state_dir>/<application_id>/<task_id>/<store_name>/
//
// with <task_id> "<sub-topology>_<partition>" (e.g. "1_0") and the store
// directory one RocksDB database (it has a CURRENT file). FindStores accepts
// any level of that path — the state directory, one application's, one task's
// or one store's directory — and names each store it finds from the path.
//
// Reads directory entries only: nothing is opened, locked or written.
// Thread-safety: pure functions over the file system.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::inspector {

//! Where one store lives and the names its path gives it.
struct StoreLocation {
  std::filesystem::path path;  //!< the store's directory
  std::string application_id;  //!< its grandparent directory's name
  std::string task_id;         //!< its parent directory's name, e.g. "1_0"
  std::string store;           //!< its directory's name (the store's name)
};

//! Returns true when `dir` is a store's directory (a RocksDB database: it
//! holds a CURRENT file).
bool IsStoreDirectory(const std::filesystem::path& dir);

//! Returns true when `name` is a task id: "<digits>_<digits>".
bool IsTaskId(std::string_view name);

//! Returns the location of the store in `dir`, or InvalidArgument naming the
//! path when it does not exist or is not a store's directory.
Result<StoreLocation> LocateStore(const std::filesystem::path& dir);

//! Returns the stores under `path` (see file comment), ordered by
//! application, task (numerically) and store. Returns InvalidArgument naming
//! the path when it does not exist, is not a directory, or holds no store
//! where the layout puts them ("not a state directory").
Result<std::vector<StoreLocation>> FindStores(const std::filesystem::path& path);

}  // namespace eventflow::inspector
