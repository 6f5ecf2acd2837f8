// eventflow-test-state-writer: a process that keeps committing to two stores,
// for the inspector's live test (live_reader_test.cc), which reads them while
// it runs and after kill -9.
//
//   eventflow-test-state-writer STATE_DIR [MAX_COMMITS]
//
// Stores of application "live-app", task "0_0", written through
// eventflow::state exactly as a task writes them:
//   kv   (string -> int64)  commit n (n = 1, 2, ...) puts key "k<(n-1) % 50>" = n - 1
//                           and key "commit" = n, then commits with offset n;
//   win  (string -> int64, windows of 1000 ms)  commit n puts window
//                           ("w<(n-1) % 7>", ((n-1) / 25) * 1000) = n - 1 and
//                           ("commit", 0) = n, then commits with offset n.
// So the content after commit n is a function of n alone, and every commit
// carries its own number. Small write buffers make RocksDB flush and compact
// all the time (files come and go under a reader). One commit per
// millisecond; after each, "committed <n>" goes to stdout (flushed).
#include <rocksdb/options.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/window_store.h"

namespace {

namespace es = eventflow::state;

std::string Int64Bytes(int64_t value) {
  std::string out(8, '\0');
  auto u = static_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i, u >>= 8) out[i] = static_cast<char>(u & 0xff);
  return out;
}

void Check(const eventflow::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "state-writer: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

es::StoreOptions Options(const char* state_dir, const char* name, int64_t window_size) {
  es::StoreOptions options;
  options.name = name;
  options.state_dir = state_dir;
  options.application_id = "live-app";
  options.task_id = "0_0";
  options.description.key_serde = "string";
  options.description.value_serde = "int64";
  options.description.window_size_ms = window_size;
  options.rocksdb_config_setter = [](std::string_view, rocksdb::Options& o) {
    o.write_buffer_size = 16 << 10;
    o.target_file_size_base = 16 << 10;
    o.level0_file_num_compaction_trigger = 2;
    o.max_bytes_for_level_base = 64 << 10;
  };
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: eventflow-test-state-writer STATE_DIR [MAX_COMMITS]\n");
    return 2;
  }
  const int64_t max_commits = argc > 2 ? std::atoll(argv[2]) : 10'000'000;
  auto kv = es::OpenKeyValueStore(Options(argv[1], "kv", 0));
  Check(kv.status(), "open kv");
  es::WindowStoreOptions window_options;
  window_options.retention = std::chrono::hours(24 * 365);
  auto win = es::OpenWindowStore(Options(argv[1], "win", 1000), window_options);
  Check(win.status(), "open win");
  for (int64_t n = 1; n <= max_commits; ++n) {
    const int64_t i = n - 1;
    Check((*kv)->Put("k" + std::to_string(i % 50), Int64Bytes(i), i), "put kv");
    Check((*kv)->Put("commit", Int64Bytes(n), i), "put kv");
    Check((*kv)->Commit(n), "commit kv");
    Check((*win)->Put("w" + std::to_string(i % 7), (i / 25) * 1000, Int64Bytes(i), i), "put win");
    Check((*win)->Put("commit", 0, Int64Bytes(n), i), "put win");
    Check((*win)->Commit(n), "commit win");
    std::printf("committed %lld\n", static_cast<long long>(n));
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 0;
}
