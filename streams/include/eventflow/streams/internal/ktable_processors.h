// The processors behind KGroupedStream's aggregations and the stateless KTable
// operations. Not for user code.
//
// A KTable's records flow as Record<K, std::optional<V>>: a value is the
// key's new value, std::nullopt a tombstone (the key left the table). Only
// the new value is forwarded (Kafka Streams' Change<V> without old values).
//
// Thread-safety: processor instances belong to one task; the shared user
// functions are called from every task and stream thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/cached_store.h"
#include "eventflow/streams/internal/kstream_processors.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams::internal {

//! Returns the new aggregate from the key, the value and the old aggregate
//! (nullopt for the key's — or the window's — first record).
template <typename K, typename V, typename VA>
using AggregateAdder = std::function<VA(const K& key, const V& value, std::optional<VA>&& old)>;

//! Throws std::runtime_error: an aggregate of store `store` serialized to null.
[[noreturn]] void ThrowNullAggregate(const std::string& store);

//! The aggregation step shared by the plain and the windowed aggregation:
//! decodes the stored aggregate when `found` (the store read found one),
//! applies `adder`, and serializes the result into `*bytes` for the caller to
//! write. `*bytes` holds the stored aggregate on entry. Returns the new
//! aggregate; throws, naming `store`, on a serde failure or a null aggregate.
template <typename K, typename V, typename VA>
VA ApplyAggregate(const std::string& store, bool found, const Serde<VA>& serde,
                  const AggregateAdder<K, V, VA>& adder, const K& key, const V& value,
                  std::string* bytes) {
  std::optional<VA> old;
  if (found) {
    VA previous{};
    ThrowIfStoreError(store, serde.Deserialize(*bytes, &previous), "decoding the stored aggregate");
    old = std::move(previous);
  }
  VA aggregate = adder(key, value, std::move(old));
  bytes->clear();
  if (!serde.Serialize(aggregate, bytes)) ThrowNullAggregate(store);
  return aggregate;
}

//! The byte-level half of KStreamAggregate (streams/src/aggregate_stores.cc):
//! reads and writes the key-value store, through the task's record cache
//! when caching.
class KeyValueAggregateStore {
 public:
  //! Receives an aggregate leaving the cache: key bytes, value bytes, timestamp.
  using ForwardFn =
      std::function<void(std::string_view key, std::string_view value, int64_t timestamp)>;

  //! Finds the key-value store `store_name` (`store` from the task; throws
  //! naming `node` when missing) and registers with `cache` when `caching`
  //! (and there is a cache). `forward` receives the aggregates leaving the
  //! cache; it must stay valid as long as the task.
  void Init(state::StateStore* store, state::RecordCache* cache, const std::string& node,
            std::string store_name, bool caching, ForwardFn forward);
  //! Reads the aggregate of `key` into *value (through the cache); returns
  //! false when there is none. Throws, naming the store, on an error.
  bool Read(std::string_view key, std::string* value);
  //! Writes the new aggregate: into the cache (returns false) or into the
  //! store (returns true: the caller forwards it now).
  bool Write(std::string_view key, std::string_view value, int64_t timestamp);

 private:
  // A merged update leaving the cache: write the store, forward.
  void EmitCached(std::string_view key, std::optional<std::string_view> value,
                  int64_t timestamp);

  std::string store_name_;
  ForwardFn forward_;
  StoreCache cache_;
  state::KeyValueStore* store_ = nullptr;
};

//! Folds each record into the aggregate of its key, kept in a key-value store
//! (count, reduce, aggregate), and forwards the new aggregate (emit on update).
//!
//! Caching (`caching` and a task record cache, see StoreCache): updates go
//! into the cache and are written to the store and forwarded when it flushes
//! (before each commit) or evicts — one update per key per commit, with the
//! last update's timestamp. Without: each update is written and forwarded at
//! once, with the input record's timestamp and headers.
//!
//! Store layout: key = the key serde's bytes, value = the aggregate serde's
//! bytes; each store write is one Put, hence one changelog record. The
//! update's timestamp is the input record's (Kafka Streams takes the larger
//! of it and the previous aggregate's; our stores keep no timestamp yet).
//!
//! Records with a null key (the key serde writes a Kafka null) or a null
//! value (std::nullopt when V is an optional) are skipped, as in Kafka
//! Streams; there is no dropped-records counter yet, so the first one per
//! task is logged as a warning and the rest silently. A store error or an
//! aggregate that serializes to null throws, for the processing error policy.
//! The key and value bytes go through buffers kept by the instance: once
//! they have grown, a record costs no allocation beyond the serdes' and the
//! user function's.
template <typename K, typename V, typename VA>
class KStreamAggregate final : public DslProcessor<K, V, K, std::optional<VA>> {
 public:
  //! Returns the new aggregate (see AggregateAdder).
  using Adder = AggregateAdder<K, V, VA>;

  KStreamAggregate(std::string store_name, std::shared_ptr<const Adder> adder,
                   SerdePtr<K> key_serde, SerdePtr<VA> value_serde, bool caching = true)
      : store_name_(std::move(store_name)),
        adder_(std::move(adder)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        caching_(caching) {}

  void Init(ProcessorContext<K, std::optional<VA>>& context) override {
    DslProcessor<K, V, K, std::optional<VA>>::Init(context);
    store_.Init(FindStore(context, store_name_), context.record_cache(), context.node_name(),
                store_name_, caching_,
                [this](std::string_view key, std::string_view value, int64_t timestamp) {
                  ForwardCached(key, value, timestamp);
                });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_) || null_value) {
      WarnSkippedNullOnce(*this->context_, &warned_, null_value ? "value" : "key");
      return;
    }
    const bool found = store_.Read(key_bytes_, &value_bytes_);
    VA aggregate = ApplyAggregate(store_name_, found, *value_serde_, *adder_, record.key,
                                  record.value, &value_bytes_);
    if (store_.Write(key_bytes_, value_bytes_, record.timestamp)) {
      this->context_->Forward(Record<K, std::optional<VA>>{std::move(record.key),
                                                           std::move(aggregate), record.timestamp,
                                                           std::move(record.headers)});
    }
  }

 private:
  // A merged update leaving the cache (already in the store): decode, forward.
  void ForwardCached(std::string_view key, std::string_view value, int64_t timestamp) {
    K k{};
    ThrowIfStoreError(store_name_, key_serde_->Deserialize(key, &k), "decoding a cached key");
    VA aggregate{};
    ThrowIfStoreError(store_name_, value_serde_->Deserialize(value, &aggregate),
                      "decoding a cached aggregate");
    this->context_->Forward(
        Record<K, std::optional<VA>>{std::move(k), std::move(aggregate), timestamp, {}});
  }

  std::string store_name_;
  std::shared_ptr<const Adder> adder_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  bool caching_;
  KeyValueAggregateStore store_;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_ = false;
};

//! Keeps the rows for which the predicate is `keep` (KTable filter,
//! filterNot). A row that does not pass, and a tombstone, are forwarded as a
//! tombstone, as Kafka Streams does without old values: downstream, a key
//! whose new value fails the filter leaves the table (a key that never
//! passed gets a needless tombstone, which is harmless).
template <typename K, typename V>
class KTableFilter final : public DslProcessor<K, std::optional<V>, K, std::optional<V>> {
 public:
  KTableFilter(std::shared_ptr<const Predicate<K, V>> predicate, bool keep)
      : predicate_(std::move(predicate)), keep_(keep) {}
  void Process(Record<K, std::optional<V>> record) override {
    if (record.value && (*predicate_)(record.key, *record.value) != keep_) record.value.reset();
    this->context_->Forward(std::move(record));
  }

 private:
  std::shared_ptr<const Predicate<K, V>> predicate_;
  bool keep_;
};

//! Replaces each row's value (KTable mapValues); tombstones stay tombstones.
template <typename K, typename V, typename V2>
class KTableMapValues final : public DslProcessor<K, std::optional<V>, K, std::optional<V2>> {
 public:
  //! The user's function, called with (key, value).
  using Mapper = std::function<V2(const K& key, const V& value)>;
  explicit KTableMapValues(std::shared_ptr<const Mapper> mapper) : mapper_(std::move(mapper)) {}
  void Process(Record<K, std::optional<V>> record) override {
    std::optional<V2> value;
    if (record.value) value = (*mapper_)(record.key, *record.value);
    this->context_->Forward(Record<K, std::optional<V2>>{
        std::move(record.key), std::move(value), record.timestamp, std::move(record.headers)});
  }

 private:
  std::shared_ptr<const Mapper> mapper_;
};

}  // namespace eventflow::streams::internal
