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
#include <stdexcept>
#include <string>
#include <utility>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
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

//! The aggregation step shared by the plain and the windowed aggregation:
//! decodes the stored aggregate when `got` (the store read) found one, applies
//! `adder`, and serializes the result into `*bytes` for the caller to write.
//! `*bytes` holds the stored aggregate on entry. Returns the new aggregate;
//! throws, naming `store`, on a store or serde failure or a null aggregate.
template <typename K, typename V, typename VA>
VA ApplyAggregate(const std::string& store, const Status& got, const Serde<VA>& serde,
                  const AggregateAdder<K, V, VA>& adder, const K& key, const V& value,
                  std::string* bytes) {
  std::optional<VA> old;
  if (got.ok()) {
    VA previous{};
    ThrowIfStoreError(store, serde.Deserialize(*bytes, &previous), "decoding the stored aggregate");
    old = std::move(previous);
  } else if (!got.IsNotFound()) {
    ThrowIfStoreError(store, got, "reading");
  }
  VA aggregate = adder(key, value, std::move(old));
  bytes->clear();
  if (!serde.Serialize(aggregate, bytes)) {
    throw std::runtime_error("store \"" + store +
                             "\": the aggregate serializes to null; aggregates must have a value");
  }
  return aggregate;
}

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
    store_ = RequireStore<state::KeyValueStore>(context, store_name_, "key-value");
    cache_.Init(context.record_cache(), caching_, store_name_,
                [this](std::string_view key, std::optional<std::string_view> value,
                       int64_t timestamp) { EmitCached(key, value, timestamp); });
  }

  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    bool null_value = false;
    if constexpr (IsOptional<V>::value) null_value = !record.value.has_value();
    if (!key_serde_->Serialize(record.key, &key_bytes_) || null_value) {
      SkipNull(null_value ? "value" : "key");
      return;
    }
    if (cache_.active()) {
      Status got = Status::NotFound("not cached");
      if (auto cached = cache_.Get(key_bytes_)) {
        if (cached->value) {
          value_bytes_.assign(*cached->value);
          got = Status::OK();
        }
      } else {
        got = store_->Get(key_bytes_, &value_bytes_);
      }
      ApplyAggregate(store_name_, got, *value_serde_, *adder_, record.key, record.value,
                     &value_bytes_);
      cache_.Put(key_bytes_, value_bytes_, record.timestamp);
      return;
    }
    const Status got = store_->Get(key_bytes_, &value_bytes_);
    VA aggregate = ApplyAggregate(store_name_, got, *value_serde_, *adder_, record.key,
                                  record.value, &value_bytes_);
    Check(store_->Put(key_bytes_, value_bytes_, record.timestamp), "writing");
    this->context_->Forward(Record<K, std::optional<VA>>{
        std::move(record.key), std::move(aggregate), record.timestamp, std::move(record.headers)});
  }

 private:
  void Check(const Status& status, const char* doing) const {
    ThrowIfStoreError(store_name_, status, doing);
  }
  void SkipNull(const char* what) { WarnSkippedNullOnce(*this->context_, &warned_, what); }

  // A merged update leaving the cache: write the store, forward.
  void EmitCached(std::string_view key, std::optional<std::string_view> value,
                  int64_t timestamp) {
    if (!value) return;  // this processor never caches deletions
    Check(store_->Put(key, *value, timestamp), "writing");
    K k{};
    Check(key_serde_->Deserialize(key, &k), "decoding a cached key");
    VA aggregate{};
    Check(value_serde_->Deserialize(*value, &aggregate), "decoding a cached aggregate");
    this->context_->Forward(
        Record<K, std::optional<VA>>{std::move(k), std::move(aggregate), timestamp, {}});
  }

  std::string store_name_;
  std::shared_ptr<const Adder> adder_;
  SerdePtr<K> key_serde_;
  SerdePtr<VA> value_serde_;
  bool caching_;
  StoreCache cache_;
  state::KeyValueStore* store_ = nullptr;
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
