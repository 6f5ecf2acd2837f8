// eventflow-state on a live and then a crashed writer: a separate process
// (eventflow-test-state-writer, state_writer.cc) commits to a key-value and a
// window store once a millisecond while the eventflow-state binary reads them
// over and over. Checked:
//   - every read succeeds and shows exactly one committed state: each commit
//     carries its own number n, and the rest of what a read returns is
//     compared with the content after commit n, computed here from n alone;
//   - the writer keeps committing while the reads go on and after them;
//   - the store directories are unchanged by the reads: with the writer
//     stopped (SIGSTOP) every file and directory of the state directory —
//     names, contents, modification times — is the same after a round of
//     every command as before, and each reader's working directory was made
//     in the scratch directory given (TMPDIR) and removed again;
//   - after kill -9 the crashed writer's stores are read as of a commit at
//     least as recent as the last one it reported, consistent, and verified.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/testing/kafka_fixture.h"
#include "test_stores.h"

namespace eventflow::inspector {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using testing::SnapshotFiles;
using testing::TempDir;

using KvContent = std::map<std::string, int64_t>;
using WindowContent = std::map<std::pair<std::string, int64_t>, int64_t>;

// What the writer's stores hold after commit n (state_writer.cc's comment).
KvContent KvAfter(int64_t n) {
  KvContent out;
  for (int64_t i = 0; i < n; ++i) out["k" + std::to_string(i % 50)] = i;
  if (n > 0) out["commit"] = n;
  return out;
}

WindowContent WindowsAfter(int64_t n) {
  WindowContent out;
  for (int64_t i = 0; i < n; ++i) out[{"w" + std::to_string(i % 7), (i / 25) * 1000}] = i;
  if (n > 0) out[{"commit", 0}] = n;
  return out;
}

// The last "committed <n>" the writer printed to its log, or 0.
int64_t LastCommitted(const fs::path& log) {
  std::ifstream in(log);
  int64_t last = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("committed ")) last = std::stoll(line.substr(10));
  }
  return last;
}

// Waits (at most `timeout`) until the writer has reported commit `n`.
bool WaitForCommit(const fs::path& log, int64_t n, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (LastCommitted(log) < n) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class LiveReaderTest : public ::testing::Test {
 protected:
  // Runs eventflow-state with TMPDIR = the scratch directory, bounded by timeout(1).
  eventflow::testing::ProcessResult Inspect(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/timeout", "60", EVENTFLOW_STATE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return eventflow::testing::RunProcess(argv, {"TMPDIR=" + scratch_.path().string()});
  }

  std::vector<simdjson::dom::element> Parse(const std::string& out) {
    std::vector<simdjson::dom::element> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      auto& parser = parsers_.emplace_back(std::make_unique<simdjson::dom::parser>());
      simdjson::dom::element element;
      EXPECT_EQ(parser->parse(line).get(element), simdjson::SUCCESS) << line;
      lines.push_back(element);
    }
    return lines;
  }

  // Exports the kv store; returns the commit number it holds, checking the
  // rest against the content after that commit.
  int64_t ExportKvAndCheck() {
    auto run = Inspect({"export", (app_ / "kv").string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    KvContent got;
    for (auto line : Parse(run.out)) {
      got[std::string(std::string_view(line["key"]))] = int64_t(line["value"]);
    }
    const int64_t n = got.count("commit") ? got["commit"] : 0;
    EXPECT_EQ(got, KvAfter(n)) << "kv as exported is not the content of commit " << n;
    return n;
  }

  int64_t ExportWindowsAndCheck() {
    auto run = Inspect({"export", (app_ / "win").string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    WindowContent got;
    for (auto line : Parse(run.out)) {
      const int64_t start = int64_t(line["start"]);
      EXPECT_EQ(int64_t(line["end"]), start + 1000);
      got[{std::string(std::string_view(line["key"])), start}] = int64_t(line["value"]);
    }
    const int64_t n = got.count({"commit", 0}) ? got[{"commit", 0}] : 0;
    EXPECT_EQ(got, WindowsAfter(n)) << "win as exported is not the content of commit " << n;
    return n;
  }

  // The stored changelog offsets, by store.
  std::map<std::string, int64_t> Offsets() {
    auto run = Inspect({"offsets", state_dir_.path().string(), "--output", "jsonl"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::map<std::string, int64_t> out;
    for (auto line : Parse(run.out)) {
      out[std::string(std::string_view(line["store"]))] = int64_t(line["changelog_offset"]);
    }
    return out;
  }

  TempDir state_dir_{"eventflow-live-state"};
  TempDir scratch_{"eventflow-live-scratch"};
  TempDir logs_{"eventflow-live-logs"};
  fs::path app_ = state_dir_.path() / "live-app" / "0_0";
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

TEST_F(LiveReaderTest, ReadsALiveWriterWithoutDisturbingItThenItsStateAfterKill9) {
  const fs::path log = logs_.path() / "writer.log";
  eventflow::testing::ChildProcess writer(
      {EVENTFLOW_STATE_WRITER_BINARY, state_dir_.path().string()}, log.string());
  ASSERT_TRUE(WaitForCommit(log, 200, std::chrono::seconds(60))) << "the writer did not start";

  // Reads while it commits: each one a whole commit, never going back.
  const int64_t before_reads = LastCommitted(log);
  int64_t last_kv = 0, last_win = 0;
  for (int round = 0; round < 8; ++round) {
    const int64_t kv = ExportKvAndCheck();
    const int64_t win = ExportWindowsAndCheck();
    EXPECT_GE(kv, last_kv);
    EXPECT_GE(win, last_win);
    EXPECT_GE(kv, before_reads);
    last_kv = kv;
    last_win = win;
    auto offsets = Offsets();
    EXPECT_GE(offsets["kv"], kv);
    EXPECT_GE(offsets["win"], win);
    auto verify = Inspect({"verify", state_dir_.path().string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    auto windows = Inspect({"windows", (app_ / "win").string(), "w3", "--output", "jsonl"});
    EXPECT_EQ(windows.exit_code, 0) << windows.err;
  }
  const int64_t after_reads = LastCommitted(log);
  EXPECT_GT(after_reads, last_kv) << "the writer stopped committing while being read";
  EXPECT_TRUE(writer.running());
  EXPECT_TRUE(fs::is_empty(scratch_.path())) << "a reader left its working directory behind";

  // Nothing a reader does changes a file: stop the writer, read everything,
  // compare. (Anything new or modified now could only come from the readers.)
  writer.Signal(SIGSTOP);
  const auto before = SnapshotFiles(state_dir_.path());
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"list", state_dir_.path().string()},
                                             {"offsets", state_dir_.path().string()},
                                             {"verify", state_dir_.path().string()},
                                             {"export", (app_ / "kv").string()},
                                             {"scan", (app_ / "win").string(), "--limit", "10"},
                                             {"get", (app_ / "kv").string(), "commit"},
                                             {"windows", (app_ / "win").string(), "w1"}}) {
    auto run = Inspect(args);
    EXPECT_EQ(run.exit_code, 0) << args[0] << ": " << run.err;
  }
  EXPECT_EQ(SnapshotFiles(state_dir_.path()), before);
  EXPECT_TRUE(fs::is_empty(scratch_.path()));
  writer.Signal(SIGCONT);
  EXPECT_TRUE(WaitForCommit(log, after_reads + 100, std::chrono::seconds(60)))
      << "the writer did not go on committing after the reads";

  // kill -9, then read what it left.
  writer.Signal(SIGKILL);
  EXPECT_EQ(writer.Wait(std::chrono::seconds(30), "the writer"), 128 + SIGKILL);
  const int64_t reported = LastCommitted(log);
  const int64_t kv = ExportKvAndCheck();
  const int64_t win = ExportWindowsAndCheck();
  EXPECT_GE(kv, reported);
  EXPECT_GE(win, reported);
  auto offsets = Offsets();
  EXPECT_EQ(offsets["kv"], kv);  // the data and its offset: one atomic write
  EXPECT_EQ(offsets["win"], win);
  auto verify = Inspect({"verify", state_dir_.path().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The crashed writer's successor opens the stores (no lock was left behind
  // by the readers) and continues from the same commit.
  eventflow::testing::ChildProcess successor(
      {EVENTFLOW_STATE_WRITER_BINARY, state_dir_.path().string(), "5"},
      (logs_.path() / "next.log").string());
  EXPECT_EQ(successor.Wait(std::chrono::seconds(60), "the successor"), 0);
}

}  // namespace
}  // namespace eventflow::inspector
