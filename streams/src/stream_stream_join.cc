// The store halves of the stream-stream join processors
// (eventflow/streams/internal/stream_stream_join.h).
#include "eventflow/streams/internal/stream_stream_join.h"

#include <algorithm>
#include <stdexcept>

#include "eventflow/core/log.h"
#include "eventflow/state/window_store.h"

namespace eventflow::streams::internal {

void JoinWindowStore::Init(state::StateStore* store, const std::string& node,
                           std::string store_name, bool left_side, StreamJoinSpec spec) {
  node_ = node;
  store_name_ = std::move(store_name);
  left_side_ = left_side;
  spec_ = spec;
  store_ = AsWindowStore(store, node_, store_name_);
}

bool JoinWindowStore::Put(std::string_view key, std::string_view value, int64_t timestamp,
                          int64_t now) {
  if (WindowClosed(timestamp + 1, spec_.grace, now)) {
    if (!warned_late_) {
      warned_late_ = true;
      Log(LogLevel::kWarn, "streams",
          "node \"" + node_ + "\" drops a record at " + std::to_string(timestamp) +
              ": older than the join's grace " + std::to_string(spec_.grace) +
              " ms before the window-close clock " + std::to_string(now) +
              "; further late records in this task are only counted (dropped_late)");
    }
    return false;
  }
  ThrowIfStoreError(store_name_, store_->Put(key, timestamp, value, timestamp), "writing");
  return true;
}

void JoinWindowStore::Expire(int64_t clock) {
  if (clock < 0) return;
  ThrowIfStoreError(store_name_,
                    store_->ExpireBefore(clock - spec_.grace - spec_.AfterOf(left_side_)),
                    "expiring records no join can match");
}

void StreamJoinStores::Init(state::StateStore* other, state::StateStore* outer,
                            const std::string& node, std::string other_name,
                            std::optional<std::string> outer_name, StreamJoinSpec spec,
                            bool this_is_left) {
  other_name_ = std::move(other_name);
  outer_name_ = std::move(outer_name);
  spec_ = spec;
  this_is_left_ = this_is_left;
  other_outer_ = this_is_left ? spec.right_outer : spec.left_outer;
  other_ = AsWindowStore(other, node, other_name_);
  if (outer_name_) outer_ = AsWindowStore(outer, node, *outer_name_);
}

bool StreamJoinStores::ForEachMatch(
    std::string_view key, int64_t time,
    FunctionRef<void(int64_t other_time, std::string_view other_value)> match) {
  const int64_t from = std::max<int64_t>(0, time - spec_.BeforeOf(this_is_left_));
  const int64_t to = time + spec_.AfterOf(this_is_left_);
  bool matched = false;
  int64_t cleared = -1;  // the other side's outer entry at this time is gone
  auto it = other_->Fetch(key, from, to);
  for (; it->Valid(); it->Next()) {
    matched = true;
    const int64_t other_time = it->window_start();
    if (other_outer_ && other_time != cleared) {
      ClearOuter(this_is_left_ ? kRightSideTag : kLeftSideTag, key,
                 other_time + spec_.AfterOf(!this_is_left_), time);
      cleared = other_time;
    }
    match(other_time, it->value());
  }
  ThrowIfStoreError(other_name_, it->status(), "fetching the other side's records");
  return matched;
}

void StreamJoinStores::ClearOuter(char side, std::string_view key, int64_t close, int64_t time) {
  outer_key_.assign(1, side);
  outer_key_ += key;
  const Status got = outer_->Fetch(outer_key_, close, &outer_value_);
  if (got.IsNotFound()) return;
  ThrowIfStoreError(*outer_name_, got, "reading an unmatched record");
  ThrowIfStoreError(*outer_name_, outer_->Delete(outer_key_, close, time),
                    "deleting a matched record");
}

void StreamJoinStores::KeepUnmatched(std::string_view key, int64_t time, std::string_view value) {
  const int64_t close = time + spec_.AfterOf(this_is_left_);
  outer_key_.assign(1, this_is_left_ ? kLeftSideTag : kRightSideTag);
  outer_key_ += key;
  const Status got = outer_->Fetch(outer_key_, close, &outer_value_);
  if (got.IsNotFound()) {
    outer_value_.clear();
  } else {
    ThrowIfStoreError(*outer_name_, got, "reading unmatched records");
  }
  const auto size = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    outer_value_.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  outer_value_ += value;
  ThrowIfStoreError(*outer_name_, outer_->Put(outer_key_, close, outer_value_, time),
                    "keeping an unmatched record");
}

void StreamJoinStores::EmitClosed(
    int64_t now,
    FunctionRef<void(bool left, std::string_view key, int64_t time, std::string_view value)>
        emit) {
  if (now < 0) return;
  const int64_t limit =
      now - spec_.grace - 1;  // WindowClosed(close + 1, grace, now) for close <= limit
  const int64_t from = outer_->expiry_horizon();
  if (limit < from) return;
  size_t n = 0;
  auto it = outer_->FetchAll(from, limit);
  for (; it->Valid(); it->Next()) {
    const int64_t close = it->window_start();
    if (!WindowClosed(close + 1, spec_.grace, now) || it->key().empty()) continue;
    if (closed_.size() <= n) closed_.emplace_back();
    Closed& c = closed_[n++];
    const bool left = it->key().front() == kLeftSideTag;
    c.close = close;
    c.time = close - spec_.AfterOf(left);
    c.key.assign(it->key());
    c.values.assign(it->value());
  }
  ThrowIfStoreError(*outer_name_, it->status(), "scanning unmatched records");
  it.reset();
  std::sort(closed_.begin(), closed_.begin() + static_cast<std::ptrdiff_t>(n),
            [](const Closed& a, const Closed& b) {
              if (a.time != b.time) return a.time < b.time;
              return a.key < b.key;  // 'L' < 'R', then key bytes
            });
  for (size_t i = 0; i < n; ++i) {
    const Closed& c = closed_[i];
    const bool left = c.key.front() == kLeftSideTag;
    const std::string_view key = std::string_view(c.key).substr(1);
    std::string_view rest = c.values;
    while (rest.size() >= 4) {
      uint32_t size = 0;
      for (int b = 0; b < 4; ++b) size = (size << 8) | static_cast<unsigned char>(rest[b]);
      if (rest.size() - 4 < size) break;
      const std::string_view bytes = rest.substr(4, size);
      rest.remove_prefix(4 + size);
      emit(left, key, c.time, bytes);
    }
    if (!rest.empty()) {
      throw std::runtime_error("store \"" + *outer_name_ +
                               "\": a corrupt list of unmatched records");
    }
    ThrowIfStoreError(*outer_name_, outer_->Delete(c.key, c.close, c.time),
                      "deleting an emitted record");
  }
  ThrowIfStoreError(*outer_name_, outer_->ExpireBefore(limit + 1), "expiring emitted records");
}

}  // namespace eventflow::streams::internal
