// WindowStore: values keyed by (key, window start), kept for a retention period.
//
// The store behind windowed aggregations (one value per key and window) and,
// with retain_duplicates, behind KStream-KStream joins (every record of a key at
// a time, in arrival order). Keys and values are bytes. Times are non-negative
// ms; window start ranges are inclusive at both ends, as in Kafka. Reads see
// pending writes; expiry is by window start (segmented_store.h).
//
// Iteration order: Fetch(key, from, to) is in window-start order (duplicates in
// arrival order). FetchAll is ordered by segment, then by (key length, key
// bytes), then window start: time-ordered only at segment granularity.
//
// Changelog format: key = EncodeWindowKey(key, window_start[, seq]) (see
// store_keys.h), value = the value, tombstone on Delete.
//
// ON-DISK LAYOUT: <state_dir>/<application_id>/<task_id>/<store_name>/ with one
// column family per segment holding the encoded window keys; see
// store_options.h and store_keys.h.
//
// Thread-safety and ownership: see state_store.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"
#include "eventflow/state/segmented_store.h"
#include "eventflow/state/store_options.h"

namespace eventflow::state {

//! Settings of a window store; plain values.
struct WindowStoreOptions {
  //! How long a window is kept after stream time passes its start; must be
  //! >= window size + grace. Default 1 day (Kafka's default).
  std::chrono::milliseconds retention = std::chrono::hours(24);
  //! Segment length; 0 means DefaultSegmentInterval(retention). Must not change
  //! for an existing store (Open returns InvalidArgument).
  std::chrono::milliseconds segment_interval{0};
  //! Keep every Put of the same (key, window start) instead of overwriting
  //! (stream-stream joins). Then Delete and the point Fetch are not available.
  //! Default false.
  bool retain_duplicates = false;
};

//! A forward cursor over windows (see WindowStore for the order). Lifecycle
//! and thread-safety as KeyValueIterator.
class WindowIterator {
 public:
  virtual ~WindowIterator() = default;
  //! Returns true while positioned on a window.
  virtual bool Valid() const = 0;
  //! Moves to the next window; only call when Valid().
  virtual void Next() = 0;
  //! Returns the current user key; only call when Valid().
  virtual std::string_view key() const = 0;
  //! Returns the current window start in ms; only call when Valid().
  virtual int64_t window_start() const = 0;
  //! Returns the current value; only call when Valid().
  virtual std::string_view value() const = 0;
  //! Returns OK, or the error that ended the iteration early.
  virtual Status status() const = 0;
};

//! A read-only view of a window store's committed state (windows before the
//! committed expiry horizon are hidden), for another thread (interactive
//! queries); see "THREAD-SAFETY" in state_store.h. Iterators must not outlive
//! the view.
class WindowStoreView {
 public:
  virtual ~WindowStoreView() = default;
  //! As WindowStore::Fetch(key, time_from, time_to), on the committed state.
  virtual std::unique_ptr<WindowIterator> Fetch(std::string_view key, int64_t time_from,
                                                int64_t time_to) = 0;
  //! As WindowStore::FetchAll, on the committed state.
  virtual std::unique_ptr<WindowIterator> FetchAll(int64_t time_from, int64_t time_to) = 0;
};

//! Values per (key, window start) with time-based retention (see file comment).
class WindowStore : public SegmentedStore {
 public:
  //! Stores `value` for (key, window_start), logging it first (with
  //! `timestamp`). A window before the expiry horizon is logged but not
  //! stored (OK, counted as skipped).
  //! Returns InvalidArgument for a negative window start.
  virtual Status Put(std::string_view key, int64_t window_start, std::string_view value,
                     int64_t timestamp) = 0;

  //! Deletes (key, window_start). Returns InvalidArgument with retain_duplicates.
  virtual Status Delete(std::string_view key, int64_t window_start, int64_t timestamp) = 0;

  //! Copies the value of (key, window_start) into *value. Returns OK, NotFound
  //! (also when expired), or InvalidArgument with retain_duplicates.
  virtual Status Fetch(std::string_view key, int64_t window_start, std::string* value) = 0;

  //! As Fetch, but also finds a window behind the expiry horizon whose segment
  //! has not been dropped yet (segments go at the next Commit): what a
  //! windowed-table join reads when the other table's cached update for a
  //! window reaches it, at the commit's cache flush, after this store's window
  //! closed during the same commit interval.
  virtual Status FetchRetained(std::string_view key, int64_t window_start, std::string* value) = 0;

  //! Returns key's windows with start in [time_from, time_to], oldest first.
  virtual std::unique_ptr<WindowIterator> Fetch(std::string_view key, int64_t time_from,
                                                int64_t time_to) = 0;

  //! Returns every key's windows with start in [time_from, time_to].
  virtual std::unique_ptr<WindowIterator> FetchAll(int64_t time_from, int64_t time_to) = 0;

  //! Returns whether the store keeps duplicates.
  virtual bool retain_duplicates() const = 0;

  //! Returns a view of the committed state as of now; may be called from any
  //! thread while the store is alive (see state_store.h). Returns the error
  //! reading the committed expiry horizon.
  virtual Result<std::unique_ptr<WindowStoreView>> NewCommittedView() = 0;
};

//! Opens (creating if needed) a window store. Returns InvalidArgument for a bad
//! option (naming it) or a directory holding another kind of store or another
//! segment interval; IOError or Corruption from RocksDB, naming the store.
Result<std::unique_ptr<WindowStore>> OpenWindowStore(const StoreOptions& options,
                                                     const WindowStoreOptions& window_options);

}  // namespace eventflow::state
