// The processor behind SessionWindowedKStream's aggregations. Not for user
// code.
//
// Thread-safety: processor instances belong to one task; the shared user
// functions are called from every task and stream thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/state/session_store.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

//! The user functions of a session aggregation (Kafka's initializer,
//! aggregator and merger), shared by every task.
template <typename K, typename V, typename VA>
struct SessionAggregateFns {
  //! Starts the merge of the sessions a record joins (Aggregate's
  //! initializer); empty for Count and Reduce, whose merge starts from the
  //! first session.
  std::function<VA()> initializer;
  //! Folds the record into the merged aggregate (nullopt: no session before).
  AggregateAdder<K, V, VA> adder;
  //! Merges two sessions' aggregates: merger(key, aggregate, other).
  std::function<VA(const K& key, const VA& aggregate, const VA& other)> merger;
};

//! Kafka's KStreamSessionWindowAggregate: keeps per key its sessions in a
//! session store and folds each record into the session it starts or joins.
//!
//! A record at t finds its key's sessions overlapping [t - gap, t + gap]
//! that are not closed, merges their aggregates (merger, in the store's
//! order: by end, then start), folds the record in (adder) and stores the
//! merged session [min start, max end]; every merged session whose window
//! differs from the merged one is Removed (a tombstone in the changelog).
//!
//! Closing (SessionWindows::CloseEnd): session [s, e] is closed when
//! WindowClosed(e + gap + 1, grace, WindowCloseClock()). A closed session is
//! final: a record never changes it (Kafka would still merge one found in
//! the store; we keep "final" exact for kOnWindowClose, and a record within
//! grace of stream time never reaches a closed session anyway). A record
//! whose merged session would be closed is dropped and counted in the task's
//! dropped_late (the first per task is logged).
//!
//! Forwarding per EmitStrategy, timestamps = the session's end (as Kafka):
//! - kOnWindowUpdate: for each removed session a tombstone, then the merged
//!   session's new aggregate (with the input record's headers).
//! - kOnWindowClose: nothing from Process(); a stream-time punctuator
//!   forwards each session that has just closed, once, ordered by (end, key
//!   bytes, start).
//!
//! "Emitted up to" (kOnWindowClose): sessions with end <= emitted_to_ have
//! been forwarded; each scan (SessionStore::FindSessionsByEnd, all keys)
//! starts at max(emitted_to_ + 1, the store's expiry horizon). The horizon
//! advances in the same punctuation and is committed with the store, so
//! after a restart from local state it is exactly the old emitted_to_ + 1:
//! no final result is lost or repeated, including sessions that were open at
//! the restart and never touched again (as KStreamWindowAggregate).
//!
//! Expiry: the same punctuator advances the store's stream time; with
//! retention = gap + grace + 1 (what the DSL declares) exactly the closed
//! sessions fall behind the horizon.
//!
//! Store layout: key = the key serde's bytes, (start, end) = the session's,
//! value = the aggregate serde's bytes. Null keys and values are skipped as
//! in KStreamAggregate. Buffers are reused: once grown, a record that joins
//! an existing session costs no allocation beyond the store iterator, the
//! serdes' and the user functions'.
template <typename K, typename V, typename VA>
class KStreamSessionWindowAggregate final
    : public DslProcessor<K, V, Windowed<K>, std::optional<VA>> {
 public:
  using Fns = SessionAggregateFns<K, V, VA>;
  using Out = Record<Windowed<K>, std::optional<VA>>;

  KStreamSessionWindowAggregate(std::string store_name, SessionWindows windows, EmitStrategy emit,
                                std::shared_ptr<const Fns> fns, SerdePtr<K> key_serde,
                                SerdePtr<VA> value_serde, bool /*caching: not applied yet*/ = false,
                                bool /*flush_on_close: nothing cached*/ = false)
      : store_name_(std::move(store_name)),
        windows_(windows),
        emit_(emit),
        fns_(std::move(fns)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Init(ProcessorContext<Windowed<K>, std::optional<VA>>& context) override {
    DslProcessor<K, V, Windowed<K>, std::optional<VA>>::Init(context);
    store_ = RequireStore<state::SessionStore>(context, store_name_, "session");
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t) { OnStreamTime(WindowCloseClock(*this->context_, -1)); });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_) || null_value) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, null_value ? "value" : "key");
      return;
    }
    const int64_t ts = record.timestamp;
    const int64_t gap = windows_.inactivity_gap_ms();
    const int64_t now = WindowCloseClock(*this->context_, ts);

    // Collect first, then write (iterators must not see writes).
    num_found_ = 0;
    int64_t start = ts;
    int64_t end = ts;
    {
      auto it = store_->FindSessions(key_bytes_, ts - gap, ts + gap);
      for (; it->Valid(); it->Next()) {
        if (Closed(it->end(), now)) continue;  // final; never merged
        if (num_found_ == found_.size()) found_.emplace_back();
        Found& f = found_[num_found_++];
        f.start = it->start();
        f.end = it->end();
        f.value.assign(it->value());
        start = std::min(start, f.start);
        end = std::max(end, f.end);
      }
      Check(it->status(), "finding sessions");
    }
    if (Closed(end, now)) {
      DropLate(ts, start, end, now);
      return;
    }

    std::optional<VA> merged;
    if (fns_->initializer && num_found_ > 0) merged.emplace(fns_->initializer());
    for (size_t i = 0; i < num_found_; ++i) {
      VA session{};
      Check(value_serde_->Deserialize(found_[i].value, &session), "decoding a stored aggregate");
      if (merged) {
        merged = fns_->merger(record.key, *merged, session);
      } else {
        merged = std::move(session);
      }
    }
    VA aggregate = fns_->adder(record.key, record.value, std::move(merged));
    value_bytes_.clear();
    if (!value_serde_->Serialize(aggregate, &value_bytes_)) {
      throw std::runtime_error("store \"" + store_name_ +
                               "\": the aggregate serializes to null; aggregates must have a value");
    }

    const bool on_update = emit_ == EmitStrategy::kOnWindowUpdate;
    for (size_t i = 0; i < num_found_; ++i) {
      const Found& f = found_[i];
      if (f.start == start && f.end == end) continue;  // overwritten by the Put below
      Check(store_->Remove(key_bytes_, f.start, f.end, ts), "removing a merged session");
      if (on_update) {
        this->context_->Forward(
            Out{Windowed<K>{record.key, f.start, f.end}, std::nullopt, f.end, record.headers});
      }
    }
    Check(store_->Put(key_bytes_, start, end, value_bytes_, ts), "writing");
    if (on_update) {
      this->context_->Forward(Out{Windowed<K>{std::move(record.key), start, end},
                                  std::move(aggregate), end, std::move(record.headers)});
    }
  }

 private:
  // A session found for the current record: its window and value bytes.
  struct Found {
    int64_t start = 0;
    int64_t end = 0;
    std::string value;
  };
  // A closed session to forward (kOnWindowClose).
  struct Closing {
    int64_t end;
    std::string key;
    int64_t start;
    std::string value;
  };

  bool Closed(int64_t end, int64_t now) const {
    return WindowClosed(windows_.CloseEnd(end), windows_.grace_ms(), now);
  }

  void Check(const Status& status, const char* doing) const {
    ThrowIfStoreError(store_name_, status, doing);
  }

  void DropLate(int64_t timestamp, int64_t start, int64_t end, int64_t now) {
    this->context_->CountDroppedLate();
    if (warned_late_) return;
    warned_late_ = true;
    Log(LogLevel::kWarn, "streams",
        "node \"" + this->context_->node_name() + "\" drops a record at " +
            std::to_string(timestamp) + " for session [" + std::to_string(start) + ", " +
            std::to_string(end) + "], closed since end + gap " +
            std::to_string(windows_.inactivity_gap_ms()) + " + 1 + grace " +
            std::to_string(windows_.grace_ms()) + " <= " + std::to_string(now) +
            "; further late records in this task are only counted (dropped_late)");
  }

  // Forwards the sessions that closed up to `now` (kOnWindowClose), then
  // moves the store's expiry horizon (both modes).
  void OnStreamTime(int64_t now) {
    if (now < 0) return;
    if (emit_ == EmitStrategy::kOnWindowClose) {
      // Sessions with end <= limit are closed: end + gap + 1 + grace <= now.
      const int64_t limit = now - windows_.inactivity_gap_ms() - 1 - windows_.grace_ms();
      // Sessions closed by the restored watermark went out before the last
      // commit, even if the store's commit (its horizon) did not follow.
      const int64_t restored = this->context_->restored_watermark();
      const int64_t emitted_before =
          restored >= 0 ? restored - windows_.inactivity_gap_ms() - 1 - windows_.grace_ms() : -1;
      const int64_t from =
          std::max({emitted_to_ + 1, store_->expiry_horizon(), emitted_before + 1});
      if (limit >= from) {
        closing_.clear();
        auto it = store_->FindSessionsByEnd(from, limit);
        for (; it->Valid(); it->Next()) {
          closing_.push_back(Closing{it->end(), std::string(it->key()), it->start(),
                                     std::string(it->value())});
        }
        Check(it->status(), "scanning closed sessions");
        // The store yields by segment, then key: forward by (end, key, start).
        std::sort(closing_.begin(), closing_.end(), [](const Closing& a, const Closing& b) {
          return std::tie(a.end, a.key, a.start) < std::tie(b.end, b.key, b.start);
        });
        for (Closing& c : closing_) {
          Windowed<K> key{K{}, c.start, c.end};
          Check(key_serde_->Deserialize(c.key, &key.key), "decoding a stored key");
          VA value{};
          Check(value_serde_->Deserialize(c.value, &value), "decoding the stored aggregate");
          this->context_->Forward(Out{std::move(key), std::move(value), c.end, {}});
        }
        emitted_to_ = limit;
      }
    }
    Check(store_->AdvanceStreamTime(now), "advancing stream time");
  }

  std::string store_name_;
  SessionWindows windows_;
  EmitStrategy emit_;
  std::shared_ptr<const Fns> fns_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  state::SessionStore* store_ = nullptr;
  int64_t emitted_to_ = -1;    // kOnWindowClose: sessions ending <= this were forwarded
  std::vector<Closing> closing_;  // one punctuation's closed sessions, reused
  std::vector<Found> found_;   // grows to the most sessions one record merged
  size_t num_found_ = 0;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
  bool warned_late_ = false;
};

}  // namespace eventflow::streams::internal
