// The byte-level reads of the table value getters
// (eventflow/streams/internal/table_value_getters.h).
#include "eventflow/streams/internal/table_value_getters.h"

#include <stdexcept>
#include <string>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/record_cache.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/window_store.h"

namespace eventflow::streams::internal {

void StoreValueReader::Init(const StoreLookup& stores, const std::string& store_name,
                            const std::string& node, bool window) {
  store_name_ = store_name;
  state::StateStore* store = stores(store_name);
  if (window) {
    window_ = dynamic_cast<state::WindowStore*>(store);
  } else {
    kv_ = dynamic_cast<state::KeyValueStore*>(store);
  }
  if (window_ == nullptr && kv_ == nullptr) {
    throw std::logic_error("node \"" + node + "\" cannot reach the " +
                           (window ? "window" : "key-value") + " store \"" + store_name +
                           "\": the joined tables or streams must be in the same sub-topology");
  }
  cache_ = stores.cache;
  if (cache_ != nullptr) cache_id_ = cache_->FindStore(store_name);
}

bool StoreValueReader::Get(std::string_view key, int64_t window_start, std::string* value) {
  std::optional<state::RecordCache::CachedValue> cached;
  if (cache_id_) {
    if (window_ != nullptr) {
      state::EncodeWindowKey(key, window_start, &cache_key_);
      cached = cache_->Get(*cache_id_, cache_key_);
    } else {
      cached = cache_->Get(*cache_id_, key);
    }
  }
  Status got;
  if (cached) {
    if (!cached->value) return false;  // deleted
    value->assign(*cached->value);
    return true;
  }
  // A window closed during this commit interval is still read: the update
  // looking it up may be a cached one flushed at the commit.
  got = window_ != nullptr ? window_->FetchRetained(key, window_start, value)
                           : kv_->Get(key, value);
  if (got.ok()) return true;
  if (!got.IsNotFound()) ThrowIfStoreError(store_name_, got, "reading");
  return false;
}

}  // namespace eventflow::streams::internal
