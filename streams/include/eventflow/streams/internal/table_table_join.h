// The processor behind KTable::Join/LeftJoin/OuterJoin with another KTable.
// Not for user code.
//
// Thread-safety: processor instances belong to one task; the shared joiner
// is called from every task and stream thread.
#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/internal/table_value_getters.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

//! One side of a KTable-KTable join (Kafka's KTableKTable{Inner,Left,Outer}Join
//! and their right-side counterparts, without old values): an update of this
//! side looks the other side's current value up and forwards the join of both
//! when the join has a result (TableJoinHasResult), else a tombstone — except
//! when the other side alone rules a result out (inner join, or the right
//! side of a left join, with the other side missing): then no result can
//! have existed since the other side's own update retracted it, and nothing
//! is forwarded. A tombstone may still be forwarded for a key that never had
//! a result (the previous value of this side is unknown), as Kafka Streams
//! does without old values; that is harmless downstream.
template <typename K, typename VThis, typename VOther, typename VR, bool kThisIsLeft>
class KTableKTableJoin final : public DslProcessor<K, std::optional<VThis>, K, std::optional<VR>> {
 public:
  using Left = std::conditional_t<kThisIsLeft, VThis, VOther>;
  using Right = std::conditional_t<kThisIsLeft, VOther, VThis>;

  KTableKTableJoin(JoinKind kind, std::unique_ptr<TableValueGetter<K, VOther>> other,
                   std::shared_ptr<const JoinFn<K, Left, Right, VR>> joiner)
      : kind_(kind), other_(std::move(other)), joiner_(std::move(joiner)) {}

  void Init(ProcessorContext<K, std::optional<VR>>& context) override {
    DslProcessor<K, std::optional<VThis>, K, std::optional<VR>>::Init(context);
    InitGetter(*other_, context);
  }

  void Process(Record<K, std::optional<VThis>> record) override {
    const bool has_other = other_->Get(record.key, &other_value_);
    const bool has_this = record.value.has_value();
    std::optional<VR> result;
    if (TableJoinHasResult(kind_, kThisIsLeft ? has_this : has_other,
                           kThisIsLeft ? has_other : has_this)) {
      if constexpr (kThisIsLeft) {
        result.emplace((*joiner_)(record.key, record.value, other_value_));
      } else {
        result.emplace((*joiner_)(record.key, other_value_, record.value));
      }
    } else {
      const bool other_required =
          kind_ == JoinKind::kInner || (kind_ == JoinKind::kLeft && !kThisIsLeft);
      if (other_required && !has_other) return;
    }
    this->context_->Forward(Record<K, std::optional<VR>>{
        std::move(record.key), std::move(result), record.timestamp, std::move(record.headers)});
  }

 private:
  JoinKind kind_;
  std::unique_ptr<TableValueGetter<K, VOther>> other_;
  std::shared_ptr<const JoinFn<K, Left, Right, VR>> joiner_;
  std::optional<VOther> other_value_;
};

}  // namespace eventflow::streams::internal
