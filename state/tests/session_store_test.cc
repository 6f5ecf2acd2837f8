// SessionStore, both backends: put/fetch/remove, FindSessions boundaries, the
// session-merge pattern of session windows, retention by session end, restore,
// and a randomised run against a std::map model.
#include "eventflow/state/session_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

namespace eventflow::state {
namespace {

using std::chrono::milliseconds;
using testing::MakeOptions;
using testing::RecordingChangelogWriter;
using testing::TempDir;
using testing::Unwrap;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Session {
  std::string key;
  int64_t start;
  int64_t end;
  std::string value;
  friend bool operator==(const Session&, const Session&) = default;
};

std::ostream& operator<<(std::ostream& os, const Session& s) {
  return os << "{" << s.key << ", [" << s.start << ", " << s.end << "], " << s.value << "}";
}

std::vector<Session> Drain(SessionIterator& it) {
  std::vector<Session> out;
  for (; it.Valid(); it.Next()) {
    out.push_back({std::string(it.key()), it.start(), it.end(), std::string(it.value())});
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

SessionStoreOptions Retention(int64_t retention_ms, int64_t segment_ms) {
  SessionStoreOptions o;
  o.retention = milliseconds(retention_ms);
  o.segment_interval = milliseconds(segment_ms);
  return o;
}

class SessionStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  std::unique_ptr<SessionStore> Open(SessionStoreOptions session_options, std::string name = "s") {
    StoreOptions options = MakeOptions(dir_, std::move(name), GetParam());
    options.changelog_writer = &changelog_;
    return Unwrap(OpenSessionStore(options, session_options));
  }

  TempDir dir_;
  RecordingChangelogWriter changelog_;
};

TEST_P(SessionStoreTest, PutFetchRemove) {
  auto store = Open(Retention(10'000, 1'000));
  ASSERT_TRUE(store->Put("u", 10, 20, "a", 20).ok());
  ASSERT_TRUE(store->Put("u", 30, 30, "b", 30).ok());
  ASSERT_TRUE(store->Put("v", 10, 20, "c", 20).ok());
  std::string value;
  ASSERT_TRUE(store->FetchSession("u", 10, 20, &value).ok());
  EXPECT_EQ(value, "a");
  EXPECT_TRUE(store->FetchSession("u", 10, 21, &value).IsNotFound());
  ASSERT_TRUE(store->Remove("u", 10, 20, 40).ok());
  EXPECT_TRUE(store->FetchSession("u", 10, 20, &value).IsNotFound());
  EXPECT_EQ(Drain(*store->FetchAll("u")), (std::vector<Session>{{"u", 30, 30, "b"}}));
  EXPECT_TRUE(store->Put("u", 5, 4, "x", 0).IsInvalidArgument());
  EXPECT_TRUE(store->Put("u", -1, 4, "x", 0).IsInvalidArgument());
  ASSERT_EQ(changelog_.changes.size(), 4u);
  EXPECT_EQ(changelog_.changes[3].value, std::nullopt);
}

TEST_P(SessionStoreTest, FindSessionsMatchesOverlapBoundsInclusively) {
  auto store = Open(Retention(10'000, 100));
  ASSERT_TRUE(store->Put("k", 10, 20, "s1", 0).ok());
  ASSERT_TRUE(store->Put("k", 40, 250, "s2", 0).ok());  // a long session across segments
  ASSERT_TRUE(store->Put("k", 300, 300, "s3", 0).ok());
  ASSERT_TRUE(store->Put(std::string("k\0", 2), 10, 20, "other", 0).ok());
  auto find = [&](int64_t earliest_end, int64_t latest_start) {
    std::vector<std::string> values;
    for (const Session& s : Drain(*store->FindSessions("k", earliest_end, latest_start))) {
      values.push_back(s.value);
    }
    return values;
  };
  EXPECT_EQ(find(20, 10), (std::vector<std::string>{"s1"}));  // touching both bounds
  EXPECT_EQ(find(21, 100), (std::vector<std::string>{"s2"}));
  EXPECT_EQ(find(0, 9), (std::vector<std::string>{}));
  EXPECT_EQ(find(0, kMax), (std::vector<std::string>{"s1", "s2", "s3"}));  // by end
  EXPECT_EQ(find(250, 300), (std::vector<std::string>{"s2", "s3"}));
  EXPECT_EQ(find(251, 299), (std::vector<std::string>{}));
  EXPECT_EQ(find(100, 50), (std::vector<std::string>{"s2"}));  // a range inside s2
  EXPECT_EQ(find(0, -1), (std::vector<std::string>{}));
}

TEST_P(SessionStoreTest, FindSessionsByEndScansEveryKeyWithinTheEndRange) {
  auto store = Open(Retention(10'000, 100));
  ASSERT_TRUE(store->Put("a", 10, 20, "a1", 0).ok());
  ASSERT_TRUE(store->Put("b", 5, 150, "b1", 0).ok());
  ASSERT_TRUE(store->Put("a", 140, 160, "a2", 0).ok());
  ASSERT_TRUE(store->Put("c", 300, 300, "c1", 0).ok());
  auto find = [&](int64_t earliest_end, int64_t latest_end) {
    std::vector<std::string> values;
    for (const Session& s : Drain(*store->FindSessionsByEnd(earliest_end, latest_end))) {
      values.push_back(s.value);
    }
    return values;
  };
  EXPECT_EQ(find(0, kMax), (std::vector<std::string>{"a1", "a2", "b1", "c1"}));
  EXPECT_EQ(find(20, 150), (std::vector<std::string>{"a1", "b1"}));  // inclusive bounds
  EXPECT_EQ(find(21, 149), (std::vector<std::string>{}));
  EXPECT_EQ(find(151, 300), (std::vector<std::string>{"a2", "c1"}));
  EXPECT_EQ(find(301, 200), (std::vector<std::string>{}));
}

// Session windows with an inactivity gap, as the DSL will run them: find the
// sessions within the gap, remove them, put the merged one (value = count).
TEST_P(SessionStoreTest, MergingSessionsWithAGap) {
  auto store = Open(Retention(100'000, 1'000));
  constexpr int64_t kGap = 10;
  auto process = [&](const std::string& key, int64_t t) {
    int64_t start = t, end = t, count = 1;
    std::vector<Session> overlapping = Drain(*store->FindSessions(key, t - kGap, t + kGap));
    for (const Session& s : overlapping) {
      start = std::min(start, s.start);
      end = std::max(end, s.end);
      count += std::stoll(s.value);
      ASSERT_TRUE(store->Remove(key, s.start, s.end, t).ok());
    }
    ASSERT_TRUE(store->Put(key, start, end, std::to_string(count), t).ok());
  };
  process("u", 0);
  process("u", 5);
  EXPECT_EQ(Drain(*store->FetchAll("u")), (std::vector<Session>{{"u", 0, 5, "2"}}));
  process("u", 30);
  process("u", 12);
  EXPECT_EQ(Drain(*store->FetchAll("u")),
            (std::vector<Session>{{"u", 0, 12, "3"}, {"u", 30, 30, "1"}}));
  process("v", 13);
  ASSERT_TRUE(store->Commit(1).ok());
  process("u", 21);  // within the gap of both: bridges them
  EXPECT_EQ(Drain(*store->FetchAll("u")), (std::vector<Session>{{"u", 0, 30, "5"}}));
  EXPECT_EQ(Drain(*store->FetchAll("v")), (std::vector<Session>{{"v", 13, 13, "1"}}));
  store->Abort();
  EXPECT_EQ(Drain(*store->FetchAll("u")),
            (std::vector<Session>{{"u", 0, 12, "3"}, {"u", 30, 30, "1"}}));
}

TEST_P(SessionStoreTest, RetentionIsBySessionEnd) {
  auto store = Open(Retention(100, 50));
  ASSERT_TRUE(store->Put("k", 0, 30, "early", 0).ok());
  ASSERT_TRUE(store->Put("k", 20, 130, "long", 0).ok());
  ASSERT_TRUE(store->Put("k", 260, 260, "late", 0).ok());
  ASSERT_TRUE(store->Commit(1).ok());
  EXPECT_EQ(store->num_segments(), 3u);
  ASSERT_TRUE(store->AdvanceStreamTime(200).ok());  // horizon 101
  EXPECT_EQ(Drain(*store->FetchAll("k")),
            (std::vector<Session>{{"k", 20, 130, "long"}, {"k", 260, 260, "late"}}));
  ASSERT_TRUE(store->Commit(2).ok());
  EXPECT_EQ(store->num_segments(), 2u);  // segment [0, 50) dropped; [100, 150) holds "long"
  ASSERT_TRUE(store->Put("k", 50, 60, "too late", 0).ok());
  EXPECT_EQ(store->expired_records_skipped(), 1u);
  std::string value;
  EXPECT_TRUE(store->FetchSession("k", 0, 30, &value).IsNotFound());
}

TEST_P(SessionStoreTest, RestoreFromTheChangelogRebuildsTheStore) {
  auto source = Open(Retention(1'000, 100), "source");
  std::mt19937 rng(3);
  for (int i = 0; i < 400; ++i) {
    const std::string key = "k" + std::to_string(rng() % 5);
    const int64_t start = rng() % 900;
    const int64_t end = start + rng() % 100;
    if (rng() % 4 == 0) {
      ASSERT_TRUE(source->Remove(key, start, end, 0).ok());
    } else {
      ASSERT_TRUE(source->Put(key, start, end, std::to_string(i), 0).ok());
    }
  }
  ASSERT_TRUE(source->Commit(400).ok());
  StoreOptions target_options = MakeOptions(dir_, "target", GetParam());
  auto target = Unwrap(OpenSessionStore(target_options, Retention(1'000, 100)));
  std::vector<ChangelogRecord> records = changelog_.Records();
  ASSERT_TRUE(target->RestoreBatch(records, 400).ok());
  for (int k = 0; k < 5; ++k) {
    const std::string key = "k" + std::to_string(k);
    EXPECT_EQ(Drain(*target->FetchAll(key)), Drain(*source->FetchAll(key)));
  }
  // A damaged changelog key is reported, naming the store.
  std::vector<ChangelogRecord> bad = {{"garbage", std::string_view("v")}};
  Status s = target->RestoreBatch(bad, 401);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("target"), std::string::npos);
  EXPECT_EQ(target->CommittedOffset(), 400);
}

TEST_P(SessionStoreTest, RandomOperationsMatchAMapModel) {
  constexpr int64_t kRetention = 400;
  constexpr int64_t kInterval = 100;
  using SKey = std::tuple<std::string, int64_t, int64_t>;  // key, start, end
  auto store = Open(Retention(kRetention, kInterval), "random");
  std::mt19937 rng(21);
  const std::vector<std::string> keys = {"", "a", std::string("a\0", 2), "ab", "\xff"};
  std::map<SKey, std::string> committed;
  std::map<SKey, std::optional<std::string>> pending;
  int64_t horizon = 0, committed_horizon = 0, stream_time = 0, offset = 0;
  auto view = [&] {
    std::map<SKey, std::string> v = committed;
    for (const auto& [k, val] : pending) {
      if (val) {
        v[k] = *val;
      } else {
        v.erase(k);
      }
    }
    std::erase_if(v, [&](const auto& e) { return std::get<2>(e.first) < horizon; });
    return v;
  };
  auto model_find = [&](const std::string& key, int64_t earliest_end, int64_t latest_start) {
    std::vector<Session> out;
    for (const auto& [k, val] : view()) {
      const auto& [kk, start, end] = k;
      if (kk == key && end >= earliest_end && start <= latest_start) {
        out.push_back({kk, start, end, val});
      }
    }
    std::sort(out.begin(), out.end(), [](const Session& a, const Session& b) {
      return std::tie(a.end, a.start) < std::tie(b.end, b.start);
    });
    return out;
  };
  for (int op = 0; op < 4000; ++op) {
    const uint32_t dice = rng() % 100;
    const std::string& key = keys[rng() % keys.size()];
    const int64_t start =
        std::max<int64_t>(0, stream_time - 500 + static_cast<int64_t>(rng() % 600));
    const int64_t end = start + static_cast<int64_t>(rng() % 150);
    if (dice < 40) {
      const std::string v = std::to_string(op);
      ASSERT_TRUE(store->Put(key, start, end, v, 0).ok());
      if (end >= horizon) pending[{key, start, end}] = v;
    } else if (dice < 55) {
      // Remove an existing session most of the time.
      auto v = view();
      SKey victim{key, start, end};
      if (!v.empty() && rng() % 4 != 0) {
        auto it = v.begin();
        std::advance(it, rng() % v.size());
        victim = it->first;
      }
      ASSERT_TRUE(
          store->Remove(std::get<0>(victim), std::get<1>(victim), std::get<2>(victim), 0).ok());
      pending[victim] = std::nullopt;
    } else if (dice < 70) {
      // All keys' sessions by end range: compared as sets (the store's order
      // is by segment, then key).
      const int64_t earliest_end = start - static_cast<int64_t>(rng() % 100);
      const int64_t latest_end = earliest_end + static_cast<int64_t>(rng() % 300);
      std::vector<Session> got = Drain(*store->FindSessionsByEnd(earliest_end, latest_end));
      std::vector<Session> want;
      for (const auto& [k, val] : view()) {
        const auto& [kk, s_start, s_end] = k;
        if (s_end >= earliest_end && s_end <= latest_end) want.push_back({kk, s_start, s_end, val});
      }
      auto order = [](const Session& a, const Session& b) {
        return std::tie(a.key, a.end, a.start) < std::tie(b.key, b.end, b.start);
      };
      std::sort(got.begin(), got.end(), order);
      std::sort(want.begin(), want.end(), order);
      ASSERT_EQ(got, want);
    } else if (dice < 75) {
      const int64_t earliest_end = start - static_cast<int64_t>(rng() % 100);
      const int64_t latest_start = start + static_cast<int64_t>(rng() % 100);
      ASSERT_EQ(Drain(*store->FindSessions(key, earliest_end, latest_start)),
                model_find(key, earliest_end, latest_start));
    } else if (dice < 80) {
      ASSERT_EQ(Drain(*store->FetchAll(key)), model_find(key, 0, kMax));
    } else if (dice < 87) {
      stream_time += rng() % 40;
      ASSERT_TRUE(store->AdvanceStreamTime(stream_time).ok());
      horizon = std::max(horizon, stream_time - kRetention + 1);
    } else if (dice < 95) {
      ASSERT_TRUE(store->Commit(++offset).ok());
      committed = view();
      pending.clear();
      committed_horizon = horizon;
    } else {
      store->Abort();
      pending.clear();
      horizon = committed_horizon;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionStoreTest,
                         ::testing::Values(StoreBackend::kRocksDb, StoreBackend::kInMemory),
                         [](const auto& param_info) {
                           return testing::BackendName(param_info.param);
                         });

}  // namespace
}  // namespace eventflow::state
