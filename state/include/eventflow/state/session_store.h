// SessionStore: values keyed by session (key, start, end), kept for a retention
// period after the session ends.
//
// The store behind session windows: a new record for a key finds the sessions
// it touches (FindSessions), merges them, Removes them and Puts the merged one.
// Times are non-negative ms; a session covers [start, end], start <= end. Reads
// see pending writes; segments and expiry are by session END
// (segmented_store.h).
//
// Iteration order (one key): by end, then start. FindSessionsByEnd (all keys):
// by segment, then key, end, start.
//
// Changelog format: key = EncodeSessionKey(key, start, end) (store_keys.h),
// value = the session's value, tombstone on Remove.
//
// ON-DISK LAYOUT: <state_dir>/<application_id>/<task_id>/<store_name>/ with one
// column family per segment (by session end) holding encoded session keys.
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

//! Settings of a session store; plain values.
struct SessionStoreOptions {
  //! How long a session is kept after stream time passes its end; must be >=
  //! inactivity gap + grace. Default 1 day.
  std::chrono::milliseconds retention = std::chrono::hours(24);
  //! Segment length; 0 means DefaultSegmentInterval(retention). Must not change
  //! for an existing store.
  std::chrono::milliseconds segment_interval{0};
};

//! A forward cursor over sessions. Lifecycle and thread-safety as KeyValueIterator.
class SessionIterator {
 public:
  virtual ~SessionIterator() = default;
  //! Returns true while positioned on a session.
  virtual bool Valid() const = 0;
  //! Moves to the next session; only call when Valid().
  virtual void Next() = 0;
  //! Returns the current user key; only call when Valid().
  virtual std::string_view key() const = 0;
  //! Returns the current session's start in ms; only call when Valid().
  virtual int64_t start() const = 0;
  //! Returns the current session's end in ms; only call when Valid().
  virtual int64_t end() const = 0;
  //! Returns the current value; only call when Valid().
  virtual std::string_view value() const = 0;
  //! Returns OK, or the error that ended the iteration early.
  virtual Status status() const = 0;
};

//! A read-only view of a session store's committed state (sessions ending
//! before the committed expiry horizon are hidden), for another thread
//! (interactive queries); see "THREAD-SAFETY" in state_store.h. Iterators
//! must not outlive the view.
class SessionStoreView {
 public:
  virtual ~SessionStoreView() = default;
  //! As SessionStore::FindSessions, on the committed state.
  virtual std::unique_ptr<SessionIterator> FindSessions(std::string_view key, int64_t earliest_end,
                                                        int64_t latest_start) = 0;
  //! As SessionStore::FetchAll(key), on the committed state.
  virtual std::unique_ptr<SessionIterator> FetchAll(std::string_view key) = 0;
};

//! Sessions per key with time-based retention (see file comment).
class SessionStore : public SegmentedStore {
 public:
  //! Stores `value` for session (key, start, end), logging it first. A session
  //! ending before the horizon is logged but not stored (OK, counted). Returns
  //! InvalidArgument for negative times or start > end.
  virtual Status Put(std::string_view key, int64_t start, int64_t end, std::string_view value,
                     int64_t timestamp) = 0;

  //! Removes session (key, start, end); logged as a tombstone.
  virtual Status Remove(std::string_view key, int64_t start, int64_t end, int64_t timestamp) = 0;

  //! Copies the value of session (key, start, end) into *value. Returns OK or NotFound.
  virtual Status FetchSession(std::string_view key, int64_t start, int64_t end,
                              std::string* value) = 0;

  //! Returns key's sessions with end >= earliest_end and start <= latest_start,
  //! i.e. those overlapping [earliest_end, latest_start] when earliest_end <=
  //! latest_start; for merging a record at time t with gap g, pass (t - g, t + g).
  virtual std::unique_ptr<SessionIterator> FindSessions(std::string_view key, int64_t earliest_end,
                                                        int64_t latest_start) = 0;

  //! Returns the live sessions of every key with earliest_end <= end <=
  //! latest_end (Kafka's findSessions(earliestEnd, latestEnd)), in segment
  //! order, then by key, end, start: what session windows emit on close.
  virtual std::unique_ptr<SessionIterator> FindSessionsByEnd(int64_t earliest_end,
                                                             int64_t latest_end) = 0;

  //! Returns all of key's live sessions.
  virtual std::unique_ptr<SessionIterator> FetchAll(std::string_view key) = 0;

  //! Returns a view of the committed state as of now; may be called from any
  //! thread while the store is alive (see state_store.h). Returns the error
  //! reading the committed expiry horizon.
  virtual Result<std::unique_ptr<SessionStoreView>> NewCommittedView() = 0;
};

//! Opens (creating if needed) a session store. Errors as OpenWindowStore.
Result<std::unique_ptr<SessionStore>> OpenSessionStore(const StoreOptions& options,
                                                       const SessionStoreOptions& session_options);

}  // namespace eventflow::state
