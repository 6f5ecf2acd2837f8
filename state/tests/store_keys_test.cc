// Window and session key encoding: round trips, the byte order the stores rely
// on (one key's entries contiguous and time-ordered even when keys are prefixes
// of each other or contain 0x00/0xff), and rejection of malformed keys.
#include "eventflow/state/store_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace eventflow::state {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Keys chosen to break naive layouts: prefixes of each other, NUL and 0xff
// bytes, and a key whose tail looks like an encoded time.
std::vector<std::string> AdversarialKeys() {
  return {"",
          "a",
          Bytes({'a', 0}),
          Bytes({'a', 0, 0, 0, 0, 0, 0, 0, 1}),
          Bytes({'a', 0xff}),
          Bytes({'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
          "ab",
          "b",
          Bytes({0}),
          Bytes({0xff}),
          Bytes({0xff, 0xff, 0xff, 0xff}),
          std::string(300, 'x')};
}

std::vector<int64_t> EdgeTimes() { return {0, 1, 255, 256, 1'700'000'000'000, kMax - 1, kMax}; }

TEST(WindowKeyTest, RoundTripsWithAndWithoutSequence) {
  std::string encoded;
  for (const std::string& key : AdversarialKeys()) {
    for (int64_t t : EdgeTimes()) {
      EncodeWindowKey(key, t, &encoded);
      ASSERT_EQ(encoded.size(), WindowKeySize(key.size(), false));
      WindowKeyView view;
      ASSERT_TRUE(DecodeWindowKey(encoded, false, &view).ok());
      EXPECT_EQ(view.key, key);
      EXPECT_EQ(view.window_start, t);
      EXPECT_EQ(view.sequence, 0u);

      for (uint32_t seq : {0u, 1u, 0xffffffffu}) {
        EncodeWindowKey(key, t, seq, &encoded);
        ASSERT_EQ(encoded.size(), WindowKeySize(key.size(), true));
        ASSERT_TRUE(DecodeWindowKey(encoded, true, &view).ok());
        EXPECT_EQ(view.key, key);
        EXPECT_EQ(view.window_start, t);
        EXPECT_EQ(view.sequence, seq);
      }
    }
  }
}

TEST(WindowKeyTest, LayoutIsLengthKeyBigEndianStart) {
  std::string encoded;
  EncodeWindowKey("ab", 0x0102030405060708, &encoded);
  EXPECT_EQ(encoded, Bytes({0, 0, 0, 2, 'a', 'b', 1, 2, 3, 4, 5, 6, 7, 8}));
  EncodeWindowKey("", 0, 7, &encoded);
  EXPECT_EQ(encoded, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}));
}

// Sorting every encoded (key, time) must put each key's entries in one
// contiguous, time-ordered run, bounded by [prefix, successor(prefix)).
TEST(WindowKeyTest, EachKeysWindowsAreContiguousAndTimeOrdered) {
  std::vector<std::tuple<std::string, std::string, int64_t>> all;  // encoded, key, time
  std::string encoded;
  for (const std::string& key : AdversarialKeys()) {
    for (int64_t t : EdgeTimes()) {
      EncodeWindowKey(key, t, &encoded);
      all.emplace_back(encoded, key, t);
    }
  }
  std::sort(all.begin(), all.end());
  for (const std::string& key : AdversarialKeys()) {
    std::vector<size_t> positions;
    std::vector<int64_t> times;
    for (size_t i = 0; i < all.size(); ++i) {
      if (std::get<1>(all[i]) == key) {
        positions.push_back(i);
        times.push_back(std::get<2>(all[i]));
      }
    }
    ASSERT_EQ(positions.size(), EdgeTimes().size());
    EXPECT_EQ(positions.back() - positions.front() + 1, positions.size())
        << "entries of key of size " << key.size() << " are interleaved with another key";
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
    // Every entry of this key starts with its prefix; no other key's does.
    std::string prefix;
    EncodeKeyPrefix(key, &prefix);
    for (const auto& [enc, k, t] : all) {
      EXPECT_EQ(enc.starts_with(prefix), k == key);
    }
  }
}

TEST(WindowKeyTest, RejectsMalformedKeys) {
  WindowKeyView view;
  EXPECT_EQ(DecodeWindowKey("", false, &view).code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeWindowKey(Bytes({0, 0, 0, 1, 'a', 0, 0, 0}), false, &view).code(),
            StatusCode::kCorruption);  // too short for the time
  std::string encoded;
  EncodeWindowKey("abc", 5, &encoded);
  EXPECT_EQ(DecodeWindowKey(encoded + "x", false, &view).code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeWindowKey(encoded, true, &view).code(), StatusCode::kCorruption);
  encoded[3] = 2;  // length prefix disagrees with the size
  EXPECT_EQ(DecodeWindowKey(encoded, false, &view).code(), StatusCode::kCorruption);
  EncodeWindowKey("k", -1, &encoded);  // negative start
  EXPECT_EQ(DecodeWindowKey(encoded, false, &view).code(), StatusCode::kCorruption);
}

TEST(SessionKeyTest, RoundTripsAndOrdersByEndThenStart) {
  std::string encoded;
  std::vector<std::tuple<std::string, int64_t, int64_t>> sorted_by_encoding;
  for (const std::string& key : AdversarialKeys()) {
    for (int64_t start : EdgeTimes()) {
      for (int64_t end : EdgeTimes()) {
        if (end < start) continue;
        EncodeSessionKey(key, start, end, &encoded);
        ASSERT_EQ(encoded.size(), SessionKeySize(key.size()));
        SessionKeyView view;
        ASSERT_TRUE(DecodeSessionKey(encoded, &view).ok());
        EXPECT_EQ(view.key, key);
        EXPECT_EQ(view.start, start);
        EXPECT_EQ(view.end, end);
        sorted_by_encoding.emplace_back(encoded, start, end);
      }
    }
  }
  std::sort(sorted_by_encoding.begin(), sorted_by_encoding.end());
  // Within one key (same prefix), order is (end, start).
  std::string prefix;
  EncodeKeyPrefix("a", &prefix);
  std::vector<std::pair<int64_t, int64_t>> order;
  for (const auto& [enc, start, end] : sorted_by_encoding) {
    if (enc.size() == SessionKeySize(1) && enc.starts_with(prefix)) order.emplace_back(end, start);
  }
  EXPECT_FALSE(order.empty());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(SessionKeyTest, RejectsMalformedKeys) {
  SessionKeyView view;
  std::string encoded;
  EncodeSessionKey("k", 5, 4, &encoded);  // start > end
  EXPECT_EQ(DecodeSessionKey(encoded, &view).code(), StatusCode::kCorruption);
  EncodeSessionKey("k", 4, 5, &encoded);
  EXPECT_TRUE(DecodeSessionKey(encoded, &view).ok());
  EXPECT_EQ(DecodeSessionKey(encoded.substr(1), &view).code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeSessionKey("", &view).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace eventflow::state
