// The processors behind the stateless KStream operations. Not for user code.
//
// Each DSL operation adds one of these through Topology::AddProcessor. The
// user's function is type-erased once, into a std::function held by a
// shared_ptr that every task's processor instance points to (as Kafka
// Streams shares one ValueMapper between tasks): a record costs one indirect
// call and no allocation beyond what the user's function does. Records are
// moved along; timestamps and headers are kept by every operation.
//
// Thread-safety: processor instances belong to one task; the shared user
// functions are called from every task and stream thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/processor_support.h"
#include "eventflow/streams/processor.h"

namespace eventflow::streams::internal {

//! A record predicate, as filter and split take it.
template <typename K, typename V>
using Predicate = std::function<bool(const K& key, const V& value)>;

//! Forwards every record unchanged (merge, branch children).
template <typename K, typename V>
class KStreamPassThrough final : public DslProcessor<K, V, K, V> {
 public:
  void Process(Record<K, V> record) override { this->context_->Forward(std::move(record)); }
};

//! Forwards the records for which the predicate is `keep` (filter, filterNot).
template <typename K, typename V>
class KStreamFilter final : public DslProcessor<K, V, K, V> {
 public:
  KStreamFilter(std::shared_ptr<const Predicate<K, V>> predicate, bool keep)
      : predicate_(std::move(predicate)), keep_(keep) {}
  void Process(Record<K, V> record) override {
    if ((*predicate_)(record.key, record.value) == keep_) {
      this->context_->Forward(std::move(record));
    }
  }

 private:
  std::shared_ptr<const Predicate<K, V>> predicate_;
  bool keep_;
};

//! Replaces key and value (map).
template <typename K, typename V, typename K2, typename V2>
class KStreamMap final : public DslProcessor<K, V, K2, V2> {
 public:
  //! The user's function, called with (key, value).
  using Mapper = std::function<KeyValue<K2, V2>(const K& key, const V& value)>;
  explicit KStreamMap(std::shared_ptr<const Mapper> mapper) : mapper_(std::move(mapper)) {}
  void Process(Record<K, V> record) override {
    KeyValue<K2, V2> kv = (*mapper_)(record.key, record.value);
    this->context_->Forward(Record<K2, V2>{std::move(kv.first), std::move(kv.second),
                                           record.timestamp, std::move(record.headers)});
  }

 private:
  std::shared_ptr<const Mapper> mapper_;
};

//! Replaces the value (mapValues).
template <typename K, typename V, typename V2>
class KStreamMapValues final : public DslProcessor<K, V, K, V2> {
 public:
  //! The user's function, called with (key, value).
  using Mapper = std::function<V2(const K& key, const V& value)>;
  explicit KStreamMapValues(std::shared_ptr<const Mapper> mapper) : mapper_(std::move(mapper)) {}
  void Process(Record<K, V> record) override {
    V2 value = (*mapper_)(record.key, record.value);
    this->context_->Forward(Record<K, V2>{std::move(record.key), std::move(value), record.timestamp,
                                          std::move(record.headers)});
  }

 private:
  std::shared_ptr<const Mapper> mapper_;
};

//! Replaces the key (selectKey).
template <typename K, typename V, typename K2>
class KStreamSelectKey final : public DslProcessor<K, V, K2, V> {
 public:
  //! The user's function, called with (key, value).
  using Selector = std::function<K2(const K& key, const V& value)>;
  explicit KStreamSelectKey(std::shared_ptr<const Selector> selector)
      : selector_(std::move(selector)) {}
  void Process(Record<K, V> record) override {
    K2 key = (*selector_)(record.key, record.value);
    this->context_->Forward(Record<K2, V>{std::move(key), std::move(record.value), record.timestamp,
                                          std::move(record.headers)});
  }

 private:
  std::shared_ptr<const Selector> selector_;
};

//! Turns a record into 0..n records (flatMap).
template <typename K, typename V, typename K2, typename V2>
class KStreamFlatMap final : public DslProcessor<K, V, K2, V2> {
 public:
  //! The user's function, called with (key, value).
  using Mapper = std::function<std::vector<KeyValue<K2, V2>>(const K& key, const V& value)>;
  explicit KStreamFlatMap(std::shared_ptr<const Mapper> mapper) : mapper_(std::move(mapper)) {}
  void Process(Record<K, V> record) override {
    std::vector<KeyValue<K2, V2>> out = (*mapper_)(record.key, record.value);
    const size_t n = out.size();
    for (size_t i = 0; i < n; ++i) {
      // Every output gets the headers; the last one takes them.
      this->context_->Forward(
          Record<K2, V2>{std::move(out[i].first), std::move(out[i].second), record.timestamp,
                         i + 1 == n ? std::move(record.headers) : record.headers});
    }
  }

 private:
  std::shared_ptr<const Mapper> mapper_;
};

//! Turns a record into 0..n records with the same key (flatMapValues).
template <typename K, typename V, typename V2>
class KStreamFlatMapValues final : public DslProcessor<K, V, K, V2> {
 public:
  //! The user's function, called with (key, value).
  using Mapper = std::function<std::vector<V2>(const K& key, const V& value)>;
  explicit KStreamFlatMapValues(std::shared_ptr<const Mapper> mapper)
      : mapper_(std::move(mapper)) {}
  void Process(Record<K, V> record) override {
    std::vector<V2> out = (*mapper_)(record.key, record.value);
    const size_t n = out.size();
    for (size_t i = 0; i < n; ++i) {
      const bool last = i + 1 == n;
      this->context_->Forward(Record<K, V2>{last ? std::move(record.key) : record.key,
                                            std::move(out[i]), record.timestamp,
                                            last ? std::move(record.headers) : record.headers});
    }
  }

 private:
  std::shared_ptr<const Mapper> mapper_;
};

//! Calls an action for every record; forwards it unless terminal (peek, foreach).
template <typename K, typename V>
class KStreamPeek final : public DslProcessor<K, V, K, V> {
 public:
  //! The user's function, called with (key, value).
  using Action = std::function<void(const K& key, const V& value)>;
  KStreamPeek(std::shared_ptr<const Action> action, bool forward)
      : action_(std::move(action)), forward_(forward) {}
  void Process(Record<K, V> record) override {
    (*action_)(record.key, record.value);
    if (forward_) this->context_->Forward(std::move(record));
  }

 private:
  std::shared_ptr<const Action> action_;
  bool forward_;
};

//! Drops the records whose key the serde writes as a Kafka null (before a
//! repartition topic of an aggregation, as Kafka Streams does: a null key has
//! no partition to go to). The key is serialized into a buffer kept by the
//! task's instance, so a record costs no allocation once it has grown.
template <typename K, typename V>
class KStreamNullKeyFilter final : public DslProcessor<K, V, K, V> {
 public:
  explicit KStreamNullKeyFilter(SerdePtr<K> key_serde) : key_serde_(std::move(key_serde)) {}
  void Process(Record<K, V> record) override {
    key_bytes_.clear();
    if (key_serde_->Serialize(record.key, &key_bytes_)) this->context_->Forward(std::move(record));
  }

 private:
  SerdePtr<K> key_serde_;
  std::string key_bytes_;
};

//! The branches of a split, filled in by BranchedKStream after the splitter
//! node was added (as Kafka Streams fills KStreamBranch's lists).
template <typename K, typename V>
struct SplitSpec {
  struct Branch {
    Predicate<K, V> predicate;
    std::string child;  //!< the branch node's name
  };
  std::vector<Branch> branches;
  std::optional<std::string> default_child;
  bool closed = false;  //!< DefaultBranch() or NoDefaultBranch() was called
};

//! Sends each record to the first branch whose predicate matches, else to the
//! default branch if there is one, else drops it (split).
template <typename K, typename V>
class KStreamBranch final : public DslProcessor<K, V, K, V> {
 public:
  explicit KStreamBranch(std::shared_ptr<const SplitSpec<K, V>> spec) : spec_(std::move(spec)) {}
  void Process(Record<K, V> record) override {
    for (const auto& branch : spec_->branches) {
      if (branch.predicate(record.key, record.value)) {
        this->context_->Forward(std::move(record), branch.child);
        return;
      }
    }
    if (spec_->default_child) this->context_->Forward(std::move(record), *spec_->default_child);
  }

 private:
  std::shared_ptr<const SplitSpec<K, V>> spec_;
};

}  // namespace eventflow::streams::internal
