// eventflow-state's commands, run in process over stores the test writes with
// eventflow::state: the JSON lines they print are parsed and compared with
// what was written (keys and values decoded by the serdes each store
// records), and every error names what is wrong and exits 2 (bad input) or 1
// (a failure while reading).
#include "state_tool.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "eventflow/cli/exit_code.h"
#include "test_stores.h"

namespace eventflow::tools {
namespace {

namespace fs = std::filesystem;
using inspector::testing::Int64Bytes;
using inspector::testing::StoreOptionsFor;
using inspector::testing::TempDir;
using inspector::testing::Unwrap;

struct ToolRun {
  int exit = -1;
  std::string out;
  std::string err;
};

ToolRun RunTool(std::vector<std::string> args) {
  std::ostringstream out, err;
  ToolRun run;
  run.exit = RunStateTool(args, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

// One parsed JSON line; fields read with the accessors.
class Line {
 public:
  explicit Line(const std::string& text) : text_(text) {
    auto error = parser_.parse(text_).get(element_);
    EXPECT_EQ(error, simdjson::SUCCESS) << text;
  }
  std::string Str(const char* field) const {
    std::string_view v;
    EXPECT_EQ(element_[field].get(v), simdjson::SUCCESS) << field << " in " << text_;
    return std::string(v);
  }
  int64_t Int(const char* field) const {
    int64_t v = 0;
    EXPECT_EQ(element_[field].get(v), simdjson::SUCCESS) << field << " in " << text_;
    return v;
  }
  bool IsNull(const char* field) const { return element_[field].is_null(); }
  bool Has(const char* field) const { return element_[field].error() == simdjson::SUCCESS; }
  //! The field's JSON text, minified.
  std::string Json(const char* field) const { return simdjson::to_string(element_[field]); }
  bool Bool(const char* field) const {
    bool v = false;
    EXPECT_EQ(element_[field].get(v), simdjson::SUCCESS) << field << " in " << text_;
    return v;
  }
  std::vector<std::string> Strings(const char* field) const {
    std::vector<std::string> out;
    simdjson::dom::array array;
    EXPECT_EQ(element_[field].get(array), simdjson::SUCCESS);
    for (auto item : array) out.emplace_back(std::string_view(item));
    return out;
  }

 private:
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element element_;
};

std::vector<std::unique_ptr<Line>> Lines(const std::string& out) {
  std::vector<std::unique_ptr<Line>> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(std::make_unique<Line>(line));
  return lines;
}

// A state directory with one store of each kind, written with known content.
class StateToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto before = Now();
    {
      auto kv = Unwrap(state::OpenKeyValueStore(
          StoreOptionsFor(dir_.path(), "totals", "0_0", "string", "int64")));
      for (int i = 0; i < 30; ++i) {
        totals_["user-" + std::to_string(100 + i)] = i * 7 - 50;
        ASSERT_TRUE(kv->Put("user-" + std::to_string(100 + i), Int64Bytes(i * 7 - 50), 0).ok());
      }
      ASSERT_TRUE(kv->Commit(31).ok());
    }
    {
      auto json = Unwrap(state::OpenKeyValueStore(
          StoreOptionsFor(dir_.path(), "orders", "0_1", "string", "order-json")));
      ASSERT_TRUE(json->Put("o1", R"({"price": 59.99, "currency": "EUR"})", 0).ok());
      ASSERT_TRUE(json->Put("o2", "not json at all", 0).ok());
      ASSERT_TRUE(json->Commit(2).ok());
    }
    {
      state::WindowStoreOptions window_options;
      window_options.retention = std::chrono::hours(1);
      auto windows = Unwrap(state::OpenWindowStore(
          StoreOptionsFor(dir_.path(), "counts", "1_0", "string", "int64", 300000),
          window_options));
      // 2025-11-30T11:15:00Z and the next two 5-minute windows.
      for (int64_t w = 0; w < 3; ++w) {
        for (const std::string key : {"EUR", "USD"}) {
          const int64_t start = kBase + w * 300000;
          const int64_t count = w * 10 + static_cast<int64_t>(key.size()) + (key == "EUR");
          counts_[{key, start}] = count;
          ASSERT_TRUE(windows->Put(key, start, Int64Bytes(count), start).ok());
        }
      }
      ASSERT_TRUE(windows->Commit(77).ok());
    }
    {
      auto raw = Unwrap(state::OpenKeyValueStore(
          StoreOptionsFor(dir_.path(), "raw", "1_1", "mystery-serde", "")));
      ASSERT_TRUE(raw->Put(std::string("a\0\\b\xff", 5), "v\x01", 0).ok());
      ASSERT_TRUE(raw->Commit(1).ok());
    }
    after_ = Now();
    before_ = before;
  }

  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::string Store(const std::string& task, const std::string& name) const {
    return (dir_.path() / "app" / task / name).string();
  }

  static constexpr int64_t kBase = 1764501300000;  // 2025-11-30T11:15:00Z
  TempDir dir_;
  std::map<std::string, int64_t> totals_;
  std::map<std::pair<std::string, int64_t>, int64_t> counts_;
  int64_t before_ = 0;
  int64_t after_ = 0;
};

TEST_F(StateToolTest, ListShowsEveryStoreWithItsKindOffsetSerdesAndCommitTime) {
  ToolRun run = RunTool({"list", dir_.path().string(), "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  auto lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 4u) << run.out;
  // Ordered by task: 0_0 totals, 0_1 orders, 1_0 counts, 1_1 raw.
  const Line& totals = *lines[0];
  EXPECT_EQ(totals.Str("application"), "app");
  EXPECT_EQ(totals.Str("task"), "0_0");
  EXPECT_EQ(totals.Str("store"), "totals");
  EXPECT_EQ(totals.Str("kind"), "key-value");
  EXPECT_EQ(totals.Int("changelog_offset"), 31);
  EXPECT_EQ(totals.Str("offset_status"), "ok");
  EXPECT_EQ(totals.Str("changelog_topic"), "app-totals-changelog");
  EXPECT_EQ(totals.Int("changelog_partition"), 0);
  EXPECT_EQ(totals.Str("key_serde"), "string");
  EXPECT_EQ(totals.Str("value_serde"), "int64");
  EXPECT_GT(totals.Int("size_bytes"), 0);
  EXPECT_GE(totals.Int("committed_at_ms"), before_);
  EXPECT_LE(totals.Int("committed_at_ms"), after_);
  const Line& counts = *lines[2];
  EXPECT_EQ(counts.Str("store"), "counts");
  EXPECT_EQ(counts.Str("kind"), "window");
  EXPECT_EQ(counts.Int("window_size_ms"), 300000);
  EXPECT_EQ(counts.Int("changelog_offset"), 77);
  EXPECT_EQ(counts.Int("changelog_partition"), 0);
  EXPECT_EQ(lines[3]->Str("value_serde"), "bytes");  // none recorded

  run = RunTool({"list", dir_.path().string()});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_NE(run.out.find("APPLICATION"), std::string::npos);
  EXPECT_NE(run.out.find("string/int64"), std::string::npos);
  EXPECT_NE(run.out.find("window 300000ms"), std::string::npos);
}

TEST_F(StateToolTest, OffsetsListsEveryChangelogPartitionAndItsStoredOffset) {
  ToolRun run = RunTool({"offsets", dir_.path().string(), "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  std::map<std::string, std::pair<int64_t, int64_t>> got;
  for (const auto& line : Lines(run.out)) {
    got[line->Str("changelog_topic")] = {line->Int("changelog_partition"),
                                         line->Int("changelog_offset")};
  }
  const std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      {"app-totals-changelog", {0, 31}},
      {"app-orders-changelog", {1, 2}},
      {"app-counts-changelog", {0, 77}},
      {"app-raw-changelog", {1, 1}}};
  EXPECT_EQ(got, expected);
}

TEST_F(StateToolTest, GetDecodesKeysAndValuesWithTheStoresSerdes) {
  for (const auto& [key, total] : totals_) {
    ToolRun run = RunTool({"get", Store("0_0", "totals"), key, "--output", "jsonl"});
    ASSERT_EQ(run.exit, 0) << run.err;
    auto lines = Lines(run.out);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]->Str("key"), key);
    EXPECT_EQ(lines[0]->Int("value"), total);
  }
  // JSON values are JSON; bytes that are not are shown raw with the reason.
  ToolRun run = RunTool({"get", Store("0_1", "orders"), "o1", "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_EQ(Lines(run.out)[0]->Json("value"), R"({"price":59.99,"currency":"EUR"})");
  run = RunTool({"get", Store("0_1", "orders"), "o2", "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  auto bad = Lines(run.out);
  EXPECT_TRUE(bad[0]->IsNull("value"));
  EXPECT_EQ(bad[0]->Str("value_raw"), "not json at all");
  EXPECT_NE(bad[0]->Str("value_error").find("not JSON"), std::string::npos);
  // Unknown serdes: escaped bytes, and the escaped form is what get takes.
  run = RunTool({"scan", Store("1_1", "raw"), "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  auto raw = Lines(run.out);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0]->Str("key"), "a\\x00\\\\b\\xff");
  EXPECT_EQ(raw[0]->Str("value"), "v\\x01");
  run = RunTool({"get", Store("1_1", "raw"), "a\\x00\\\\b\\xff", "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_EQ(Lines(run.out)[0]->Str("value"), "v\\x01");
  run = RunTool({"get", Store("1_1", "raw"), "--key-hex", "61005c62ff", "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  // Table output: the decoded text.
  run = RunTool({"get", Store("0_0", "totals"), "user-100"});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_EQ(run.out, "KEY       VALUE\nuser-100  -50\n");
}

TEST_F(StateToolTest, ScanAndExportReturnWhatWasWritten) {
  ToolRun run = RunTool({"export", Store("0_0", "totals")});
  ASSERT_EQ(run.exit, 0) << run.err;
  std::map<std::string, int64_t> exported;
  for (const auto& line : Lines(run.out)) exported[line->Str("key")] = line->Int("value");
  EXPECT_EQ(exported, totals_);

  // --from/--to inclusive, --limit.
  run = RunTool({"scan", Store("0_0", "totals"), "--from", "user-110", "--to", "user-115",
                 "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  std::map<std::string, int64_t> range;
  for (const auto& line : Lines(run.out)) range[line->Str("key")] = line->Int("value");
  const std::map<std::string, int64_t> expected(totals_.lower_bound("user-110"),
                                                totals_.upper_bound("user-115"));
  EXPECT_EQ(range, expected);
  run = RunTool({"scan", Store("0_0", "totals"), "--limit", "3", "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_EQ(Lines(run.out).size(), 3u);

  // A window store exports windows with their bounds.
  run = RunTool({"export", Store("1_0", "counts")});
  ASSERT_EQ(run.exit, 0) << run.err;
  std::map<std::pair<std::string, int64_t>, int64_t> windows;
  for (const auto& line : Lines(run.out)) {
    EXPECT_EQ(line->Int("end"), line->Int("start") + 300000);
    windows[{line->Str("key"), line->Int("start")}] = line->Int("value");
  }
  EXPECT_EQ(windows, counts_);
}

TEST_F(StateToolTest, WindowsFetchesAKeysWindowsInATimeRange) {
  ToolRun run = RunTool({"windows", Store("1_0", "counts"), "EUR", "--from", "2025-11-30T11:20:00Z",
                         "--to", std::to_string(kBase + 600000), "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.err;
  std::vector<std::pair<int64_t, int64_t>> got, expected;
  for (const auto& line : Lines(run.out)) {
    EXPECT_EQ(line->Str("key"), "EUR");
    got.push_back({line->Int("start"), line->Int("value")});
  }
  for (const auto& [window, count] : counts_) {
    if (window.first == "EUR" && window.second >= kBase + 300000) {
      expected.push_back({window.second, count});
    }
  }
  EXPECT_EQ(got, expected);
  run = RunTool({"windows", Store("1_0", "counts"), "USD"});
  ASSERT_EQ(run.exit, 0) << run.err;
  EXPECT_NE(run.out.find("[2025-11-30T11:15:00Z, 2025-11-30T11:20:00Z)"), std::string::npos)
      << run.out;
}

TEST_F(StateToolTest, VerifyPassesHealthyStoresAndFailsOnAMissingOffset) {
  ToolRun run = RunTool({"verify", dir_.path().string(), "--output", "jsonl"});
  ASSERT_EQ(run.exit, 0) << run.out << run.err;
  auto lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) {
    EXPECT_TRUE(line->Bool("ok")) << line->Str("store");
    EXPECT_TRUE(line->Strings("errors").empty());
  }
  EXPECT_EQ(lines[0]->Int("entries_checked"), 30);
  EXPECT_EQ(lines[2]->Int("entries_checked"), 6);
  // A store that never committed has no offset: verify fails, naming it.
  {
    Unwrap(
        state::OpenKeyValueStore(StoreOptionsFor(dir_.path(), "fresh", "2_0", "string", "string")));
  }
  run = RunTool({"verify", dir_.path().string()});
  EXPECT_EQ(run.exit, cli::kExitFailure);
  EXPECT_NE(run.out.find("app/2_0/fresh: error: store 'fresh' has no committed changelog offset"),
            std::string::npos)
      << run.out;
}

TEST_F(StateToolTest, BadInputIsNamedAndExitsTwo) {
  TempDir empty;
  ToolRun run = RunTool({"list", empty.path().string()});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find(empty.path().string() + " is not a state directory"), std::string::npos)
      << run.err;
  run = RunTool({"get", dir_.path().string(), "k"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("is not a store directory"), std::string::npos) << run.err;
  run = RunTool({"windows", Store("0_0", "totals"), "k"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("is a key-value store"), std::string::npos) << run.err;
  run = RunTool({"get", Store("1_0", "counts"), "k"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("is a window store"), std::string::npos) << run.err;
  run = RunTool({"get", Store("1_1", "raw"), "bad\\escape"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("bad escape"), std::string::npos) << run.err;
  run = RunTool({"windows", Store("1_0", "counts"), "EUR", "--from", "yesterday"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("--from: \"yesterday\""), std::string::npos) << run.err;
  run = RunTool({"scan", Store("0_0", "totals"), "--limit", "x"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("--limit"), std::string::npos) << run.err;
  run = RunTool({"export", Store("0_0", "totals"), "--output", "table"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  run = RunTool({"frobnicate", "x"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("unknown command \"frobnicate\""), std::string::npos);
  run = RunTool({"list"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  run = RunTool({"list", dir_.path().string(), "--no-such-option"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  run = RunTool({"list", dir_.path().string(), "--output", "xml"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(run.err.find("--output"), std::string::npos);
  run = RunTool({"--help"});
  EXPECT_EQ(run.exit, cli::kExitOk);
  EXPECT_NE(run.out.find("Usage: eventflow-state"), std::string::npos);
}

TEST_F(StateToolTest, AKeyThatDoesNotFitTheKeySerdeIsNamed) {
  auto ids = Unwrap(
      state::OpenKeyValueStore(StoreOptionsFor(dir_.path(), "by-id", "3_0", "int64", "string")));
  ASSERT_TRUE(ids->Put(Int64Bytes(-42), "minus forty-two", 0).ok());
  ASSERT_TRUE(ids->Commit(1).ok());
  ids.reset();
  // "--" ends the options: a key may start with '-'.
  ToolRun run = RunTool({"get", Store("3_0", "by-id"), "--output", "jsonl", "--", "-42"});
  ASSERT_EQ(run.exit, 0) << run.err;
  auto lines = Lines(run.out);
  EXPECT_EQ(lines[0]->Int("key"), -42);
  EXPECT_EQ(lines[0]->Str("value"), "minus forty-two");
  run = RunTool({"get", Store("3_0", "by-id"), "forty"});
  EXPECT_EQ(run.exit, cli::kExitUsage);
  EXPECT_NE(
      run.err.find("key \"forty\" is not a 64-bit integer (the store's keys use serde int64)"),
      std::string::npos)
      << run.err;
  run = RunTool({"get", Store("3_0", "by-id"), "7"});
  EXPECT_EQ(run.exit, cli::kExitFailure);
  EXPECT_NE(run.err.find("key 7 not found"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace eventflow::tools
