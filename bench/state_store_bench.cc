// Micro-benchmark of the state stores (eventflow/state/key_value_store.h,
// window_store.h) on both backends, each against the same work done without our
// layer, measured in the same run:
//
//   backend     baseline ("raw")                         ours ("store")
//   rocksdb     rocksdb::DB, same default options, WAL   OpenKeyValueStore / OpenWindowStore
//               on, no sync; a WriteBatch per 1000 puts  (kRocksDb), Commit per 1000 puts
//   in_memory   std::map<string, string>                 the same stores with kInMemory
//
// Operations (one benchmark iteration = kOpsPerIteration operations):
//
//   kv_put          Put of a random key of 100k ("user-<n>", ~100-byte values) into
//                   an empty store; Commit every 1000 puts (as a task does at each
//                   commit), for raw RocksDB one WriteBatch of 1000.
//   kv_get          Get of a random key, all 100k committed. RocksDB stores are
//                   closed and reopened after loading, so the data is in SST files
//                   (recovery flushes the WAL), as after a restart.
//   kv_get_pending  ours only: Get of 1000 keys written but not yet committed
//                   (read-your-writes). vs_raw is against raw kv_get.
//   kv_range        Range(from, to) over 100 consecutive keys from a random start,
//                   reading every key and value; one item = one scan.
//   window_put      WindowStore::Put(random key, 1-minute window start, value), stream
//                   time advancing 1 ms per put, Commit every 1000 puts. Raw: the
//                   same composite keys (store_keys.h) in one map / column family.
//   window_fetch    Fetch(key, from, to) over 4 windows of a random key, 100k keys x 4
//                   windows loaded (and, for RocksDB, reopened); one item = one fetch.
//
// Counters: items_per_second (operations per wall second: UseRealTime, since
// RocksDB flushes and compacts on its own threads) and, on ours, vs_raw = our
// items/s / the median items/s of the raw benchmark of the same operation and
// backend earlier in this run (so run raw and ours together; it is absent when
// the baseline was filtered out). Iteration counts are fixed, so each repetition
// is one run and the median of the baseline is well defined.
//
// Both sides load in the same random key order (arrival order). In-memory reads
// depend on where the allocator put the map nodes: the store's committed nodes
// are allocated together at each Commit, the raw map's interleaved with their
// values, so ours can read faster than the raw map without doing less work.
//
// RocksDB files live in a fresh directory under /tmp, removed at exit.
//
// Run: build/bin/eventflow-bench-state --benchmark_repetitions=3
//          --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/store_options.h"
#include "eventflow/state/window_store.h"

namespace eventflow::state {
namespace {

constexpr size_t kNumKeys = 100'000;
constexpr size_t kValueBytes = 100;
constexpr size_t kNumValues = 1024;
constexpr int64_t kOpsPerIteration = 1000;
constexpr int64_t kCommitEvery = 1000;
constexpr size_t kRangeKeys = 100;
constexpr int64_t kWindowMs = 60'000;
constexpr int64_t kWindowsPerKey = 4;
constexpr int64_t kBaseTimeMs = 1'764'500'000'000;  // 2025-11-30, a realistic epoch time

enum class Backend { kRocksDb, kInMemory };

const char* BackendName(Backend backend) {
  return backend == Backend::kRocksDb ? "rocksdb" : "in_memory";
}

// ---------------------------------------------------------------------------
// Data: keys, values and the random access sequence shared by raw and ours.

struct Workload {
  std::vector<std::string> keys;         // "user-<n>", n in [0, kNumKeys)
  std::vector<std::string> sorted_keys;  // the same in byte order (range scans)
  std::vector<std::string> values;       // kNumValues random printable values
  std::vector<uint32_t> draws;           // random key indexes, cycled through
  std::vector<uint32_t> load_order;      // a permutation of key indexes: how stores are
                                         // loaded (arrival order, not key order)
};

const Workload& Data() {
  static const Workload workload = [] {
    Workload w;
    w.keys.reserve(kNumKeys);
    for (size_t i = 0; i < kNumKeys; ++i) w.keys.push_back("user-" + std::to_string(i));
    w.sorted_keys = w.keys;
    std::sort(w.sorted_keys.begin(), w.sorted_keys.end());
    std::mt19937_64 rng(42);
    static constexpr char kAlphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789{}\":,";
    for (size_t v = 0; v < kNumValues; ++v) {
      std::string value(kValueBytes, ' ');
      for (char& c : value) c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      w.values.push_back(std::move(value));
    }
    w.draws.resize(size_t{1} << 20);
    for (uint32_t& d : w.draws) d = static_cast<uint32_t>(rng() % kNumKeys);
    w.load_order.resize(kNumKeys);
    for (size_t i = 0; i < kNumKeys; ++i) w.load_order[i] = static_cast<uint32_t>(i);
    std::shuffle(w.load_order.begin(), w.load_order.end(), rng);
    return w;
  }();
  return workload;
}

// The i-th random key index / value of the access sequence.
uint32_t Draw(uint64_t i) { return Data().draws[i & (Data().draws.size() - 1)]; }
const std::string& ValueFor(uint64_t i) { return Data().values[i % kNumValues]; }

// ---------------------------------------------------------------------------
// Directories and store options.

const std::filesystem::path& RootDir() {
  static const std::filesystem::path root = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eventflow-bench-state-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    return std::filesystem::path(tmpl);
  }();
  return root;
}

// A name not used before in this process: each run gets an empty store.
std::string FreshName(std::string_view what) {
  static int counter = 0;
  return std::string(what) + "-" + std::to_string(++counter);
}

StoreOptions OptionsFor(Backend backend, std::string name) {
  StoreOptions options;
  options.name = std::move(name);
  options.backend = backend == Backend::kRocksDb ? StoreBackend::kRocksDb : StoreBackend::kInMemory;
  options.state_dir = RootDir();
  options.application_id = "bench";
  options.task_id = "0_0";
  return options;
}

// The options the store's RocksDB engine uses, for the raw database.
rocksdb::Options RawOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 4;
  return options;
}

// An open raw RocksDB database in its own directory; removed on destruction.
class RawDb {
 public:
  static std::unique_ptr<RawDb> Open(std::string_view what, std::string* error) {
    auto db = std::unique_ptr<RawDb>(new RawDb(RootDir() / FreshName(what)));
    if (!db->Reopen(error)) return nullptr;
    return db;
  }
  ~RawDb() {
    Close();
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  // Closes and opens again: recovery flushes the WAL to SST files.
  bool Reopen(std::string* error) {
    Close();
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(RawOptions(), path_.string(), &raw);
    if (!s.ok()) {
      *error = "raw rocksdb open " + path_.string() + ": " + s.ToString();
      return false;
    }
    db_.reset(raw);
    return true;
  }
  rocksdb::DB* db() { return db_.get(); }

 private:
  explicit RawDb(std::filesystem::path path) : path_(std::move(path)) {}
  void Close() {
    if (db_) db_->Close().PermitUncheckedError();
    db_.reset();
  }
  std::filesystem::path path_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Owns one of our stores and removes its files when done.
template <typename Store>
struct OwnedStore {
  StoreOptions options;
  std::unique_ptr<Store> store;
  ~OwnedStore() {
    store.reset();
    if (options.backend == StoreBackend::kRocksDb) {
      IgnoreError(DestroyStore(options), "best-effort cleanup of the benchmark's files");
    }
  }
};

// ---------------------------------------------------------------------------
// Timing and the raw/ours ratio.

// Items/s of every repetition of each raw benchmark, by "<op>/<backend>".
std::map<std::string, std::vector<double>>& RawRates() {
  static std::map<std::string, std::vector<double>> rates;
  return rates;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs `iteration` once per benchmark iteration under a wall clock, sets the
// items counter and records (raw) or compares to (ours) the baseline. Returns
// false when an iteration failed (the state already carries the error).
bool Measure(benchmark::State& state, const std::string& ratio_key, bool is_raw,
             int64_t items_per_iteration, const std::function<bool()>& iteration) {
  bool ok = true;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!iteration()) {
      ok = false;
      break;
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (!ok) return false;
  const int64_t items = state.iterations() * items_per_iteration;
  state.SetItemsProcessed(items);
  const double rate = static_cast<double>(items) / elapsed.count();
  if (is_raw) {
    RawRates()[ratio_key].push_back(rate);
  } else if (auto it = RawRates().find(ratio_key); it != RawRates().end()) {
    state.counters["vs_raw"] = rate / Median(it->second);
  }
  return true;
}

// Fails the benchmark with `status` unless it is OK.
bool Check(benchmark::State& state, const Status& status, std::string_view what) {
  if (status.ok()) return true;
  static std::string message;  // SkipWithError keeps the pointer
  message = std::string(what) + ": " + status.ToString();
  state.SkipWithError(message.c_str());
  return false;
}
bool Check(benchmark::State& state, const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return true;
  static std::string message;
  message = std::string(what) + ": " + status.ToString();
  state.SkipWithError(message.c_str());
  return false;
}

// ---------------------------------------------------------------------------
// Loaded data, built on first use and shared by the read benchmarks of a backend
// (read-only for them; kv_get_pending aborts its pending writes). Released by
// main() before exit, while RocksDB's own statics are still alive.

struct Fixtures {
  std::map<Backend, std::unique_ptr<OwnedStore<KeyValueStore>>> kv;
  std::map<Backend, std::unique_ptr<OwnedStore<WindowStore>>> window;
  std::unique_ptr<RawDb> raw_kv;
  std::unique_ptr<RawDb> raw_window;
};

Fixtures& Loaded() {
  static Fixtures fixtures;
  return fixtures;
}

// Key-value data: every key once.

Status LoadKeyValues(KeyValueStore& store, int64_t* offset) {
  const Workload& w = Data();
  for (size_t i = 0; i < kNumKeys; ++i) {
    const uint32_t k = w.load_order[i];
    EVENTFLOW_RETURN_IF_ERROR(store.Put(w.keys[k], ValueFor(k), kBaseTimeMs));
    if ((i + 1) % kCommitEvery == 0) EVENTFLOW_RETURN_IF_ERROR(store.Commit((*offset)++));
  }
  return store.Commit((*offset)++);
}

Result<KeyValueStore*> LoadedStore(Backend backend) {
  auto& stores = Loaded().kv;
  if (auto it = stores.find(backend); it != stores.end()) return it->second->store.get();
  auto owned = std::make_unique<OwnedStore<KeyValueStore>>();
  owned->options = OptionsFor(backend, FreshName("kv-loaded"));
  Result<std::unique_ptr<KeyValueStore>> store = OpenKeyValueStore(owned->options);
  if (!store.ok()) return store.status();
  owned->store = std::move(*store);
  int64_t offset = 0;
  EVENTFLOW_RETURN_IF_ERROR(LoadKeyValues(*owned->store, &offset));
  if (backend == Backend::kRocksDb) {  // reopen: the data moves to SST files
    owned->store.reset();
    store = OpenKeyValueStore(owned->options);
    if (!store.ok()) return store.status();
    owned->store = std::move(*store);
  }
  KeyValueStore* result = owned->store.get();
  stores.emplace(backend, std::move(owned));
  return result;
}

// The raw counterparts of LoadedStore.
Result<rocksdb::DB*> LoadedRawDb() {
  std::unique_ptr<RawDb>& db = Loaded().raw_kv;
  if (db) return db->db();
  std::string error;
  db = RawDb::Open("raw-kv-loaded", &error);
  if (!db) return Status::IOError(error);
  const Workload& w = Data();
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < kNumKeys; ++i) {
    const uint32_t k = w.load_order[i];
    batch.Put(w.keys[k], ValueFor(k)).PermitUncheckedError();
    if ((i + 1) % kCommitEvery == 0 || i + 1 == kNumKeys) {
      rocksdb::Status s = db->db()->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return Status::IOError("raw load: " + s.ToString());
      batch.Clear();
    }
  }
  if (!db->Reopen(&error)) return Status::IOError(error);
  return db->db();
}

using RawMap = std::map<std::string, std::string, std::less<>>;

const RawMap& LoadedRawMap() {
  static const RawMap map = [] {
    RawMap m;
    for (uint32_t k : Data().load_order) m.emplace(Data().keys[k], ValueFor(k));
    return m;
  }();
  return map;
}

// ---------------------------------------------------------------------------
// kv_put

void KvPutRaw(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  const std::string key = std::string("kv_put/") + BackendName(backend);
  uint64_t i = 0;
  if (backend == Backend::kInMemory) {
    RawMap map;
    Measure(state, key, true, kOpsPerIteration, [&] {
      for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
        map.insert_or_assign(w.keys[Draw(i)], ValueFor(i));
      }
      return true;
    });
    return;
  }
  std::string error;
  std::unique_ptr<RawDb> db = RawDb::Open("raw-kv-put", &error);
  if (!db) return state.SkipWithError(error.c_str());
  rocksdb::WriteBatch batch;
  const rocksdb::WriteOptions write_options;
  Measure(state, key, true, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      batch.Put(w.keys[Draw(i)], ValueFor(i)).PermitUncheckedError();
    }
    rocksdb::Status s = db->db()->Write(write_options, &batch);
    batch.Clear();
    return Check(state, s, "raw write");
  });
}

void KvPutStore(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  OwnedStore<KeyValueStore> owned;
  owned.options = OptionsFor(backend, FreshName("kv-put"));
  Result<std::unique_ptr<KeyValueStore>> store = OpenKeyValueStore(owned.options);
  if (!Check(state, store.status(), "open")) return;
  owned.store = std::move(*store);
  KeyValueStore& s = *owned.store;
  uint64_t i = 0;
  int64_t offset = 0;
  static_assert(kOpsPerIteration % kCommitEvery == 0);
  Measure(state, std::string("kv_put/") + BackendName(backend), false, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      if (!Check(state, s.Put(w.keys[Draw(i)], ValueFor(i), kBaseTimeMs), "put")) return false;
    }
    return Check(state, s.Commit(offset++), "commit");
  });
}

// ---------------------------------------------------------------------------
// kv_get, kv_get_pending

void KvGetRaw(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  const std::string key = std::string("kv_get/") + BackendName(backend);
  uint64_t i = 0;
  std::string value;
  if (backend == Backend::kInMemory) {
    const RawMap& map = LoadedRawMap();
    Measure(state, key, true, kOpsPerIteration, [&] {
      for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
        auto it = map.find(w.keys[Draw(i)]);
        if (it == map.end()) return Check(state, Status::NotFound("raw map"), "get");
        value.assign(it->second);
        benchmark::DoNotOptimize(value.data());
      }
      return true;
    });
    return;
  }
  Result<rocksdb::DB*> db = LoadedRawDb();
  if (!Check(state, db.status(), "load")) return;
  const rocksdb::ReadOptions read_options;
  Measure(state, key, true, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      if (!Check(state, (*db)->Get(read_options, w.keys[Draw(i)], &value), "raw get")) {
        return false;
      }
      benchmark::DoNotOptimize(value.data());
    }
    return true;
  });
}

void KvGetStore(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  Result<KeyValueStore*> store = LoadedStore(backend);
  if (!Check(state, store.status(), "load")) return;
  KeyValueStore& s = **store;
  uint64_t i = 0;
  std::string value;
  Measure(state, std::string("kv_get/") + BackendName(backend), false, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      if (!Check(state, s.Get(w.keys[Draw(i)], &value), "get")) return false;
      benchmark::DoNotOptimize(value.data());
    }
    return true;
  });
}

// Reads of the 1000 keys written since the last commit, in random order.
void KvGetPendingStore(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  Result<KeyValueStore*> store = LoadedStore(backend);
  if (!Check(state, store.status(), "load")) return;
  KeyValueStore& s = **store;
  std::vector<const std::string*> pending;
  for (int64_t n = 0; n < kCommitEvery; ++n) {
    const std::string& key = w.keys[Draw(static_cast<uint64_t>(n) * 7919)];
    if (!Check(state, s.Put(key, ValueFor(static_cast<uint64_t>(n) + 1), kBaseTimeMs), "put")) {
      return;
    }
    pending.push_back(&key);
  }
  uint64_t i = 0;
  std::string value;
  Measure(state, std::string("kv_get/") + BackendName(backend), false, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      if (!Check(state, s.Get(*pending[Draw(i) % pending.size()], &value), "get")) return false;
      benchmark::DoNotOptimize(value.data());
    }
    return true;
  });
  s.Abort();  // the loaded store stays as loaded for the other benchmarks
}

// ---------------------------------------------------------------------------
// kv_range

// [from, to) holding exactly kRangeKeys keys, from a random start.
std::pair<const std::string*, const std::string*> RangeFor(uint64_t i) {
  const std::vector<std::string>& sorted = Data().sorted_keys;
  const size_t first = Draw(i) % (sorted.size() - kRangeKeys);
  return {&sorted[first], &sorted[first + kRangeKeys]};
}

// Fails unless a scan saw exactly kRangeKeys keys.
bool CheckScan(benchmark::State& state, size_t seen) {
  if (seen == kRangeKeys) return true;
  state.SkipWithError("a range scan did not return 100 keys");
  return false;
}

void KvRangeRaw(benchmark::State& state, Backend backend) {
  const std::string key = std::string("kv_range/") + BackendName(backend);
  uint64_t i = 0;
  if (backend == Backend::kInMemory) {
    const RawMap& map = LoadedRawMap();
    Measure(state, key, true, kOpsPerIteration, [&] {
      for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
        auto [from, to] = RangeFor(i);
        size_t seen = 0, bytes = 0;
        for (auto it = map.lower_bound(*from), end = map.lower_bound(*to); it != end; ++it) {
          ++seen;
          bytes += it->first.size() + it->second.size();
        }
        benchmark::DoNotOptimize(bytes);
        if (!CheckScan(state, seen)) return false;
      }
      return true;
    });
    return;
  }
  Result<rocksdb::DB*> db = LoadedRawDb();
  if (!Check(state, db.status(), "load")) return;
  Measure(state, key, true, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      auto [from, to] = RangeFor(i);
      rocksdb::Slice upper(*to);
      rocksdb::ReadOptions read_options;
      read_options.iterate_upper_bound = &upper;
      std::unique_ptr<rocksdb::Iterator> it((*db)->NewIterator(read_options));
      size_t seen = 0, bytes = 0;
      for (it->Seek(*from); it->Valid(); it->Next()) {
        ++seen;
        bytes += it->key().size() + it->value().size();
      }
      benchmark::DoNotOptimize(bytes);
      if (!Check(state, it->status(), "raw scan") || !CheckScan(state, seen)) return false;
    }
    return true;
  });
}

void KvRangeStore(benchmark::State& state, Backend backend) {
  Result<KeyValueStore*> store = LoadedStore(backend);
  if (!Check(state, store.status(), "load")) return;
  KeyValueStore& s = **store;
  uint64_t i = 0;
  Measure(state, std::string("kv_range/") + BackendName(backend), false, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      auto [from, to] = RangeFor(i);
      size_t seen = 0, bytes = 0;
      std::unique_ptr<KeyValueIterator> it = s.Range(*from, *to);
      for (; it->Valid(); it->Next()) {
        ++seen;
        bytes += it->key().size() + it->value().size();
      }
      benchmark::DoNotOptimize(bytes);
      if (!Check(state, it->status(), "scan") || !CheckScan(state, seen)) return false;
    }
    return true;
  });
}

// ---------------------------------------------------------------------------
// window_put, window_fetch

// Put number i: a random key at stream time base + i ms, in its 1-minute window.
int64_t WindowStartFor(uint64_t i) {
  const int64_t time = kBaseTimeMs + static_cast<int64_t>(i);
  return time - time % kWindowMs;
}

// Big-endian window start at the end of an encoded window key (store_keys.h).
int64_t RawWindowStart(std::string_view encoded) {
  uint64_t v = 0;
  for (char c : encoded.substr(encoded.size() - 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<int64_t>(v);
}

void WindowPutRaw(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  const std::string key = std::string("window_put/") + BackendName(backend);
  uint64_t i = 0;
  std::string encoded;
  if (backend == Backend::kInMemory) {
    RawMap map;
    Measure(state, key, true, kOpsPerIteration, [&] {
      for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
        EncodeWindowKey(w.keys[Draw(i)], WindowStartFor(i), &encoded);
        map.insert_or_assign(encoded, ValueFor(i));
      }
      return true;
    });
    return;
  }
  std::string error;
  std::unique_ptr<RawDb> db = RawDb::Open("raw-window-put", &error);
  if (!db) return state.SkipWithError(error.c_str());
  rocksdb::WriteBatch batch;
  const rocksdb::WriteOptions write_options;
  Measure(state, key, true, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      EncodeWindowKey(w.keys[Draw(i)], WindowStartFor(i), &encoded);
      batch.Put(encoded, ValueFor(i)).PermitUncheckedError();
    }
    rocksdb::Status s = db->db()->Write(write_options, &batch);
    batch.Clear();
    return Check(state, s, "raw write");
  });
}

Result<std::unique_ptr<WindowStore>> OpenWindow(const StoreOptions& options) {
  return OpenWindowStore(options, WindowStoreOptions{});  // 1 day retention, 12 h segments
}

void WindowPutStore(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  OwnedStore<WindowStore> owned;
  owned.options = OptionsFor(backend, FreshName("window-put"));
  Result<std::unique_ptr<WindowStore>> store = OpenWindow(owned.options);
  if (!Check(state, store.status(), "open")) return;
  owned.store = std::move(*store);
  WindowStore& s = *owned.store;
  uint64_t i = 0;
  int64_t offset = 0;
  Measure(state, std::string("window_put/") + BackendName(backend), false, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      const int64_t time = kBaseTimeMs + static_cast<int64_t>(i);
      if (!Check(state, s.Put(w.keys[Draw(i)], WindowStartFor(i), ValueFor(i), time), "put")) {
        return false;
      }
    }
    return Check(state, s.Commit(offset++), "commit");
  });
}

// 100k keys x kWindowsPerKey consecutive 1-minute windows from kBaseWindow.
constexpr int64_t kBaseWindow = kBaseTimeMs - kBaseTimeMs % kWindowMs;
constexpr int64_t kLastWindow = kBaseWindow + (kWindowsPerKey - 1) * kWindowMs;

Result<WindowStore*> LoadedWindowStore(Backend backend) {
  auto& stores = Loaded().window;
  if (auto it = stores.find(backend); it != stores.end()) return it->second->store.get();
  auto owned = std::make_unique<OwnedStore<WindowStore>>();
  owned->options = OptionsFor(backend, FreshName("window-loaded"));
  Result<std::unique_ptr<WindowStore>> store = OpenWindow(owned->options);
  if (!store.ok()) return store.status();
  owned->store = std::move(*store);
  int64_t offset = 0;
  uint64_t n = 0;
  for (int64_t k = 0; k < kWindowsPerKey; ++k) {
    const int64_t window = kBaseWindow + k * kWindowMs;
    for (uint32_t key : Data().load_order) {
      EVENTFLOW_RETURN_IF_ERROR(owned->store->Put(Data().keys[key], window, ValueFor(n), window));
      if (++n % kCommitEvery == 0) EVENTFLOW_RETURN_IF_ERROR(owned->store->Commit(offset++));
    }
  }
  EVENTFLOW_RETURN_IF_ERROR(owned->store->Commit(offset++));
  if (backend == Backend::kRocksDb) {  // reopen: the data moves to SST files
    owned->store.reset();
    store = OpenWindow(owned->options);
    if (!store.ok()) return store.status();
    owned->store = std::move(*store);
  }
  WindowStore* result = owned->store.get();
  stores.emplace(backend, std::move(owned));
  return result;
}

// The raw counterpart: encoded window keys in one map / the default column family.
template <typename PutFn>
void ForEachLoadedWindow(PutFn put) {
  std::string encoded;
  uint64_t n = 0;
  for (int64_t k = 0; k < kWindowsPerKey; ++k) {
    for (uint32_t key : Data().load_order) {
      EncodeWindowKey(Data().keys[key], kBaseWindow + k * kWindowMs, &encoded);
      put(encoded, ValueFor(n), n);
      ++n;
    }
  }
}

Result<rocksdb::DB*> LoadedRawWindowDb() {
  std::unique_ptr<RawDb>& db = Loaded().raw_window;
  if (db) return db->db();
  std::string error;
  db = RawDb::Open("raw-window-loaded", &error);
  if (!db) return Status::IOError(error);
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  ForEachLoadedWindow([&](const std::string& key, const std::string& value, uint64_t n) {
    batch.Put(key, value).PermitUncheckedError();
    if ((n + 1) % kCommitEvery == 0 && s.ok()) {
      s = db->db()->Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
    }
  });
  if (s.ok()) s = db->db()->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return Status::IOError("raw window load: " + s.ToString());
  if (!db->Reopen(&error)) return Status::IOError(error);
  return db->db();
}

const RawMap& LoadedRawWindowMap() {
  static const RawMap map = [] {
    RawMap m;
    ForEachLoadedWindow([&](const std::string& key, const std::string& value, uint64_t) {
      m.emplace(key, value);
    });
    return m;
  }();
  return map;
}

// Fails unless a fetch saw every window of the key.
bool CheckFetch(benchmark::State& state, int64_t seen) {
  if (seen == kWindowsPerKey) return true;
  state.SkipWithError("a window fetch did not return every window of the key");
  return false;
}

void WindowFetchRaw(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  const std::string key = std::string("window_fetch/") + BackendName(backend);
  uint64_t i = 0;
  std::string lower, upper;
  if (backend == Backend::kInMemory) {
    const RawMap& map = LoadedRawWindowMap();
    Measure(state, key, true, kOpsPerIteration, [&] {
      for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
        const std::string& k = w.keys[Draw(i)];
        EncodeWindowKey(k, kBaseWindow, &lower);
        EncodeWindowKey(k, kLastWindow + 1, &upper);
        int64_t seen = 0, sum = 0;
        for (auto it = map.lower_bound(lower), end = map.lower_bound(upper); it != end; ++it) {
          ++seen;
          sum += RawWindowStart(it->first) + static_cast<int64_t>(it->second.size());
        }
        benchmark::DoNotOptimize(sum);
        if (!CheckFetch(state, seen)) return false;
      }
      return true;
    });
    return;
  }
  Result<rocksdb::DB*> db = LoadedRawWindowDb();
  if (!Check(state, db.status(), "load")) return;
  Measure(state, key, true, kOpsPerIteration, [&] {
    for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
      const std::string& k = w.keys[Draw(i)];
      EncodeWindowKey(k, kBaseWindow, &lower);
      EncodeWindowKey(k, kLastWindow + 1, &upper);
      rocksdb::Slice upper_slice(upper);
      rocksdb::ReadOptions read_options;
      read_options.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it((*db)->NewIterator(read_options));
      int64_t seen = 0, sum = 0;
      for (it->Seek(lower); it->Valid(); it->Next()) {
        ++seen;
        sum += RawWindowStart(std::string_view(it->key().data(), it->key().size())) +
               static_cast<int64_t>(it->value().size());
      }
      benchmark::DoNotOptimize(sum);
      if (!Check(state, it->status(), "raw fetch") || !CheckFetch(state, seen)) return false;
    }
    return true;
  });
}

void WindowFetchStore(benchmark::State& state, Backend backend) {
  const Workload& w = Data();
  Result<WindowStore*> store = LoadedWindowStore(backend);
  if (!Check(state, store.status(), "load")) return;
  WindowStore& s = **store;
  uint64_t i = 0;
  Measure(state, std::string("window_fetch/") + BackendName(backend), false, kOpsPerIteration,
          [&] {
            for (int64_t n = 0; n < kOpsPerIteration; ++n, ++i) {
              std::unique_ptr<WindowIterator> it =
                  s.Fetch(w.keys[Draw(i)], kBaseWindow, kLastWindow);
              int64_t seen = 0, sum = 0;
              for (; it->Valid(); it->Next()) {
                ++seen;
                sum += it->window_start() + static_cast<int64_t>(it->value().size());
              }
              benchmark::DoNotOptimize(sum);
              if (!Check(state, it->status(), "fetch") || !CheckFetch(state, seen)) return false;
            }
            return true;
          });
}

// ---------------------------------------------------------------------------
// Registration: per operation and backend, raw first (ours divides by its
// median), each with a fixed number of iterations of kOpsPerIteration items,
// sized to roughly half a second on a small machine.

using BenchFn = void (*)(benchmark::State&, Backend);

void Register(const char* op, BenchFn raw, BenchFn ours, const char* ours_op,
              int64_t rocksdb_iterations, int64_t in_memory_iterations) {
  for (Backend backend : {Backend::kRocksDb, Backend::kInMemory}) {
    const int64_t iterations =
        backend == Backend::kRocksDb ? rocksdb_iterations : in_memory_iterations;
    const std::string prefix = std::string("/") + BackendName(backend) + "/";
    if (raw != nullptr) {
      const char* raw_name = backend == Backend::kRocksDb ? "raw_db" : "std_map";
      benchmark::RegisterBenchmark((op + prefix + raw_name).c_str(), raw, backend)
          ->Iterations(iterations)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark((ours_op + prefix + "store").c_str(), ours, backend)
        ->Iterations(iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

void RegisterAll() {
  Register("kv_put", KvPutRaw, KvPutStore, "kv_put", 150, 500);
  Register("kv_get", KvGetRaw, KvGetStore, "kv_get", 200, 700);
  Register("kv_get", nullptr, KvGetPendingStore, "kv_get_pending", 500, 4000);
  Register("kv_range", KvRangeRaw, KvRangeStore, "kv_range", 30, 150);
  Register("window_put", WindowPutRaw, WindowPutStore, "window_put", 150, 300);
  Register("window_fetch", WindowFetchRaw, WindowFetchStore, "window_fetch", 100, 150);
}

}  // namespace
}  // namespace eventflow::state

int main(int argc, char** argv) {
  eventflow::state::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  eventflow::state::Loaded() = {};
  std::error_code ec;
  std::filesystem::remove_all(eventflow::state::RootDir(), ec);
  return 0;
}
