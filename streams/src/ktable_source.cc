// The store half of KTableSource (eventflow/streams/internal/ktable_source.h).
#include "eventflow/streams/internal/ktable_source.h"

#include "eventflow/state/key_value_store.h"

namespace eventflow::streams::internal {

bool ApplySourceTableUpdate(state::KeyValueStore* store, const std::string& store_name,
                            std::string_view key, std::optional<std::string_view> value,
                            int64_t timestamp, std::string* scratch) {
  if (value) {
    ThrowIfStoreError(store_name, store->Put(key, *value, timestamp), "writing");
    return true;
  }
  const Status got = store->Get(key, scratch);
  if (got.IsNotFound()) return false;  // not in the table: nothing disappears
  ThrowIfStoreError(store_name, got, "reading");
  ThrowIfStoreError(store_name, store->Delete(key, timestamp), "deleting");
  return true;
}

}  // namespace eventflow::streams::internal
