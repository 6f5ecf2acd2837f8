// ChangelogWriter: how a state store sends its changes to its changelog.
//
// The state module knows nothing about Kafka. Every mutation of a store (Put,
// Delete, Remove) first calls ChangelogWriter::Log with the change in the
// store's changelog format; streams/ implements the interface with the task's
// producer (one writer per store and task, bound to the changelog topic
// `<application.id>-<store>-changelog` and the task's partition), so the record
// joins the task's Kafka transaction. Restoring a store feeds those records back
// through StateStore::RestoreBatch.
//
// Changelog record formats (the key is the only thing a store needs to decode):
//   KeyValueStore: key = the store key, value = the store value.
//   WindowStore:   key = EncodeWindowKey(key, window_start[, sequence]), see store_keys.h.
//   SessionStore:  key = EncodeSessionKey(key, session_start, session_end), see store_keys.h.
//   value = the stored bytes, or a tombstone (Kafka null) for a deletion.
//
// Thread-safety: called from the thread that owns the store (the task's
// thread). Ownership: the store does not own its writer; the writer must outlive
// the store or be replaced first (StateStore::SetChangelogWriter).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::state {

//! Receives every change a store makes, in the order it makes them (see file comment).
class ChangelogWriter {
 public:
  virtual ~ChangelogWriter() = default;

  //! Appends one change: `value` is nullopt for a deletion (a tombstone);
  //! `timestamp` is the event time of the change in ms; the runtime's writer
  //! (streams/src/processor_state_manager.cc) ignores it and stamps the Kafka
  //! record with the wall-clock time of writing, so that a changelog's time
  //! retention counts from the write. The views are valid only during the
  //! call. Returns OK when the change was accepted; on error the store does
  //! not apply the write and returns this status to its caller.
  virtual Status Log(std::string_view key, std::optional<std::string_view> value,
                     int64_t timestamp) = 0;
};

}  // namespace eventflow::state
