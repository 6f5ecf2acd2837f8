// The byte-level half of KTable::Suppress
// (eventflow/streams/internal/suppress_processor.h).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/streams/internal/suppress_processor.h"

namespace eventflow::streams::internal {
namespace {

constexpr char kDataTag = 'D';
constexpr char kIndexTag = 'K';
constexpr int64_t kUnknownDue = std::numeric_limits<int64_t>::min();
constexpr int64_t kNoDue = std::numeric_limits<int64_t>::max();

void AppendInt64(int64_t v, std::string* out) {
  uint64_t u = static_cast<uint64_t>(v);
  char buf[8];
  for (int i = 7; i >= 0; --i, u >>= 8) buf[i] = static_cast<char>(u & 0xff);
  out->append(buf, 8);
}

int64_t ReadInt64(std::string_view bytes) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<int64_t>(u);
}

// The first key after every 'D' entry.
std::string DataEnd() { return std::string(1, static_cast<char>(kDataTag + 1)); }

}  // namespace

void SuppressBuffer::Init(state::StateStore* store, const std::string& node,
                          std::string store_name, SuppressSpec spec, int64_t emitted_to,
                          EmitFn emit) {
  node_ = node;
  store_name_ = std::move(store_name);
  spec_ = std::move(spec);
  emit_ = std::move(emit);
  store_ = AsKeyValueStore(store, node_, store_name_);
  bounded_ = spec_.buffer.max_records.has_value() || spec_.buffer.max_bytes.has_value();
  emitted_to_ = emitted_to;
  next_due_ = kUnknownDue;
}

void SuppressBuffer::Check(const Status& status, const char* doing) const {
  ThrowIfStoreError(store_name_, status, doing);
}

void SuppressBuffer::DataKey(int64_t due, std::string_view key, std::string* out) {
  out->clear();
  out->push_back(kDataTag);
  AppendInt64(std::max<int64_t>(0, due), out);
  out->append(key);
}

bool SuppressBuffer::Put(std::string_view key, int64_t due, std::optional<std::string_view> value,
                         int64_t timestamp) {
  const bool final_results = spec_.until == Suppressed::Until::kWindowCloses;
  due = std::max<int64_t>(0, due);
  if (final_results && due <= emitted_to_) {
    if (!warned_late_) {
      warned_late_ = true;
      Log(LogLevel::kWarn, "streams",
          "node \"" + node_ + "\" drops an update due at " + std::to_string(due) +
              ": its window closed at or before " + std::to_string(emitted_to_) +
              " and its final result went out; further late updates in this task are only "
              "counted (dropped_late)");
    }
    return false;
  }
  if (bounded_) CountOnce();
  if (!final_results) {
    // A buffered key keeps the due time of its first buffered update.
    index_key_.assign(1, kIndexTag);
    index_key_.append(key);
    const Status got = store_->Get(index_key_, &scratch_);
    if (got.ok()) {
      if (scratch_.size() != 8) {
        throw std::runtime_error("store \"" + store_name_ + "\": a corrupt buffer index entry");
      }
      due = ReadInt64(scratch_);
    } else if (got.IsNotFound()) {
      scratch_.clear();
      AppendInt64(due, &scratch_);
      Check(store_->Put(index_key_, scratch_, timestamp), "buffering an update");
    } else {
      Check(got, "reading");
    }
  }
  DataKey(due, key, &data_key_);
  int64_t old_bytes = -1;  // the entry's size before, -1: none
  if (bounded_ || (final_results && !value)) {
    const Status got = store_->Get(data_key_, &scratch_);
    if (got.ok()) {
      old_bytes = static_cast<int64_t>(data_key_.size() + scratch_.size());
    } else if (!got.IsNotFound()) {
      Check(got, "reading");
    }
  }
  if (final_results && !value) {
    // The window's latest update is a tombstone: nothing to forward for it.
    if (old_bytes >= 0) {
      Check(store_->Delete(data_key_, timestamp), "removing a buffered update");
      if (counted_) {
        --records_;
        bytes_ -= old_bytes;
      }
    }
    return true;
  }
  value_.clear();
  AppendInt64(timestamp, &value_);
  value_.push_back(value ? '\1' : '\0');
  if (value) value_.append(*value);
  Check(store_->Put(data_key_, value_, timestamp), "buffering an update");
  if (counted_) {
    if (old_bytes < 0) {
      ++records_;
      bytes_ += static_cast<int64_t>(data_key_.size() + value_.size());
    } else {
      bytes_ += static_cast<int64_t>(data_key_.size() + value_.size()) - old_bytes;
    }
  }
  if (next_due_ != kUnknownDue) next_due_ = std::min(next_due_, due);
  if (due <= emitted_to_) EmitUpTo(emitted_to_, std::numeric_limits<size_t>::max());
  if (bounded_) EnforceBounds();
  return true;
}

void SuppressBuffer::EmitDue(int64_t now) {
  if (now < 0) return;
  emitted_to_ = std::max(emitted_to_, now);
  if (next_due_ == kUnknownDue) FindNextDue();
  if (next_due_ > now) return;
  EmitUpTo(now, std::numeric_limits<size_t>::max());
}

void SuppressBuffer::EmitUpTo(int64_t limit, size_t max) {
  size_t n = 0;
  {
    std::string from(1, kDataTag);
    std::string to(1, kDataTag);
    AppendInt64(std::max<int64_t>(0, limit) + 1, &to);
    auto it = store_->Range(from, to);
    for (; it->Valid() && n < max; it->Next()) {
      if (due_.size() <= n) due_.emplace_back();
      Entry& e = due_[n++];
      e.data_key.assign(it->key());
      e.value.assign(it->value());
    }
    Check(it->status(), "scanning due updates");
  }
  for (size_t i = 0; i < n; ++i) EmitEntry(due_[i]);
  FindNextDue();
}

void SuppressBuffer::EmitEntry(const Entry& entry) {
  if (entry.data_key.size() < 9 || entry.value.size() < 9) {
    throw std::runtime_error("store \"" + store_name_ + "\": a corrupt buffered update");
  }
  const std::string_view key = std::string_view(entry.data_key).substr(9);
  const int64_t timestamp = ReadInt64(entry.value);
  const bool has_value = entry.value[8] != '\0';
  const bool final_results = spec_.until == Suppressed::Until::kWindowCloses;
  if (has_value || !final_results) {
    emit_(key, has_value ? std::optional<std::string_view>(std::string_view(entry.value).substr(9))
                         : std::nullopt,
          timestamp);
  }
  Check(store_->Delete(entry.data_key, timestamp), "removing a forwarded update");
  if (!final_results) {
    index_key_.assign(1, kIndexTag);
    index_key_.append(key);
    Check(store_->Delete(index_key_, timestamp), "removing a forwarded update's index");
  }
  if (counted_) {
    --records_;
    bytes_ -= static_cast<int64_t>(entry.data_key.size() + entry.value.size());
  }
}

void SuppressBuffer::FindNextDue() {
  auto it = store_->Range(std::string(1, kDataTag), DataEnd());
  next_due_ = kNoDue;
  if (it->Valid() && it->key().size() >= 9) next_due_ = ReadInt64(it->key().substr(1, 8));
  Check(it->status(), "scanning the buffer");
}

void SuppressBuffer::CountOnce() {
  if (counted_) return;
  records_ = 0;
  bytes_ = 0;
  auto it = store_->Range(std::string(1, kDataTag), DataEnd());
  for (; it->Valid(); it->Next()) {
    ++records_;
    bytes_ += static_cast<int64_t>(it->key().size() + it->value().size());
  }
  Check(it->status(), "counting the buffer");
  counted_ = true;
}

void SuppressBuffer::EnforceBounds() {
  auto over = [&] {
    return (spec_.buffer.max_records && records_ > *spec_.buffer.max_records) ||
           (spec_.buffer.max_bytes && bytes_ > *spec_.buffer.max_bytes);
  };
  while (over()) {
    if (spec_.buffer.when_full == BufferConfig::WhenFull::kShutDown) {
      throw StateStoreError(Status::Fatal(
          "node \"" + node_ + "\": the suppression buffer \"" + store_name_ + "\" is full: " +
          std::to_string(records_) + " records (max " +
          (spec_.buffer.max_records ? std::to_string(*spec_.buffer.max_records) : "none") +
          "), " + std::to_string(bytes_) + " bytes (max " +
          (spec_.buffer.max_bytes ? std::to_string(*spec_.buffer.max_bytes) : "none") +
          "); BufferConfig::ShutDownWhenFull stops the task"));
    }
    // Emit early: the entry due first leaves before its time.
    const int64_t before = records_;
    EmitUpTo(std::numeric_limits<int64_t>::max() - 1, 1);
    if (records_ >= before) break;  // nothing left to emit
  }
}

}  // namespace eventflow::streams::internal
