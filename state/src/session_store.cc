#include "eventflow/state/session_store.h"

#include <limits>

#include "big_endian.h"
#include "eventflow/state/store_keys.h"
#include "open_engine.h"
#include "segmented_store_base.h"

namespace eventflow::state {
namespace {

using internal::EngineReader;
using internal::SegmentScanner;
using internal::StorageEngine;

constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

// Sessions of the scanned segments with end in [earliest_end, latest_end] and
// start <= latest_start.
class SessionIteratorImpl final : public SessionIterator {
 public:
  SessionIteratorImpl(SegmentScanner scanner, int64_t earliest_end, int64_t latest_start,
                      int64_t latest_end = kMaxTime)
      : scanner_(std::move(scanner)),
        earliest_end_(earliest_end),
        latest_start_(latest_start),
        latest_end_(latest_end) {
    Settle();
  }

  bool Valid() const override { return valid_; }
  void Next() override {
    scanner_.Next();
    Settle();
  }
  std::string_view key() const override { return current_.key; }
  int64_t start() const override { return current_.start; }
  int64_t end() const override { return current_.end; }
  std::string_view value() const override { return scanner_.value(); }
  Status status() const override {
    return decode_status_.ok() ? scanner_.status() : decode_status_;
  }

 private:
  void Settle() {
    for (; scanner_.Valid(); scanner_.Next()) {
      decode_status_ = DecodeSessionKey(scanner_.key(), &current_);
      if (!decode_status_.ok()) break;
      if (current_.end >= earliest_end_ && current_.start <= latest_start_ &&
          current_.end <= latest_end_) {
        valid_ = true;
        return;
      }
    }
    valid_ = false;
  }

  SegmentScanner scanner_;
  const int64_t earliest_end_;
  const int64_t latest_start_;
  const int64_t latest_end_;
  SessionKeyView current_{};
  Status decode_status_;
  bool valid_ = false;
};

// The read path of the store and of its committed views: `reader` is the
// engine (pending over committed) or a committed reader, `horizon` the
// matching expiry horizon.
std::unique_ptr<SessionIterator> FindKeySessions(EngineReader& reader, int64_t interval,
                                                 int64_t horizon, std::string_view key,
                                                 int64_t earliest_end, int64_t latest_start) {
  const int64_t from = std::max<int64_t>({earliest_end, horizon, 0});
  if (latest_start < 0) {
    return std::make_unique<SessionIteratorImpl>(SegmentScanner(reader, 1, 0, "", std::nullopt), 0,
                                                 -1);
  }
  // One key's sessions are contiguous ([len][key] prefix) and ordered by end.
  std::string prefix;
  EncodeKeyPrefix(key, &prefix);
  std::optional<std::string> upper = internal::PrefixSuccessor(prefix);
  std::string lower = prefix;
  internal::AppendBigEndian(static_cast<uint64_t>(from), 8, &lower);
  // A session may end any time after latest_start: scan every later segment.
  return std::make_unique<SessionIteratorImpl>(
      SegmentScanner(reader, from / interval, kMaxTime, std::move(lower), std::move(upper)), from,
      latest_start);
}

class SessionViewImpl final : public SessionStoreView {
 public:
  SessionViewImpl(std::unique_ptr<EngineReader> reader, int64_t interval, int64_t horizon)
      : reader_(std::move(reader)), interval_(interval), horizon_(horizon) {}
  std::unique_ptr<SessionIterator> FindSessions(std::string_view key, int64_t earliest_end,
                                                int64_t latest_start) override {
    return FindKeySessions(*reader_, interval_, horizon_, key, earliest_end, latest_start);
  }
  std::unique_ptr<SessionIterator> FetchAll(std::string_view key) override {
    return FindSessions(key, 0, kMaxTime);
  }

 private:
  std::unique_ptr<EngineReader> reader_;
  const int64_t interval_;
  const int64_t horizon_;
};

class SessionStoreImpl final : public internal::SegmentedStoreBase<SessionStore> {
 public:
  SessionStoreImpl(const StoreOptions& options, std::unique_ptr<StorageEngine> engine,
                   int64_t retention, int64_t interval)
      : SegmentedStoreBase(options.name, std::string(kSessionStoreFormat), std::move(engine),
                           options.changelog_writer, options.description, retention, interval,
                           /*retain_duplicates=*/false) {}

  Status Open() { return OpenSegmented(); }

  Status Put(std::string_view key, int64_t start, int64_t end, std::string_view value,
             int64_t timestamp) override {
    EVENTFLOW_RETURN_IF_ERROR(CheckTimes(start, end));
    EncodeSessionKey(key, start, end, &scratch_);
    EVENTFLOW_RETURN_IF_ERROR(Log(scratch_, value, timestamp));  // even when expired
    if (Expired(end)) {
      CountSkipped();
      return Status::OK();
    }
    return engine().Put(SegmentId(end), scratch_, value);
  }

  Status Remove(std::string_view key, int64_t start, int64_t end, int64_t timestamp) override {
    EVENTFLOW_RETURN_IF_ERROR(CheckTimes(start, end));
    // Removals are never skipped: a logged tombstone keeps restores exact.
    EncodeSessionKey(key, start, end, &scratch_);
    EVENTFLOW_RETURN_IF_ERROR(Log(scratch_, std::nullopt, timestamp));
    return engine().Delete(SegmentId(end), scratch_);
  }

  Status FetchSession(std::string_view key, int64_t start, int64_t end,
                      std::string* value) override {
    EVENTFLOW_RETURN_IF_ERROR(CheckTimes(start, end));
    if (Expired(end)) return Status::NotFound("");
    EncodeSessionKey(key, start, end, &scratch_);
    return engine().Get(SegmentId(end), scratch_, value);
  }

  std::unique_ptr<SessionIterator> FindSessions(std::string_view key, int64_t earliest_end,
                                                int64_t latest_start) override {
    return FindKeySessions(engine(), segment_interval(), expiry_horizon(), key, earliest_end,
                           latest_start);
  }

  Result<std::unique_ptr<SessionStoreView>> NewCommittedView() override {
    std::unique_ptr<EngineReader> reader = engine().NewCommittedReader();
    Result<int64_t> horizon = internal::CommittedHorizon(*reader, Context());
    if (!horizon.ok()) return horizon.status();
    return std::unique_ptr<SessionStoreView>(
        std::make_unique<SessionViewImpl>(std::move(reader), segment_interval(), *horizon));
  }

  std::unique_ptr<SessionIterator> FindSessionsByEnd(int64_t earliest_end,
                                                     int64_t latest_end) override {
    const int64_t from = std::max<int64_t>({earliest_end, expiry_horizon(), 0});
    if (latest_end < from) {
      return std::make_unique<SessionIteratorImpl>(SegmentScanner(engine(), 1, 0, "", std::nullopt),
                                                   0, -1);
    }
    return std::make_unique<SessionIteratorImpl>(
        SegmentScanner(engine(), SegmentId(from), SegmentId(latest_end), "", std::nullopt), from,
        kMaxTime, latest_end);
  }

  std::unique_ptr<SessionIterator> FetchAll(std::string_view key) override {
    return FindSessions(key, 0, kMaxTime);
  }

 protected:
  Status DecodeForRestore(std::string_view key, int64_t* time, uint32_t* sequence) override {
    SessionKeyView view;
    EVENTFLOW_RETURN_IF_ERROR(DecodeSessionKey(key, &view));
    *time = view.end;
    *sequence = 0;
    return Status::OK();
  }

 private:
  Status CheckTimes(int64_t start, int64_t end) const {
    if (start < 0 || end < start) {
      return Status::InvalidArgument(Context() + ": bad session times start=" +
                                     std::to_string(start) + " end=" + std::to_string(end));
    }
    return Status::OK();
  }

  std::string scratch_;  // the encoded key of the current operation, reused
};

}  // namespace

Result<std::unique_ptr<SessionStore>> OpenSessionStore(const StoreOptions& options,
                                                       const SessionStoreOptions& session_options) {
  Result<int64_t> interval = internal::ResolveSegmentInterval(
      options.name, session_options.retention, session_options.segment_interval);
  if (!interval.ok()) return interval.status();
  Result<std::unique_ptr<StorageEngine>> engine = internal::OpenEngine(options, *interval);
  if (!engine.ok()) return engine.status();
  auto store = std::make_unique<SessionStoreImpl>(options, std::move(*engine),
                                                  session_options.retention.count(), *interval);
  EVENTFLOW_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<SessionStore>(std::move(store));
}

}  // namespace eventflow::state
