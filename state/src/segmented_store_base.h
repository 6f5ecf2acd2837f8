// SegmentedStoreBase<Interface>: what window and session stores share — time
// segments as engine partitions, the expiry horizon (pending and committed),
// the duplicate sequence counter, and commit/abort/restore/wipe with them.
// See segmented_store.h for the semantics.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/state/store_options.h"
#include "store_base.h"

namespace eventflow::state::internal {

template <typename Interface>
class SegmentedStoreBase : public StoreBase<Interface> {
 public:
  Status AdvanceStreamTime(int64_t stream_time) override {
    if (stream_time < retention_) return Status::OK();  // horizon would be <= 0
    return ExpireBefore(stream_time - retention_ + 1);
  }

  Status ExpireBefore(int64_t time) override {
    horizon_ = std::max(horizon_, time);
    return Status::OK();
  }

  int64_t expiry_horizon() const override { return horizon_; }
  int64_t retention() const override { return retention_; }
  int64_t segment_interval() const override { return interval_; }
  size_t num_segments() const override { return this->engine().NumPartitions(); }
  uint64_t expired_records_skipped() const override { return skipped_; }

  Status Commit(int64_t changelog_offset) override {
    EncodeInt64(horizon_, &horizon_bytes_);
    EncodeInt64(next_sequence_, &sequence_bytes_);
    const MetaWrite extra[] = {{kMetaExpiryHorizon, horizon_bytes_},
                               {kMetaNextSequence, sequence_bytes_}};
    const bool changed =
        horizon_ != committed_horizon_ || next_sequence_ != committed_next_sequence_;
    EVENTFLOW_RETURN_IF_ERROR(
        this->CommitBase(changelog_offset, std::span(extra, retain_duplicates_ ? 2 : 1), changed));
    committed_horizon_ = horizon_;
    committed_next_sequence_ = next_sequence_;
    return this->engine().DropPartitionsBefore(SegmentId(horizon_));
  }

  void Abort() override {
    this->engine().Abort();
    horizon_ = committed_horizon_;
    next_sequence_ = committed_next_sequence_;
  }

  bool HasPendingWrites() const override {
    return this->engine().HasPending() || horizon_ != committed_horizon_ ||
           next_sequence_ != committed_next_sequence_;
  }

  Status Wipe() override {
    EVENTFLOW_RETURN_IF_ERROR(this->WipeBase());
    horizon_ = committed_horizon_ = 0;
    next_sequence_ = committed_next_sequence_ = 0;
    return OpenSegmented();
  }

  Status RestoreBatch(std::span<const ChangelogRecord> records, int64_t end_offset) override {
    restore_writes_.clear();
    int64_t next_sequence = next_sequence_;
    for (const ChangelogRecord& r : records) {
      int64_t time = 0;
      uint32_t sequence = 0;
      Status s = DecodeForRestore(r.key, &time, &sequence);
      if (!s.ok()) return s.WithContext(this->Context() + ": restore");
      next_sequence = std::max<int64_t>(next_sequence, int64_t{sequence} + 1);
      if (time < horizon_) continue;  // expired: its segment is gone or going
      restore_writes_.push_back({SegmentId(time), r.key, r.value});
    }
    if (!retain_duplicates_) next_sequence = 0;
    EncodeInt64(horizon_, &horizon_bytes_);
    EncodeInt64(next_sequence, &sequence_bytes_);
    const MetaWrite extra[] = {{kMetaExpiryHorizon, horizon_bytes_},
                               {kMetaNextSequence, sequence_bytes_}};
    EVENTFLOW_RETURN_IF_ERROR(this->RestoreBase(restore_writes_, end_offset,
                                                std::span(extra, retain_duplicates_ ? 2 : 1)));
    committed_horizon_ = horizon_;
    next_sequence_ = committed_next_sequence_ = next_sequence;
    return Status::OK();
  }

 protected:
  SegmentedStoreBase(std::string name, std::string format, std::unique_ptr<StorageEngine> engine,
                     ChangelogWriter* changelog, StoreDescription description, int64_t retention,
                     int64_t interval, bool retain_duplicates)
      : StoreBase<Interface>(std::move(name), std::move(format), std::move(engine), changelog,
                             std::move(description)),
        retention_(retention),
        interval_(interval),
        retain_duplicates_(retain_duplicates) {}

  //! Decodes a changelog key into its segment time and duplicate sequence.
  virtual Status DecodeForRestore(std::string_view key, int64_t* time, uint32_t* sequence) = 0;

  //! Opens the base, checks the segment interval and loads the horizon.
  Status OpenSegmented() {
    EVENTFLOW_RETURN_IF_ERROR(this->OpenBase());
    std::string bytes;
    int64_t value = 0;
    Status s = this->engine().GetMeta(kMetaSegmentInterval, &bytes);
    if (s.IsNotFound()) {
      EncodeInt64(interval_, &bytes);
      const MetaWrite meta[] = {{kMetaSegmentInterval, bytes}};
      EVENTFLOW_RETURN_IF_ERROR(this->engine().WriteDirect({}, meta));
    } else if (!s.ok()) {
      return s;
    } else if (!DecodeInt64(bytes, &value) || value != interval_) {
      return Status::InvalidArgument(
          this->Context() + ": segment_interval is " + std::to_string(interval_) +
          " ms but the store was created with " + std::to_string(value) + " ms; wipe it to change");
    }
    EVENTFLOW_RETURN_IF_ERROR(LoadInt64(kMetaExpiryHorizon, &committed_horizon_));
    EVENTFLOW_RETURN_IF_ERROR(LoadInt64(kMetaNextSequence, &committed_next_sequence_));
    horizon_ = committed_horizon_;
    next_sequence_ = committed_next_sequence_;
    // A crash between a commit and its segment drops leaves expired segments.
    return this->engine().DropPartitionsBefore(SegmentId(horizon_));
  }

  int64_t SegmentId(int64_t time) const { return time / interval_; }
  bool Expired(int64_t time) const { return time < horizon_; }
  void CountSkipped() { ++skipped_; }
  bool retain_duplicates_flag() const { return retain_duplicates_; }

  //! Returns the next duplicate sequence number (wraps at 2^32).
  uint32_t TakeSequence() {
    const auto sequence = static_cast<uint32_t>(next_sequence_);
    next_sequence_ = (next_sequence_ + 1) & 0xffffffff;
    return sequence;
  }

 private:
  Status LoadInt64(std::string_view name, int64_t* value) {
    std::string bytes;
    Status s = this->engine().GetMeta(name, &bytes);
    if (s.IsNotFound()) {
      *value = 0;
      return Status::OK();
    }
    if (!s.ok()) return s;
    if (!DecodeInt64(bytes, value) || *value < 0) {
      return Status::Corruption(this->Context() + ": metadata " + std::string(name) +
                                " is corrupt");
    }
    return Status::OK();
  }

  const int64_t retention_;
  const int64_t interval_;
  const bool retain_duplicates_;
  int64_t horizon_ = 0;
  int64_t committed_horizon_ = 0;
  int64_t next_sequence_ = 0;
  int64_t committed_next_sequence_ = 0;
  uint64_t skipped_ = 0;
  std::string horizon_bytes_;
  std::string sequence_bytes_;
  std::vector<EngineWrite> restore_writes_;
};

//! Walks the existing segments in [first, last] in order, scanning each within
//! the same key bounds [lower, upper).
class SegmentScanner {
 public:
  SegmentScanner(EngineReader& engine, int64_t first, int64_t last, std::string lower,
                 std::optional<std::string> upper);

  bool Valid() const { return iter_ != nullptr && iter_->Valid(); }
  void Next();
  std::string_view key() const { return iter_->key(); }
  std::string_view value() const { return iter_->value(); }
  const Status& status() const { return status_; }

 private:
  void OpenNextSegment();

  EngineReader& engine_;
  std::vector<int64_t> segments_;
  size_t next_ = 0;
  std::string lower_;
  std::optional<std::string> upper_;
  std::unique_ptr<KeyValueIterator> iter_;
  Status status_;
};

//! Returns the expiry horizon `reader` has committed (0 when none is stored),
//! or Corruption naming `context` when the entry is unreadable.
Result<int64_t> CommittedHorizon(EngineReader& reader, const std::string& context);

//! Validates retention and segment interval (ms); returns the interval to use.
Result<int64_t> ResolveSegmentInterval(std::string_view store, std::chrono::milliseconds retention,
                                       std::chrono::milliseconds segment_interval);

}  // namespace eventflow::state::internal
