// The byte-level halves of the aggregation processors: KeyValueAggregateStore
// (internal/ktable_processors.h) and WindowAggregateStore
// (internal/window_processors.h).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/window_processors.h"

namespace eventflow::streams::internal {

void ThrowNullAggregate(const std::string& store) {
  throw std::runtime_error("store \"" + store +
                           "\": the aggregate serializes to null; aggregates must have a value");
}

// ---------------------------------------------------------------------------
// KeyValueAggregateStore

void KeyValueAggregateStore::Init(state::StateStore* store, state::RecordCache* cache,
                                  const std::string& node, std::string store_name, bool caching,
                                  ForwardFn forward) {
  store_name_ = std::move(store_name);
  forward_ = std::move(forward);
  store_ = AsKeyValueStore(store, node, store_name_);
  cache_.Init(cache, caching, store_name_,
              [this](std::string_view key, std::optional<std::string_view> value,
                     int64_t timestamp) { EmitCached(key, value, timestamp); });
}

bool KeyValueAggregateStore::Read(std::string_view key, std::string* value) {
  if (cache_.active()) {
    if (auto cached = cache_.Get(key)) {
      if (!cached->value) return false;  // this processor never caches deletions
      value->assign(*cached->value);
      return true;
    }
  }
  const Status got = store_->Get(key, value);
  if (got.ok()) return true;
  if (!got.IsNotFound()) ThrowIfStoreError(store_name_, got, "reading");
  return false;
}

bool KeyValueAggregateStore::Write(std::string_view key, std::string_view value,
                                   int64_t timestamp) {
  if (cache_.active()) {
    cache_.Put(key, value, timestamp);
    return false;
  }
  ThrowIfStoreError(store_name_, store_->Put(key, value, timestamp), "writing");
  return true;
}

void KeyValueAggregateStore::EmitCached(std::string_view key,
                                        std::optional<std::string_view> value,
                                        int64_t timestamp) {
  if (!value) return;  // this processor never caches deletions
  ThrowIfStoreError(store_name_, store_->Put(key, *value, timestamp), "writing");
  forward_(key, *value, timestamp);
}

// ---------------------------------------------------------------------------
// WindowAggregateStore

void WindowAggregateStore::Init(state::StateStore* store, state::RecordCache* cache,
                                const std::string& node, std::string store_name,
                                TimeWindows windows, EmitStrategy emit, bool caching,
                                bool flush_on_close, ForwardFn forward) {
  node_ = node;
  store_name_ = std::move(store_name);
  windows_ = windows;
  emit_ = emit;
  flush_on_close_ = flush_on_close;
  forward_ = std::move(forward);
  store_ = AsWindowStore(store, node_, store_name_);
  // Final results are read from the store at close: only updates are cached.
  cache_.Init(cache, caching && emit_ == EmitStrategy::kOnWindowUpdate, store_name_,
              [this](std::string_view key, std::optional<std::string_view> value,
                     int64_t timestamp) { EmitCached(key, value, timestamp); });
}

void WindowAggregateStore::Check(const Status& status, const char* doing) const {
  ThrowIfStoreError(store_name_, status, doing);
}

bool WindowAggregateStore::Late(int64_t timestamp, int64_t start, int64_t now) {
  if (!WindowClosed(start + windows_.size_ms(), windows_.grace_ms(), now)) return false;
  if (!warned_late_) {
    warned_late_ = true;
    Log(LogLevel::kWarn, "streams",
        "node \"" + node_ + "\" drops a record at " + std::to_string(timestamp) +
            " for window [" + std::to_string(start) + ", " +
            std::to_string(start + windows_.size_ms()) + "), closed since end + grace " +
            std::to_string(windows_.grace_ms()) + " <= " + std::to_string(now) +
            "; further late records in this task are only counted (dropped_late)");
  }
  return true;
}

bool WindowAggregateStore::Read(std::string_view key, int64_t start, std::string* value) {
  if (cache_.active()) {
    state::EncodeWindowKey(key, start, &cache_key_);
    if (auto cached = cache_.Get(cache_key_)) {
      if (!cached->value) return false;  // this processor never caches deletions
      value->assign(*cached->value);
      return true;
    }
  }
  const Status got = store_->Fetch(key, start, value);
  if (got.ok()) return true;
  if (!got.IsNotFound()) Check(got, "reading");
  return false;
}

bool WindowAggregateStore::Write(std::string_view key, int64_t start, std::string_view value,
                                 int64_t timestamp) {
  if (cache_.active()) {
    cache_.Put(cache_key_, value, timestamp);  // cache_key_: set by Read
    return false;
  }
  Check(store_->Put(key, start, value, timestamp), "writing");
  return emit_ == EmitStrategy::kOnWindowUpdate;
}

void WindowAggregateStore::EmitCached(std::string_view cache_key,
                                      std::optional<std::string_view> value, int64_t timestamp) {
  if (!value) return;  // this processor never caches deletions
  state::WindowKeyView at;
  Check(state::DecodeWindowKey(cache_key, /*with_sequence=*/false, &at), "decoding a cached key");
  Check(store_->Put(at.key, at.window_start, *value, timestamp), "writing");
  forward_(at.key, at.window_start, *value, timestamp);
}

void WindowAggregateStore::OnStreamTime(int64_t now, int64_t restored_watermark) {
  if (now < 0) return;
  const int64_t size = windows_.size_ms();
  const int64_t grace = windows_.grace_ms();
  // Windows with start <= limit are closed: start + size + grace <= now.
  const int64_t limit = now - size - grace;
  if (emit_ == EmitStrategy::kOnWindowClose) {
    // Windows closed by the restored watermark went out before the last
    // commit, even if the store's commit (its horizon) did not follow.
    const int64_t emitted_before =
        restored_watermark >= 0 ? restored_watermark - size - grace : -1;
    const int64_t from = std::max({emitted_to_ + 1, store_->expiry_horizon(), emitted_before + 1});
    // Window starts are multiples of the advance: scan only when the limit
    // reaches the next one (once per advance of the watermark, not per ms).
    const int64_t advance = windows_.advance_ms();
    const int64_t first_start = from <= 0 ? 0 : (from + advance - 1) / advance * advance;
    if (limit >= first_start) {
      auto it = store_->FetchAll(first_start, limit);
      for (; it->Valid(); it->Next()) {
        const int64_t start = it->window_start();
        forward_(it->key(), start, it->value(), start + size - 1);
      }
      Check(it->status(), "scanning closed windows");
    }
    emitted_to_ = std::max(emitted_to_, limit);
  } else if (flush_on_close_ && cache_.active() && limit > flushed_to_) {
    // A window closed since the last flush when a window start lies in
    // (flushed_to_, limit]: its cached updates go out now, before the
    // punctuators downstream see the window closed.
    const int64_t advance = windows_.advance_ms();
    const int64_t next_start =
        flushed_to_ < 0 ? 0 : (flushed_to_ + advance) / advance * advance;
    if (limit >= next_start) cache_.Flush();
    flushed_to_ = limit;
  }
  Check(store_->AdvanceStreamTime(now), "advancing stream time");
}

}  // namespace eventflow::streams::internal
