// Options common to every state store, and where a store's files live.
//
// ON-DISK LAYOUT. Each RocksDB-backed store is one RocksDB database in its own
// directory:
//
//   <state_dir>/<application_id>/<task_id>/<store_name>/
//
// e.g. /var/lib/eventflow/analytics/1_0/revenue-per-currency/. Only the store
// writes there, and a <task_id>/ directory holds nothing but its stores'
// directories, so removing it removes exactly that task's state. Inside the
// database (column families):
//
//   "default"          KeyValueStore data: store key -> store value, byte order.
//                      Empty in window and session stores.
//   "eventflow.meta"   the store's metadata, written atomically with the data
//                      (keys kMeta* below; integers are 8-byte big-endian),
//                      and its StoreDescription (what its bytes mean, for
//                      tools such as eventflow-state), written when opened.
//   "segment.<start>"  window/session stores: one column family per time
//                      segment, <start> = the segment's first millisecond in
//                      decimal (a multiple of the segment interval). Keys are
//                      the composite keys of store_keys.h. An expired segment is
//                      removed with DropColumnFamily, never key by key.
//
// In-memory stores have no files; their "committed" state lives until the
// store object is destroyed.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace rocksdb {
struct Options;
}  // namespace rocksdb

namespace eventflow::state {

class ChangelogWriter;
class StateMemoryBudget;

//! Column family holding a store's metadata.
inline constexpr std::string_view kMetaColumnFamily = "eventflow.meta";
//! Prefix of a segment column family's name: "segment.<first ms of the segment>".
inline constexpr std::string_view kSegmentColumnFamilyPrefix = "segment.";
//! Meta key: the changelog offset the committed data corresponds to (8-byte BE int64).
inline constexpr std::string_view kMetaChangelogOffset = "changelog_offset";
//! Meta key: the store kind and layout version, e.g. "eventflow.window.v1".
inline constexpr std::string_view kMetaStoreFormat = "store_format";
//! Meta key: segment interval of a window/session store in ms (8-byte BE int64).
inline constexpr std::string_view kMetaSegmentInterval = "segment_interval_ms";
//! Meta key: expiry horizon in ms (8-byte BE int64): entries older are expired.
inline constexpr std::string_view kMetaExpiryHorizon = "expiry_horizon_ms";
//! Meta key: next duplicate sequence number of a window store that retains duplicates.
inline constexpr std::string_view kMetaNextSequence = "next_sequence";
//! Meta key: wall-clock time (epoch ms, 8-byte BE int64) of the last Commit or
//! RestoreBatch that wrote to the store; a Commit that changes nothing keeps it.
inline constexpr std::string_view kMetaCommittedAt = "committed_at_ms";
//! Meta key: StoreDescription::key_serde.
inline constexpr std::string_view kMetaKeySerde = "key_serde";
//! Meta key: StoreDescription::value_serde.
inline constexpr std::string_view kMetaValueSerde = "value_serde";
//! Meta key: StoreDescription::window_size_ms (8-byte BE int64).
inline constexpr std::string_view kMetaWindowSize = "window_size_ms";
//! Meta key: StoreDescription::changelog_topic.
inline constexpr std::string_view kMetaChangelogTopic = "changelog_topic";
//! Meta key: StoreDescription::changelog_partition (8-byte BE int64).
inline constexpr std::string_view kMetaChangelogPartition = "changelog_partition";

//! The value of kMetaStoreFormat of each kind of store.
inline constexpr std::string_view kKeyValueStoreFormat = "eventflow.kv.v1";
inline constexpr std::string_view kWindowStoreFormat = "eventflow.window.v1";
inline constexpr std::string_view kWindowDuplicatesStoreFormat = "eventflow.window-duplicates.v1";
inline constexpr std::string_view kSessionStoreFormat = "eventflow.session.v1";

//! Where a store keeps its data.
enum class StoreBackend {
  kRocksDb,   //!< a RocksDB database under StoreDirectory(); survives restarts
  kInMemory,  //!< std::map based; lost when the store object is destroyed
};

//! User tuning of a RocksDB store's options, applied after every EventFlow
//! setting (memory budget included), like Kafka's rocksdb.config.setter.
using RocksDbConfigSetter = std::function<void(std::string_view store_name, rocksdb::Options&)>;

//! What a store's bytes mean, for tools that read a state directory
//! (eventflow-state decodes keys and values with it). The store records it in
//! its metadata when it is opened (kMetaKeySerde ...; a field whose stored
//! value differs is rewritten, nothing is written when all match) and never
//! reads it itself. Empty / 0 / -1 fields mean "not known". Plain values.
struct StoreDescription {
  //! Serde name of the keys (streams' Serde::Name(): "string", "int64",
  //! "windowed<string>", ...). Window and session stores: the user key's serde
  //! (the window is in the composite key, store_keys.h).
  std::string key_serde;
  //! Serde name of the values.
  std::string value_serde;
  //! Window size in ms of a windowed aggregation's window store (a window is
  //! [start, start + size)); 0 when not windowed or not known.
  int64_t window_size_ms = 0;
  //! The store's changelog topic; "" when not logged.
  std::string changelog_topic;
  //! The store's changelog partition (the task's partition); -1 when not logged.
  int32_t changelog_partition = -1;
};

//! How to open one store of one task. Plain values; copy freely.
struct StoreOptions {
  //! Store name, unique within the application; names the directory and the
  //! changelog topic. Required; must be a valid single path component.
  std::string name;
  //! Storage backend. Default: RocksDB.
  StoreBackend backend = StoreBackend::kRocksDb;
  //! Root of all state on this machine (Kafka's state.dir). Required for kRocksDb.
  std::filesystem::path state_dir;
  //! Application id (the consumer group). Required for kRocksDb.
  std::string application_id;
  //! Task id, e.g. "1_0" (sub-topology _ partition). Required for kRocksDb.
  std::string task_id;
  //! Instance-wide memory budget (not owned; must outlive the store). Default
  //! nullptr: RocksDB's own defaults (an unshared 8 MiB block cache per store).
  const StateMemoryBudget* memory_budget = nullptr;
  //! Receives every change (not owned). Default nullptr: changes are not logged.
  ChangelogWriter* changelog_writer = nullptr;
  //! fsync the WAL on every Commit. Default false: a commit survives a process
  //! crash (kill -9) but may be lost on a machine crash, in which case the store
  //! reopens at an older offset and restores a longer tail; never inconsistent.
  bool sync_commit = false;
  //! Applied last to the RocksDB options. Default: none.
  RocksDbConfigSetter rocksdb_config_setter;
  //! Recorded in the store's metadata for tools. Default: nothing known.
  StoreDescription description;
};

//! Returns <state_dir>/<application_id>/<task_id>/<name>, or InvalidArgument
//! naming the field when one is empty or not a plain path component ("", ".",
//! "..", containing '/' or NUL).
Result<std::filesystem::path> StoreDirectory(const StoreOptions& options);

//! Deletes a RocksDB store's directory and everything in it (for a store that
//! cannot even be opened, e.g. Corruption from Open); OK if it does not exist.
//! The store must not be open. Returns IOError naming the path on failure.
Status DestroyStore(const StoreOptions& options);

}  // namespace eventflow::state
