// Test helpers for state/ tests: a temporary directory, store options for
// either backend, and a ChangelogWriter that records (or refuses) changes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/state/changelog_writer.h"
#include "eventflow/state/state_store.h"
#include "eventflow/state/store_options.h"

namespace eventflow::state::testing {

//! A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "eventflow-state-XXXXXX");
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

//! Options for store `name` of task "0_1" of application "app" under `dir`.
inline StoreOptions MakeOptions(const TempDir& dir, std::string name,
                                StoreBackend backend = StoreBackend::kRocksDb) {
  StoreOptions options;
  options.name = std::move(name);
  options.backend = backend;
  options.state_dir = dir.path();
  options.application_id = "app";
  options.task_id = "0_1";
  return options;
}

inline const char* BackendName(StoreBackend backend) {
  return backend == StoreBackend::kRocksDb ? "RocksDb" : "InMemory";
}

//! One logged change, owning its bytes.
struct LoggedChange {
  std::string key;
  std::optional<std::string> value;
  int64_t timestamp;
};

//! Records every change; fails every call while `fail` is set.
class RecordingChangelogWriter : public ChangelogWriter {
 public:
  Status Log(std::string_view key, std::optional<std::string_view> value,
             int64_t timestamp) override {
    if (fail) return Status::Unavailable("changelog refused");
    changes.push_back({std::string(key),
                       value ? std::optional<std::string>(std::string(*value)) : std::nullopt,
                       timestamp});
    return Status::OK();
  }

  //! The changes as restore input (views into `changes`).
  std::vector<ChangelogRecord> Records() const {
    std::vector<ChangelogRecord> records;
    for (const LoggedChange& c : changes) {
      records.push_back(
          {c.key, c.value ? std::optional<std::string_view>(*c.value) : std::nullopt});
    }
    return records;
  }

  std::vector<LoggedChange> changes;
  bool fail = false;
};

//! Unwraps a Result in a test, failing it with the status otherwise.
template <typename T>
T Unwrap(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) throw std::runtime_error(result.status().ToString());
  return std::move(result).value();
}

}  // namespace eventflow::state::testing
