// The processor behind StreamsBuilder::Table: a topic materialized as a
// table. Not for user code.
//
// Thread-safety: processor instances belong to one task.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams::internal {

//! The store half of KTableSource (streams/src/ktable_source.cc): applies
//! one update of `key` (value nullopt: a tombstone) to `store`. Returns
//! whether the update is forwarded: a value always, a tombstone only when the
//! key was in the table (then it is deleted). Throws, naming `store_name`,
//! on a store error.
bool ApplySourceTableUpdate(state::KeyValueStore* store, const std::string& store_name,
                            std::string_view key, std::optional<std::string_view> value,
                            int64_t timestamp, std::string* scratch);

//! Materializes a topic as a table (StreamsBuilder::Table): a value is the
//! key's new value (Put), a Kafka null value a tombstone (Delete). Forwards
//! each update; a tombstone only when the key was in the table (one Get per
//! tombstone). Records with a null key are skipped (the first per task
//! logged). Store layout as KStreamAggregate's: key serde bytes → value serde
//! bytes, one changelog record per update.
template <typename K, typename V>
class KTableSource final : public DslProcessor<K, std::optional<V>, K, std::optional<V>> {
 public:
  KTableSource(std::string store_name, SerdePtr<K> key_serde, SerdePtr<V> value_serde)
      : store_name_(std::move(store_name)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  void Init(ProcessorContext<K, std::optional<V>>& context) override {
    DslProcessor<K, std::optional<V>, K, std::optional<V>>::Init(context);
    store_ = AsKeyValueStore(FindStore(context, store_name_), context.node_name(), store_name_);
  }

  void Process(Record<K, std::optional<V>> record) override {
    key_bytes_.clear();
    if (!key_serde_->Serialize(record.key, &key_bytes_)) {
      WarnSkippedNullOnce(*this->context_, &warned_, "key");
      return;
    }
    value_bytes_.clear();
    std::optional<std::string_view> value;
    if (record.value && value_serde_->Serialize(*record.value, &value_bytes_)) {
      value = value_bytes_;
    } else {
      record.value.reset();
    }
    if (ApplySourceTableUpdate(store_, store_name_, key_bytes_, value, record.timestamp,
                               &scratch_)) {
      this->context_->Forward(std::move(record));
    }
  }

 private:
  std::string store_name_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  state::KeyValueStore* store_ = nullptr;
  std::string key_bytes_;
  std::string value_bytes_;
  std::string scratch_;
  bool warned_ = false;
};

}  // namespace eventflow::streams::internal
