// The processors behind KStream::Join/LeftJoin/OuterJoin with another
// KStream within JoinWindows. Not for user code.
//
// Each processor has a typed half (here: serdes, the joiner, forwarding) and
// a byte-level half compiled once in streams/src/stream_stream_join.cc
// (JoinWindowStore, StreamJoinStores: window stores, lateness, the shared
// outer store of left/outer joins).
//
// Thread-safety: processor instances belong to one task; the shared joiner
// is called from every task and stream thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams::internal {

//! The bounds of a stream-stream join, as the DSL resolved them.
struct StreamJoinSpec {
  int64_t before = 0;        //!< JoinWindows before (left-oriented), ms
  int64_t after = 0;         //!< JoinWindows after (left-oriented), ms
  int64_t grace = 0;         //!< JoinWindows grace, ms
  bool left_outer = false;   //!< unmatched left records get a result (left, outer joins)
  bool right_outer = false;  //!< unmatched right records get a result (outer joins)

  //! How far after its own time a record of the side matches (left: after,
  //! right: before); it can get no further match once the window-close
  //! clock passes time + this + grace.
  int64_t AfterOf(bool left_side) const { return left_side ? after : before; }
  //! How far before its own time a record of the side matches.
  int64_t BeforeOf(bool left_side) const { return left_side ? before : after; }
};

//! Side tags: the first byte of the keys of the shared outer store.
inline constexpr char kLeftSideTag = 'L';
inline constexpr char kRightSideTag = 'R';

//! The store half of KStreamJoinWindow: one side's window store.
class JoinWindowStore {
 public:
  //! Finds the window store `store_name` (`store` from the task); throws
  //! naming `node` when it is missing.
  void Init(state::StateStore* store, const std::string& node, std::string store_name,
            bool left_side, StreamJoinSpec spec);
  //! Returns false, logging the first one per task, when a record at
  //! `timestamp` is late at `now` (a LatenessClock value); else stores
  //! (key, value) at `timestamp` and returns true.
  bool Put(std::string_view key, std::string_view value, int64_t timestamp, int64_t now);
  //! Expires the records the other side can no longer match at `clock` (a
  //! WindowCloseClock value; nothing while it is negative).
  void Expire(int64_t clock);

 private:
  std::string node_;
  std::string store_name_;
  bool left_side_ = true;
  StreamJoinSpec spec_;
  state::WindowStore* store_ = nullptr;
  bool warned_late_ = false;
};

//! The store half of KStreamKStreamJoin: reads the other side's window
//! store and keeps the shared outer store (see KStreamKStreamJoin).
class StreamJoinStores {
 public:
  //! Finds the other side's window store and, for left/outer joins, the
  //! shared outer store; throws naming `node` when one is missing.
  void Init(state::StateStore* other, state::StateStore* outer, const std::string& node,
            std::string other_name, std::optional<std::string> outer_name, StreamJoinSpec spec,
            bool this_is_left);
  //! Calls match(other_time, other_value_bytes) for every record of the
  //! other side with `key` and a time in [time - BeforeOf(this side),
  //! time + AfterOf(this side)], in time order, deleting the other side's
  //! outer entries they leave behind when the other side is outer. Returns
  //! whether there was any.
  bool ForEachMatch(std::string_view key, int64_t time,
                    FunctionRef<void(int64_t other_time, std::string_view other_value)> match);
  //! Appends `value` to this side's outer entry of (key, time).
  void KeepUnmatched(std::string_view key, int64_t time, std::string_view value);
  //! Calls emit(left, key, time, value) for each unmatched record whose
  //! window closed at `now` (a WindowCloseClock value), in order of (time,
  //! left before right, key bytes), values in arrival order, then deletes
  //! the entries and moves the outer store's horizon. Left side only.
  void EmitClosed(int64_t now, FunctionRef<void(bool left, std::string_view key, int64_t time,
                                                std::string_view value)>
                                   emit);

 private:
  // Deletes the outer entry (side, key, close) if there is one.
  void ClearOuter(char side, std::string_view key, int64_t close, int64_t time);

  // An outer entry that closed, copied out of the store for sorting.
  struct Closed {
    int64_t time = 0;   // the records' time
    int64_t close = 0;  // the entry's window start
    std::string key;    // side tag + key bytes
    std::string values;
  };

  std::string other_name_;
  std::optional<std::string> outer_name_;
  StreamJoinSpec spec_;
  bool this_is_left_ = true;
  bool other_outer_ = false;  // the other side's unmatched records get a result
  state::WindowStore* other_ = nullptr;
  state::WindowStore* outer_ = nullptr;
  std::string outer_key_;
  std::string outer_value_;
  std::vector<Closed> closed_;  // reused by EmitClosed
};

//! One side's window of a stream-stream join (Kafka's KStreamJoinWindow,
//! "KSTREAM-WINDOWED-<n>"): keeps every record of the side in its window
//! store (retain_duplicates; key = key serde bytes, window start = the
//! record's time, value = value serde bytes) and forwards it to the side's
//! join processor.
//!
//! Late records: a record is late, dropped and counted (dropped_late), when
//! WindowClosed(time + 1, grace, LatenessClock) — its time + grace is before
//! the window-close clock or its own partition's stream time. This is what
//! makes left/outer results final: an unmatched record's null result is
//! emitted only once every record that could match it would be late (see
//! KStreamKStreamJoin).
//!
//! Expiry: a stream-time punctuator expires the store's records the other
//! side can no longer match: a record at t of this side can be matched by an
//! accepted other-side record only while t >= clock - grace - AfterOf(side).
//! (Kafka's retention before + after + grace is declared for the store, but
//! the horizon is moved exactly, so no match is lost at the edge.)
//!
//! Null keys (the key serde writes a Kafka null) and null values are
//! skipped, as in Kafka Streams; the first per task is logged.
template <typename K, typename V>
class KStreamJoinWindow final : public DslProcessor<K, V, K, V> {
 public:
  KStreamJoinWindow(std::string store_name, bool left_side, StreamJoinSpec spec,
                    SerdePtr<K> key_serde, SerdePtr<V> value_serde)
      : store_name_(std::move(store_name)),
        left_side_(left_side),
        spec_(spec),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Init(ProcessorContext<K, V>& context) override {
    DslProcessor<K, V, K, V>::Init(context);
    store_.Init(FindStore(context, store_name_), context.node_name(), store_name_, left_side_,
                spec_);
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                     [this](int64_t) { store_.Expire(WindowCloseClock(*this->context_, -1)); });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    value_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_)) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, "key");
      return;
    }
    if (null_value || !value_serde_->Serialize(record.value, &value_bytes_)) {
      WarnSkippedNullOnce(*this->context_, &warned_null_, "value");
      return;
    }
    if (!store_.Put(key_bytes_, value_bytes_, record.timestamp,
                    LatenessClock(*this->context_, record.timestamp))) {
      this->context_->CountDroppedLate();
      return;
    }
    this->context_->Forward(std::move(record));
  }

 private:
  std::string store_name_;
  bool left_side_;
  StreamJoinSpec spec_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  JoinWindowStore store_;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
};

//! One side of a stream-stream join (Kafka's KStreamKStreamJoin with the
//! KIP-633 outer store; "KSTREAM-JOINTHIS/JOINOTHER/OUTERTHIS/OUTEROTHER-<n>").
//! Each record (already in its own side's store, see KStreamJoinWindow) joins
//! every record of the other side's store with the same key and a time in
//! [t - BeforeOf(side), t + AfterOf(side)], in time order (duplicates in
//! arrival order); a result has the larger of the two times and the
//! record's headers.
//!
//! Left/outer joins keep each unmatched record of an outer side in the
//! shared outer store until it matches (then its entry is deleted) or its
//! window closes: WindowClosed(t + AfterOf(side) + 1, grace, clock). Then,
//! and only then, its null-joined result is forwarded, with the record's
//! time, by the stream-time punctuator of the left side's processor (which
//! forwards both sides' results; closed entries of one punctuation in order
//! of (time, left before right, key bytes), values in arrival order), and the
//! entry is deleted. Since records later than their time + grace are dropped
//! as late, no record that could match it can arrive after that: a null-joined
//! result is never contradicted by a later match.
//!
//! Shared outer store layout: a window store without duplicates; key = side
//! tag ('L' or 'R') + key serde bytes, window start = the time the entry
//! closes (t + AfterOf(side)), so a scan up to clock - grace - 1 finds exactly
//! the closed entries; value = the side's unmatched values at that time, each
//! as [u32 BE length][value serde bytes]. A match deletes the whole entry:
//! every record of one (side, key, time) matches the same other-side records.
//! The punctuator then moves the store's horizon to clock - grace (entries
//! before it are emitted), which is committed with the store, so a restart
//! from local state neither loses nor repeats a null-joined result.
template <typename K, typename VThis, typename VOther, typename VR, bool kThisIsLeft>
class KStreamKStreamJoin final : public DslProcessor<K, VThis, K, VR> {
 public:
  using Left = std::conditional_t<kThisIsLeft, VThis, VOther>;
  using Right = std::conditional_t<kThisIsLeft, VOther, VThis>;

  KStreamKStreamJoin(std::string other_store, std::optional<std::string> outer_store,
                     StreamJoinSpec spec, std::shared_ptr<const JoinFn<K, Left, Right, VR>> joiner,
                     SerdePtr<K> key_serde, SerdePtr<VThis> this_value_serde,
                     SerdePtr<VOther> other_value_serde)
      : other_store_name_(std::move(other_store)),
        outer_store_name_(std::move(outer_store)),
        spec_(spec),
        joiner_(std::move(joiner)),
        key_serde_(std::move(key_serde)),
        this_value_serde_(std::move(this_value_serde)),
        other_value_serde_(std::move(other_value_serde)),
        this_outer_(kThisIsLeft ? spec.left_outer : spec.right_outer) {}

  void Init(ProcessorContext<K, VR>& context) override {
    DslProcessor<K, VThis, K, VR>::Init(context);
    stores_.Init(FindStore(context, other_store_name_),
                 outer_store_name_ ? FindStore(context, *outer_store_name_) : nullptr,
                 context.node_name(), other_store_name_, outer_store_name_, spec_, kThisIsLeft);
    if (outer_store_name_) {
      if constexpr (kThisIsLeft) {
        context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime,
                         [this](int64_t) { EmitClosed(WindowCloseClock(*this->context_, -1)); });
      }
    }
  }

  void Process(Record<K, VThis> record) override {
    key_bytes_.clear();
    if (!key_serde_->Serialize(record.key, &key_bytes_)) return;  // KStreamJoinWindow warned
    const int64_t time = record.timestamp;
    this_value_.emplace(std::move(record.value));
    auto match = [&](int64_t other_time, std::string_view other_value) {
      if (!other_value_.has_value()) other_value_.emplace();
      ThrowIfStoreError(other_store_name_,
                        other_value_serde_->Deserialize(other_value, &*other_value_),
                        "decoding a stored value");
      VR result = Join(record.key, this_value_, other_value_);
      this->context_->Forward(
          Record<K, VR>{record.key, std::move(result), std::max(time, other_time), record.headers});
    };
    if (!stores_.ForEachMatch(key_bytes_, time, match) && this_outer_) {
      value_bytes_.clear();
      this_value_serde_->Serialize(*this_value_, &value_bytes_);
      stores_.KeepUnmatched(key_bytes_, time, value_bytes_);
    }
  }

 private:
  VR Join(const K& key, const std::optional<VThis>& mine, const std::optional<VOther>& theirs) {
    if constexpr (kThisIsLeft) {
      return (*joiner_)(key, mine, theirs);
    } else {
      return (*joiner_)(key, theirs, mine);
    }
  }

  // Forwards the null-joined results of the entries closed at `now` (left
  // side's processor only).
  void EmitClosed(int64_t now) {
    auto emit = [&](bool left, std::string_view key_bytes, int64_t time, std::string_view bytes) {
      K key{};
      ThrowIfStoreError(*outer_store_name_, key_serde_->Deserialize(key_bytes, &key),
                        "decoding the key of an unmatched record");
      std::optional<Left> l;
      std::optional<Right> r;
      if (left) {
        l.emplace();
        ThrowIfStoreError(*outer_store_name_, LeftSerde().Deserialize(bytes, &*l),
                          "decoding an unmatched record");
      } else {
        r.emplace();
        ThrowIfStoreError(*outer_store_name_, RightSerde().Deserialize(bytes, &*r),
                          "decoding an unmatched record");
      }
      VR result = (*joiner_)(key, l, r);
      this->context_->Forward(Record<K, VR>{std::move(key), std::move(result), time, {}});
    };
    stores_.EmitClosed(now, emit);
  }

  const Serde<Left>& LeftSerde() const {
    if constexpr (kThisIsLeft) {
      return *this_value_serde_;
    } else {
      return *other_value_serde_;
    }
  }
  const Serde<Right>& RightSerde() const {
    if constexpr (kThisIsLeft) {
      return *other_value_serde_;
    } else {
      return *this_value_serde_;
    }
  }

  std::string other_store_name_;
  std::optional<std::string> outer_store_name_;
  StreamJoinSpec spec_;
  std::shared_ptr<const JoinFn<K, Left, Right, VR>> joiner_;
  SerdePtr<K> key_serde_;
  SerdePtr<VThis> this_value_serde_;
  SerdePtr<VOther> other_value_serde_;
  bool this_outer_;  // this side's unmatched records get a result
  StreamJoinStores stores_;
  std::optional<VThis> this_value_;
  std::optional<VOther> other_value_;
  std::string key_bytes_;
  std::string value_bytes_;
};

}  // namespace eventflow::streams::internal
