// Committed views (interactive queries, state_store.h "THREAD-SAFETY"): a view
// shows exactly what the last Commit (or RestoreBatch) wrote — never pending
// writes, never aborted ones — for both backends and every store kind,
// checked against a model of committed state under seeded random operations;
// a RocksDB view keeps its snapshot across later commits; window and session
// views follow the committed expiry horizon, not the pending one; and views
// read from other threads while the store's thread writes, creates and drops
// segments, commits and wipes (run under TSan: label threads).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"
#include "test_util.h"

namespace eventflow::state {
namespace {

using testing::BackendName;
using testing::MakeOptions;
using testing::TempDir;
using testing::Unwrap;
using Map = std::map<std::string, std::string>;

Map ReadAll(KeyValueIterator& it) {
  Map out;
  for (; it.Valid(); it.Next()) out.emplace(std::string(it.key()), std::string(it.value()));
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

// (key, window start) -> value.
using Windows = std::map<std::pair<std::string, int64_t>, std::string>;

Windows ReadWindows(WindowIterator& it) {
  Windows out;
  for (; it.Valid(); it.Next()) {
    out.emplace(std::make_pair(std::string(it.key()), it.window_start()), std::string(it.value()));
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

class CommittedViewTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  StoreOptions Options(const std::string& name) { return MakeOptions(dir_, name, GetParam()); }
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CommittedViewTest,
                         ::testing::Values(StoreBackend::kRocksDb, StoreBackend::kInMemory),
                         [](const auto& param_info) {
                           return std::string(BackendName(param_info.param));
                         });

TEST_P(CommittedViewTest, KeyValueViewShowsCommittedStateOnly) {
  auto store = Unwrap(OpenKeyValueStore(Options("kv")));
  ASSERT_TRUE(store->Put("k1", "a", 1).ok());
  {
    auto view = store->NewCommittedView();
    std::string value;
    EXPECT_TRUE(view->Get("k1", &value).IsNotFound()) << "a pending write is visible";
  }
  ASSERT_TRUE(store->Commit(1).ok());
  ASSERT_TRUE(store->Put("k1", "b", 2).ok());
  ASSERT_TRUE(store->Put("k2", "c", 2).ok());
  {
    auto view = store->NewCommittedView();
    std::string value;
    ASSERT_TRUE(view->Get("k1", &value).ok());
    EXPECT_EQ(value, "a");
    EXPECT_TRUE(view->Get("k2", &value).IsNotFound());
    EXPECT_EQ(ReadAll(*view->All()), (Map{{"k1", "a"}}));
  }
  std::string own;
  ASSERT_TRUE(store->Get("k1", &own).ok());
  EXPECT_EQ(own, "b") << "the task still reads its own writes";
  store->Abort();
  EXPECT_EQ(ReadAll(*store->NewCommittedView()->All()), (Map{{"k1", "a"}}));
  ASSERT_TRUE(store->Put("k2", "d", 3).ok());
  ASSERT_TRUE(store->Delete("k1", 3).ok());
  ASSERT_TRUE(store->Commit(2).ok());
  EXPECT_EQ(ReadAll(*store->NewCommittedView()->All()), (Map{{"k2", "d"}}));
}

// Seeded random puts, deletes, commits and aborts; after each step a new view
// must equal a model of the committed map (Get, All and Range).
TEST_P(CommittedViewTest, KeyValueViewMatchesTheCommittedModel) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto store = Unwrap(OpenKeyValueStore(Options("kv-" + std::to_string(seed))));
    std::mt19937 rng(seed);
    Map committed;
    Map pending;  // the model's pending layer ("" value = deleted)
    int64_t offset = 0;
    for (int step = 0; step < 300; ++step) {
      const std::string key = "k" + std::to_string(rng() % 12);
      switch (rng() % 10) {
        case 0:
          ASSERT_TRUE(store->Commit(++offset).ok());
          for (auto& [k, v] : pending) {
            if (v.empty()) {
              committed.erase(k);
            } else {
              committed[k] = v;
            }
          }
          pending.clear();
          break;
        case 1:
          store->Abort();
          pending.clear();
          break;
        case 2:
        case 3:
          ASSERT_TRUE(store->Delete(key, step).ok());
          pending[key] = "";
          break;
        default: {
          const std::string value = "v" + std::to_string(step);
          ASSERT_TRUE(store->Put(key, value, step).ok());
          pending[key] = value;
        }
      }
      auto view = store->NewCommittedView();
      ASSERT_EQ(ReadAll(*view->All()), committed);
      std::string value;
      const Status got = view->Get(key, &value);
      if (committed.count(key)) {
        ASSERT_TRUE(got.ok()) << got.ToString();
        ASSERT_EQ(value, committed[key]);
      } else {
        ASSERT_TRUE(got.IsNotFound()) << got.ToString();
      }
      Map range;
      for (auto it = committed.lower_bound("k3"); it != committed.lower_bound("k7"); ++it) {
        range.insert(*it);
      }
      ASSERT_EQ(ReadAll(*view->Range("k3", "k7")), range);
    }
  }
}

TEST(CommittedViewRocksDbTest, ViewKeepsItsSnapshotAcrossLaterCommits) {
  TempDir dir;
  auto store = Unwrap(OpenKeyValueStore(MakeOptions(dir, "kv")));
  ASSERT_TRUE(store->Put("k", "old", 1).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  auto before = store->NewCommittedView();
  ASSERT_TRUE(store->Put("k", "new", 2).ok());
  ASSERT_TRUE(store->Commit(2).ok());  // RocksDB commits do not wait for views
  std::string value;
  ASSERT_TRUE(before->Get("k", &value).ok());
  EXPECT_EQ(value, "old");
  ASSERT_TRUE(store->NewCommittedView()->Get("k", &value).ok());
  EXPECT_EQ(value, "new");
}

TEST_P(CommittedViewTest, WindowViewShowsCommittedWindowsAndCommittedHorizon) {
  WindowStoreOptions window;
  window.retention = std::chrono::minutes(10);
  window.segment_interval = std::chrono::minutes(1);
  auto store = Unwrap(OpenWindowStore(Options("w"), window));
  constexpr int64_t kMinute = 60'000;
  ASSERT_TRUE(store->Put("u1", 0, "a", 0).ok());
  ASSERT_TRUE(store->Put("u1", 5 * kMinute, "b", 0).ok());
  ASSERT_TRUE(store->Put("u2", 5 * kMinute, "c", 0).ok());
  EXPECT_TRUE(ReadWindows(*Unwrap(store->NewCommittedView())->FetchAll(0, 20 * kMinute)).empty());
  ASSERT_TRUE(store->Commit(1).ok());
  // Pending: a new window, an update, and expiry of the first window.
  ASSERT_TRUE(store->Put("u1", 9 * kMinute, "d", 0).ok());
  ASSERT_TRUE(store->Put("u2", 5 * kMinute, "c2", 0).ok());
  ASSERT_TRUE(store->AdvanceStreamTime(11 * kMinute).ok());  // horizon 1 min + 1 ms
  {
    auto view = Unwrap(store->NewCommittedView());
    EXPECT_EQ(ReadWindows(*view->Fetch("u1", 0, 20 * kMinute)),
              (Windows{{{"u1", 0}, "a"}, {{"u1", 5 * kMinute}, "b"}}));
    EXPECT_EQ(ReadWindows(*view->FetchAll(0, 20 * kMinute)),
              (Windows{{{"u1", 0}, "a"}, {{"u1", 5 * kMinute}, "b"}, {{"u2", 5 * kMinute}, "c"}}));
  }
  ASSERT_TRUE(store->Commit(2).ok());
  auto view = Unwrap(store->NewCommittedView());
  EXPECT_EQ(ReadWindows(*view->Fetch("u1", 0, 20 * kMinute)),
            (Windows{{{"u1", 5 * kMinute}, "b"}, {{"u1", 9 * kMinute}, "d"}}));
  EXPECT_EQ(ReadWindows(*view->Fetch("u2", 5 * kMinute, 5 * kMinute)),
            (Windows{{{"u2", 5 * kMinute}, "c2"}}));
}

TEST_P(CommittedViewTest, SessionViewShowsCommittedSessionsOnly) {
  SessionStoreOptions session;
  session.retention = std::chrono::minutes(10);
  auto store = Unwrap(OpenSessionStore(Options("s"), session));
  ASSERT_TRUE(store->Put("u1", 100, 200, "a", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  ASSERT_TRUE(store->Remove("u1", 100, 200, 0).ok());
  ASSERT_TRUE(store->Put("u1", 100, 300, "b", 0).ok());
  auto sessions = [&] {
    std::vector<std::tuple<int64_t, int64_t, std::string>> out;
    auto view = Unwrap(store->NewCommittedView());
    for (auto it = view->FetchAll("u1"); it->Valid(); it->Next()) {
      out.emplace_back(it->start(), it->end(), std::string(it->value()));
    }
    return out;
  };
  using Sessions = std::vector<std::tuple<int64_t, int64_t, std::string>>;
  EXPECT_EQ(sessions(), (Sessions{{100, 200, "a"}}));
  ASSERT_TRUE(store->Commit(2).ok());
  EXPECT_EQ(sessions(), (Sessions{{100, 300, "b"}}));
}

// The store's thread writes windows into ever newer segments (creating and
// dropping column families), commits each step's pair of writes together and
// finally wipes; reader threads open views meanwhile. Every view must show a
// committed state: both keys of a step or neither, never going back.
TEST_P(CommittedViewTest, ViewsReadWhileTheOwnerWritesCommitsDropsSegmentsAndWipes) {
  WindowStoreOptions window;
  window.retention = std::chrono::minutes(5);
  window.segment_interval = std::chrono::minutes(1);
  auto windows = Unwrap(OpenWindowStore(Options("w"), window));
  auto kv = Unwrap(OpenKeyValueStore(Options("kv")));
  constexpr int kSteps = 150;
  constexpr int64_t kStep = 20'000;  // three steps per segment
  std::atomic<bool> wiping{false};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto reader = [&] {
    int64_t last_kv = 0;
    int64_t last_window = -1;
    int reads = 0;
    while (!done.load() || reads < 10) {
      ++reads;
      {
        auto view = kv->NewCommittedView();
        std::string a, b;
        const bool has_a = view->Get("a", &a).ok();
        const bool has_b = view->Get("b", &b).ok();
        if (has_a != has_b || a != b) ++failures;
        const int64_t n = has_a ? std::stoll(a) : 0;
        if (n < last_kv && !wiping.load()) ++failures;
        last_kv = n;
      }
      auto view = windows->NewCommittedView();
      if (!view.ok()) {
        ++failures;
        continue;
      }
      const Windows seen = ReadWindows(*(*view)->FetchAll(0, kSteps * kStep));
      for (const auto& [key, value] : seen) {
        // Both keys of a step are committed together.
        const std::string other = key.first == "x" ? "y" : "x";
        auto twin = seen.find({other, key.second});
        if (twin == seen.end() || twin->second != value) ++failures;
      }
      const int64_t latest = seen.empty() ? -1 : seen.rbegin()->first.second;
      if (latest < last_window && !wiping.load()) ++failures;
      last_window = latest;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader);
  Status written;  // the first failure of the store's thread (threads are joined first)
  for (int step = 1; step <= kSteps && written.ok(); ++step) {
    const std::string value = std::to_string(step);
    const int64_t start = step * kStep;
    for (const Status& s :
         {windows->Put("x", start, value, start), windows->Put("y", start, value, start),
          windows->AdvanceStreamTime(start), windows->Commit(step), kv->Put("a", value, start),
          kv->Put("b", value, start), kv->Commit(step)}) {
      if (written.ok()) written = s;
    }
  }
  EXPECT_LE(windows->num_segments(), 7u) << "expired segments were dropped";
  wiping = true;
  if (written.ok()) written = windows->Wipe();
  if (written.ok()) written = kv->Wipe();
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_TRUE(written.ok()) << written.ToString();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace eventflow::state
