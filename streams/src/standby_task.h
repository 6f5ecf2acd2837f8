// StandbyTask: a warm copy of a task that runs on another instance (Kafka
// Streams' StandbyTask). It opens the task's stores through a
// ProcessorStateManager exactly as the active task does — same directories,
// same transactional stores — and the thread's ChangelogReader keeps them up
// to date from the task's changelogs (RegisterStandby, UpdateStandbys,
// CommitStandbys); it never processes a record and writes nothing to Kafka
// (its stores' changelog writers refuse, and nothing writes to them).
//
// When the task becomes active on this thread the standby is flushed and
// closed, and the active task opens the same stores, whose stored offsets
// are recent: its restore replays only the tail. The stores stay on disk when
// a standby closes, as every task's do.
//
// Lifecycle: construct → Open() → (updates by the ChangelogReader)* →
// Close() (or destruction). Thread-safety: the owning stream thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eventflow/streams/processor.h"
#include "eventflow/streams/topology.h"
#include "processor_state_manager.h"

namespace eventflow::streams {

class StandbyTask {
 public:
  //! `topology` must outlive the task.
  StandbyTask(TaskId id, const Topology& topology, const Topology::SubTopology& subtopology,
              ProcessorStateManager::Options options);
  ~StandbyTask();

  //! Opens the stores. Returns the first store's failure, naming the task.
  Status Open();
  //! Closes the stores (whatever the reader applied was committed with its offset).
  void Close();

  const TaskId& id() const { return id_; }
  ProcessorStateManager& state_manager() { return state_; }

 private:
  // The stores' changelog writers need a collector; nothing may write.
  class RefusingCollector final : public RecordCollector {
   public:
    Status Send(std::string_view topic, int32_t, std::optional<std::string_view>,
                std::optional<std::string_view>, int64_t, const Headers&) override {
      return Status::Internal("standby tasks write nothing (to " + std::string(topic) + ")");
    }
  };

  const TaskId id_;
  ProcessorStateManager state_;
  RefusingCollector collector_;
  int64_t wall_clock_ = 0;
};

}  // namespace eventflow::streams
