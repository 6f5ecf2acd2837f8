// When a window is closed: the clock windows close by, and the test. Every
// windowed processor (windowed aggregations, session and sliding windows,
// stream-stream joins) decides lateness and emission through these two
// functions only. Not for user code.
#pragma once

#include <algorithm>
#include <cstdint>

#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

//! Returns the time windows close by: today the task's stream time (the
//! largest event time processed), counting `record_time`, the record being
//! processed (-1 in a punctuator). DESIGN.md's watermark replaces stream time
//! here, and only here: this body is the one line to change.
template <typename KOut, typename VOut>
int64_t WindowCloseClock(const ProcessorContext<KOut, VOut>& context, int64_t record_time) {
  return std::max(context.stream_time(), record_time);
}

//! Returns whether the window ending at `window_end` (exclusive) with `grace`
//! is closed at `now` (a WindowCloseClock value): end + grace <= now.
inline bool WindowClosed(int64_t window_end, int64_t grace, int64_t now) {
  return window_end + grace <= now;
}

}  // namespace eventflow::streams::internal
