#include "eventflow/state/window_store.h"

#include <limits>

#include "eventflow/state/store_keys.h"
#include "open_engine.h"
#include "segmented_store_base.h"

namespace eventflow::state {
namespace {

using internal::EngineReader;
using internal::SegmentScanner;
using internal::StorageEngine;

constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

// Windows of the scanned segments whose start lies in [from, to].
class WindowIteratorImpl final : public WindowIterator {
 public:
  WindowIteratorImpl(SegmentScanner scanner, int64_t from, int64_t to, bool with_sequence)
      : scanner_(std::move(scanner)), from_(from), to_(to), with_sequence_(with_sequence) {
    Settle();
  }

  bool Valid() const override { return valid_; }
  void Next() override {
    scanner_.Next();
    Settle();
  }
  std::string_view key() const override { return current_.key; }
  int64_t window_start() const override { return current_.window_start; }
  std::string_view value() const override { return scanner_.value(); }
  Status status() const override {
    return decode_status_.ok() ? scanner_.status() : decode_status_;
  }

 private:
  void Settle() {
    for (; scanner_.Valid(); scanner_.Next()) {
      decode_status_ = DecodeWindowKey(scanner_.key(), with_sequence_, &current_);
      if (!decode_status_.ok()) break;
      if (current_.window_start >= from_ && current_.window_start <= to_) {
        valid_ = true;
        return;
      }
    }
    valid_ = false;
  }

  SegmentScanner scanner_;
  const int64_t from_;
  const int64_t to_;
  const bool with_sequence_;
  WindowKeyView current_{};
  Status decode_status_;
  bool valid_ = false;
};

// What the read path needs to know of a store besides its data.
struct WindowLayout {
  int64_t segment_interval;
  bool retain_duplicates;
  int64_t SegmentId(int64_t time) const { return time / segment_interval; }
};

// The read path of the store and of its committed views: `reader` is the
// engine (pending over committed) or a committed reader, `horizon` the
// matching expiry horizon.
std::unique_ptr<WindowIterator> EmptyWindows(EngineReader& reader, const WindowLayout& layout) {
  return std::make_unique<WindowIteratorImpl>(SegmentScanner(reader, 1, 0, "", std::nullopt), 0, -1,
                                              layout.retain_duplicates);
}

std::unique_ptr<WindowIterator> FetchWindows(EngineReader& reader, const WindowLayout& layout,
                                             int64_t horizon, std::string_view key,
                                             int64_t time_from, int64_t time_to) {
  const int64_t from = std::max<int64_t>({time_from, horizon, 0});
  if (from > time_to) return EmptyWindows(reader, layout);
  // One key's windows are contiguous ([len][key] prefix) and time-ordered.
  std::string lower;
  EncodeWindowKey(key, from, &lower);
  std::optional<std::string> upper;
  if (time_to == kMaxTime) {
    std::string prefix;
    EncodeKeyPrefix(key, &prefix);
    upper = internal::PrefixSuccessor(prefix);
  } else {
    upper.emplace();
    EncodeWindowKey(key, time_to + 1, &*upper);
  }
  return std::make_unique<WindowIteratorImpl>(
      SegmentScanner(reader, layout.SegmentId(from), layout.SegmentId(time_to), std::move(lower),
                     std::move(upper)),
      from, time_to, layout.retain_duplicates);
}

std::unique_ptr<WindowIterator> FetchAllWindows(EngineReader& reader, const WindowLayout& layout,
                                                int64_t horizon, int64_t time_from,
                                                int64_t time_to) {
  const int64_t from = std::max<int64_t>({time_from, horizon, 0});
  if (from > time_to) return EmptyWindows(reader, layout);
  return std::make_unique<WindowIteratorImpl>(
      SegmentScanner(reader, layout.SegmentId(from), layout.SegmentId(time_to), "", std::nullopt),
      from, time_to, layout.retain_duplicates);
}

class WindowViewImpl final : public WindowStoreView {
 public:
  WindowViewImpl(std::unique_ptr<EngineReader> reader, WindowLayout layout, int64_t horizon)
      : reader_(std::move(reader)), layout_(layout), horizon_(horizon) {}
  std::unique_ptr<WindowIterator> Fetch(std::string_view key, int64_t time_from,
                                        int64_t time_to) override {
    return FetchWindows(*reader_, layout_, horizon_, key, time_from, time_to);
  }
  std::unique_ptr<WindowIterator> FetchAll(int64_t time_from, int64_t time_to) override {
    return FetchAllWindows(*reader_, layout_, horizon_, time_from, time_to);
  }

 private:
  std::unique_ptr<EngineReader> reader_;
  const WindowLayout layout_;
  const int64_t horizon_;
};

class WindowStoreImpl final : public internal::SegmentedStoreBase<WindowStore> {
 public:
  WindowStoreImpl(const StoreOptions& options, std::unique_ptr<StorageEngine> engine,
                  int64_t retention, int64_t interval, bool retain_duplicates)
      : SegmentedStoreBase(
            options.name,
            std::string(retain_duplicates ? kWindowDuplicatesStoreFormat : kWindowStoreFormat),
            std::move(engine), options.changelog_writer, options.description, retention, interval,
            retain_duplicates) {}

  Status Open() { return OpenSegmented(); }

  bool retain_duplicates() const override { return retain_duplicates_flag(); }

  Status Put(std::string_view key, int64_t window_start, std::string_view value,
             int64_t timestamp) override {
    if (window_start < 0) return NegativeTime(window_start);
    if (retain_duplicates_flag()) {
      EncodeWindowKey(key, window_start, TakeSequence(), &scratch_);
    } else {
      EncodeWindowKey(key, window_start, &scratch_);
    }
    // Logged even when expired (as Kafka's change-logging layer above the
    // segments does): the changelog holds every write the task made, e.g. a
    // window's last cached update flushed after the window closed. A restore
    // skips it like any record behind the horizon.
    EVENTFLOW_RETURN_IF_ERROR(Log(scratch_, value, timestamp));
    if (Expired(window_start)) {
      CountSkipped();
      return Status::OK();
    }
    return engine().Put(SegmentId(window_start), scratch_, value);
  }

  Status Delete(std::string_view key, int64_t window_start, int64_t timestamp) override {
    if (retain_duplicates_flag()) return NoDuplicates("Delete");
    if (window_start < 0) return NegativeTime(window_start);
    // Deletes are never skipped: a logged tombstone keeps restores exact.
    EncodeWindowKey(key, window_start, &scratch_);
    EVENTFLOW_RETURN_IF_ERROR(Log(scratch_, std::nullopt, timestamp));
    return engine().Delete(SegmentId(window_start), scratch_);
  }

  Status Fetch(std::string_view key, int64_t window_start, std::string* value) override {
    if (retain_duplicates_flag()) return NoDuplicates("Fetch(key, window_start)");
    if (window_start < 0) return NegativeTime(window_start);
    if (Expired(window_start)) return Status::NotFound("");
    EncodeWindowKey(key, window_start, &scratch_);
    return engine().Get(SegmentId(window_start), scratch_, value);
  }

  Status FetchRetained(std::string_view key, int64_t window_start, std::string* value) override {
    if (retain_duplicates_flag()) return NoDuplicates("FetchRetained(key, window_start)");
    if (window_start < 0) return NegativeTime(window_start);
    EncodeWindowKey(key, window_start, &scratch_);
    return engine().Get(SegmentId(window_start), scratch_, value);
  }

  std::unique_ptr<WindowIterator> Fetch(std::string_view key, int64_t time_from,
                                        int64_t time_to) override {
    return FetchWindows(engine(), Layout(), expiry_horizon(), key, time_from, time_to);
  }

  std::unique_ptr<WindowIterator> FetchAll(int64_t time_from, int64_t time_to) override {
    return FetchAllWindows(engine(), Layout(), expiry_horizon(), time_from, time_to);
  }

  Result<std::unique_ptr<WindowStoreView>> NewCommittedView() override {
    std::unique_ptr<EngineReader> reader = engine().NewCommittedReader();
    Result<int64_t> horizon = internal::CommittedHorizon(*reader, Context());
    if (!horizon.ok()) return horizon.status();
    return std::unique_ptr<WindowStoreView>(
        std::make_unique<WindowViewImpl>(std::move(reader), Layout(), *horizon));
  }

 protected:
  Status DecodeForRestore(std::string_view key, int64_t* time, uint32_t* sequence) override {
    WindowKeyView view;
    EVENTFLOW_RETURN_IF_ERROR(DecodeWindowKey(key, retain_duplicates_flag(), &view));
    *time = view.window_start;
    *sequence = view.sequence;
    return Status::OK();
  }

 private:
  WindowLayout Layout() const { return WindowLayout{segment_interval(), retain_duplicates_flag()}; }
  Status NegativeTime(int64_t time) const {
    return Status::InvalidArgument(Context() + ": negative window start " + std::to_string(time));
  }
  Status NoDuplicates(std::string_view what) const {
    return Status::InvalidArgument(Context() + ": " + std::string(what) +
                                   " is not available with retain_duplicates");
  }

  std::string scratch_;  // the encoded key of the current operation, reused
};

}  // namespace

Result<std::unique_ptr<WindowStore>> OpenWindowStore(const StoreOptions& options,
                                                     const WindowStoreOptions& window_options) {
  Result<int64_t> interval = internal::ResolveSegmentInterval(
      options.name, window_options.retention, window_options.segment_interval);
  if (!interval.ok()) return interval.status();
  Result<std::unique_ptr<StorageEngine>> engine = internal::OpenEngine(options, *interval);
  if (!engine.ok()) return engine.status();
  auto store = std::make_unique<WindowStoreImpl>(options, std::move(*engine),
                                                 window_options.retention.count(), *interval,
                                                 window_options.retain_duplicates);
  EVENTFLOW_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<WindowStore>(std::move(store));
}

}  // namespace eventflow::state
