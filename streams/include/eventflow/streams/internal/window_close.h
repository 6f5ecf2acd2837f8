// When a window is closed: the clock windows close by, and the test. Every
// windowed processor (windowed aggregations, session and sliding windows,
// stream-stream joins, suppression) decides lateness and emission through
// these two functions only; and what a windowed table knows of when its
// windows close (WindowedTableInfo, for Suppress). Not for user code.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

//! Returns the time windows close by: the task's watermark (the minimum over
//! its input partitions of their times, see ProcessorContext::watermark()),
//! which already counts the record being processed in its own partition.
//! `record_time` (the record's event time, -1 in a punctuator) is not used:
//! a record racing ahead in one partition must not close windows another
//! partition still feeds (DESIGN.md "Time"). A record within grace of its own
//! partition's stream time is thus never late here.
template <typename KOut, typename VOut>
int64_t WindowCloseClock(const ProcessorContext<KOut, VOut>& context, int64_t record_time) {
  (void)record_time;
  return context.watermark();
}

//! Returns the time a record's lateness is judged by: the larger of the
//! window-close clock and the stream time of the record's own input partition
//! (ProcessorContext::record_partition_time(), carried through repartition
//! topics). A record within grace of its own partition's stream time is never
//! late; one beyond it is late whatever other partitions do — so records far
//! beyond grace are excluded deterministically, not only once every partition
//! has caught up. The watermark is never later than the record's own partition
//! time, so a window closed on the watermark takes no more records. Used for
//! the drop decision of windowed aggregations and stream-join windows; windows
//! still close (emit, expire) by WindowCloseClock alone. `record_time` is the
//! record's event time (-1 outside a record: then the window-close clock).
template <typename KOut, typename VOut>
int64_t LatenessClock(const ProcessorContext<KOut, VOut>& context, int64_t record_time) {
  const int64_t clock = WindowCloseClock(context, record_time);
  if (record_time < 0) return clock;
  return std::max(clock, context.record_partition_time());
}

//! Returns whether the window ending at `window_end` (exclusive) with `grace`
//! is closed at `now` (a WindowCloseClock value): end + grace <= now.
inline bool WindowClosed(int64_t window_end, int64_t grace, int64_t now) {
  return window_end + grace <= now;
}

//! Set by Suppress(UntilWindowCloses) on the caching windowed aggregations
//! upstream of it, read when a task creates the aggregation's processor: it
//! then flushes its record cache at the punctuation where a window closes
//! (see KStreamWindowAggregate), so that no update of a closed window still
//! waits in the cache when the suppression emits the window.
struct CacheFlushOnClose {
  bool enabled = false;  //!< flush the cache as windows close
};

//! What a windowed table knows of its windows, from the windowed
//! aggregations it comes from (Kafka finds the same by walking the graph up
//! to them): the window of a key Windowed<K>{k, start, end} is final once
//! the window-close clock reaches end + close_after_end_ms — no record can
//! change it any more. A table joined from two windowed tables closes at
//! the later of both sides' times.
struct WindowedTableInfo {
  //! Added to a key's window end for the time it closes: grace for time
  //! windows, 1 + grace for sliding windows (inclusive ends), gap + 1 +
  //! grace for sessions.
  int64_t close_after_end_ms = 0;
  //! The caching aggregations upstream whose cache must flush as windows
  //! close for a Suppress(UntilWindowCloses) to see every update in time.
  std::vector<std::shared_ptr<CacheFlushOnClose>> caches;
};

//! Returns what the join of two windowed tables knows of its windows: they
//! close at the later of both sides' times; nullptr unless both sides know.
std::shared_ptr<const WindowedTableInfo> JoinedWindowedTableInfo(
    const std::shared_ptr<const WindowedTableInfo>& left,
    const std::shared_ptr<const WindowedTableInfo>& right);

}  // namespace eventflow::streams::internal
