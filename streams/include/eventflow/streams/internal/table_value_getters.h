// Table value getters (Kafka's KTableValueGetter): how a join reads a
// table's CURRENT value of a key in its task. Not for user code.
//
// A KTable-KTable or KStream-KTable join looks the other side's current
// value up through a TableValueGetter: a materialized table reads its store
// (key-value store, or for a windowed table KTable<Windowed<K>, V> the window
// store at (key bytes, window start)); Filter/FilterNot/MapValues apply their
// function to their parent's getter; a table-table join result joins its two
// sides' getters. Stores keep no record timestamps, so a table-join result
// carries the timestamp of the update that caused it (Kafka takes the larger
// of both sides').
//
// Record caches: a table whose updates go through the task's record cache
// reaches the join only when the cache flushes (per commit, deduplicated per
// key). A store getter reads through the cache (CacheView: the store's id in
// the task's cache, looked up by name at Init), so a lookup sees the other
// side's unflushed updates: every result pairs the values current when it is
// computed, as Kafka's caching stores give.
//
// The byte-level lookups (cache, then store) are StoreValueReader, compiled
// once in streams/src/table_value_getters.cc; the typed getters only encode
// the key and decode the value.
//
// Thread-safety: getter instances belong to one task; the shared user
// functions are called from every task and thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/kstream_processors.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::state {
class KeyValueStore;
class WindowStore;
}  // namespace eventflow::state

namespace eventflow::streams::internal {

//! Whether a key type is Windowed<K> (a windowed table's), and its inner key.
template <typename T>
struct WindowedKey : std::false_type {};
template <typename KI>
struct WindowedKey<Windowed<KI>> : std::true_type {
  using Inner = KI;
};

//! A task's state stores by name (nullptr when it has none), and its record
//! cache (nullptr when caching is off): getters read a store through the
//! cache, so they see the unflushed updates of the aggregation that owns it.
struct StoreLookup {
  std::function<state::StateStore*(std::string_view name)> store;
  state::RecordCache* cache = nullptr;
  state::StateStore* operator()(std::string_view name) const { return store(name); }
};

//! Reads the current bytes of a materialized table's store through the
//! task's record cache (see the file comment): one instance per getter.
class StoreValueReader {
 public:
  //! Finds the store `store_name` (a key-value store, or with `window` a
  //! window store) through `stores`; throws std::logic_error naming `node`
  //! when it is missing (a table of another sub-topology).
  void Init(const StoreLookup& stores, const std::string& store_name, const std::string& node,
            bool window);
  //! Returns true and sets *value to the bytes of `key` (a window store:
  //! the window at `window_start`), or returns false when it has none.
  //! Throws, naming the store, on a store error.
  bool Get(std::string_view key, int64_t window_start, std::string* value);
  //! The store's name.
  const std::string& store_name() const { return store_name_; }

 private:
  std::string store_name_;
  state::KeyValueStore* kv_ = nullptr;
  state::WindowStore* window_ = nullptr;
  state::RecordCache* cache_ = nullptr;
  std::optional<uint32_t> cache_id_;  // the store's id in the cache, when it caches
  std::string cache_key_;
};

//! Reads a table's current value per key in one task (see the file comment).
template <typename K, typename V>
class TableValueGetter {
 public:
  virtual ~TableValueGetter() = default;
  //! Finds the stores it reads; throws std::logic_error naming `node` and the
  //! store when one is missing (a table of another sub-topology).
  virtual void Init(const StoreLookup& stores, const std::string& node) = 0;
  //! Returns true and sets *value to key's current value, or returns false
  //! and resets *value when key has none. Throws, naming the store, on a
  //! store or serde error.
  virtual bool Get(const K& key, std::optional<V>* value) = 0;
};

//! Makes a getter per task; empty when a table has none.
template <typename K, typename V>
using TableValueGetterSupplier = std::function<std::unique_ptr<TableValueGetter<K, V>>()>;

//! Decodes stored `bytes` into *value (emplacing it); throws naming `store`.
template <typename V>
void DecodeStoredValue(const StoreValueReader& reader, const Serde<V>& serde,
                       std::string_view bytes, std::optional<V>* value) {
  if (!value->has_value()) value->emplace();
  ThrowIfStoreError(reader.store_name(), serde.Deserialize(bytes, &**value),
                    "decoding a stored value");
}

//! Reads a materialized table's key-value store.
template <typename K, typename V>
class KeyValueStoreGetter final : public TableValueGetter<K, V> {
 public:
  KeyValueStoreGetter(std::string store, SerdePtr<K> key_serde, SerdePtr<V> value_serde)
      : store_name_(std::move(store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    reader_.Init(stores, store_name_, node, /*window=*/false);
  }
  bool Get(const K& key, std::optional<V>* value) override {
    key_bytes_.clear();
    if (key_serde_->Serialize(key, &key_bytes_) && reader_.Get(key_bytes_, 0, &value_bytes_)) {
      DecodeStoredValue(reader_, *value_serde_, value_bytes_, value);
      return true;
    }
    value->reset();
    return false;
  }

 private:
  std::string store_name_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  StoreValueReader reader_;
  std::string key_bytes_;
  std::string value_bytes_;
};

//! Reads a windowed table's window store at (key bytes, window start). The
//! key serde is the table's TimeWindowedSerde: its bytes are the inner key's
//! followed by the 8-byte start, so the store key is all but the last 8. A
//! window closed during this commit interval is still read (FetchRetained):
//! the update looking it up may be a cached one flushed at the commit.
template <typename KI, typename V>
class WindowStoreGetter final : public TableValueGetter<Windowed<KI>, V> {
 public:
  WindowStoreGetter(std::string store, SerdePtr<Windowed<KI>> key_serde, SerdePtr<V> value_serde)
      : store_name_(std::move(store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    reader_.Init(stores, store_name_, node, /*window=*/true);
  }
  bool Get(const Windowed<KI>& key, std::optional<V>* value) override {
    key_bytes_.clear();
    if (key.start >= 0 && key_serde_->Serialize(key, &key_bytes_) && key_bytes_.size() >= 8) {
      key_bytes_.resize(key_bytes_.size() - 8);
      if (reader_.Get(key_bytes_, key.start, &value_bytes_)) {
        DecodeStoredValue(reader_, *value_serde_, value_bytes_, value);
        return true;
      }
    }
    value->reset();
    return false;
  }

 private:
  std::string store_name_;
  SerdePtr<Windowed<KI>> key_serde_;
  SerdePtr<V> value_serde_;
  StoreValueReader reader_;
  std::string key_bytes_;
  std::string value_bytes_;
};

//! The getter of KTable::Filter/FilterNot: the parent's value if it passes.
template <typename K, typename V>
class FilterGetter final : public TableValueGetter<K, V> {
 public:
  FilterGetter(std::unique_ptr<TableValueGetter<K, V>> parent,
               std::shared_ptr<const Predicate<K, V>> predicate, bool keep)
      : parent_(std::move(parent)), predicate_(std::move(predicate)), keep_(keep) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    parent_->Init(stores, node);
  }
  bool Get(const K& key, std::optional<V>* value) override {
    if (parent_->Get(key, value) && (*predicate_)(key, **value) == keep_) return true;
    value->reset();
    return false;
  }

 private:
  std::unique_ptr<TableValueGetter<K, V>> parent_;
  std::shared_ptr<const Predicate<K, V>> predicate_;
  bool keep_;
};

//! The getter of KTable::MapValues: mapper(key, the parent's value).
template <typename K, typename V, typename V2>
class MapValuesGetter final : public TableValueGetter<K, V2> {
 public:
  using Mapper = std::function<V2(const K& key, const V& value)>;
  MapValuesGetter(std::unique_ptr<TableValueGetter<K, V>> parent,
                  std::shared_ptr<const Mapper> mapper)
      : parent_(std::move(parent)), mapper_(std::move(mapper)) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    parent_->Init(stores, node);
  }
  bool Get(const K& key, std::optional<V2>* value) override {
    if (!parent_->Get(key, &parent_value_)) {
      value->reset();
      return false;
    }
    value->emplace((*mapper_)(key, *parent_value_));
    return true;
  }

 private:
  std::unique_ptr<TableValueGetter<K, V>> parent_;
  std::shared_ptr<const Mapper> mapper_;
  std::optional<V> parent_value_;
};

//! The getter of a KTable-KTable join result: the join of both sides' values.
template <typename K, typename V1, typename V2, typename VR>
class TableJoinGetter final : public TableValueGetter<K, VR> {
 public:
  TableJoinGetter(JoinKind kind, std::unique_ptr<TableValueGetter<K, V1>> left,
                  std::unique_ptr<TableValueGetter<K, V2>> right,
                  std::shared_ptr<const JoinFn<K, V1, V2, VR>> joiner)
      : kind_(kind), left_(std::move(left)), right_(std::move(right)), joiner_(std::move(joiner)) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    left_->Init(stores, node);
    right_->Init(stores, node);
  }
  bool Get(const K& key, std::optional<VR>* value) override {
    const bool has_left = left_->Get(key, &left_value_);
    const bool has_right = right_->Get(key, &right_value_);
    if (!TableJoinHasResult(kind_, has_left, has_right)) {
      value->reset();
      return false;
    }
    value->emplace((*joiner_)(key, left_value_, right_value_));
    return true;
  }

 private:
  JoinKind kind_;
  std::unique_ptr<TableValueGetter<K, V1>> left_;
  std::unique_ptr<TableValueGetter<K, V2>> right_;
  std::shared_ptr<const JoinFn<K, V1, V2, VR>> joiner_;
  std::optional<V1> left_value_;
  std::optional<V2> right_value_;
};

//! Initializes `getter` with the stores of `context`'s task.
template <typename K, typename V, typename KOut, typename VOut>
void InitGetter(TableValueGetter<K, V>& getter, ProcessorContext<KOut, VOut>& context) {
  ProcessorContext<KOut, VOut>* ctx = &context;
  getter.Init(StoreLookup{[ctx](std::string_view name) {
                            return ctx->template GetStateStore<state::StateStore>(name);
                          },
                          context.record_cache()},
              context.node_name());
}

}  // namespace eventflow::streams::internal
