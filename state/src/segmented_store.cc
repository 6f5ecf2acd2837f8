#include "eventflow/state/segmented_store.h"

#include <algorithm>

#include "segmented_store_base.h"

namespace eventflow::state {

std::chrono::milliseconds DefaultSegmentInterval(std::chrono::milliseconds retention) {
  return std::max<std::chrono::milliseconds>(retention / 2, std::chrono::seconds(60));
}

namespace internal {

SegmentScanner::SegmentScanner(EngineReader& engine, int64_t first, int64_t last, std::string lower,
                               std::optional<std::string> upper)
    : engine_(engine), lower_(std::move(lower)), upper_(std::move(upper)) {
  if (first <= last) engine_.ListPartitions(first, last, &segments_);
  OpenNextSegment();
}

void SegmentScanner::Next() {
  iter_->Next();
  if (!iter_->Valid()) OpenNextSegment();
}

void SegmentScanner::OpenNextSegment() {
  while (true) {
    if (iter_ != nullptr) {
      status_ = iter_->status();
      if (!status_.ok()) {
        iter_.reset();
        return;
      }
    }
    if (next_ >= segments_.size()) {
      iter_.reset();
      return;
    }
    iter_ = engine_.NewIterator(segments_[next_++], lower_,
                                upper_ ? std::optional<std::string_view>(*upper_) : std::nullopt);
    if (iter_->Valid()) return;
  }
}

Result<int64_t> CommittedHorizon(EngineReader& reader, const std::string& context) {
  std::string bytes;
  const Status s = reader.GetMeta(kMetaExpiryHorizon, &bytes);
  if (s.IsNotFound()) return int64_t{0};
  if (!s.ok()) return s;
  int64_t horizon = 0;
  if (!DecodeInt64(bytes, &horizon) || horizon < 0) {
    return Status::Corruption(context + ": metadata " + std::string(kMetaExpiryHorizon) +
                              " is corrupt");
  }
  return horizon;
}

Result<int64_t> ResolveSegmentInterval(std::string_view store, std::chrono::milliseconds retention,
                                       std::chrono::milliseconds segment_interval) {
  if (retention.count() <= 0) {
    return Status::InvalidArgument("store '" + std::string(store) + "': retention must be > 0");
  }
  if (segment_interval.count() < 0) {
    return Status::InvalidArgument("store '" + std::string(store) +
                                   "': segment_interval must be >= 0");
  }
  if (segment_interval.count() == 0) segment_interval = DefaultSegmentInterval(retention);
  return static_cast<int64_t>(segment_interval.count());
}

}  // namespace internal
}  // namespace eventflow::state
