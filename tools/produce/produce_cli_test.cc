// The eventflow-produce command line, without a broker: reproducible dry
// runs, replay validation and clear errors for bad settings.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using testing::RunProcess;

std::string Tool() { return testing::ToolDir() + "/eventflow-produce"; }

size_t CountLines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(ProduceCliTest, DryRunWithSeedPrintsTheSameLinesTwice) {
  const auto a = RunProcess({Tool(), "--dry-run", "--seed", "7", "--count", "1000"});
  const auto b = RunProcess({Tool(), "--dry-run", "--seed", "7", "--count", "1000"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(CountLines(a.out), 1000u);
  EXPECT_EQ(a.out, b.out);
  const auto c = RunProcess({Tool(), "--dry-run", "--seed", "8", "--count", "1000"});
  EXPECT_NE(a.out, c.out);
  // With a seed and no --start-time the clock starts at 2025-11-30T00:00:00Z.
  EXPECT_NE(a.out.find("\"timestamp\":\"2025-11-30T00:00:00Z\""), std::string::npos);
}

TEST(ProduceCliTest, ReplayRejectsABadFileNamingTheLine) {
  const std::string path = "/tmp/" + testing::UniqueName("replay") + ".jsonl";
  {
    std::ofstream out(path);
    out << R"({"eventType":"LOGIN","userId":"u1","country":"DE","device":"mobile","timestamp":"2025-11-30T11:15:32Z"})"
        << "\n\n"
        << R"({"eventType":"ORDER","orderId":"o1","userId":"u1","productId":"p1","price":"12","currency":"EUR","timestamp":"2025-11-30T11:17:00Z"})"
        << "\n";
  }
  const auto r = RunProcess({Tool(), "--from-file", path, "--dry-run"});
  std::remove(path.c_str());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("price"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "a bad file must send nothing";
}

TEST(ProduceCliTest, ReplaySendsEachLineAsWritten) {
  const std::string path = "/tmp/" + testing::UniqueName("replay") + ".jsonl";
  const std::string l1 = R"({"eventType":"VIEW","userId":"u9","productId":"p3","category":"toys","timestamp":"2025-11-30T11:16:10.5Z","extra":[1,2]})";
  const std::string l2 = R"({"eventType":"ORDER","orderId":"o1","userId":"u9","productId":"p3","price":1200,"currency":"JPY","timestamp":"2025-11-30T11:17:00Z"})";
  {
    std::ofstream out(path);
    out << l1 << "\n" << l2 << "\n";
  }
  const auto r = RunProcess({Tool(), "--from-file", path, "--dry-run"});
  std::remove(path.c_str());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, l1 + "\n" + l2 + "\n");
}

TEST(ProduceCliTest, BadSettingsStopWithAMessageNamingThem) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--dry-run", "--count", "5", "--users", "3"}, {}, "--users"},
      {{"--dry-run", "--count", "5", "--max-disorder", "ten"}, {}, "--max-disorder"},
      {{"--dry-run", "--count", "5", "--start-time", "2025-11-30 11:00:00"}, {}, "--start-time"},
      {{"--dry-run", "--count", "5", "--rate", "0"}, {}, "--rate"},
      {{"--dry-run", "--count", "5", "--topic-retention-ms", "0"}, {}, "--topic-retention-ms"},
      {{"--count", "5"}, {"EVENT_DELAY_MS=fast"}, "EVENT_DELAY_MS"},
      {{"--dry-run", "--count", "5", "--kafka.linger.ms"}, {}, "kafka.linger.ms"},
      {{"--dry-run", "--count", "5", "--no-such-flag=1"}, {}, "--no-such-flag"},
      {{"--count", "5", "--kafka.no.such.property=1", "--bootstrap-servers", "127.0.0.1:1"},
       {},
       "kafka.no.such.property"},
      {{"--dry-run"}, {}, "--count"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {Tool()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = RunProcess(argv, c.env);
    EXPECT_EQ(r.exit_code, 2) << c.expected << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
}

TEST(ProduceCliTest, SecretsAreNeverPrinted) {
  // A mistyped pass-through (no "kafka." prefix): named, its value not shown.
  const auto mistyped =
      RunProcess({Tool(), "--dry-run", "--count", "1", "--sasl.password=hunter2"});
  EXPECT_EQ(mistyped.exit_code, 2);
  EXPECT_NE(mistyped.err.find("unknown option \"--sasl.password\""), std::string::npos)
      << mistyped.err;
  EXPECT_EQ(mistyped.err.find("hunter2"), std::string::npos) << mistyped.err;
  EXPECT_EQ(mistyped.out, "");
  // A secret given properly, and a later bad setting.
  const auto later = RunProcess({Tool(), "--kafka.sasl.password=hunter2", "--kafka",
                                 "ssl.key.password=k3y", "--count", "-5"});
  EXPECT_EQ(later.exit_code, 2);
  EXPECT_NE(later.err.find("--count"), std::string::npos) << later.err;
  EXPECT_EQ(later.err.find("hunter2"), std::string::npos) << later.err;
  EXPECT_EQ(later.err.find("k3y"), std::string::npos) << later.err;
}

}  // namespace
}  // namespace eventflow
