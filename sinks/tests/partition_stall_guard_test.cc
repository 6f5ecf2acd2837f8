// The sink's stall guard decisions (sinks/src/partition_stall_guard.h) on a
// clock driven by the test: no broker, no sleeps.
#include "partition_stall_guard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <vector>

namespace eventflow::sinks {
namespace {

using namespace std::chrono_literals;
using Guard = PartitionStallGuard;
using Verdict = Guard::Verdict;
using Clock = Guard::Clock;

// A guard and a clock: Wait(d) waits `d` in steps of 100 ms (as a sink polls),
// running a round whenever one is due for each partition through `round`.
class Harness {
 public:
  explicit Harness(std::chrono::milliseconds timeout) : guard(timeout) { guard.Resume(now); }

  template <typename F>
  void Wait(Clock::duration d, F round) {
    for (Clock::duration left = d; left > Clock::duration::zero(); left -= 100ms) {
      now += 100ms;
      if (guard.Tick(now)) round();
    }
  }
  void Wait(Clock::duration d) {
    Wait(d, [] {});
  }
  // Away (writing to PostgreSQL, say) for `d`: not waiting time.
  void Away(Clock::duration d) {
    now += d;
    guard.Resume(now);
  }

  Guard guard;
  Clock::time_point now = Clock::time_point{} + 1h;
};

TEST(PartitionStallGuardTest, OffWhenTheTimeoutIsZero) {
  Harness h(0ms);
  EXPECT_FALSE(h.guard.enabled());
  int rounds = 0;
  h.Wait(60s, [&] { ++rounds; });
  EXPECT_EQ(rounds, 0);
}

TEST(PartitionStallGuardTest, RoundsComeOnceASecondOrFasterForShortTimeouts) {
  {
    Harness h(30s);
    int rounds = 0;
    h.Wait(10s, [&] { ++rounds; });
    EXPECT_EQ(rounds, 10);
    EXPECT_EQ(h.guard.query_interval(), 10s);
  }
  {
    Harness h(900ms);  // a third: 300 ms
    int rounds = 0;
    h.Wait(3s, [&] { ++rounds; });
    EXPECT_EQ(rounds, 10);
    EXPECT_EQ(h.guard.query_interval(), 300ms);
  }
}

TEST(PartitionStallGuardTest, APartitionThatMovesIsNeverAsked) {
  Harness h(3s);
  Guard::Watch w;
  int64_t position = 100;
  h.guard.Reset(&w, position);
  int asked = 0;
  h.Wait(60s, [&] {
    position += 7;  // records arrived since the last round
    asked += h.guard.WantsEnd(&w, position) ? 1 : 0;
  });
  EXPECT_EQ(asked, 0);
}

TEST(PartitionStallGuardTest, AnIdlePartitionIsAskedOncePerQueryIntervalAndIsFine) {
  Harness h(30s);  // query interval 10 s
  Guard::Watch w;
  h.guard.Reset(&w, 50);
  std::vector<int> asked_at;
  int second = 0;
  h.Wait(60s, [&] {
    ++second;
    if (h.guard.WantsEnd(&w, 50)) {
      asked_at.push_back(second);
      EXPECT_EQ(h.guard.Judge(&w, 50, 50), Verdict::kFine);
    }
  });
  EXPECT_EQ(asked_at, (std::vector<int>{10, 20, 30, 40, 50, 60}));
  EXPECT_FALSE(w.stalled);
}

TEST(PartitionStallGuardTest, RecordsProducedAMomentAgoGetAWholeTimeoutToArrive) {
  Harness h(3s);  // query interval 1 s
  Guard::Watch w;
  int64_t position = 10;
  h.guard.Reset(&w, position);
  std::vector<Verdict> verdicts;
  // Idle for a while; then the end moves to 20 and the records arrive 2.5 s
  // later (slow, but within the time-out).
  int round = 0;
  h.Wait(10s, [&] {
    ++round;
    const int64_t end = round >= 5 ? 20 : 10;
    if (round == 8) position = 20;  // 3 rounds after the end moved
    if (h.guard.WantsEnd(&w, position)) verdicts.push_back(h.guard.Judge(&w, position, end));
  });
  for (Verdict v : verdicts) {
    EXPECT_TRUE(v == Verdict::kFine || v == Verdict::kLagging) << static_cast<int>(v);
  }
  EXPECT_NE(std::find(verdicts.begin(), verdicts.end(), Verdict::kLagging), verdicts.end());
  EXPECT_FALSE(w.stalled);
}

TEST(PartitionStallGuardTest, NothingArrivingForATimeoutIsAStallRestartedEveryTimeoutUntilItMoves) {
  Harness h(3s);
  Guard::Watch w;
  int64_t position = 10;
  h.guard.Reset(&w, position);
  const int64_t end = 500;  // records past the position from the start
  std::vector<std::pair<double, Verdict>> verdicts;
  double t = 0;
  h.Wait(12s, [&] {
    t += 1;
    if (h.guard.WantsEnd(&w, position)) {
      const Verdict v = h.guard.Judge(&w, position, end);
      if (v != Verdict::kLagging) verdicts.push_back({t, v});
    }
  });
  // Asked first after a query interval (1 s) of no movement: lagging seen at
  // 1 s; stalled once a whole time-out later (4 s), then again every 3 s.
  ASSERT_EQ(verdicts.size(), 3u);
  EXPECT_EQ(verdicts[0], std::make_pair(4.0, Verdict::kStalled));
  EXPECT_EQ(verdicts[1], std::make_pair(7.0, Verdict::kStillStalled));
  EXPECT_EQ(verdicts[2], std::make_pair(10.0, Verdict::kStillStalled));
  EXPECT_TRUE(w.stalled);
  EXPECT_EQ(h.guard.Still(w), 12s);
  // The restart worked: a record arrives, the partition is no longer stalled.
  EXPECT_FALSE(h.guard.WantsEnd(&w, position + 1));
  EXPECT_FALSE(w.stalled);
}

TEST(PartitionStallGuardTest, TimeAwayFromPollingDoesNotCount) {
  Harness h(3s);
  Guard::Watch w;
  h.guard.Reset(&w, 10);
  int stalls = 0;
  auto round = [&] {
    if (h.guard.WantsEnd(&w, 10) && h.guard.Judge(&w, 10, 99) == Verdict::kStalled) ++stalls;
  };
  // Lag seen, then long writes to PostgreSQL between short waits: 2.5 s of
  // waiting in all, whatever the wall-clock time.
  h.Wait(1500ms, round);
  for (int i = 0; i < 5; ++i) {
    h.Away(60s);
    h.Wait(200ms, round);
  }
  EXPECT_EQ(stalls, 0);
  h.Wait(4s, round);
  EXPECT_EQ(stalls, 1);
}

TEST(PartitionStallGuardTest, AProcessStoppedMidWaitCountsOneSecond) {
  Harness h(3s);
  Guard::Watch w;
  h.guard.Reset(&w, 10);
  int stalls = 0;
  auto round = [&] {
    if (h.guard.WantsEnd(&w, 10) && h.guard.Judge(&w, 10, 99) == Verdict::kStalled) ++stalls;
  };
  h.Wait(1500ms, round);  // lag seen
  // SIGSTOP for a minute while waiting: the next Tick sees a 60 s gap.
  h.now += 60s;
  if (h.guard.Tick(h.now)) round();
  EXPECT_EQ(stalls, 0);
  EXPECT_LT(h.guard.Still(w), 3s);
  h.Wait(4s, round);
  EXPECT_EQ(stalls, 1);
}

TEST(PartitionStallGuardTest, PostponeHoldsTheNextRound) {
  Harness h(30s);
  int rounds = 0;
  h.Wait(1s, [&] {
    ++rounds;
    h.guard.Postpone();  // the broker did not answer
  });
  EXPECT_EQ(rounds, 1);
  h.Wait(9s, [&] { ++rounds; });
  EXPECT_EQ(rounds, 1);
  h.Wait(1s, [&] { ++rounds; });
  EXPECT_EQ(rounds, 2);
}

// Random partitions against two properties stated from the time-out alone:
// no stall verdict while records arrived within the last time-out, and a
// partition that stops receiving while records wait is judged stalled within
// the time-out plus two query intervals and two rounds.
TEST(PartitionStallGuardTest, RandomSchedulesMeetTheBounds) {
  std::mt19937_64 rng(20261207);
  int runs_with_a_stall = 0;
  for (int run = 0; run < 200; ++run) {
    const auto timeout = std::chrono::milliseconds(1000 + rng() % 20'000);
    Harness h(timeout);
    Guard::Watch w;
    int64_t position = 0;
    int64_t end = 0;
    h.guard.Reset(&w, position);
    Clock::duration waited{};
    Clock::duration last_move{};
    std::optional<Clock::duration> stuck_since;  // records waiting, none arriving
    bool stalled_seen = false;
    const bool will_stall = rng() % 2 == 0;
    const auto stall_at = std::chrono::milliseconds(rng() % 30'000);
    // Lag first seen within a query interval and a round (plus a poll step)
    // of the stop; judged at the first question a time-out after that, and
    // questions come every query interval rounded up to a round.
    const Clock::duration bound =
        timeout + 2 * (h.guard.query_interval() + h.guard.round() + 100ms);
    for (int step = 0; step < 1000; ++step) {
      if (rng() % 50 == 0) h.Away(std::chrono::seconds(rng() % 20));  // not waiting time
      h.now += 100ms;
      waited += 100ms;
      if (rng() % 10 == 0) end += 1 + static_cast<int64_t>(rng() % 5);  // produced
      const bool stopped = will_stall && waited >= stall_at;
      if (!stopped && position < end && rng() % 3 == 0) {  // delivered
        position = std::min(end, position + 1 + static_cast<int64_t>(rng() % 3));
        last_move = waited;
      }
      if (stopped && position < end && !stuck_since) stuck_since = waited;
      if (h.guard.Tick(h.now) && h.guard.WantsEnd(&w, position)) {
        const Verdict v = h.guard.Judge(&w, position, end);
        if (v == Verdict::kStalled || v == Verdict::kStillStalled) {
          EXPECT_GE(waited - last_move, timeout) << "run " << run << " step " << step;
          stalled_seen = true;
        }
      }
      if (stuck_since && !stalled_seen) {
        ASSERT_LE(waited - *stuck_since, bound) << "run " << run << " step " << step;
      }
    }
    if (stuck_since && waited - *stuck_since > bound) {
      EXPECT_TRUE(stalled_seen) << "run " << run;
    }
    runs_with_a_stall += stalled_seen ? 1 : 0;
  }
  // About half the runs stop delivering; most of those long enough.
  EXPECT_GT(runs_with_a_stall, 60);
}

}  // namespace
}  // namespace eventflow::sinks
