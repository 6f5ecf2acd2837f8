// The one translation of rocksdb::Status into eventflow::Status.
#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::state::internal {

//! Returns `status` as an eventflow Status whose message starts with `context`
//! (e.g. "store 'counts' at /var/lib/...: commit"); OK stays OK.
Status FromRocksDb(const rocksdb::Status& status, std::string_view context);

}  // namespace eventflow::state::internal
