// The eventflow-analytics command line without a database: bad settings exit 2
// naming the setting (before any connection is attempted), an unreachable
// server exits 1 without showing the password.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using testing::RunProcess;

std::string Tool() { return testing::ToolDir() + "/eventflow-analytics"; }

// Nothing listens on port 1: a connection attempt fails at once.
constexpr char kUnreachable[] = "postgresql://analytics:hunter2-s3cret@127.0.0.1:1/analytics";

TEST(AnalyticsCliTest, HelpDocumentsReportsAndTheCurrencyRule) {
  const auto r = RunProcess({Tool(), "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"revenue-by-currency", "conversion", "revenue-by-hour", "segments",
                           "VIP > 1000", "EUR 1.1600", "--since", "--format", "POSTGRES_URL"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text;
  }
}

TEST(AnalyticsCliTest, BadSettingsExit2NamingTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--report", "revenue"}, "--report"},
      {{"--report", ""}, "--report"},
      {{"--format", "xml"}, "--format"},
      {{"--format", "JSON"}, "--format"},
      {{"--top", "0"}, "--top"},
      {{"--top", "-3"}, "--top"},
      {{"--top", "ten"}, "--top"},
      {{"--since", "2025-11-30 11:00:00"}, "--since"},
      {{"--until", "2025-11-30T11:00:00+01:00"}, "--until"},
      {{"--since", "2025-11-30T12:00:00Z", "--until", "2025-11-30T11:00:00Z"}, "--until"},
      {{"--since", "2025-11-30T12:00:00Z", "--until", "2025-11-30T12:00:00Z"}, "--until"},
      {{"--schema", ""}, "--schema"},
      {{"--no-such-flag"}, "no-such-flag"},
      {{"--top"}, "--top"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {Tool(), "--postgres-url", kUnreachable};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = RunProcess(argv);
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << shown << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << shown;
    EXPECT_EQ(r.err.find("hunter2-s3cret"), std::string::npos) << r.err;
  }
}

TEST(AnalyticsCliTest, UnreachableServerExits1WithoutThePassword) {
  const auto by_flag = RunProcess({Tool(), "--postgres-url", kUnreachable});
  EXPECT_EQ(by_flag.exit_code, 1) << by_flag.err;
  EXPECT_NE(by_flag.err.find("127.0.0.1"), std::string::npos) << by_flag.err;
  EXPECT_EQ(by_flag.err.find("hunter2-s3cret"), std::string::npos) << by_flag.err;
  EXPECT_TRUE(by_flag.out.empty());

  const auto by_env =
      RunProcess({Tool()}, {"POSTGRES_URL=postgresql://127.0.0.1:1/analytics",
                            "POSTGRES_USER=analytics", "POSTGRES_PASSWORD=env-pa$$word"});
  EXPECT_EQ(by_env.exit_code, 1) << by_env.err;
  EXPECT_NE(by_env.err.find("127.0.0.1"), std::string::npos) << by_env.err;
  EXPECT_EQ(by_env.err.find("env-pa"), std::string::npos) << by_env.err;
}

}  // namespace
}  // namespace eventflow
