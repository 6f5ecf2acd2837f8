#include "standby_task.h"

namespace eventflow::streams {

StandbyTask::StandbyTask(TaskId id, const Topology& topology,
                         const Topology::SubTopology& subtopology,
                         ProcessorStateManager::Options options)
    : id_(id), state_(id, topology, subtopology.stores, std::move(options)) {}

StandbyTask::~StandbyTask() { Close(); }

Status StandbyTask::Open() { return state_.Open(&collector_, &wall_clock_); }

void StandbyTask::Close() { state_.Close(); }

}  // namespace eventflow::streams
