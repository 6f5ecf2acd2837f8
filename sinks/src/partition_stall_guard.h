// PartitionStallGuard: when is one of a consumer's assigned partitions
// stalled? The decisions of the sink's stall guard (private to
// eventflow::sinks; PgSink asks the broker and restarts fetches, this class
// only judges).
//
// A partition is stalled when the broker has records past the consumer's
// position and none arrived from it for `timeout`. librdkafka 2.0.2 can stop
// delivering a partition without any error: a fetcher left stopped after an
// operation it refused, or records fetched and then discarded as "outdated"
// because an operation (a seek that met a fetch start or stop) bumped the
// partition's version without reaching its fetcher. In the second case the
// fetcher keeps fetching, so its cached high watermark stays current: only
// what *arrives* tells, which is what this guard watches.
//
// Time here is waiting time: only the time the owner spends waiting for
// records counts (Resume() when it starts waiting, Tick() as it waits; a gap
// of more than a second between two Ticks counts as one: the process was
// stopped or starved). A sink busy writing to PostgreSQL, or asking the
// broker, or stopped by SIGSTOP, does not see its own absence as a stall, and
// records queued in the client behind other partitions' drain in little
// waiting time.
//
// Use, per partition a Watch (reset with Reset() on assignment):
//   1. Tick(now) after each poll says when a round is due (once a second of
//      waiting time, or a third of a short time-out).
//   2. In a round, WantsEnd(watch, position) says whether to ask the
//      partition's end now: its position has not moved for a query interval
//      (a third of the time-out, between 100 ms and 10 s), and its end was not
//      asked within one.
//   3. Judge(watch, position, end), with the end asked fresh (the last stable
//      offset under read_committed):
//        kFine         nothing past the position (an idle partition);
//        kLagging      records past the position, first seen less than a
//                      time-out ago (e.g. produced a moment ago, in flight);
//        kStalled      still nothing arrived a whole time-out after records
//                      were first seen past the position: restart its fetch;
//        kStillStalled a further time-out since the last verdict: restart again.
//      Any movement of the position clears all of this.
//
// Thread-safety: none; the sink's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace eventflow::sinks {

class PartitionStallGuard {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;

  //! One partition's state (kept by the owner beside its position).
  struct Watch {
    int64_t position = -1;   //!< the position when last looked at
    Duration still_since{};  //!< waiting time when it last moved or was found at the end
    Duration next_ask{};     //!< its end is not asked again before this waiting time
    std::optional<Duration> lag_seen;  //!< waiting time when records were first seen past it
    int64_t lag_end = -1;    //!< the end seen then
    bool stalled = false;    //!< judged stalled, and not moved since
  };

  enum class Verdict { kFine, kLagging, kStalled, kStillStalled };

  //! `timeout` zero turns the guard off (Tick() never says a round is due).
  explicit PartitionStallGuard(std::chrono::milliseconds timeout);

  //! Whether the guard runs (a positive time-out).
  bool enabled() const { return timeout_.count() > 0; }

  //! The owner starts waiting for records at `now`; the time since the last
  //! Tick() or Resume() does not count.
  void Resume(Clock::time_point now) { last_ = now; }

  //! Counts the time since the last Tick() or Resume() as waiting time (at
  //! most a second). Returns true when a round is due.
  bool Tick(Clock::time_point now);

  //! No round before a query interval of waiting time (the broker did not
  //! answer: ask again later, not at once).
  void Postpone() { next_round_ = waited_ + query_interval_; }

  //! Starts watching a partition (newly assigned) at `position`.
  void Reset(Watch* w, int64_t position) const;

  //! Returns whether the partition's end should be asked now (see file comment).
  bool WantsEnd(Watch* w, int64_t position) const;

  //! Judges the partition at `position` against its `end`, asked just now.
  Verdict Judge(Watch* w, int64_t position, int64_t end) const;

  //! Returns how long (waiting time) the partition's position has not moved.
  Duration Still(const Watch& w) const { return waited_ - w.still_since; }

  std::chrono::milliseconds timeout() const { return timeout_; }
  Duration query_interval() const { return query_interval_; }
  Duration round() const { return round_; }

 private:
  // Notes a movement of the position: everything judged so far is void.
  void Observe(Watch* w, int64_t position) const;

  const std::chrono::milliseconds timeout_;
  const Duration query_interval_;
  const Duration round_;
  Clock::time_point last_{};
  Duration waited_{};
  Duration next_round_;
};

}  // namespace eventflow::sinks
