// Status and Result<T>: how every fallible call at a module boundary reports
// its outcome (errors are values, not exceptions).
//
// A Status is OK or carries a code and a message. Messages name the thing that
// failed (topic, partition, offset, store, setting, field) so that a log line
// alone is enough to find the cause. "Not found" is a normal result
// (IsNotFound()), not an exception. Result<T> holds either a T or a non-OK
// Status, in the manner of absl::StatusOr.
//
// Thread-safety: plain values; copying and reading from several threads is safe.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace eventflow {

//! What kind of failure a Status describes; callers branch on this, not on text.
enum class StatusCode {
  kOk = 0,
  kNotFound,         //!< the key, topic, row or file does not exist (a normal outcome)
  kInvalidArgument,  //!< bad input or configuration; retrying will not help
  kCorruption,       //!< stored or received data is damaged
  kIOError,          //!< the operating system, network or a server reported an error
  kTimedOut,         //!< the operation did not finish in time; it may still succeed later
  kUnavailable,      //!< a service is not reachable right now; retry with backoff
  kAborted,          //!< the operation was rolled back (e.g. an abortable transaction)
  kFenced,           //!< another instance took over (transactional or sink fencing)
  kFatal,            //!< the component cannot continue and must be recreated
  kInternal,         //!< a bug: an invariant did not hold
  kDataLoss,         //!< records still needed are gone (e.g. deleted by the broker before read)
};

//! Returns the code's name, e.g. "InvalidArgument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  //! An OK status.
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status TimedOut(std::string msg) { return {StatusCode::kTimedOut, std::move(msg)}; }
  static Status Unavailable(std::string msg) {
    return {StatusCode::kUnavailable, std::move(msg)};
  }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Fenced(std::string msg) { return {StatusCode::kFenced, std::move(msg)}; }
  static Status Fatal(std::string msg) { return {StatusCode::kFatal, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }

  //! True when the operation succeeded.
  bool ok() const { return code_ == StatusCode::kOk; }
  //! The failure kind (kOk on success).
  StatusCode code() const { return code_; }
  //! The human-readable message (empty on success).
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsTimedOut() const { return code_ == StatusCode::kTimedOut; }

  //! Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  //! Returns "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

//! Either a value of type T or a non-OK Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status without a value");
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without value");
  }

  //! True when a value is present.
  bool ok() const { return value_.has_value(); }
  //! OK when a value is present, otherwise the error.
  const Status& status() const { return status_; }

  //! The value; only call when ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

//! Drops `status` on purpose. `why` names the reason at the call site (e.g.
//! "best-effort cleanup; the first error is already returned"); it is neither
//! stored nor logged, so the call costs nothing. The one way to ignore an error:
//! grep for IgnoreError to review them all.
inline void IgnoreError(const Status& /*status*/, std::string_view /*why*/) {}
//! As above, for a Result whose value and error are both unwanted.
template <typename T>
void IgnoreError(const Result<T>& /*result*/, std::string_view /*why*/) {}

}  // namespace eventflow

//! Returns the status from the enclosing function when it is not OK.
#define EVENTFLOW_RETURN_IF_ERROR(expr)           \
  do {                                            \
    ::eventflow::Status _ef_status = (expr);      \
    if (!_ef_status.ok()) return _ef_status;      \
  } while (false)
