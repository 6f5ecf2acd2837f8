// The tools' shared command-line library: parsing and pass-through, secrets
// scrubbed from every message, checked values, sizes, choices, log levels.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "eventflow/cli/command_line.h"
#include "eventflow/cli/tool.h"
#include "eventflow/cli/values.h"
#include "eventflow/core/log.h"

namespace eventflow::cli {
namespace {

po::options_description Desc() {
  po::options_description desc("test");
  // clang-format off
  desc.add_options()
      ("help,h", "help")
      ("threads", po::value<int>()->default_value(1), "threads")
      ("bootstrap-servers", po::value<std::string>(), "servers")
      ("log-level", po::value<std::string>()->default_value("info"), "level");
  // clang-format on
  return desc;
}

TEST(CommandLineTest, ParsesDeclaredOptionsAndKafkaPassThroughInAllThreeForms) {
  auto line = ParseCommandLine({"--threads", "3", "--kafka.security.protocol=SASL_SSL",
                                "--kafka=sasl.mechanisms=PLAIN", "--kafka", "linger.ms=5",
                                "--kafka.sasl.password=a=b"},
                               Desc(), {.kafka_passthrough = true});
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_EQ(line->values["threads"].as<int>(), 3);
  EXPECT_FALSE(line->help());
  ASSERT_EQ(line->kafka.entries().size(), 4u);
  EXPECT_EQ(*line->kafka.Find("security.protocol"), "SASL_SSL");
  EXPECT_EQ(*line->kafka.Find("sasl.mechanisms"), "PLAIN");
  EXPECT_EQ(*line->kafka.Find("linger.ms"), "5");
  EXPECT_EQ(*line->kafka.Find("sasl.password"), "a=b");
  EXPECT_TRUE(ParseCommandLine({"-h"}, Desc())->help());
}

TEST(CommandLineTest, UnknownOptionsAreNamedWithoutTheirValues) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--sasl.password=hunter2"},
                                             {"--kafak.sasl.password=hunter2"},
                                             {"--kafka.sasl.password=hunter2", "--x=hunter2"}}) {
    // Without pass-through, even a well-formed --kafka.* is unknown.
    auto line = ParseCommandLine(args, Desc());
    ASSERT_FALSE(line.ok());
    EXPECT_TRUE(line.status().IsInvalidArgument());
    const std::string& msg = line.status().message();
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    const std::string name = args[0].substr(0, args[0].find('='));
    EXPECT_NE(msg.find("unknown option \"" + name + "\""), std::string::npos) << msg;
  }
  auto positional = ParseCommandLine({"stray"}, Desc());
  ASSERT_FALSE(positional.ok());
  EXPECT_NE(positional.status().message().find("unexpected argument \"stray\""), std::string::npos);
}

TEST(CommandLineTest, MalformedPassThroughAndValuesNameTheSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--kafka.linger.ms"}, "--kafka.linger.ms: librdkafka pass-through setting"},
      {{"--kafka.=1"}, "--kafka.: librdkafka pass-through setting has an empty property name"},
      {{"--kafka"}, "--kafka: expected <librdkafka property>=<value>"},
      {{"--kafka", "--threads", "2"}, "--kafka: expected"},
      {{"--threads", "many"}, "'--threads' is invalid"},
      {{"--threads"}, "--threads"},
  };
  for (const Case& c : cases) {
    auto line = ParseCommandLine(c.args, Desc(), {.kafka_passthrough = true});
    ASSERT_FALSE(line.ok()) << c.expected;
    EXPECT_TRUE(line.status().IsInvalidArgument());
    EXPECT_NE(line.status().message().find(c.expected), std::string::npos)
        << c.expected << " / " << line.status().message();
  }
}

// A file in a fresh temporary directory holding `content`; returns its path.
std::string WriteTempFile(const std::string& name, const std::string& content) {
  char dir_template[] = "/tmp/eventflow-cli-test-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(CommandLineTest, KafkaFileSetsThePropertyToTheFilesContent) {
  const std::string password = WriteTempFile("password", "s3cr=t pass\n");
  const std::string user = WriteTempFile("username", "alice\r\n");
  const std::string jaas = WriteTempFile("config", "line one\nline two");
  auto line = ParseCommandLine({"--kafka-file", "sasl.password=" + password,
                                "--kafka-file=sasl.username=" + user,
                                "--kafka.sasl.mechanisms=PLAIN", "--kafka-file",
                                "sasl.oauthbearer.config=" + jaas},
                               Desc(), {.kafka_passthrough = true});
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  ASSERT_EQ(line->kafka.entries().size(), 4u);
  EXPECT_EQ(*line->kafka.Find("sasl.password"), "s3cr=t pass");  // one trailing break dropped
  EXPECT_EQ(*line->kafka.Find("sasl.username"), "alice");
  EXPECT_EQ(*line->kafka.Find("sasl.oauthbearer.config"), "line one\nline two");
  EXPECT_EQ(*line->kafka.Find("sasl.mechanisms"), "PLAIN");

  // Without pass-through, --kafka-file is an unknown option like --kafka.*.
  EXPECT_FALSE(ParseCommandLine({"--kafka-file=sasl.password=" + password}, Desc()).ok());

  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::string empty = WriteTempFile("empty", "\n");
  const std::vector<Case> cases = {
      {{"--kafka-file"}, "--kafka-file: expected <librdkafka property>=<path>"},
      {{"--kafka-file", "--threads", "2"}, "--kafka-file: expected"},
      {{"--kafka-file=sasl.password"}, "--kafka-file: expected <librdkafka property>=<path>"},
      {{"--kafka-file==/x"}, "--kafka-file: expected"},
      {{"--kafka-file=sasl.password=/nonexistent/pw"},
       "--kafka-file sasl.password: \"/nonexistent/pw\": No such file"},
      {{"--kafka-file", "sasl.password=" + empty}, "is empty"},
  };
  for (const Case& c : cases) {
    auto bad = ParseCommandLine(c.args, Desc(), {.kafka_passthrough = true});
    ASSERT_FALSE(bad.ok()) << c.expected;
    EXPECT_TRUE(bad.status().IsInvalidArgument());
    EXPECT_NE(bad.status().message().find(c.expected), std::string::npos)
        << c.expected << " / " << bad.status().message();
  }
}

TEST(ToolTest, SecretsReadFromFilesAreScrubbedToo) {
  const std::string password = WriteTempFile("password", "fr0m-a-file\n");
  Tool tool("eventflow-test");
  int exit_code = -1;
  auto line = tool.Start({"--kafka-file", "sasl.password=" + password, "--kafka.linger.ms=5"},
                         Desc(), {.kafka_passthrough = true}, &exit_code);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(tool.Redact("auth failed for fr0m-a-file, linger 5"),
            "auth failed for [redacted], linger 5");
}

TEST(ToolTest, SecretsFromTheCommandLineAndElsewhereAreScrubbedFromEveryMessage) {
  Tool tool("eventflow-test");
  tool.AddSecretsFromArgs({"--sasl.password=hunter2",            // mistyped, no kafka. prefix
                           "--kafka.ssl.key.password=k3y-pass",  // a pass-through secret
                           "--kafka", "sasl.oauthbearer.client.secret=oauth-s3cret",
                           "--kafka=sasl.username=alice-user",
                           "--kafka.linger.ms=5",  // not a secret
                           "--threads=7"});
  tool.AddSecret("env-pa$$word");
  tool.AddSecret(static_cast<const char*>(nullptr));
  tool.AddSecret("");
  const std::string text =
      "failed: hunter2 / k3y-pass / oauth-s3cret / alice-user / env-pa$$word / linger 5 / 7";
  const std::string redacted = tool.Redact(text);
  for (const char* secret : {"hunter2", "k3y-pass", "oauth-s3cret", "alice-user", "env-pa$$word"}) {
    EXPECT_EQ(redacted.find(secret), std::string::npos) << secret << ": " << redacted;
  }
  EXPECT_EQ(redacted, "failed: [redacted] / [redacted] / [redacted] / [redacted] / [redacted] / "
                      "linger 5 / 7");
  // A secret that contains another is replaced whole.
  Tool nested("t");
  nested.AddSecret("pass");
  nested.AddSecret("password123");
  EXPECT_EQ(nested.Redact("password123 pass"), "[redacted] [redacted]");

  testing::internal::CaptureStderr();
  EXPECT_EQ(tool.Fail(Status::InvalidArgument("bad: hunter2")), kExitUsage);
  EXPECT_EQ(tool.Fail(Status::IOError("io: k3y-pass")), kExitFailure);
  EXPECT_EQ(tool.FailRunning(Status::InvalidArgument("late: oauth-s3cret")), kExitFailure);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err,
            "eventflow-test: bad: [redacted]\n"
            "eventflow-test: io: [redacted]\n"
            "eventflow-test: late: [redacted]\n");
}

TEST(ToolTest, StartParsesOrPrintsHelpOrTheErrorWithTheExitCode) {
  Tool tool("eventflow-test");
  int exit_code = -1;
  auto line = tool.Start({"--threads", "2", "--kafka.linger.ms=1"}, Desc(),
                         {.kafka_passthrough = true}, &exit_code);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->values["threads"].as<int>(), 2);
  EXPECT_EQ(*line->kafka.Find("linger.ms"), "1");

  testing::internal::CaptureStdout();
  EXPECT_FALSE(tool.Start({"--help"}, Desc(), {}, &exit_code).has_value());
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_EQ(exit_code, kExitOk);
  EXPECT_NE(help.find("--bootstrap-servers"), std::string::npos) << help;

  testing::internal::CaptureStderr();
  EXPECT_FALSE(tool.Start({"--kafka.sasl.password=hunter2", "--threads", "x=hunter2"}, Desc(),
                          {.kafka_passthrough = true}, &exit_code)
                   .has_value());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(exit_code, kExitUsage);
  EXPECT_NE(err.find("eventflow-test: "), std::string::npos) << err;
  EXPECT_NE(err.find("--threads"), std::string::npos) << err;
  // Boost quotes the bad value; the secret learnt from the arguments is scrubbed.
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;

  testing::internal::CaptureStderr();
  EXPECT_FALSE(tool.Start({"--log-level", "loud"}, Desc(), {}, &exit_code).has_value());
  EXPECT_NE(testing::internal::GetCapturedStderr().find("--log-level: unknown level \"loud\""),
            std::string::npos);
  EXPECT_EQ(exit_code, kExitUsage);
}

TEST(ValuesTest, ChecksNameTheSettingAndTheValue) {
  EXPECT_TRUE(CheckAtLeast("--threads", 1, 1).ok());
  EXPECT_EQ(CheckAtLeast("--threads", 0, 1).message(), "--threads: must be at least 1, got 0");
  EXPECT_TRUE(CheckPositive("--x", 1).ok());
  EXPECT_EQ(CheckPositive("--x", 0).message(), "--x: must be positive, got 0");
  EXPECT_EQ(CheckPositive("--x", -5).message(), "--x: must be positive, got -5");
  EXPECT_TRUE(CheckNotNegative("--x", 0).ok());
  EXPECT_EQ(CheckNotNegative("--x", -1).message(), "--x: must not be negative, got -1");
  EXPECT_TRUE(CheckInRange("--port", 65535, 0, 65535).ok());
  EXPECT_EQ(CheckInRange("--port", 70000, 0, 65535).message(),
            "--port: must be in 0..65535, got 70000");
  EXPECT_EQ(CheckNotEmpty("--group", "").message(), "--group: must not be empty");
  EXPECT_TRUE(CheckReplicationFactor("--replication-factor", -1).ok());
  EXPECT_TRUE(CheckReplicationFactor("--replication-factor", 3).ok());
  EXPECT_EQ(CheckReplicationFactor("--replication-factor", 0).message(),
            "--replication-factor: must be -1 (the broker's default) or positive, got 0");
  EXPECT_FALSE(CheckReplicationFactor("--replication-factor", -2).ok());
  for (const Status& s : {CheckAtLeast("a", 0, 1), CheckPositive("a", 0), CheckNotNegative("a", -1),
                          CheckInRange("a", 2, 0, 1), CheckNotEmpty("a", ""),
                          CheckReplicationFactor("a", 0)}) {
    EXPECT_TRUE(s.IsInvalidArgument());
  }
}

TEST(ValuesTest, UnsignedNumbersRefuseSignsAndJunk) {
  EXPECT_EQ(*ParseUnsigned("--count", "0"), 0u);
  EXPECT_EQ(*ParseUnsigned("--seed", "18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"-5", "+5", "", "5x", " 5", "18446744073709551616", "1e3"}) {
    auto v = ParseUnsigned("--count", bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().message(),
              std::string("--count: expected a non-negative integer, got \"") + bad + "\"");
  }
}

TEST(ValuesTest, ByteSizesWithUnits) {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  for (const Case& c : std::vector<Case>{{"1", 1},
                                         {"536870912", 536870912},
                                         {"512MiB", 512ull << 20},
                                         {"512mb", 512ull << 20},
                                         {"64k", 64ull << 10},
                                         {"1.5GiB", 3ull << 29},
                                         {"2G", 2ull << 30},
                                         {"10B", 10}}) {
    auto v = ParseByteSize("--mem", c.text);
    ASSERT_TRUE(v.ok()) << c.text << ": " << v.status().ToString();
    EXPECT_EQ(*v, c.bytes) << c.text;
  }
  EXPECT_EQ(ParseByteSize("--mem", "-1").status().message(), "--mem: must be positive, got -1");
  EXPECT_EQ(ParseByteSize("--mem", "0").status().message(), "--mem: must be positive, got 0");
  EXPECT_EQ(ParseByteSize("--mem", "0MiB").status().message(),
            "--mem: must be positive, got 0MiB");
  for (const char* bad : {"", "MiB", "12TB", "1.5", "1..5M", "99999999999999999999",
                          "20000000000G"}) {
    auto v = ParseByteSize("--mem", bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_TRUE(v.status().IsInvalidArgument());
    EXPECT_NE(v.status().message().find(std::string("--mem: invalid size \"") + bad + "\""),
              std::string::npos)
        << v.status().message();
  }
}

TEST(ValuesTest, DurationsAndChoices) {
  EXPECT_EQ(*ParsePositiveDuration("--batch-ms", "200ms"), std::chrono::milliseconds(200));
  EXPECT_EQ(ParsePositiveDuration("--batch-ms", "0").status().message(),
            "--batch-ms: must be positive, got 0");
  EXPECT_NE(ParsePositiveDuration("--batch-ms", "-5s").status().message().find("--batch-ms"),
            std::string::npos);
  enum class Mode { kA, kB, kC };
  EXPECT_EQ(*ParseChoice<Mode>("--mode", "b", {{"a", Mode::kA}, {"b", Mode::kB}}), Mode::kB);
  EXPECT_EQ(ParseChoice<Mode>("--mode", "x", {{"a", Mode::kA}, {"b", Mode::kB}}).status().message(),
            "--mode: expected a or b, got \"x\"");
  EXPECT_EQ(ParseChoice<Mode>("--mode", "", {{"a", Mode::kA}, {"b", Mode::kB}, {"c", Mode::kC}})
                .status()
                .message(),
            "--mode: expected a, b or c, got \"\"");
}

TEST(ValuesTest, EnvironmentFallbacksAndLogLevel) {
  ::unsetenv("KAFKA_BOOTSTRAP_SERVERS");
  auto none = ParseCommandLine({}, Desc());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(BootstrapServers(none->values), kDefaultBootstrapServers);
  ::setenv("KAFKA_BOOTSTRAP_SERVERS", "", 1);  // empty counts as unset
  EXPECT_EQ(BootstrapServers(none->values), kDefaultBootstrapServers);
  ::setenv("KAFKA_BOOTSTRAP_SERVERS", "env:9092", 1);
  EXPECT_EQ(BootstrapServers(none->values), "env:9092");
  auto flag = ParseCommandLine({"--bootstrap-servers", "flag:9092"}, Desc());
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(BootstrapServers(flag->values), "flag:9092");
  ASSERT_NE(FlagIfGiven(flag->values, "bootstrap-servers"), nullptr);
  EXPECT_EQ(*FlagIfGiven(flag->values, "bootstrap-servers"), "flag:9092");
  EXPECT_EQ(FlagIfGiven(none->values, "bootstrap-servers"), nullptr);
  ::unsetenv("KAFKA_BOOTSTRAP_SERVERS");

  const LogLevel before = GetLogLevel();
  ::setenv("EVENTFLOW_LOG_LEVEL", "warn", 1);
  ASSERT_TRUE(ApplyLogLevel(none->values).ok());
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarn);
  auto debug = ParseCommandLine({"--log-level", "debug"}, Desc());
  ASSERT_TRUE(ApplyLogLevel(debug->values).ok());  // the flag wins over the environment
  EXPECT_EQ(GetLogLevel(), LogLevel::kDebug);
  ::setenv("EVENTFLOW_LOG_LEVEL", "loud", 1);
  EXPECT_EQ(ApplyLogLevel(none->values).message(), "EVENTFLOW_LOG_LEVEL: unknown level \"loud\"");
  ::unsetenv("EVENTFLOW_LOG_LEVEL");
  auto loud = ParseCommandLine({"--log-level", "loud"}, Desc());
  EXPECT_EQ(ApplyLogLevel(loud->values).message(), "--log-level: unknown level \"loud\"");
  SetLogLevel(before);
}

}  // namespace
}  // namespace eventflow::cli
