// Test helpers for the inspector: a temporary state directory, stores written
// through eventflow::state with a description, big-endian integers, and the
// file-by-file snapshot of a directory (to prove a reader changed nothing).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "eventflow/core/status.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/store_options.h"
#include "eventflow/state/window_store.h"

namespace eventflow::inspector::testing {

//! A fresh directory under the system's temporary directory, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const char* prefix = "eventflow-inspector-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

//! Unwraps a Result, failing the test (and throwing) otherwise.
template <typename T>
T Unwrap(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) throw std::runtime_error(result.status().ToString());
  return std::move(result).value();
}

//! Options for store `name` of `task` of application "app" under `state_dir`,
//! described with the given serdes (changelog "app-<name>-changelog").
inline state::StoreOptions StoreOptionsFor(const std::filesystem::path& state_dir, std::string name,
                                           std::string task, std::string key_serde,
                                           std::string value_serde, int64_t window_size_ms = 0) {
  state::StoreOptions options;
  options.name = std::move(name);
  options.state_dir = state_dir;
  options.application_id = "app";
  options.task_id = std::move(task);
  options.description.key_serde = std::move(key_serde);
  options.description.value_serde = std::move(value_serde);
  options.description.window_size_ms = window_size_ms;
  options.description.changelog_topic = "app-" + options.name + "-changelog";
  const size_t underscore = options.task_id.find('_');
  options.description.changelog_partition = std::stoi(options.task_id.substr(underscore + 1));
  return options;
}

//! The 8 bytes big-endian of `value` (the int64 serde).
inline std::string Int64Bytes(int64_t value) {
  std::string out(8, '\0');
  auto u = static_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i, u >>= 8) out[i] = static_cast<char>(u & 0xff);
  return out;
}

//! Every file and directory under `dir` (relative path) with its modification
//! time and, for a regular file, its full contents.
inline std::map<std::string, std::string> SnapshotFiles(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string relative = std::filesystem::relative(entry.path(), dir).string();
    const auto mtime = entry.last_write_time().time_since_epoch().count();
    if (!entry.is_regular_file()) {
      files[relative + "/"] = "mtime " + std::to_string(mtime);
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream contents;
    contents << "mtime " << mtime << "\n" << in.rdbuf();
    files[relative] = contents.str();
  }
  return files;
}

}  // namespace eventflow::inspector::testing
