// `eventflow reset`: the application reset tool (Kafka Streams'
// StreamsResetter / kafka-streams-application-reset) — makes the next start
// of an application reprocess its input from scratch.
//
//   eventflow reset [--application-id A] [--topology T] [--topic-prefix P]
//                   [--input-offsets earliest|latest] [--delete-dlq]
//                   [--wait-for-empty 0s] [--timeout 60s] [--dry-run]
//                   [--bootstrap-servers B] [--kafka.<property>=<value> ...]
//
// What it deletes, all named from the topology (never by matching prefixes
// on the broker: another application's id may start with this one's):
//   - the internal topics: every repartition topic "<application.id>-<name>"
//     the topology declares and the changelog "<application.id>-<store>-changelog"
//     of every logged store;
//   - the consumer group <application.id> with all its committed offsets (and
//     with them the stream times stored in the offsets' metadata), so every
//     input partition starts at its beginning (the runtime's rule for a
//     partition without a committed offset). --input-offsets latest then
//     commits each input partition's end offset instead: the next start skips
//     the input present now;
//   - with --delete-dlq, the dead-letter topic "<application.id>-dlq" (kept by
//     default: it holds the only copy of what was rejected).
// Input and output topics are never touched.
//
// Refused while the group has members: a running instance would go on
// committing and recreate what was deleted. Static members (eventflow run
// uses group.instance.id) stay in the group for session.timeout.ms after their
// process stopped; --wait-for-empty waits that long for them to go.
//
// Local state: an instance's stores remember changelog offsets beyond the end
// of the recreated (empty) changelogs, and the runtime wipes such a store
// when it opens it (TaskManager, HandleCorrupted), so state directories need
// no cleaning; deleting them saves that check.
//
// --dry-run prints the same plan (which topics exist and would be deleted,
// the group's state and members) and changes nothing.
//
// Exit codes (cli::ExitCode): 0 done (or the dry run printed); 2 a bad
// setting; 1 the group has members, or a broker request failed (what was
// done before it is printed).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "eventflow/cli/tool.h"
#include "eventflow/streams/topology.h"

namespace eventflow::tools {

//! Where the input partitions start after a reset.
enum class ResetInputOffsets {
  kEarliest,  //!< no committed offsets: every partition from its beginning
  kLatest,    //!< each partition's end offset now, committed for the group
};

//! What a reset removes, computed from the topology alone.
struct ResetPlan {
  std::string group;                         //!< the consumer group (= application id)
  std::vector<std::string> internal_topics;  //!< repartition topics, then changelogs
  std::vector<std::string> input_topics;     //!< sources that are not internal
  std::string dead_letter_topic;             //!< empty unless --delete-dlq
};

//! Returns the plan for `topology` run as `application_id`: its repartition
//! topics and the changelogs of its logged stores, in declaration order, its
//! input topics, and the dead-letter topic when `delete_dlq`.
ResetPlan PlanReset(const streams::Topology& topology, const std::string& application_id,
                    bool delete_dlq);

//! `eventflow reset` with `args` (after the command name), messages through
//! `tool`, the plan and what was done on stdout. Returns its exit code.
int RunReset(cli::Tool& tool, const std::vector<std::string>& args);

}  // namespace eventflow::tools
