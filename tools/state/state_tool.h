// eventflow-state: looks at the state stores of an EventFlow application —
// live, stopped or crashed — without disturbing it (StoreReader opens each
// store as a RocksDB secondary instance: no lock taken, nothing written in the
// state directory).
//
//   eventflow-state list STATE_DIR          stores: kind, size, changelog offset, last commit
//   eventflow-state get STORE_PATH KEY      a key-value store's value of KEY
//   eventflow-state scan STORE_PATH         entries [--from K] [--to K] [--limit N]
//   eventflow-state windows STORE_PATH KEY  KEY's windows / sessions [--from T] [--to T]
//   eventflow-state offsets STATE_DIR       every store's changelog topic, partition, offset
//   eventflow-state verify PATH             integrity of one store or of every store
//   eventflow-state export STORE_PATH       every entry, as JSON lines
//
// STATE_DIR is the application's state.dir (or one application's or task's
// directory under it); STORE_PATH is <state_dir>/<application_id>/<task_id>/<store>.
// Keys and values are decoded with the serdes the store records
// (inspector/codec.h); --output jsonl prints one JSON object per line.
//
// Exit codes (cli::ExitCode): 0 success; 2 a bad command line or path (not a
// state directory, not a store, a key that does not fit the store's key
// serde), named in the message; 1 a failure while reading (a store that
// cannot be opened, a key not found, verify finding a problem).
//
// This binary links eventflow::state and eventflow::core (and the Kafka-free
// eventflow::cli_base), never librdkafka: the CTest check
// state_tool_links_no_librdkafka proves it.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace eventflow::tools {

//! eventflow-state's main: `args` without the program name; output to `out`,
//! messages to `err`. Returns the exit code.
int RunStateTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace eventflow::tools
