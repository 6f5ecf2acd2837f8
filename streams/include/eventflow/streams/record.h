// Record<K, V>: what flows between processors, and Headers.
//
// A record is a typed key, a typed value, an event timestamp (epoch ms) and
// headers. Keys and values are plain C++ values; a Kafka null (a tombstone or
// a record without key) is modelled by the type itself, e.g. std::optional<V>
// with a serde that maps null to nullopt (see serde.h).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventflow::streams {

//! One record header.
struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

//! Record headers in insertion order; keys may repeat, as in Kafka.
class Headers {
 public:
  //! Appends a header.
  void Add(std::string_view key, std::string_view value) {
    headers_.push_back(Header{std::string(key), std::string(value)});
  }
  //! Returns the value of the last header named `key`, or nullptr.
  const std::string* LastValue(std::string_view key) const {
    for (auto it = headers_.rbegin(); it != headers_.rend(); ++it) {
      if (it->key == key) return &it->value;
    }
    return nullptr;
  }
  //! Removes every header named `key`.
  void Remove(std::string_view key) {
    std::erase_if(headers_, [&](const Header& h) { return h.key == key; });
  }
  bool empty() const { return headers_.empty(); }
  size_t size() const { return headers_.size(); }
  std::vector<Header>::const_iterator begin() const { return headers_.begin(); }
  std::vector<Header>::const_iterator end() const { return headers_.end(); }
  friend bool operator==(const Headers&, const Headers&) = default;

 private:
  std::vector<Header> headers_;
};

//! A typed record between processors.
template <typename K, typename V>
struct Record {
  K key{};
  V value{};
  int64_t timestamp = 0;  //!< event time, epoch milliseconds
  Headers headers;

  //! Returns a record with the same timestamp and headers and a new key and value.
  template <typename K2, typename V2>
  Record<K2, V2> WithKeyValue(K2 k, V2 v) const& {
    return Record<K2, V2>{std::move(k), std::move(v), timestamp, headers};
  }
  template <typename K2, typename V2>
  Record<K2, V2> WithKeyValue(K2 k, V2 v) && {
    return Record<K2, V2>{std::move(k), std::move(v), timestamp, std::move(headers)};
  }
};

//! Where the record being processed came from (absent during punctuation).
struct RecordContext {
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

}  // namespace eventflow::streams
