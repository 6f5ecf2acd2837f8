#include "eventflow/state/store_options.h"

#include <system_error>

#include "in_memory_engine.h"
#include "open_engine.h"
#include "rocksdb_engine.h"

namespace eventflow::state {
namespace {

Status CheckComponent(std::string_view field, const std::string& value) {
  if (value.empty() || value == "." || value == ".." ||
      value.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    return Status::InvalidArgument("store option " + std::string(field) + " '" + value +
                                   "' is not a valid directory name");
  }
  return Status::OK();
}

}  // namespace

Result<std::filesystem::path> StoreDirectory(const StoreOptions& options) {
  if (options.state_dir.empty()) {
    return Status::InvalidArgument("store option state_dir is empty (store '" + options.name +
                                   "')");
  }
  EVENTFLOW_RETURN_IF_ERROR(CheckComponent("application_id", options.application_id));
  EVENTFLOW_RETURN_IF_ERROR(CheckComponent("task_id", options.task_id));
  EVENTFLOW_RETURN_IF_ERROR(CheckComponent("name", options.name));
  return options.state_dir / options.application_id / options.task_id / options.name;
}

Status DestroyStore(const StoreOptions& options) {
  Result<std::filesystem::path> dir = StoreDirectory(options);
  if (!dir.ok()) return dir.status();
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  if (ec)
    return Status::IOError("cannot delete store directory " + dir->string() + ": " + ec.message());
  return Status::OK();
}

namespace internal {

Result<std::unique_ptr<StorageEngine>> OpenEngine(const StoreOptions& options,
                                                  int64_t segment_interval) {
  EVENTFLOW_RETURN_IF_ERROR(CheckComponent("name", options.name));
  if (options.backend == StoreBackend::kInMemory) {
    return std::unique_ptr<StorageEngine>(std::make_unique<InMemoryEngine>());
  }
  Result<std::filesystem::path> dir = StoreDirectory(options);
  if (!dir.ok()) return dir.status();
  RocksDbEngineOptions engine_options;
  engine_options.path = std::move(*dir);
  engine_options.store_name = options.name;
  engine_options.segment_interval = segment_interval;
  engine_options.memory_budget = options.memory_budget;
  engine_options.sync_commit = options.sync_commit;
  engine_options.config_setter = options.rocksdb_config_setter;
  Result<std::unique_ptr<RocksDbEngine>> engine = RocksDbEngine::Open(engine_options);
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<StorageEngine>(std::move(*engine));
}

}  // namespace internal
}  // namespace eventflow::state
