// StoreReader: one state store read without disturbing the instance that owns
// it — what eventflow-state's commands are built on.
//
// SAFE ON A LIVE INSTANCE. The store's RocksDB database is opened as a
// SECONDARY instance (rocksdb::DB::OpenAsSecondary): it replays the primary's
// MANIFEST and write-ahead log read-only, never takes the database's LOCK
// (the live instance keeps it), never flushes or compacts, and never writes
// into the store's directory; its own small working directory is a fresh
// temporary directory outside the store (ReaderOptions::scratch_dir), removed
// on destruction. Every table file is opened at Open (max_open_files = -1),
// so files the primary deletes afterwards stay readable. A crashed (kill -9)
// instance's store opens the same way: the log is replayed as RocksDB would,
// up to its last complete write. Because a store commits its data and its
// changelog offset in one atomic write (state/state_store.h), what a reader
// sees is one committed state: the data of one commit with that commit's
// offset — never a pending write, never half a commit.
//
// The view is fixed at Open (one TryCatchUpWithPrimary): later commits of the
// live instance are not seen; open a new reader to see them. A segment the
// primary creates after Open is not seen either; one it drops stays readable.
//
// WHAT IT KNOWS of the store comes from its metadata column family
// ("eventflow.meta", state/store_options.h): the store format (kind), the
// changelog offset and its commit time, the segment interval and expiry
// horizon, and the StoreDescription the runtime recorded (key and value serde
// names, window size, changelog topic and partition).
//
// Reads follow the store's own rules: a window or session entry behind the
// committed expiry horizon is expired (hidden unless
// ReaderOptions::include_expired), as the task would not read it either.
//
// Thread-safety: one thread per reader. Ownership: the caller owns it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/inspector/state_dir.h"

namespace eventflow::inspector {

//! The kind of a store, from its format.
enum class StoreKind { kKeyValue, kWindow, kSession, kUnknown };

//! Returns "key-value", "window", "session" or "unknown".
std::string_view KindName(StoreKind kind);

//! What a store's directory and metadata say about it.
struct StoreInfo {
  StoreLocation location;                //!< path and names
  std::string format;                    //!< kMetaStoreFormat; "" when missing
  StoreKind kind = StoreKind::kUnknown;  //!< from the format
  bool retain_duplicates = false;        //!< a stream-stream join's window store
  //! The changelog offset of the last commit; nullopt when missing or corrupt
  //! (offset_status says which).
  std::optional<int64_t> changelog_offset;
  Status offset_status;                    //!< OK, NotFound or Corruption, naming the store
  std::optional<int64_t> committed_at_ms;  //!< wall clock of the last commit, when recorded
  std::string key_serde;                   //!< "" when not recorded
  std::string value_serde;                 //!< "" when not recorded
  int64_t window_size_ms = 0;              //!< 0 when not recorded
  std::string changelog_topic;             //!< "" when not recorded (or not logged)
  int32_t changelog_partition = -1;        //!< -1 when not recorded (or not logged)
  //! True when the runtime recorded the changelog (then an empty topic means
  //! the store is not logged); false for a store written before it did.
  bool changelog_recorded = false;
  int64_t segment_interval_ms = 0;  //!< window/session stores
  int64_t expiry_horizon_ms = 0;    //!< window/session stores: earlier entries expired
  std::vector<int64_t> segments;    //!< first ms of each segment, ascending
  uint64_t size_bytes = 0;          //!< files in the store's directory
  uint64_t estimated_keys = 0;      //!< RocksDB's estimate over the data
};

//! One entry, decoded from the store's layout (not from its serdes): views
//! valid during the visit only.
struct StoreEntry {
  std::string_view key;    //!< the user key's bytes
  std::string_view value;  //!< the value's bytes
  //! Window stores: the window start; session stores: the session start; -1
  //! in key-value stores.
  int64_t start = -1;
  //! Window stores: start + window size (exclusive), -1 when the size is not
  //! recorded; session stores: the session end (inclusive); -1 in key-value stores.
  int64_t end = -1;
  uint32_t sequence = 0;  //!< duplicates of a join window store: arrival number
};

//! Called for each entry; return false to stop.
using EntryVisitor = std::function<bool(const StoreEntry& entry)>;

//! How to read.
struct ReaderOptions {
  //! Where the secondary instance's temporary working directory is made.
  //! Default: the system's temporary directory. Must not be inside the store.
  std::filesystem::path scratch_dir;
  //! Show window and session entries behind the expiry horizon. Default false.
  bool include_expired = false;
  //! Open attempts (a live primary can drop a segment between listing the
  //! column families and opening them). Default 5.
  int open_attempts = 5;
};

//! Which entries a scan visits.
struct ScanRange {
  std::optional<std::string> from;  //!< smallest user key (inclusive); nullopt: unbounded
  std::optional<std::string> to;    //!< largest user key (inclusive); nullopt: unbounded
  uint64_t limit = 0;               //!< at most this many entries; 0: all
};

//! What Verify() found.
struct VerifyResult {
  std::vector<std::string> errors;    //!< integrity failures, each naming what failed
  std::vector<std::string> warnings;  //!< legal but notable (an expired segment not yet dropped)
  uint64_t entries_checked = 0;       //!< entries read and decoded
  bool ok() const { return errors.empty(); }
};

class StoreReader {
 public:
  //! Opens the store in `dir` (see file comment). Returns InvalidArgument
  //! naming the path when it is not a store's directory, IOError or
  //! Corruption from RocksDB naming the store.
  static Result<std::unique_ptr<StoreReader>> Open(const std::filesystem::path& dir,
                                                   const ReaderOptions& options = {});
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  //! Returns what the store's metadata says.
  const StoreInfo& info() const { return info_; }

  //! Returns the secondary instance's working directory (for tests: it is
  //! not inside the store).
  const std::filesystem::path& scratch_path() const { return scratch_; }

  //! Copies the value of `key` of a key-value store into *value. Returns OK,
  //! NotFound, InvalidArgument for another kind of store, or a read error.
  Status Get(std::string_view key, std::string* value);

  //! Visits the entries whose user key is in `range`, in the store's order
  //! (key-value: byte order of the keys; window/session: by segment, then key
  //! length and bytes, then time), at most range.limit of them. Returns
  //! InvalidArgument for a store of unknown format, Corruption for an entry
  //! that does not decode, or a read error.
  Status Scan(const ScanRange& range, const EntryVisitor& visit);

  //! Visits `key`'s windows of a window store with start in [from, to], or
  //! its sessions of a session store overlapping [from, to] (end >= from and
  //! start <= to), oldest first. Returns InvalidArgument for a key-value store.
  Status Windows(std::string_view key, int64_t from, int64_t to, const EntryVisitor& visit);

  //! Checks the store's integrity: RocksDB block checksums of every table
  //! file (VerifyChecksum), every entry read with checksums verified and
  //! decoded by the store's layout, every window/session entry inside its
  //! segment's time bounds, segment names on the segment interval, the
  //! metadata present and well-formed (format, changelog offset, interval,
  //! horizon, description). Never fails: problems are in the result.
  VerifyResult Verify();

 private:
  StoreReader() = default;
  class Db;  // the RocksDB secondary instance, kept out of this header

  StoreInfo info_;
  ReaderOptions options_;
  std::filesystem::path scratch_;
  std::unique_ptr<Db> db_;
};

}  // namespace eventflow::inspector
