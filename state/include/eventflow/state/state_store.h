// StateStore: what every store (key-value, window, session) offers the runtime,
// independent of what it stores: transactions tied to changelog offsets,
// restore, wipe.
//
// TRANSACTIONS. A store holds every write since its last commit in a pending
// layer that its own reads see (read-your-writes; a deletion is a tombstone that
// hides the committed value). Nothing reaches disk until Commit(offset), which
// writes the pending layer AND the changelog offset it corresponds to in one
// atomic RocksDB write (WAL on); the runtime calls it after the Kafka
// transaction that carried the same changes to the changelog has committed.
// Abort() drops the pending layer. So after a crash (kill -9) a RocksDB store is
// exactly as of its last Commit, and CommittedOffset() says where to resume
// restoring from: only the changelog tail is replayed.
//
// OPENING. A store is opened by OpenKeyValueStore / OpenWindowStore /
// OpenSessionStore. If its offset entry is missing (a new store, or one never
// committed) or corrupt, CommittedOffset() is nullopt and OffsetStatus() says
// which (NotFound / Corruption); the runtime then calls Wipe() and restores the
// changelog in full. RestoreBatch() writes changelog records straight to the
// committed state (no pending layer, no changelog) with the offset reached.
//
// LIFECYCLE. Open -> (RestoreBatch)* -> { writes, reads, Commit | Abort }* ->
// destroy. Destroying a store drops its pending layer (like Abort).
//
// THREAD-SAFETY. Not thread-safe: a store belongs to one task and is used by the
// thread running that task. Iterators must not outlive their store, and must not
// be advanced after a write to the same store (collect first, then write).
// The one exception is a COMMITTED VIEW (KeyValueStore/WindowStore/
// SessionStore::NewCommittedView): any thread may create one while the store
// is alive, and read through it while the task's thread writes and commits.
// A view shows the state as of the last Commit (or RestoreBatch) before its
// creation — never pending writes, never a record cache's contents (the cache
// sits above the store) — through the same read code the task uses. It is
// meant for one query (interactive queries): the task's thread waits for open
// views when it creates or drops a segment or wipes the store (and, in memory,
// at commit), so destroy it promptly, and before the store.
//
// OWNERSHIP. The caller owns the store (std::unique_ptr); the store does not own
// its ChangelogWriter or StateMemoryBudget.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::state {

class ChangelogWriter;

//! One changelog record as the restore consumer read it: the key in the
//! store's changelog format (changelog_writer.h) and the value, nullopt for a
//! tombstone. Views; the caller keeps the bytes alive during RestoreBatch.
struct ChangelogRecord {
  std::string_view key;                   //!< changelog key bytes
  std::optional<std::string_view> value;  //!< value bytes; nullopt = tombstone
};

//! The transactional part of every store (see file comment).
class StateStore {
 public:
  virtual ~StateStore() = default;

  //! Returns the store's name.
  virtual const std::string& name() const = 0;

  //! Returns true for a RocksDB store (state survives the process).
  virtual bool persistent() const = 0;

  //! Writes the pending layer and `changelog_offset` atomically. Returns
  //! InvalidArgument for a negative offset, IOError (naming the store) when
  //! RocksDB fails; on failure the pending layer is kept.
  virtual Status Commit(int64_t changelog_offset) = 0;

  //! Drops every write since the last Commit (and undoes stream-time advances).
  virtual void Abort() = 0;

  //! Returns true when there are writes (or expiry) not yet committed.
  virtual bool HasPendingWrites() const = 0;

  //! Returns the offset stored by the last Commit/RestoreBatch, or nullopt when
  //! the entry is missing or corrupt (see OffsetStatus()).
  virtual std::optional<int64_t> CommittedOffset() const = 0;

  //! Returns OK when CommittedOffset() has a value, NotFound when the entry is
  //! missing, Corruption when it is present but unreadable.
  virtual Status OffsetStatus() const = 0;

  //! Deletes all data (committed and pending) and the offset, leaving an empty,
  //! open store. Returns IOError naming the store on failure.
  virtual Status Wipe() = 0;

  //! Applies changelog records (in changelog order) directly to the committed
  //! state together with `end_offset`, atomically; does not log them. Returns
  //! InvalidArgument when writes are pending or end_offset is negative,
  //! Corruption naming the store when a key cannot be decoded.
  virtual Status RestoreBatch(std::span<const ChangelogRecord> records, int64_t end_offset) = 0;

  //! Replaces the changelog writer (nullptr: stop logging), e.g. when a standby
  //! becomes active.
  virtual void SetChangelogWriter(ChangelogWriter* writer) = 0;

  //! Returns a RocksDB integer property ("rocksdb.estimate-num-keys",
  //! "rocksdb.block-cache-usage", ...) summed over the store's data column
  //! families (block-cache properties: the shared cache, counted once), or
  //! nullopt for an in-memory store or an unknown property.
  virtual std::optional<uint64_t> GetIntProperty(std::string_view property) = 0;
};

}  // namespace eventflow::state
