// KeyValueIterator: a forward cursor over (key, value) byte pairs in byte order.
//
// Used by KeyValueStore::Range/All. An iterator sees the store's committed data
// merged with its pending writes as of the moment it was created, and is
// positioned on the first entry. Usage:
//
//   for (auto it = store.All(); it->Valid(); it->Next()) Use(it->key(), it->value());
//   EVENTFLOW_RETURN_IF_ERROR(it->status());
//
// Lifecycle and thread-safety: owned by the caller, used on the store's thread,
// destroyed before the store; writing to the store invalidates the position
// (do not call Next() after a write). key()/value() views are valid until the
// next Next() or destruction.
#pragma once

#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::state {

//! A forward cursor in byte order (see file comment).
class KeyValueIterator {
 public:
  virtual ~KeyValueIterator() = default;
  //! Returns true while positioned on an entry.
  virtual bool Valid() const = 0;
  //! Moves to the next entry; only call when Valid().
  virtual void Next() = 0;
  //! Returns the current key; only call when Valid().
  virtual std::string_view key() const = 0;
  //! Returns the current value; only call when Valid().
  virtual std::string_view value() const = 0;
  //! Returns OK, or the error that ended the iteration early (then Valid() is false).
  virtual Status status() const = 0;
};

}  // namespace eventflow::state
