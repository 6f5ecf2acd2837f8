// Serde<T>: how keys and values are turned into bytes and back at the edges
// of a topology (source and sink nodes, repartition topics).
//
// Serdes are immutable after construction and shared between tasks and
// threads (hence std::shared_ptr<const Serde<T>>). A Kafka null is passed to
// Deserialize() as std::nullopt; Serialize() returns false to write a null.
// Plain types reject nulls with a clear error; wrap them with Nullable() to
// map null to std::nullopt.
//
// Thread-safety: all methods are const and must be safe to call concurrently.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "eventflow/core/status.h"

namespace eventflow::streams {

template <typename T>
class Serde {
 public:
  virtual ~Serde() = default;
  //! Appends the bytes of `value` to `out`; returns false when the value is a
  //! Kafka null (nothing appended).
  virtual bool Serialize(const T& value, std::string* out) const = 0;
  //! Decodes `data` (nullopt = Kafka null) into `*out`; InvalidArgument with
  //! the reason on bad data.
  virtual Status Deserialize(std::optional<std::string_view> data, T* out) const = 0;
  //! A short name for Describe() and error messages, e.g. "string".
  virtual std::string_view Name() const = 0;
};

template <typename T>
using SerdePtr = std::shared_ptr<const Serde<T>>;

namespace internal {
inline Status NullError(std::string_view serde) {
  return Status::InvalidArgument("null where the " + std::string(serde) +
                                 " serde expects a value (use Serdes::Nullable)");
}
}  // namespace internal

//! UTF-8 text or any bytes, as std::string (Kafka's StringSerde/BytesSerde).
class StringSerde final : public Serde<std::string> {
 public:
  explicit StringSerde(std::string name = "string") : name_(std::move(name)) {}
  bool Serialize(const std::string& v, std::string* out) const override {
    out->append(v);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, std::string* out) const override {
    if (!data) return internal::NullError(name_);
    out->assign(*data);
    return Status::OK();
  }
  std::string_view Name() const override { return name_; }

 private:
  std::string name_;  // owned: a view would dangle when built from a temporary
};

//! 64-bit signed integers, 8 bytes big-endian (Kafka's LongSerde).
class Int64Serde final : public Serde<int64_t> {
 public:
  bool Serialize(const int64_t& v, std::string* out) const override {
    uint64_t u = static_cast<uint64_t>(v);
    char buf[8];
    for (int i = 7; i >= 0; --i, u >>= 8) buf[i] = static_cast<char>(u & 0xff);
    out->append(buf, 8);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, int64_t* out) const override {
    if (!data) return internal::NullError("int64");
    if (data->size() != 8) {
      return Status::InvalidArgument("int64 serde needs 8 bytes, got " +
                                     std::to_string(data->size()));
    }
    uint64_t u = 0;
    for (unsigned char c : *data) u = (u << 8) | c;
    *out = static_cast<int64_t>(u);
    return Status::OK();
  }
  std::string_view Name() const override { return "int64"; }
};

//! IEEE 754 doubles, 8 bytes big-endian (Kafka's DoubleSerde).
class DoubleSerde final : public Serde<double> {
 public:
  bool Serialize(const double& v, std::string* out) const override {
    return Int64Serde().Serialize(std::bit_cast<int64_t>(v), out);
  }
  Status Deserialize(std::optional<std::string_view> data, double* out) const override {
    if (!data) return internal::NullError("double");
    int64_t bits = 0;
    Status s = Int64Serde().Deserialize(data, &bits);
    if (!s.ok()) return Status::InvalidArgument("double serde needs 8 bytes");
    *out = std::bit_cast<double>(bits);
    return Status::OK();
  }
  std::string_view Name() const override { return "double"; }
};

//! Keys or values that are always null (e.g. records without key).
class VoidSerde final : public Serde<std::monostate> {
 public:
  bool Serialize(const std::monostate&, std::string*) const override { return false; }
  Status Deserialize(std::optional<std::string_view>, std::monostate*) const override {
    return Status::OK();
  }
  std::string_view Name() const override { return "void"; }
};

//! Wraps a serde so that Kafka null ⇄ std::nullopt.
template <typename T>
class NullableSerde final : public Serde<std::optional<T>> {
 public:
  explicit NullableSerde(SerdePtr<T> inner) : inner_(std::move(inner)) {}
  bool Serialize(const std::optional<T>& v, std::string* out) const override {
    return v.has_value() && inner_->Serialize(*v, out);
  }
  Status Deserialize(std::optional<std::string_view> data,
                     std::optional<T>* out) const override {
    if (!data) {
      out->reset();
      return Status::OK();
    }
    T value{};
    EVENTFLOW_RETURN_IF_ERROR(inner_->Deserialize(data, &value));
    *out = std::move(value);
    return Status::OK();
  }
  std::string_view Name() const override { return inner_->Name(); }

 private:
  SerdePtr<T> inner_;
};

//! A serde for user types from two functions (e.g. a JSON encoder and a
//! simdjson decoder). `decode` is not called for nulls.
template <typename T>
class FunctionSerde final : public Serde<T> {
 public:
  using Encode = std::function<void(const T&, std::string*)>;
  using Decode = std::function<Status(std::string_view, T*)>;
  FunctionSerde(std::string name, Encode encode, Decode decode)
      : name_(std::move(name)), encode_(std::move(encode)), decode_(std::move(decode)) {}
  bool Serialize(const T& v, std::string* out) const override {
    encode_(v, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, T* out) const override {
    if (!data) return internal::NullError(name_);
    return decode_(*data, out);
  }
  std::string_view Name() const override { return name_; }

 private:
  std::string name_;
  Encode encode_;
  Decode decode_;
};

//! Factory functions for the built-in serdes.
struct Serdes {
  static SerdePtr<std::string> String() { return std::make_shared<StringSerde>("string"); }
  static SerdePtr<std::string> Bytes() { return std::make_shared<StringSerde>("bytes"); }
  static SerdePtr<int64_t> Int64() { return std::make_shared<Int64Serde>(); }
  static SerdePtr<double> Double() { return std::make_shared<DoubleSerde>(); }
  static SerdePtr<std::monostate> Void() { return std::make_shared<VoidSerde>(); }
  template <typename T>
  static SerdePtr<std::optional<T>> Nullable(SerdePtr<T> inner) {
    return std::make_shared<NullableSerde<T>>(std::move(inner));
  }
  template <typename T>
  static SerdePtr<T> Of(std::string name, typename FunctionSerde<T>::Encode encode,
                        typename FunctionSerde<T>::Decode decode) {
    return std::make_shared<FunctionSerde<T>>(std::move(name), std::move(encode),
                                              std::move(decode));
  }
};

}  // namespace eventflow::streams
