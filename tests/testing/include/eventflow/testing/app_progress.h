// Watching a streams application run as a child process, from outside: how
// far its consumer group has committed, whether it has exited, and what its
// log says about state restores.
//
// The restore lines parsed are the runtime's (streams/src/stream_thread.cc):
//   "task 0_1 store counts: tail replay of 12 record(s) from offset 340
//    (changelog end 353); all stores restored in 20 ms"
// ("full restore" instead of "tail replay" when the store was rebuilt).
//
// Thread-safety: plain functions; use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/testing/kafka_fixture.h"

namespace eventflow::testing {

//! One "restore" line of an application's log.
struct RestoreLine {
  std::string task;           //!< e.g. "0_1"
  std::string store;          //!< store name
  bool full = false;          //!< full restore (true) or tail replay (false)
  int64_t records = 0;        //!< records restored or replayed
  int64_t from = 0;           //!< first changelog offset read
  int64_t changelog_end = 0;  //!< changelog end offset when the restore began
  int64_t duration_ms = -1;   //!< "all stores restored in <n> ms"; -1 when absent
};

//! Returns the restore lines in `log`, in order.
std::vector<RestoreLine> ParseRestoreLines(std::string_view log);

//! One scaling-event line of an application's log (the runtime's TaskManager):
//!   "task 0_1 moved here from its standby copy: restore tail of 12 record(s)
//!    in 35 ms, processing gap 7.120 s (last record processed before at …)"
//! ("resumed here after the rebalance" for a task the thread ran before the
//! rebalance too; "processing gap unknown (…)" when no earlier processing
//! was recorded).
struct TaskArrival {
  std::string task;           //!< e.g. "0_1"
  bool moved = false;         //!< "moved here" (true) or "resumed here ..." (false)
  bool from_standby = false;  //!< "from its standby copy"
  std::string kind;           //!< restore kind: "none", "tail" or "full"
  int64_t records = 0;        //!< records replayed
  double gap_seconds = -1;    //!< processing gap; -1 when unknown
};

//! Returns the scaling-event lines in `log`, in order.
std::vector<TaskArrival> ParseTaskArrivals(std::string_view log);

//! The samples of metric `name` in a Prometheus text exposition: each
//! sample's label text (between the braces, "" without labels) and value.
std::vector<std::pair<std::string, double>> MetricSamples(std::string_view exposition,
                                                          std::string_view name);

//! Returns the contents of the file at `path` from byte `from` on ("" when
//! it is missing or shorter).
std::string ReadFileFrom(const std::string& path, size_t from = 0);

//! Returns the last `lines` lines of the file at `path` (at most its last
//! 64 KiB), for failure messages: a CI log keeps them when the file is gone.
std::string LogTail(const std::string& path, size_t lines = 40);

//! Returns the size of the file at `path` (0 when missing).
size_t FileSize(const std::string& path);

//! Offsets per (topic, partition).
using PartitionOffsets = std::map<std::pair<std::string, int>, int64_t>;

//! Returns the names of the topics starting with `prefix` (empty when the
//! metadata cannot be read within 10 s).
std::vector<std::string> TopicsStartingWith(const std::string& prefix);

//! Returns EndOffsets of every partition of `topics`; fails the test (and
//! leaves the topic out) when one cannot be read.
PartitionOffsets EndOffsetsOf(const std::vector<std::string>& topics);

//! The progress of application `app_id` that tests watch for it to settle:
//! the end offsets of its repartition topics and of `outputs`, and its
//! committed offsets on the repartition topics (keys "committed <topic>").
//! Empty (never settled) when a committed offset cannot be read, and while a
//! repartition topic holds committed records after the group's committed
//! offset (work left: the app may merely be paused, e.g. by a rebalance, so
//! unchanged offsets alone do not mean it is done).
PartitionOffsets PipelineProgress(const std::string& app_id,
                                  const std::vector<std::string>& outputs);

//! The number of committed records (read_committed, control records not
//! counted) in `topic` at or after `committed` (a group's committed offset
//! per partition, as CommittedOffsets gives them; -1: from the start).
Result<int64_t> RecordsAfter(const std::string& topic, const std::vector<int64_t>& committed,
                             std::chrono::milliseconds timeout);

//! Returns true when process `pid` has exited (a zombie not reaped yet counts
//! as exited) or does not exist.
bool ProcessExited(int pid);

//! Returns the end offset (high watermark) of every partition of `topic`.
Result<std::vector<int64_t>> EndOffsets(const std::string& topic);

//! Returns the offsets consumer group `group` has committed for every
//! partition of `topic` (-1 where none), read as a read_committed consumer
//! reads them (stable offsets: a pending transactional commit is waited for).
Result<std::vector<int64_t>> CommittedOffsets(const std::string& group, const std::string& topic);

//! Polls (every 250 ms, until `timeout`) until `group` has committed at least
//! `target[p]` for every partition p of `topic`. Returns OK, or TimedOut
//! naming the last offsets seen.
Status AwaitCommitted(const std::string& group, const std::string& topic,
                      const std::vector<int64_t>& target, std::chrono::milliseconds timeout);

//! Polls (every 50 ms, until `timeout`) until the file at `path` holds at
//! least `count` occurrences of `text` after byte `from`. Returns whether it
//! did.
bool AwaitLogText(const std::string& path, size_t from, std::string_view text, size_t count,
                  std::chrono::milliseconds timeout);

//! Returns a TCP port that was free on 127.0.0.1 a moment ago (throws
//! std::runtime_error when none can be found).
int FreePort();

//! GET http://127.0.0.1:<port><path> (HTTP/1.0, 2 s time-outs). Returns the body
//! of a 200 answer, or an error naming the URL.
Result<std::string> HttpGet(int port, const std::string& path);

//! Returns the sum of eventflow_records_dropped_total samples with
//! reason="late" (over every other label) in a Prometheus text exposition.
double LateDrops(const std::string& exposition);

}  // namespace eventflow::testing
