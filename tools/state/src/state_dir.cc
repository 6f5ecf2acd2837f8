#include "eventflow/inspector/state_dir.h"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <tuple>

namespace eventflow::inspector {
namespace {

namespace fs = std::filesystem;

// The directories directly in `dir`, by name (unreadable ones are skipped:
// a state directory changes under a live instance).
std::vector<fs::path> SubDirectories(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// (sub-topology, partition) of a task id, for ordering.
std::pair<long, long> TaskOrder(std::string_view task) {
  long subtopology = 0, partition = 0;
  const size_t underscore = task.find('_');
  std::from_chars(task.data(), task.data() + underscore, subtopology);
  std::from_chars(task.data() + underscore + 1, task.data() + task.size(), partition);
  return {subtopology, partition};
}

// Appends the stores of task directory `task_dir` of `application`.
void AddTaskStores(const fs::path& task_dir, const std::string& application,
                   const std::string& task, std::vector<StoreLocation>* out) {
  for (const fs::path& dir : SubDirectories(task_dir)) {
    if (IsStoreDirectory(dir)) out->push_back({dir, application, task, dir.filename().string()});
  }
}

void AddApplicationStores(const fs::path& app_dir, const std::string& application,
                          std::vector<StoreLocation>* out) {
  for (const fs::path& task_dir : SubDirectories(app_dir)) {
    const std::string task = task_dir.filename().string();
    if (IsTaskId(task)) AddTaskStores(task_dir, application, task, out);
  }
}

// The last component of `path`, also for "dir/" and "dir/.".
fs::path Named(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  if (p.filename().empty() || p.filename() == "." || p.filename() == "..") {
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec).lexically_normal();
    if (!ec) p = absolute.has_filename() ? absolute : absolute.parent_path();
  }
  return p;
}

}  // namespace

bool IsStoreDirectory(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_regular_file(dir / "CURRENT", ec);
}

bool IsTaskId(std::string_view name) {
  const size_t underscore = name.find('_');
  if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == name.size()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (i != underscore && (name[i] < '0' || name[i] > '9')) return false;
  }
  return true;
}

Result<StoreLocation> LocateStore(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return Status::InvalidArgument(dir.string() + ": no such file or directory");
  }
  if (!IsStoreDirectory(dir)) {
    return Status::InvalidArgument(
        dir.string() +
        " is not a store directory (no RocksDB CURRENT file in it); a store lives in "
        "<state_dir>/<application_id>/<task_id>/<store>/, `eventflow-state list <state_dir>` "
        "shows them");
  }
  const fs::path store = Named(dir);
  const fs::path task = store.parent_path();
  return StoreLocation{dir, task.parent_path().filename().string(), task.filename().string(),
                       store.filename().string()};
}

Result<std::vector<StoreLocation>> FindStores(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Status::InvalidArgument(path.string() + ": no such file or directory");
  }
  if (!fs::is_directory(path, ec)) {
    return Status::InvalidArgument(path.string() + " is not a directory");
  }
  std::vector<StoreLocation> stores;
  if (IsStoreDirectory(path)) {
    Result<StoreLocation> one = LocateStore(path);
    if (!one.ok()) return one.status();
    stores.push_back(std::move(*one));
    return stores;
  }
  const fs::path named = Named(path);
  if (IsTaskId(named.filename().string())) {  // one task's directory
    AddTaskStores(path, named.parent_path().filename().string(), named.filename().string(),
                  &stores);
  }
  if (stores.empty()) {  // one application's directory
    AddApplicationStores(path, named.filename().string(), &stores);
  }
  if (stores.empty()) {  // the state directory
    for (const fs::path& app_dir : SubDirectories(path)) {
      AddApplicationStores(app_dir, app_dir.filename().string(), &stores);
    }
  }
  if (stores.empty()) {
    return Status::InvalidArgument(
        path.string() +
        " is not a state directory: no store found in it (expected "
        "<state_dir>/<application_id>/<task_id>/<store>/, each store a RocksDB database)");
  }
  std::sort(stores.begin(), stores.end(), [](const StoreLocation& a, const StoreLocation& b) {
    return std::forward_as_tuple(a.application_id, TaskOrder(a.task_id), a.store) <
           std::forward_as_tuple(b.application_id, TaskOrder(b.task_id), b.store);
  });
  return stores;
}

}  // namespace eventflow::inspector
