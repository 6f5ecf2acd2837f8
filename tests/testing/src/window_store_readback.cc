#include "eventflow/testing/window_store_readback.h"

#include <filesystem>
#include <limits>

#include "eventflow/state/store_keys.h"
#include "eventflow/state/store_options.h"
#include "eventflow/state/window_store.h"

namespace eventflow::testing {

Result<WindowValues> LatestPerWindow(const std::vector<ConsumedRecord>& changelog) {
  WindowValues out;
  for (const ConsumedRecord& r : changelog) {
    state::WindowKeyView key{};
    const Status s = state::DecodeWindowKey(r.key, /*with_sequence=*/false, &key);
    if (!s.ok()) {
      return s.WithContext(r.topic + " partition " + std::to_string(r.partition) + " offset " +
                           std::to_string(r.offset));
    }
    WindowId id{std::string(key.key), key.window_start};
    if (r.value.empty()) {
      out.erase(id);
    } else {
      out[std::move(id)] = r.value;
    }
  }
  return out;
}

Result<WindowStoreContents> ReadWindowStore(const std::string& state_dir,
                                            const std::string& application_id,
                                            const std::string& task_id,
                                            const std::string& store,
                                            std::chrono::milliseconds retention) {
  state::StoreOptions options;
  options.name = store;
  options.state_dir = state_dir;
  options.application_id = application_id;
  options.task_id = task_id;
  auto dir = state::StoreDirectory(options);
  if (!dir.ok()) return dir.status();
  if (!std::filesystem::exists(*dir)) {
    return Status::NotFound("no store directory " + dir->string());
  }
  state::WindowStoreOptions window_options;
  window_options.retention = retention;
  auto opened = state::OpenWindowStore(options, window_options);
  if (!opened.ok()) return opened.status();
  state::WindowStore& ws = **opened;
  WindowStoreContents contents;
  contents.committed_offset = ws.CommittedOffset();
  contents.expiry_horizon = ws.expiry_horizon();
  auto it = ws.FetchAll(0, std::numeric_limits<int64_t>::max());
  for (; it->Valid(); it->Next()) {
    contents.values[{std::string(it->key()), it->window_start()}] = std::string(it->value());
  }
  EVENTFLOW_RETURN_IF_ERROR(it->status());
  return contents;
}

}  // namespace eventflow::testing
