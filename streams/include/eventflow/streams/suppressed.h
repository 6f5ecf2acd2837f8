// Suppressed and BufferConfig: the options of KTable::Suppress (Kafka's
// Suppressed and Suppressed.BufferConfig) — hold back a table's updates and
// forward only the latest per key, either when its window has closed
// (final results) or when a time limit has passed.
//
//   // One final count per (user, 5-minute window), once the window closed:
//   counts.Suppress(Suppressed::UntilWindowCloses(BufferConfig::Unbounded())
//                       .WithName("final-counts"))
//       .ToStream()
//       .To("final-counts");
//
//   // At most one update per key per 10 s of stream time:
//   table.Suppress(Suppressed::UntilTimeLimit(std::chrono::seconds(10),
//                                             BufferConfig::MaxRecords(10000)))
//
// UntilWindowCloses (windowed tables only, KTable<Windowed<K>, V>, from a
// windowed aggregation or derived from one): each key's latest update is
// held until its window closes — the window-close clock (the task's
// watermark, see internal/window_close.h) reaches the window's end plus the
// grace period of the windowed aggregation(s) it comes from, found as Kafka
// finds it (for sliding windows and sessions with their inclusive ends and
// the session gap counted, see WindowedTableInfo) — and then forwarded,
// once. A window whose latest update is a tombstone forwards nothing. Since
// the windowed aggregation drops records for closed windows, the forwarded
// result is final: it never changes afterwards. The buffer must be strict
// (Unbounded, or ShutDownWhenFull): emitting early would break the promise.
//
// UntilTimeLimit(wait): a key's update is held until the window-close clock
// reaches the time of the first update buffered for it plus `wait`; later
// updates of the key replace its value but do not restart the wait (Kafka's
// "non-resetting" buffer). Then its latest value is forwarded — tombstones
// too. An update that arrives when its time + wait has already passed goes
// on at once.
//
// Buffer: a key-value state store, changelogged like every store (unless
// WithLoggingDisabled), so buffered updates survive restarts and moves to
// other instances; under exactly-once, a forwarded record and the removal of
// its buffer entry are in the same transaction. MaxRecords / MaxBytes bound
// it: when full, EmitEarlyWhenFull (the default for a bounded buffer)
// forwards the entries due first before their time, ShutDownWhenFull stops
// the task with an error naming the node.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace eventflow::streams {

//! How much a suppression may buffer, and what happens when that is
//! exceeded (Kafka's Suppressed.BufferConfig). Plain values.
struct BufferConfig {
  //! What a full buffer does.
  enum class WhenFull {
    kEmitEarly,  //!< forward the entries due first, before their time
    kShutDown,   //!< stop the task with an error
  };

  //! Returns a buffer without bounds (strict: never emits early).
  static BufferConfig Unbounded() { return BufferConfig{}; }
  //! Returns a buffer of at most `n` keys that emits early when full.
  static BufferConfig MaxRecords(int64_t n) {
    BufferConfig config;
    config.max_records = n;
    config.when_full = WhenFull::kEmitEarly;
    return config;
  }
  //! Returns a buffer of at most `bytes` bytes (keys, values and 18 bytes of
  //! bookkeeping per entry) that emits early when full.
  static BufferConfig MaxBytes(int64_t bytes) {
    BufferConfig config;
    config.max_bytes = bytes;
    config.when_full = WhenFull::kEmitEarly;
    return config;
  }
  //! Returns a copy bounded to `n` keys.
  BufferConfig WithMaxRecords(int64_t n) const {
    BufferConfig config = *this;
    config.max_records = n;
    return config;
  }
  //! Returns a copy bounded to `bytes` bytes.
  BufferConfig WithMaxBytes(int64_t bytes) const {
    BufferConfig config = *this;
    config.max_bytes = bytes;
    return config;
  }
  //! Returns a copy that emits the entries due first when full.
  BufferConfig EmitEarlyWhenFull() const {
    BufferConfig config = *this;
    config.when_full = WhenFull::kEmitEarly;
    return config;
  }
  //! Returns a copy that stops the task when full (strict).
  BufferConfig ShutDownWhenFull() const {
    BufferConfig config = *this;
    config.when_full = WhenFull::kShutDown;
    return config;
  }
  //! Returns a copy whose buffer store has no changelog (lost on a restart
  //! without local state).
  BufferConfig WithLoggingDisabled() const {
    BufferConfig config = *this;
    config.logging = false;
    return config;
  }

  //! True when the buffer never emits early: no bound, or ShutDownWhenFull.
  bool strict() const {
    return (!max_records && !max_bytes) || when_full == WhenFull::kShutDown;
  }

  std::optional<int64_t> max_records{};    //!< nullopt: no bound on keys
  std::optional<int64_t> max_bytes{};      //!< nullopt: no bound on bytes
  WhenFull when_full = WhenFull::kShutDown;  //!< with a bound (Unbounded: never full)
  bool logging = true;                     //!< changelog "<application.id>-<store>-changelog"
};

//! What KTable::Suppress holds back and until when (Kafka's Suppressed);
//! see the file comment. Plain values.
struct Suppressed {
  //! Until which time an update is held.
  enum class Until {
    kWindowCloses,  //!< its window closed (final results)
    kTimeLimit,     //!< the first buffered update's time + the wait
  };

  //! Returns final results: each window's latest update once it closed.
  //! `buffer` must be strict (Unbounded or ShutDownWhenFull).
  static Suppressed UntilWindowCloses(BufferConfig buffer) {
    Suppressed s;
    s.until = Until::kWindowCloses;
    s.buffer = std::move(buffer);
    return s;
  }
  //! Returns updates held `wait` after a key's first buffered update.
  static Suppressed UntilTimeLimit(std::chrono::milliseconds wait, BufferConfig buffer) {
    Suppressed s;
    s.until = Until::kTimeLimit;
    s.wait = wait;
    s.buffer = std::move(buffer);
    return s;
  }
  //! Returns a copy naming the suppression `name`: the node "<name>" and its
  //! buffer store "<name>-store" (else generated: "KTABLE-SUPPRESS-<n>" and
  //! "KTABLE-SUPPRESS-STATE-STORE-<n>", as in Kafka Streams).
  Suppressed WithName(std::string node_name) const {
    Suppressed s = *this;
    s.name = std::move(node_name);
    return s;
  }

  Until until = Until::kWindowCloses;          //!< see Until
  std::chrono::milliseconds wait{0};           //!< kTimeLimit: how long to hold an update
  BufferConfig buffer = BufferConfig::Unbounded();  //!< bounds and what a full buffer does
  std::optional<std::string> name{};           //!< node name; nullopt: generated
};

}  // namespace eventflow::streams
