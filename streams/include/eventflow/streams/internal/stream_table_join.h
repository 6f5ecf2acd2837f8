// The processors behind KStream::Join/LeftJoin with a KTable. Not for user
// code.
//
// Thread-safety: processor instances belong to one task; the shared joiner
// is called from every task and stream thread.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/internal/table_value_getters.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

//! Table-side connector of a KStream-KTable join: consumes the table's
//! updates and forwards nothing. It exists only to put the join processor in
//! the table's sub-topology (so the join's task has the table's store) until
//! Topology can connect a processor to an existing store.
template <typename K, typename VT, typename V>
class KTableJoinConnector final : public DslProcessor<K, std::optional<VT>, K, V> {
 public:
  void Process(Record<K, std::optional<VT>>) override {}
};

//! Joins each stream record with the table's current value of its key
//! (Kafka's KStreamKTableJoinProcessor): inner drops a record without a
//! match, left passes nullopt. Table updates trigger nothing. A record with
//! a null value (V an optional) is skipped (the first per task logged).
//! The result keeps the stream record's timestamp and headers.
template <typename K, typename V, typename VT, typename VR>
class KStreamKTableJoin final : public DslProcessor<K, V, K, VR> {
 public:
  KStreamKTableJoin(bool left, std::unique_ptr<TableValueGetter<K, VT>> table,
                    std::shared_ptr<const JoinFn<K, V, VT, VR>> joiner)
      : left_(left), table_(std::move(table)), joiner_(std::move(joiner)) {}

  void Init(ProcessorContext<K, VR>& context) override {
    DslProcessor<K, V, K, VR>::Init(context);
    InitGetter(*table_, context);
  }

  void Process(Record<K, V> record) override {
    if constexpr (IsOptional<V>::value) {
      if (!record.value.has_value()) {
        WarnSkippedNullOnce(*this->context_, &warned_, "value");
        return;
      }
    }
    if (!table_->Get(record.key, &table_value_) && !left_) return;
    value_.emplace(std::move(record.value));
    VR result = (*joiner_)(record.key, value_, table_value_);
    this->context_->Forward(Record<K, VR>{std::move(record.key), std::move(result),
                                          record.timestamp, std::move(record.headers)});
  }

 private:
  bool left_;
  std::unique_ptr<TableValueGetter<K, VT>> table_;
  std::shared_ptr<const JoinFn<K, V, VT, VR>> joiner_;
  std::optional<VT> table_value_;
  std::optional<V> value_;
  bool warned_ = false;
};

}  // namespace eventflow::streams::internal
