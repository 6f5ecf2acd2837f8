#include "rocksdb_status.h"

#include <string>

namespace eventflow::state::internal {

Status FromRocksDb(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return Status::OK();
  std::string message(context);
  message.append(": ").append(status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return Status::NotFound(std::move(message));
    case rocksdb::Status::kCorruption:
      return Status::Corruption(std::move(message));
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return Status::InvalidArgument(std::move(message));
    case rocksdb::Status::kIOError:
      return Status::IOError(std::move(message));
    case rocksdb::Status::kTimedOut:
      return Status::TimedOut(std::move(message));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
      return Status::Unavailable(std::move(message));
    case rocksdb::Status::kAborted:
      return Status::Aborted(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

}  // namespace eventflow::state::internal
