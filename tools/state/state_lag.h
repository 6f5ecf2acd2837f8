// `eventflow state-lag`: how far behind its changelog each local state store
// is — the stored changelog offset of every store under a state directory
// (read with eventflow::inspector, safe on a live instance) against the end
// of its changelog partition on the broker.
//
//   eventflow state-lag --state-dir DIR [--bootstrap-servers B]
//                       [--output table|jsonl] [--timeout 30s]
//                       [--count-limit N] [--kafka.<property>=<value> ...]
//
// For each store: the changelog topic and partition it recorded (or, for a
// store written before stores recorded them, "<application.id>-<store>-changelog"
// and the task's partition), its stored offset, the partition's log start and
// end offsets, OFFSET LAG = end - stored, and RECORDS BEHIND: the committed
// records a restore would replay, counted by reading the partition from the
// stored offset to its end with a read_committed consumer (manual
// assignment, never a group member). The two differ: under exactly-once
// every transaction's commit marker takes an offset, and compaction removes
// records, so a store that is fully caught up can show an offset lag of 1
// (the marker after its last record) and 0 records behind. Counting stops
// at --count-limit records per partition (then "at least N").
//
// Exit codes (cli::ExitCode): 0 success; 2 a bad setting or path; 1 a
// failure talking to Kafka or reading a store (the other stores are still shown).
#pragma once

#include <string>
#include <vector>

#include "eventflow/cli/tool.h"

namespace eventflow::tools {

//! `eventflow state-lag` with `args` (after the command name), messages
//! through `tool`. Returns its exit code.
int RunStateLag(cli::Tool& tool, const std::vector<std::string>& args);

}  // namespace eventflow::tools
