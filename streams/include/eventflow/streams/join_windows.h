// JoinWindows: how far apart in event time two records of a KStream–KStream
// join may be, and how long out-of-order records are accepted (Kafka's
// JoinWindows).
//
//   // orders joined with the views of the same user in the 5 minutes before:
//   JoinWindows::OfTimeDifferenceAndGrace(std::chrono::minutes(5), std::chrono::seconds(30))
//       .After(std::chrono::milliseconds(0));
//
// A record of the left stream at time t joins every right record of its key
// with a time in [t - before, t + after] (both ends inclusive); symmetrically
// a right record at t joins the left records in [t - after, t + before].
// OfTimeDifference...(d) sets before = after = d; Before()/After() change one
// bound. Both bounds must be >= 0 (Kafka also accepts one negative bound; we
// do not) and the grace >= 0; Validate() checks this, and the DSL reports a
// bad value as a topology error naming it.
//
// Grace and closing (see internal/stream_stream_join.h for the details): a
// record is LATE, dropped and counted (dropped_late), when its time + grace
// is before the window-close clock (internal/window_close.h); an unmatched
// record of a left/outer join gets its null-joined result when no record that
// could still match it can arrive: for a left record when the clock passes
// t + after + grace, for a right record when it passes t + before + grace.
//
// Thread-safety: a plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "eventflow/core/status.h"

namespace eventflow::streams {

//! The time bounds and grace of a stream–stream join (see the file comment).
class JoinWindows {
 public:
  //! Returns windows of +/- `difference` that accept records `grace` late.
  static JoinWindows OfTimeDifferenceAndGrace(std::chrono::milliseconds difference,
                                              std::chrono::milliseconds grace) {
    return JoinWindows(difference.count(), difference.count(), grace.count());
  }
  //! Returns windows of +/- `difference` without grace (a record older than
  //! the window-close clock is late).
  static JoinWindows OfTimeDifferenceWithNoGrace(std::chrono::milliseconds difference) {
    return JoinWindows(difference.count(), difference.count(), 0);
  }
  //! Returns a copy in which a left record joins right records up to
  //! `before` earlier than itself.
  JoinWindows Before(std::chrono::milliseconds before) const {
    return JoinWindows(before.count(), after_, grace_);
  }
  //! Returns a copy in which a left record joins right records up to
  //! `after` later than itself.
  JoinWindows After(std::chrono::milliseconds after) const {
    return JoinWindows(before_, after.count(), grace_);
  }

  //! Returns the "before" bound in ms.
  int64_t before_ms() const { return before_; }
  //! Returns the "after" bound in ms.
  int64_t after_ms() const { return after_; }
  //! Returns the grace period in ms.
  int64_t grace_ms() const { return grace_; }
  //! Returns before + after: the span of one record's join window (Kafka's size()).
  int64_t size_ms() const { return before_ + after_; }

  //! Returns OK, or InvalidArgument naming the bad value: before >= 0,
  //! after >= 0, grace >= 0.
  Status Validate() const {
    if (before_ < 0 || after_ < 0) {
      return Status::InvalidArgument(
          "JoinWindows: the time bounds must not be negative, got before = " +
          std::to_string(before_) + " ms, after = " + std::to_string(after_) + " ms");
    }
    if (grace_ < 0) {
      return Status::InvalidArgument("JoinWindows: the grace period must not be negative, got " +
                                     std::to_string(grace_) + " ms");
    }
    return Status::OK();
  }

 private:
  JoinWindows(int64_t before, int64_t after, int64_t grace)
      : before_(before), after_(after), grace_(grace) {}

  int64_t before_;
  int64_t after_;
  int64_t grace_;
};

}  // namespace eventflow::streams
