// ProcessorStateManager: the state stores of one task and their changelog
// offsets (Kafka Streams' ProcessorStateManager).
//
// Opening: every store connected to the task's sub-topology is opened under
// <state_dir>/<application.id>/<task id>/<store>/; a logged store (the
// default) gets a changelog writer that sends each change to
// "<application.id>-<store>-changelog", partition = the task's partition,
// through the task's collector (under exactly-once inside the thread's
// transaction), stamped with the task's cached wall clock. A logged RocksDB
// store that fails to open with corruption is deleted and opened empty: its
// changelog holds everything, so it is restored in full.
//
// Offsets: each store keeps, atomically with its committed data, the
// changelog offset its state reaches (state_store.h). Commit() — after the
// Kafka transaction carrying the same changes committed — writes each
// store's pending layer with the offset after its changelog partition's last
// acknowledged record (the producer's delivery reports), or its previous
// offset when nothing was written. RestoreStart() says where restoring a
// changelog begins: the stored offset (a tail replay), or, when that is
// missing (a new store) or corrupt, nothing — the store has been wiped for a
// full restore. Wipe() serves a store whose offset turned out to be outside
// its changelog (TaskManager's corrupted path).
//
// Lifecycle: construct → Open() → (Restore...)* → {Commit | Abort}* →
// Close() (or destruction: uncommitted writes are dropped). Thread-safety:
// the task's thread only. Ownership: owns the stores and their changelog
// writers; the collector and wall clock given to Open() must outlive it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/state/changelog_writer.h"
#include "eventflow/state/memory_budget.h"
#include "eventflow/state/state_store.h"
#include "eventflow/state/store_options.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

class ProcessorStateManager {
 public:
  //! Where and how the task's stores live.
  struct Options {
    std::string application_id;                               //!< required
    std::filesystem::path state_dir;                          //!< root of the RocksDB stores
    const state::StateMemoryBudget* memory_budget = nullptr;  //!< not owned; may be nullptr
    state::RocksDbConfigSetter rocksdb_config_setter;         //!< may be empty
  };

  //! A logged store's changelog partition.
  struct Changelog {
    std::string store;      //!< store name
    std::string topic;      //!< "<application.id>-<store>-changelog"
    int32_t partition = 0;  //!< the task's partition
    //! A window or session store: its changelog deletes by time (a head gone
    //! by retention is expected, not data loss).
    bool windowed = false;
  };

  //! Where the changelog's acknowledged records end: the offset of the last
  //! record the producer acknowledged on `partition` of `topic`, or -1.
  using LastDelivered = std::function<int64_t(const std::string& topic, int32_t partition)>;

  //! `topology` must outlive the manager; `stores` are the sub-topology's store names.
  ProcessorStateManager(TaskId task, const Topology& topology, std::vector<std::string> stores,
                        Options options);
  ~ProcessorStateManager();

  //! Opens every store (see file comment); logged stores write their
  //! changelog through `collector`, stamped with *wall_clock (epoch ms).
  //! Returns the first store's failure, naming the task.
  Status Open(RecordCollector* collector, const int64_t* wall_clock);

  //! Returns the store `name`, or nullptr when the task has none.
  state::StateStore* GetStore(std::string_view name) const;

  //! The task's stores, by name.
  const std::map<std::string, std::unique_ptr<state::StateStore>, std::less<>>& stores() const {
    return stores_;
  }

  //! The changelog partitions of the logged stores.
  const std::vector<Changelog>& changelogs() const { return changelogs_; }

  //! Returns where restoring `changelog` starts: the store's stored offset, or
  //! nullopt when it had none or a corrupt one — the store is then wiped for a
  //! full restore (logged: INFO for a new store, WARN for a corrupt offset).
  //! Returns the wipe's error.
  Result<std::optional<int64_t>> RestoreStart(const Changelog& changelog);

  //! Deletes every record and the offset of `changelog`'s store (its offset is
  //! outside its changelog: a full restore follows); logs `reason` at WARN.
  Status Wipe(const Changelog& changelog, std::string_view reason);

  //! Applies restored changelog records to `changelog`'s store, with the
  //! changelog offset they reach. Returns the store's error, naming the task.
  Status Restore(const Changelog& changelog, std::span<const state::ChangelogRecord> records,
                 int64_t end_offset);

  //! Commits every store's pending writes with the changelog offset reached
  //! (see file comment); `last_delivered` may be empty (no producer: each store
  //! keeps its previous offset, 0 at first). Returns the first failure.
  Status Commit(const LastDelivered& last_delivered);

  //! Drops every store's pending writes (after an aborted transaction).
  void Abort();

  //! Closes the stores (dropping uncommitted writes).
  void Close();

  //! "task <id>" for messages.
  const std::string& what() const { return what_; }

 private:
  state::StateStore* StoreOf(const Changelog& changelog) const;

  const TaskId task_;
  const Topology& topology_;
  const std::vector<std::string> store_names_;
  const Options options_;
  const std::string what_;
  std::map<std::string, std::unique_ptr<state::StateStore>, std::less<>> stores_;
  std::vector<std::unique_ptr<state::ChangelogWriter>> changelog_writers_;
  std::vector<Changelog> changelogs_;
};

}  // namespace eventflow::streams
