// SegmentedStore: retention by time for window and session stores.
//
// Entries of a window store (by window start) or a session store (by session
// end) are grouped into time SEGMENTS of `segment_interval` ms: segment k holds
// times [k * interval, (k + 1) * interval). Each segment of a RocksDB store is
// one column family ("segment.<k * interval>", see store_options.h), so expiring
// old data drops whole column families instead of deleting key by key.
//
// The EXPIRY HORIZON is the earliest time still alive; it starts at 0 and only
// moves forward, when the owner calls AdvanceStreamTime(t) (horizon = t -
// retention + 1, as Kafka computes it) or ExpireBefore(t) (horizon = t). From
// that moment reads hide older entries and writes to them are skipped (counted
// by expired_records_skipped()); at the next Commit the horizon is stored with
// the data and every segment entirely before it is dropped. (Dropping at commit,
// not at once, keeps Abort exact: an aborted transaction's expiry is undone.)
//
// Writes do NOT advance the horizon (Kafka's stores do, by the largest time
// put). The runtime advances it with the task's watermark, so a partition that
// is behind never finds its windows expired by another partition's progress.
//
// Thread-safety and ownership: see state_store.h.
#pragma once

#include <chrono>
#include <cstdint>

#include "eventflow/core/status.h"
#include "eventflow/state/state_store.h"

namespace eventflow::state {

//! Kafka's default segment interval: max(retention / 2, 60 s).
std::chrono::milliseconds DefaultSegmentInterval(std::chrono::milliseconds retention);

//! A store whose entries expire by time (see file comment).
class SegmentedStore : public StateStore {
 public:
  //! Moves the horizon to stream_time - retention + 1 if that is later. Returns
  //! OK (reserved for future I/O).
  virtual Status AdvanceStreamTime(int64_t stream_time) = 0;

  //! Moves the horizon to `time` if that is later: entries before it expire.
  virtual Status ExpireBefore(int64_t time) = 0;

  //! Returns the current (pending) horizon in ms; entries before it are gone.
  virtual int64_t expiry_horizon() const = 0;

  //! Returns the retention in ms.
  virtual int64_t retention() const = 0;

  //! Returns the segment interval in ms.
  virtual int64_t segment_interval() const = 0;

  //! Returns the number of live segments (committed or pending).
  virtual size_t num_segments() const = 0;

  //! Returns how many writes were skipped because their time was before the
  //! horizon, since the store was opened.
  virtual uint64_t expired_records_skipped() const = 0;
};

}  // namespace eventflow::state
