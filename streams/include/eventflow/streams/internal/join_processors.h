// The processors behind the DSL's joins, the table value getters they read
// the other side with, and the source-table processor. Not for user code.
//
// Joiners: every join calls one normalized function,
// JoinFn(key, optional<left>, optional<right>), made by MakeJoiner from the
// user's joiner; a missing side is std::nullopt (only left/outer joins pass
// one). Results are forwarded as Record<K, VR> (stream joins) or
// Record<K, std::optional<VR>> (table joins, nullopt = tombstone).
//
// Value getters (Kafka's KTableValueGetter): a KTable-KTable or KStream-KTable
// join looks the other side's CURRENT value up through a TableValueGetter: a
// materialized table reads its store (key-value store, or for a windowed
// table KTable<Windowed<K>, V> the window store at (key bytes, window start));
// Filter/FilterNot/MapValues apply their function to their parent's getter;
// a table-table join result joins its two sides' getters. Stores keep no
// record timestamps, so a table-join result carries the timestamp of the
// update that caused it (Kafka takes the larger of both sides').
//
// Record caches: a table whose updates go through the task's record cache
// reaches the join only when the cache flushes (per commit, deduplicated per
// key). A store getter reads through the cache (CacheView: the store's id in
// the task's cache, looked up by name at Init), so a lookup sees the other
// side's unflushed updates: every result pairs the values current when it is
// computed, as Kafka's caching stores give.
//
// Thread-safety: processor and getter instances belong to one task; the
// shared joiners and user functions are called from every task and thread.
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
#include <type_traits>
#include <utility>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/window_store.h"
#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/kstream_processors.h"
#include "eventflow/streams/internal/ktable_processors.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/serde.h"
#include "eventflow/streams/windowed.h"

namespace eventflow::streams::internal {

// Generated-name prefixes, as in Kafka Streams (KStreamImpl, KTableImpl).
inline constexpr std::string_view kWindowedName = "KSTREAM-WINDOWED-";
inline constexpr std::string_view kJoinThisName = "KSTREAM-JOINTHIS-";
inline constexpr std::string_view kJoinOtherName = "KSTREAM-JOINOTHER-";
inline constexpr std::string_view kOuterThisName = "KSTREAM-OUTERTHIS-";
inline constexpr std::string_view kOuterOtherName = "KSTREAM-OUTEROTHER-";
inline constexpr std::string_view kOuterSharedName = "KSTREAM-OUTERSHARED-";
inline constexpr std::string_view kStreamTableJoinName = "KSTREAM-JOIN-";
inline constexpr std::string_view kStreamTableLeftJoinName = "KSTREAM-LEFTJOIN-";
inline constexpr std::string_view kTableJoinThisName = "KTABLE-JOINTHIS-";
inline constexpr std::string_view kTableJoinOtherName = "KTABLE-JOINOTHER-";
inline constexpr std::string_view kTableMergeName = "KTABLE-MERGE-";
inline constexpr std::string_view kTableSourceName = "KTABLE-SOURCE-";
//! Appended to a topic name for the generated store of a source table.
inline constexpr std::string_view kSourceStoreSuffix = "-STATE-STORE-";

//! Whether a key type is Windowed<K> (a windowed table's), and its inner key.
template <typename T>
struct WindowedKey : std::false_type {};
template <typename KI>
struct WindowedKey<Windowed<KI>> : std::true_type {
  using Inner = KI;
};

//! Which rows or records of a join produce a result.
enum class JoinKind {
  kInner,  //!< both sides present
  kLeft,   //!< the left side present (the right may be missing)
  kOuter,  //!< either side present
};

//! The normalized joiner: (key, left, right); a side is nullopt when missing.
template <typename K, typename V1, typename V2, typename VR>
using JoinFn =
    std::function<VR(const K& key, const std::optional<V1>& left, const std::optional<V2>& right)>;

//! The argument types the user's joiner takes for `kKind`: V1 and V2 for an
//! inner join, V1 and optional<V2> for a left join, optional of both for an
//! outer join.
template <JoinKind kKind, typename V1, typename V2>
struct JoinerArgs {
  using Left = std::conditional_t<kKind == JoinKind::kOuter, std::optional<V1>, V1>;
  using Right = std::conditional_t<kKind == JoinKind::kInner, V2, std::optional<V2>>;
};

template <JoinKind kKind, typename K, typename V1, typename V2, typename F>
auto JoinerResultProbe() {
  using A = typename JoinerArgs<kKind, V1, V2>::Left;
  using B = typename JoinerArgs<kKind, V1, V2>::Right;
  if constexpr (std::is_invocable_v<F&, const K&, const A&, const B&>) {
    return std::type_identity<
        std::decay_t<std::invoke_result_t<F&, const K&, const A&, const B&>>>{};
  } else if constexpr (std::is_invocable_v<F&, const A&, const B&>) {
    return std::type_identity<std::decay_t<std::invoke_result_t<F&, const A&, const B&>>>{};
  } else {
    return std::type_identity<void>{};
  }
}

//! What the user's joiner F returns for `kKind` (void when it cannot be called
//! with the arguments of JoinerArgs, with or without the key first).
template <JoinKind kKind, typename K, typename V1, typename V2, typename F>
using JoinerResult = typename decltype(JoinerResultProbe<kKind, K, V1, V2, F>())::type;

//! Wraps the user's joiner into the normalized JoinFn. The processors call it
//! only with the sides `kKind` guarantees present.
template <JoinKind kKind, typename K, typename V1, typename V2, typename VR, typename F>
JoinFn<K, V1, V2, VR> MakeJoiner(F f) {
  return [f = std::move(f)](const K& key, const std::optional<V1>& left,
                            const std::optional<V2>& right) mutable -> VR {
    const auto& a = [&]() -> decltype(auto) {
      if constexpr (kKind == JoinKind::kOuter) {
        return (left);
      } else {
        return (*left);
      }
    }();
    const auto& b = [&]() -> decltype(auto) {
      if constexpr (kKind == JoinKind::kInner) {
        return (*right);
      } else {
        return (right);
      }
    }();
    using A = typename JoinerArgs<kKind, V1, V2>::Left;
    using B = typename JoinerArgs<kKind, V1, V2>::Right;
    if constexpr (std::is_invocable_v<F&, const K&, const A&, const B&>) {
      return f(key, a, b);
    } else {
      return f(a, b);
    }
  };
}

// ---------------------------------------------------------------------------
// Table value getters.

//! A task's state stores by name (nullptr when it has none), and its record
//! cache (nullptr when caching is off): getters read a store through the
//! cache, so they see the unflushed updates of the aggregation that owns it.
struct StoreLookup {
  std::function<state::StateStore*(std::string_view name)> store;
  state::RecordCache* cache = nullptr;
  state::StateStore* operator()(std::string_view name) const { return store(name); }
};

//! Where a getter finds a store's unflushed updates: the task's cache and the
//! store's id in it, when the store's writer caches.
struct CacheView {
  void Init(const StoreLookup& stores, const std::string& store_name) {
    cache = stores.cache;
    if (cache != nullptr) id = cache->FindStore(store_name);
  }
  //! The cached update of `key` (value nullopt: deleted), or nullopt.
  std::optional<state::RecordCache::CachedValue> Get(std::string_view key) const {
    if (!id) return std::nullopt;
    return cache->Get(*id, key);
  }
  state::RecordCache* cache = nullptr;
  std::optional<state::RecordCache::StoreId> id;
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

//! Finds the store `name` of kind S through `stores`, or throws naming `node`.
template <typename S>
S* FindJoinStore(const StoreLookup& stores, const std::string& name, const std::string& node,
                 const char* kind) {
  S* store = dynamic_cast<S*>(stores(name));
  if (store == nullptr) {
    throw std::logic_error("node \"" + node + "\" cannot reach the " + kind + " store \"" + name +
                           "\": the joined tables or streams must be in the same sub-topology");
  }
  return store;
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
    store_ = FindJoinStore<state::KeyValueStore>(stores, store_name_, node, "key-value");
    cache_.Init(stores, store_name_);
  }
  bool Get(const K& key, std::optional<V>* value) override {
    key_bytes_.clear();
    if (key_serde_->Serialize(key, &key_bytes_)) {
      Status got = Status::OK();
      if (auto cached = cache_.Get(key_bytes_)) {
        if (cached->value) {
          value_bytes_.assign(*cached->value);
        } else {
          got = Status::NotFound("deleted");
        }
      } else {
        got = store_->Get(key_bytes_, &value_bytes_);
      }
      if (got.ok()) {
        if (!value->has_value()) value->emplace();
        ThrowIfStoreError(store_name_, value_serde_->Deserialize(value_bytes_, &**value),
                          "decoding a stored value");
        return true;
      }
      if (!got.IsNotFound()) ThrowIfStoreError(store_name_, got, "reading");
    }
    value->reset();
    return false;
  }

 private:
  std::string store_name_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  state::KeyValueStore* store_ = nullptr;
  CacheView cache_;
  std::string key_bytes_;
  std::string value_bytes_;
};

//! Reads a windowed table's window store at (key bytes, window start). The
//! key serde is the table's TimeWindowedSerde: its bytes are the inner key's
//! followed by the 8-byte start, so the store key is all but the last 8.
template <typename KI, typename V>
class WindowStoreGetter final : public TableValueGetter<Windowed<KI>, V> {
 public:
  WindowStoreGetter(std::string store, SerdePtr<Windowed<KI>> key_serde, SerdePtr<V> value_serde)
      : store_name_(std::move(store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  void Init(const StoreLookup& stores, const std::string& node) override {
    store_ = FindJoinStore<state::WindowStore>(stores, store_name_, node, "window");
    cache_.Init(stores, store_name_);
  }
  bool Get(const Windowed<KI>& key, std::optional<V>* value) override {
    key_bytes_.clear();
    if (key.start >= 0 && key_serde_->Serialize(key, &key_bytes_) && key_bytes_.size() >= 8) {
      key_bytes_.resize(key_bytes_.size() - 8);
      Status got = Status::OK();
      std::optional<state::RecordCache::CachedValue> cached;
      if (cache_.id) {
        state::EncodeWindowKey(key_bytes_, key.start, &cache_key_);
        cached = cache_.Get(cache_key_);
      }
      if (cached) {
        if (cached->value) {
          value_bytes_.assign(*cached->value);
        } else {
          got = Status::NotFound("deleted");
        }
      } else {
        // A window closed during this commit interval is still read: the
        // update looking it up may be a cached one flushed at the commit.
        got = store_->FetchRetained(key_bytes_, key.start, &value_bytes_);
      }
      if (got.ok()) {
        if (!value->has_value()) value->emplace();
        ThrowIfStoreError(store_name_, value_serde_->Deserialize(value_bytes_, &**value),
                          "decoding a stored value");
        return true;
      }
      if (!got.IsNotFound()) ThrowIfStoreError(store_name_, got, "reading");
    }
    value->reset();
    return false;
  }

 private:
  std::string store_name_;
  SerdePtr<Windowed<KI>> key_serde_;
  SerdePtr<V> value_serde_;
  state::WindowStore* store_ = nullptr;
  CacheView cache_;
  std::string key_bytes_;
  std::string cache_key_;
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

//! Returns whether a table join of `kind` has a result for these sides.
inline bool TableJoinHasResult(JoinKind kind, bool has_left, bool has_right) {
  switch (kind) {
    case JoinKind::kInner:
      return has_left && has_right;
    case JoinKind::kLeft:
      return has_left;
    case JoinKind::kOuter:
      return has_left || has_right;
  }
  return false;
}

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

// ---------------------------------------------------------------------------
// Source table.

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
    store_ = RequireStore<state::KeyValueStore>(context, store_name_, "key-value");
  }

  void Process(Record<K, std::optional<V>> record) override {
    key_bytes_.clear();
    if (!key_serde_->Serialize(record.key, &key_bytes_)) {
      WarnSkippedNullOnce(*this->context_, &warned_, "key");
      return;
    }
    value_bytes_.clear();
    if (record.value && value_serde_->Serialize(*record.value, &value_bytes_)) {
      ThrowIfStoreError(store_name_, store_->Put(key_bytes_, value_bytes_, record.timestamp),
                        "writing");
    } else {
      const Status got = store_->Get(key_bytes_, &value_bytes_);
      if (got.IsNotFound()) return;  // not in the table: nothing disappears
      ThrowIfStoreError(store_name_, got, "reading");
      ThrowIfStoreError(store_name_, store_->Delete(key_bytes_, record.timestamp), "deleting");
      record.value.reset();
    }
    this->context_->Forward(std::move(record));
  }

 private:
  std::string store_name_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  state::KeyValueStore* store_ = nullptr;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_ = false;
};

// ---------------------------------------------------------------------------
// KTable-KTable join.

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

// ---------------------------------------------------------------------------
// KStream-KTable join.

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

// ---------------------------------------------------------------------------
// KStream-KStream join.

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

//! One side's window of a stream-stream join (Kafka's KStreamJoinWindow,
//! "KSTREAM-WINDOWED-<n>"): keeps every record of the side in its window
//! store (retain_duplicates; key = key serde bytes, window start = the
//! record's time, value = value serde bytes) and forwards it to the side's
//! join processor.
//!
//! Late records: a record is late, dropped and counted (dropped_late), when
//! WindowClosed(time + 1, grace, LatenessClock) — its time + grace is before
//! the window-close clock or its own partition's stream time. This is what makes left/outer results final: an
//! unmatched record's null result is emitted only once every record that
//! could match it would be late (see KStreamKStreamJoin).
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
    store_ = RequireStore<state::WindowStore>(context, store_name_, "window");
    context.Schedule(std::chrono::milliseconds(1), PunctuationType::kStreamTime, [this](int64_t) {
      const int64_t now = WindowCloseClock(*this->context_, -1);
      if (now < 0) return;
      ThrowIfStoreError(store_name_,
                        store_->ExpireBefore(now - spec_.grace - spec_.AfterOf(left_side_)),
                        "expiring records no join can match");
    });
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
    const int64_t now = LatenessClock(*this->context_, record.timestamp);
    if (WindowClosed(record.timestamp + 1, spec_.grace, now)) {
      DropLate(record.timestamp, now);
      return;
    }
    ThrowIfStoreError(store_name_,
                      store_->Put(key_bytes_, record.timestamp, value_bytes_, record.timestamp),
                      "writing");
    this->context_->Forward(std::move(record));
  }

 private:
  void DropLate(int64_t timestamp, int64_t now) {
    this->context_->CountDroppedLate();
    if (warned_late_) return;
    warned_late_ = true;
    Log(LogLevel::kWarn, "streams",
        "node \"" + this->context_->node_name() + "\" drops a record at " +
            std::to_string(timestamp) + ": older than the join's grace " +
            std::to_string(spec_.grace) + " ms before the window-close clock " +
            std::to_string(now) + "; further late records in this task are only counted " +
            "(dropped_late)");
  }

  std::string store_name_;
  bool left_side_;
  StreamJoinSpec spec_;
  SerdePtr<K> key_serde_;
  SerdePtr<V> value_serde_;
  state::WindowStore* store_ = nullptr;
  std::string key_bytes_;
  std::string value_bytes_;
  bool warned_null_ = false;
  bool warned_late_ = false;
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
        this_outer_(kThisIsLeft ? spec.left_outer : spec.right_outer),
        other_outer_(kThisIsLeft ? spec.right_outer : spec.left_outer) {}

  void Init(ProcessorContext<K, VR>& context) override {
    DslProcessor<K, VThis, K, VR>::Init(context);
    other_store_ = RequireStore<state::WindowStore>(context, other_store_name_, "window");
    if (outer_store_name_) {
      outer_store_ = RequireStore<state::WindowStore>(context, *outer_store_name_, "window");
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
    const int64_t from = std::max<int64_t>(0, time - spec_.BeforeOf(kThisIsLeft));
    const int64_t to = time + spec_.AfterOf(kThisIsLeft);
    this_value_.emplace(std::move(record.value));
    bool matched = false;
    int64_t cleared = -1;  // the other side's outer entry at this time is gone
    auto it = other_store_->Fetch(key_bytes_, from, to);
    for (; it->Valid(); it->Next()) {
      matched = true;
      const int64_t other_time = it->window_start();
      if (other_outer_ && other_time != cleared) {
        ClearOuter(kThisIsLeft ? kRightSideTag : kLeftSideTag,
                   other_time + spec_.AfterOf(!kThisIsLeft), time);
        cleared = other_time;
      }
      if (!other_value_.has_value()) other_value_.emplace();
      Check(other_store_name_, other_value_serde_->Deserialize(it->value(), &*other_value_),
            "decoding a stored value");
      VR result = Join(record.key, this_value_, other_value_);
      this->context_->Forward(
          Record<K, VR>{record.key, std::move(result), std::max(time, other_time), record.headers});
    }
    Check(other_store_name_, it->status(), "fetching the other side's records");
    if (!matched && this_outer_) KeepUnmatched(time);
  }

 private:
  static void Check(const std::string& store, const Status& status, const char* doing) {
    ThrowIfStoreError(store, status, doing);
  }

  VR Join(const K& key, const std::optional<VThis>& mine, const std::optional<VOther>& theirs) {
    if constexpr (kThisIsLeft) {
      return (*joiner_)(key, mine, theirs);
    } else {
      return (*joiner_)(key, theirs, mine);
    }
  }

  // Deletes the outer entry (side, key_bytes_, close) if there is one.
  void ClearOuter(char side, int64_t close, int64_t time) {
    outer_key_.assign(1, side);
    outer_key_ += key_bytes_;
    const Status got = outer_store_->Fetch(outer_key_, close, &outer_value_);
    if (got.IsNotFound()) return;
    Check(*outer_store_name_, got, "reading an unmatched record");
    Check(*outer_store_name_, outer_store_->Delete(outer_key_, close, time),
          "deleting a matched record");
  }

  // Appends this_value_ to the outer entry of (this side, key_bytes_, close).
  void KeepUnmatched(int64_t time) {
    value_bytes_.clear();
    this_value_serde_->Serialize(*this_value_, &value_bytes_);
    const int64_t close = time + spec_.AfterOf(kThisIsLeft);
    outer_key_.assign(1, kThisIsLeft ? kLeftSideTag : kRightSideTag);
    outer_key_ += key_bytes_;
    const Status got = outer_store_->Fetch(outer_key_, close, &outer_value_);
    if (got.IsNotFound()) {
      outer_value_.clear();
    } else {
      Check(*outer_store_name_, got, "reading unmatched records");
    }
    const auto size = static_cast<uint32_t>(value_bytes_.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      outer_value_.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    outer_value_ += value_bytes_;
    Check(*outer_store_name_, outer_store_->Put(outer_key_, close, outer_value_, time),
          "keeping an unmatched record");
  }

  // An outer entry that closed, copied out of the store for sorting.
  struct Closed {
    int64_t time = 0;   // the records' time
    int64_t close = 0;  // the entry's window start
    std::string key;    // side tag + key bytes
    std::string values;
  };

  // Forwards the null-joined results of the entries closed at `now` and
  // deletes them (left side's processor only).
  void EmitClosed(int64_t now) {
    if (now < 0) return;
    const int64_t limit =
        now - spec_.grace - 1;  // WindowClosed(close + 1, grace, now) for close <= limit
    const int64_t from = outer_store_->expiry_horizon();
    if (limit < from) return;
    size_t n = 0;
    auto it = outer_store_->FetchAll(from, limit);
    for (; it->Valid(); it->Next()) {
      const int64_t close = it->window_start();
      if (!WindowClosed(close + 1, spec_.grace, now) || it->key().empty()) continue;
      if (closed_.size() <= n) closed_.emplace_back();
      Closed& c = closed_[n++];
      const bool left = it->key().front() == kLeftSideTag;
      c.close = close;
      c.time = close - spec_.AfterOf(left);
      c.key.assign(it->key());
      c.values.assign(it->value());
    }
    Check(*outer_store_name_, it->status(), "scanning unmatched records");
    it.reset();
    std::sort(closed_.begin(), closed_.begin() + static_cast<std::ptrdiff_t>(n),
              [](const Closed& a, const Closed& b) {
                if (a.time != b.time) return a.time < b.time;
                return a.key < b.key;  // 'L' < 'R', then key bytes
              });
    for (size_t i = 0; i < n; ++i) EmitEntry(closed_[i]);
    Check(*outer_store_name_, outer_store_->ExpireBefore(limit + 1), "expiring emitted records");
  }

  void EmitEntry(const Closed& c) {
    const bool left = c.key.front() == kLeftSideTag;
    K key{};
    Check(*outer_store_name_, key_serde_->Deserialize(std::string_view(c.key).substr(1), &key),
          "decoding the key of an unmatched record");
    std::string_view rest = c.values;
    while (rest.size() >= 4) {
      uint32_t size = 0;
      for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<unsigned char>(rest[i]);
      if (rest.size() - 4 < size) break;
      const std::string_view bytes = rest.substr(4, size);
      rest.remove_prefix(4 + size);
      std::optional<Left> l;
      std::optional<Right> r;
      if (left) {
        l.emplace();
        Check(*outer_store_name_, LeftSerde().Deserialize(bytes, &*l),
              "decoding an unmatched record");
      } else {
        r.emplace();
        Check(*outer_store_name_, RightSerde().Deserialize(bytes, &*r),
              "decoding an unmatched record");
      }
      this->context_->Forward(Record<K, VR>{key, (*joiner_)(key, l, r), c.time, {}});
    }
    if (!rest.empty()) {
      throw std::runtime_error("store \"" + *outer_store_name_ +
                               "\": a corrupt list of unmatched records");
    }
    Check(*outer_store_name_, outer_store_->Delete(c.key, c.close, c.time),
          "deleting an emitted record");
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
  bool this_outer_;   // this side's unmatched records get a result
  bool other_outer_;  // the other side's unmatched records get a result
  state::WindowStore* other_store_ = nullptr;
  state::WindowStore* outer_store_ = nullptr;
  std::optional<VThis> this_value_;
  std::optional<VOther> other_value_;
  std::string key_bytes_;
  std::string value_bytes_;
  std::string outer_key_;
  std::string outer_value_;
  std::vector<Closed> closed_;  // reused by EmitClosed
};

}  // namespace eventflow::streams::internal
