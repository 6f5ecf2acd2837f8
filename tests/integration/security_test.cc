// Security end to end (labels integration, kafka, postgres): the pipeline's
// three binaries against a broker that only speaks SASL_SSL and a PostgreSQL
// that speaks TLS, both private to this test, with certificates made here by
// the openssl CLI (a CA, a server certificate for localhost/127.0.0.1, one for
// another host name, and a second CA nobody trusts).
//
//   - eventflow-produce → `eventflow run` → eventflow-sink over SASL_SSL
//     (PLAIN: librdkafka 2.0.2's SCRAM cannot log in to Kafka 4.x, see below)
//     with the CA checked, into PostgreSQL over TLS (sslmode=verify-full) with
//     the password read from a file: orders_raw ends with one row per order.
//   - A wrong password, a CA that did not sign the broker's certificate and a
//     certificate for another host name each end produce, run and sink at
//     start-up, within seconds, exit code 2, with a message naming the
//     failure; likewise a wrong CA, a wrong password and a missing password
//     file towards PostgreSQL (sink and analytics). A SCRAM login says why it
//     cannot work.
//   - No secret (the Kafka and PostgreSQL passwords, wrong ones included,
//     ssl.key.password, ssl.keystore.password, the broker's keystore password)
//     appears in any output: every process's stdout/stderr (the app and the
//     sink at debug level, librdkafka's conf and security debug on), the
//     app's /metrics and `eventflow describe`.
//
// The broker (scripts/kafka, EVENTFLOW_KAFKA_SECURITY=sasl_ssl) listens on
// 127.0.0.1:$EVENTFLOW_SECURITY_TEST_KAFKA_PORT (29592; its controller on
// ..._CONTROLLER_PORT, 29692; the plaintext inter-broker listener on that +
// 100; the wrong-host listener, presenting the other certificate, on the
// client port + 3) and PostgreSQL (scripts/postgres with
// EVENTFLOW_PG_SSL_CERT/KEY) on $EVENTFLOW_SECURITY_TEST_PG_PORT (25932), both
// with EVENTFLOW_RUN_DIR under the build directory; both are stopped at the
// end, also when the test fails (the private keys are always deleted). The
// services scripts' own output (scripts/postgres prints its URL with the
// password, by design) is kept apart from the outputs searched for secrets.
// Every wait is bounded; everything listens on loopback.
//
// ScramOnKafka39Test: librdkafka 2.0.2 repeats the client nonce in SCRAM's
// client-final-message (librdkafka #4895, fixed in 2.6.1); Kafka 4.x rejects
// that, Kafka 3.9.x accepts it. So SCRAM is shown end to end against a broker
// of its own running Kafka $EVENTFLOW_SECURITY_TEST_SCRAM_KAFKA_VERSION
// (default 3.9.1; scripts/kafka with EVENTFLOW_KAFKA_VERSION, which fetches
// its jars on first use), SASL_SSL with SCRAM mechanisms only, on
// $EVENTFLOW_SECURITY_TEST_SCRAM_KAFKA_PORT (29892; controller on
// ..._SCRAM_KAFKA_CONTROLLER_PORT, 29992; internal listener on that + 100),
// and a TLS PostgreSQL of its own on $EVENTFLOW_SECURITY_TEST_SCRAM_PG_PORT
// (25933): the generator logs in with SCRAM-SHA-256, the app and the sink
// with SCRAM-SHA-512, and every order lands in PostgreSQL; a wrong SCRAM
// password ends each of them at start-up (exit 2) with a message naming
// authentication whose #4895 note does not claim that SCRAM cannot work.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;

// Distinctive secrets: a match anywhere in the output is a leak.
const std::string kKafkaUser = "eventflow-app";
const std::string kKafkaPassword = "kafkaPw-Q7v2Lm9Xr4";
const std::string kWrongKafkaPassword = "wrongKafkaPw-T3n8Zc5";
const std::string kScramUser = "scram-user";
const std::string kScramPassword = "scramPw-W4c9Ha7E";
const std::string kPgPassword = "pgPw-H5s8Wd1Kj6";
const std::string kWrongPgPassword = "wrongPgPw-F1u6Ns3Y";
const std::string kBrokerKeystorePassword = "brokerKsPw-B6y4Rf2N";
const std::string kClientKeyPassword = "sslKeyPw-M2x7Pq9V";
const std::string kClientKeystorePassword = "clientKsPw-G8k3Js5D";
// ScramOnKafka39Test's users (one per mechanism) and a wrong password.
const std::string kScram512User = "scram512-app";
const std::string kScram512Password = "scram512Pw-K8d3Vq6Z";
const std::string kScram256User = "scram256-gen";
const std::string kScram256Password = "scram256Pw-R5j2Xn7C";
const std::string kWrongScramPassword = "wrongScramPw-N4b9Tg1U";

constexpr int64_t kEvents = 3000;

int EnvPort(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::stoi(v) : fallback;
}

std::string ReadFile(const fs::path& path) { return testing::ReadFileFrom(path.string()); }

// False once `child` has exited (a zombie until reaped: ChildProcess::running()
// stays true until Wait()).
bool Alive(const ChildProcess& child) {
  std::ifstream stat("/proc/" + std::to_string(child.pid()) + "/stat");
  const std::string line((std::istreambuf_iterator<char>(stat)), {});
  const size_t paren = line.rfind(')');
  return child.running() && paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] != 'Z' && line[paren + 2] != 'X';
}

// Runs `argv` (with `env` set), its stdout and stderr into `log`, and waits up
// to `timeout`. Returns the exit code (-1 after a time-out, which fails the test).
int RunLogged(const std::vector<std::string>& argv, const fs::path& log,
              std::chrono::milliseconds timeout, const std::vector<std::string>& env = {}) {
  ChildProcess child(argv, log.string(), env);
  return child.Wait(timeout, "the child process");
}

// --- Certificates ---------------------------------------------------------------

// A CA, a server certificate for localhost/127.0.0.1 signed by it (PEM and
// PKCS12), one for another host name signed by it (PKCS12), and a second CA.
struct Certs {
  fs::path dir, ca, other_ca, server_pem, server_key, server_p12, wrong_host_p12;
};

Certs MakeCerts(const fs::path& dir, const fs::path& log) {
  fs::create_directories(dir);
  Certs c{dir,
          dir / "ca.pem",
          dir / "other-ca.pem",
          dir / "server.pem",
          dir / "server.key",
          dir / "server.p12",
          dir / "wrong-host.p12"};
  auto openssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    // The keystore password travels in the environment, never on a command line.
    const int rc = RunLogged(args, log, 60s, {"KS_PASS=" + kBrokerKeystorePassword});
    if (rc != 0) throw std::runtime_error("openssl " + args[1] + " failed; see " + log.string());
  };
  auto ca = [&](const std::string& name, const std::string& cn) {
    openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             (dir / (name + ".key")).string(), "-out", (dir / (name + ".pem")).string(), "-days",
             "2", "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
  };
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san) {
    std::ofstream(dir / (name + ".ext"))
        << "subjectAltName=" << san << "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n";
    openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", (dir / (name + ".key")).string(),
             "-out", (dir / (name + ".csr")).string(), "-subj", "/CN=" + cn});
    openssl({"x509", "-req", "-in", (dir / (name + ".csr")).string(), "-CA", c.ca.string(),
             "-CAkey", (dir / "ca.key").string(), "-CAcreateserial", "-out",
             (dir / (name + ".pem")).string(), "-days", "2", "-extfile",
             (dir / (name + ".ext")).string()});
    openssl({"pkcs12", "-export", "-in", (dir / (name + ".pem")).string(), "-inkey",
             (dir / (name + ".key")).string(), "-certfile", c.ca.string(), "-name", name, "-out",
             (dir / (name + ".p12")).string(), "-passout", "env:KS_PASS"});
  };
  ca("ca", "EventFlow security test CA");
  ca("other-ca", "Some other CA");
  leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1");
  leaf("wrong-host", "wrong-host.invalid", "DNS:wrong-host.invalid");
  return c;
}

// --- The private services ----------------------------------------------------------

// What a test's services look like: the Kafka version (empty: scripts/kafka's
// default), the ports, and the broker's users and listeners (scripts/kafka
// environment entries beyond the TLS ones, which may use the certificates).
struct ServicesSetup {
  std::string name;  // of the test's directory
  std::string kafka_version;
  int kafka_port = 0, controller_port = 0, pg_port = 0;
  std::function<std::vector<std::string>(const Certs&)> kafka_env;
};

// Starts a SASL_SSL broker and a TLS PostgreSQL with scripts/kafka and
// scripts/postgres; the destructor stops them (and deletes the private keys;
// the whole run directory too when the test passed).
class SecureServices {
 public:
  SecureServices(fs::path base, ServicesSetup setup)
      : base_(std::move(base)),
        run_dir_(base_ / "run"),
        scripts_log_(base_ / "scripts.log"),
        setup_(std::move(setup)),
        kafka_port_(setup_.kafka_port),
        controller_port_(setup_.controller_port),
        pg_port_(setup_.pg_port) {
    fs::remove_all(base_);
    fs::create_directories(run_dir_);
    // The PostgreSQL server runs as another OS user; it must reach the run dir
    // (scripts/postgres falls back to /var/tmp when it cannot).
    fs::permissions(base_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    certs_ = MakeCerts(base_ / "certs", scripts_log_);
  }

  ~SecureServices() {
    const bool passed = !::testing::Test::HasFailure();
    // Bounded by the scripts' own time-outs (stop: SIGKILL after 20 s).
    RunLogged(Script("kafka", {passed ? "clean" : "stop"}), scripts_log_, 90s, KafkaEnv());
    RunLogged(Script("postgres", {passed ? "clean" : "stop"}), scripts_log_, 90s, PgEnv());
    std::error_code ec;
    fs::remove_all(certs_.dir, ec);
    if (passed) fs::remove_all(base_, ec);
  }

  // Starts both services together; returns when both answer.
  void Start() {
    ChildProcess kafka(Script("kafka", {"start", "--fresh"}), (base_ / "kafka-start.log").string(),
                       KafkaEnv());
    // Its stdout, the URL with the password, goes nowhere.
    std::vector<std::string> pg_start = Script("postgres", {"start"});
    pg_start.insert(pg_start.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" >/dev/null"});
    const int pg = RunLogged(pg_start, base_ / "postgres-start.log", 120s, PgEnv());
    const int k = kafka.Wait(150s, "the Kafka broker process");
    ASSERT_EQ(pg, 0) << ReadFile(base_ / "postgres-start.log");
    ASSERT_EQ(k, 0) << ReadFile(base_ / "kafka-start.log");
  }

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(kafka_port_); }
  // The listener whose certificate names wrong-host.invalid only.
  std::string wrong_host_bootstrap() const { return "127.0.0.1:" + std::to_string(kafka_port_ + 3); }
  // A libpq URL without password, checking the server's certificate and name.
  std::string PgUrl(const fs::path& root_ca) const {
    return "postgresql://analytics@127.0.0.1:" + std::to_string(pg_port_) +
           "/analytics?sslmode=verify-full&sslrootcert=" + root_ca.string();
  }
  const Certs& certs() const { return certs_; }
  const fs::path& base() const { return base_; }

 private:
  std::vector<std::string> Script(const std::string& name, std::vector<std::string> args) const {
    args.insert(args.begin(), std::string(EVENTFLOW_SOURCE_DIR) + "/scripts/" + name);
    return args;
  }
  std::vector<std::string> KafkaEnv() const {
    std::vector<std::string> env = {
        "EVENTFLOW_RUN_DIR=" + run_dir_.string(),
        "EVENTFLOW_KAFKA_PORT=" + std::to_string(kafka_port_),
        "EVENTFLOW_KAFKA_CONTROLLER_PORT=" + std::to_string(controller_port_),
        "EVENTFLOW_KAFKA_INTERNAL_PORT=" + std::to_string(controller_port_ + 100),
        "EVENTFLOW_KAFKA_SECURITY=sasl_ssl",
        "EVENTFLOW_KAFKA_SSL_KEYSTORE=" + certs_.server_p12.string(),
        "EVENTFLOW_KAFKA_SSL_KEYSTORE_TYPE=PKCS12",
        "EVENTFLOW_KAFKA_SSL_KEYSTORE_PASSWORD=" + kBrokerKeystorePassword,
        "EVENTFLOW_KAFKA_START_TIMEOUT=120",
        "EVENTFLOW_KAFKA_STOP_TIMEOUT=20",
        "KAFKA_HEAP_OPTS=-Xms128m -Xmx512m"};
    // Set even when empty: an EVENTFLOW_KAFKA_VERSION of the caller's must not leak in.
    env.push_back("EVENTFLOW_KAFKA_VERSION=" + setup_.kafka_version);
    for (std::string& e : setup_.kafka_env(certs_)) env.push_back(std::move(e));
    return env;
  }
  std::vector<std::string> PgEnv() const {
    return {"EVENTFLOW_RUN_DIR=" + run_dir_.string(),
            "EVENTFLOW_PG_PORT=" + std::to_string(pg_port_),
            "EVENTFLOW_PG_PASSWORD=" + kPgPassword,
            "EVENTFLOW_PG_SSL_CERT=" + certs_.server_pem.string(),
            "EVENTFLOW_PG_SSL_KEY=" + certs_.server_key.string()};
  }

  fs::path base_, run_dir_, scripts_log_;
  ServicesSetup setup_;
  int kafka_port_, controller_port_, pg_port_;
  Certs certs_;
};

// --- The test ------------------------------------------------------------------------

class SecurityTest : public ::testing::Test {
 protected:
  // Kafka 4.1.1 (scripts/kafka's default) with PLAIN and SCRAM users and a
  // listener whose certificate names another host.
  virtual ServicesSetup Setup() const {
    ServicesSetup s;
    s.name = "security-test";
    s.kafka_port = EnvPort("EVENTFLOW_SECURITY_TEST_KAFKA_PORT", 29592);
    s.controller_port = EnvPort("EVENTFLOW_SECURITY_TEST_KAFKA_CONTROLLER_PORT", 29692);
    s.pg_port = EnvPort("EVENTFLOW_SECURITY_TEST_PG_PORT", 25932);
    const int port = s.kafka_port;
    s.kafka_env = [port](const Certs& certs) -> std::vector<std::string> {
      return {"EVENTFLOW_KAFKA_PLAIN_USERS=" + kKafkaUser + "=" + kKafkaPassword,
              "EVENTFLOW_KAFKA_SCRAM=SCRAM-SHA-256=[name=" + kScramUser +
                  ",password=" + kScramPassword + "]",
              "EVENTFLOW_KAFKA_EXTRA_LISTENERS=WRONGHOST:SASL_SSL:" + std::to_string(port + 3),
              "EVENTFLOW_KAFKA_PROPS=listener.name.wronghost.ssl.keystore.location=" +
                  certs.wrong_host_p12.string()};
    };
    return s;
  }

  void SetUp() override {
    ServicesSetup setup = Setup();
    const std::string dir = setup.name + "-" + std::to_string(::getpid());
    services_ = std::make_unique<SecureServices>(
        fs::weakly_canonical(fs::path(testing::ToolDir()) / ".." / dir), std::move(setup));
    ASSERT_NO_FATAL_FAILURE(services_->Start());
    out_ = services_->base() / "out";
    fs::create_directories(out_);
    WriteFile(pg_password_file_ = out_ / "pg-password", kPgPassword + "\n");
    WriteFile(wrong_pg_password_file_ = out_ / "wrong-pg-password", kWrongPgPassword + "\n");
  }

  void TearDown() override {
    // Stop the services even when an assertion ended the test early.
    app_.reset();
    sink_.reset();
    services_.reset();
  }

  static void WriteFile(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  std::string Tool(const std::string& name) const { return testing::ToolDir() + "/" + name; }

  // A log file of the test's own processes: searched for secrets at the end.
  fs::path Log(const std::string& name) {
    const fs::path p = out_ / (name + ".log");
    logs_.push_back(p);
    return p;
  }

  // The Kafka settings of every client; `password` and `ca` can be wrong.
  std::vector<std::string> KafkaFlags(const std::string& bootstrap, const std::string& password,
                                      const fs::path& ca,
                                      const std::string& mechanism = "PLAIN",
                                      const std::string& user = kKafkaUser) const {
    return {"--bootstrap-servers", bootstrap, "--kafka.security.protocol=SASL_SSL",
            "--kafka.sasl.mechanisms=" + mechanism, "--kafka.sasl.username=" + user,
            "--kafka.sasl.password=" + password, "--kafka.ssl.ca.location=" + ca.string()};
  }

  std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  // Orders in orders_raw, read over TLS with the right password.
  Result<int64_t> OrdersInPostgres() {
    auto conn = sinks::PgConnection::Connect(
        sinks::WithCredentials(services_->PgUrl(services_->certs().ca), nullptr,
                               kPgPassword.c_str()),
        5s);
    if (!conn.ok()) return conn.status();
    auto rows = conn->Query("SELECT count(*) FROM orders_raw", {});
    if (!rows.ok()) return rows.status();
    return std::stoll(std::string(rows->Get(0, 0)));
  }

  std::unique_ptr<SecureServices> services_;
  fs::path out_, pg_password_file_, wrong_pg_password_file_;
  std::vector<fs::path> logs_;
  std::vector<std::pair<std::string, std::string>> other_outputs_;  // (what, text)
  std::unique_ptr<ChildProcess> app_, sink_;
};

TEST_F(SecurityTest, SaslSslAndTlsPostgresEndToEndClearFailuresNoSecretsInOutput) {
  const Certs& certs = services_->certs();
  const std::string prefix = testing::UniqueName("sec") + "-";
  const std::string bootstrap = services_->bootstrap();
  const auto kafka_ok = KafkaFlags(bootstrap, kKafkaPassword, certs.ca);
  const std::string pg_url = services_->PgUrl(certs.ca);
  const std::vector<std::string> sink_args = {
      "--postgres-url", pg_url, "--group", prefix + "sink", "--topic-prefix", prefix,
      "--dlq-topic", prefix + "sink-dlq", "--batch-ms", "50ms"};

  // --- 1. Generator → app → sink over SASL_SSL, into PostgreSQL over TLS -------------
  const fs::path produce_log = Log("produce");
  ASSERT_EQ(RunLogged(With(With({Tool("eventflow-produce")}, kafka_ok),
                           {"--topic-prefix", prefix, "--partitions", "3", "--count",
                            std::to_string(kEvents), "--max-rate", "--seed", "11",
                            "--progress", "off"}),
                      produce_log, 90s),
            0)
      << ReadFile(produce_log);
  std::smatch m;
  const std::string produced = ReadFile(produce_log);
  ASSERT_TRUE(std::regex_search(produced, m, std::regex(R"(events sent: (\d+) \(.*orders (\d+)\))")))
      << produced;
  ASSERT_EQ(std::stoll(m[1]), kEvents) << produced;
  const int64_t orders = std::stoll(m[2]);
  ASSERT_GT(orders, 0);

  const int http_port = testing::FreePort();
  // Debug logging everywhere, librdkafka's configuration dump included; a client
  // key password and keystore password the brokers never ask for, to see them
  // redacted too.
  app_ = std::make_unique<ChildProcess>(
      With(With({Tool("eventflow"), "run"}, kafka_ok),
           {"--kafka.ssl.key.password=" + kClientKeyPassword,
            "--kafka.ssl.keystore.password=" + kClientKeystorePassword,
            "--kafka.debug=conf,security", "--log-level", "debug", "--application-id",
            prefix + "app", "--instance-id", "i0", "--state-dir", (out_ / "state").string(),
            "--topic-prefix", prefix, "--http-port", std::to_string(http_port),
            "--commit-interval-ms", "100"}),
      Log("app").string());
  sink_ = std::make_unique<ChildProcess>(
      With(With(With({Tool("eventflow-sink")}, kafka_ok), sink_args),
           {"--postgres-password-file", pg_password_file_.string(), "--kafka.debug=conf,security",
            "--log-level", "debug"}),
      Log("sink").string());

  const auto deadline = Clock::now() + 100s;
  Result<int64_t> landed = Status::NotFound("not read yet");
  while (Clock::now() < deadline) {
    landed = OrdersInPostgres();
    if (landed.ok() && *landed >= orders) break;
    ASSERT_TRUE(Alive(*app_) && Alive(*sink_))
        << "app or sink exited early; see " << (out_ / "app.log") << " and " << (out_ / "sink.log");
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  EXPECT_EQ(*landed, orders) << "orders_raw rows vs orders produced";

  {  // The sink's connection is TLS.
    auto conn = sinks::PgConnection::Connect(
        sinks::WithCredentials(pg_url, nullptr, kPgPassword.c_str()), 5s);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    auto rows = conn->Query(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s "
        "JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'eventflow-sink'",
        {});
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->Get(0, 1), "1");
    EXPECT_EQ(rows->Get(0, 0), "1") << "the sink's PostgreSQL connection does not use TLS";
  }

  auto metrics = testing::HttpGet(http_port, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_NE(metrics->find("eventflow_records_processed_total"), std::string::npos);
  other_outputs_.emplace_back("/metrics", *metrics);
  testing::ProcessResult describe =
      testing::RunProcess({Tool("eventflow"), "describe", "--topic-prefix", prefix});
  EXPECT_EQ(describe.exit_code, 0) << describe.err;
  other_outputs_.emplace_back("eventflow describe", describe.out + describe.err);

  app_->Signal(SIGTERM);
  sink_->Signal(SIGTERM);
  EXPECT_EQ(app_->Wait(60s, "eventflow run"), 0);
  EXPECT_EQ(sink_->Wait(60s, "eventflow-sink"), 0);

  // Batch analytics over TLS, the password from the flag's file, then from
  // POSTGRES_PASSWORD_FILE.
  const fs::path analytics_log = Log("analytics");
  EXPECT_EQ(RunLogged({Tool("eventflow-analytics"), "--postgres-url", pg_url,
                       "--postgres-password-file", pg_password_file_.string(), "--report",
                       "revenue-by-currency"},
                      analytics_log, 60s),
            0)
      << ReadFile(analytics_log);
  EXPECT_EQ(RunLogged({Tool("eventflow-analytics"), "--postgres-url", pg_url, "--report",
                       "segments"},
                      analytics_log, 60s,
                      {"POSTGRES_PASSWORD_FILE=" + pg_password_file_.string(),
                       "POSTGRES_PASSWORD=" + kWrongPgPassword}),
            0)
      << ReadFile(analytics_log);

  // --- 2. Wrong password, CA or host name: a clear error at start-up, quickly --------
  struct Failure {
    std::string name;
    std::vector<std::string> kafka;
    std::vector<std::string> expected;  // substrings of the output
  };
  const std::vector<Failure> failures = {
      {"wrong Kafka password", KafkaFlags(bootstrap, kWrongKafkaPassword, certs.ca),
       {"Kafka authentication failed", "Invalid username or password", "_AUTHENTICATION"}},
      {"CA that did not sign the broker's certificate",
       KafkaFlags(bootstrap, kKafkaPassword, certs.other_ca),
       {"Kafka TLS handshake failed", "certificate verify failed", "_SSL"}},
      {"broker certificate for another host name",
       KafkaFlags(services_->wrong_host_bootstrap(), kKafkaPassword, certs.ca),
       {"Kafka TLS handshake failed", "certificate verify failed", "_SSL"}},
      {"SCRAM (librdkafka 2.0.2 vs Kafka 4.x)",
       KafkaFlags(bootstrap, kScramPassword, certs.ca, "SCRAM-SHA-256", kScramUser),
       {"Kafka authentication failed", "librdkafka issue #4895", "PLAIN"}},
  };
  for (const Failure& f : failures) {
    const std::map<std::string, std::vector<std::string>> tools = {
        {"eventflow-produce",
         With(With({Tool("eventflow-produce")}, f.kafka),
              {"--topic-prefix", prefix, "--count", "10", "--max-rate", "--progress", "off"})},
        {"eventflow run",
         With(With({Tool("eventflow"), "run"}, f.kafka),
              {"--application-id", prefix + "bad", "--state-dir", (out_ / "bad-state").string(),
               "--topic-prefix", prefix, "--log-level", "debug"})},
        {"eventflow-sink",
         With(With(With({Tool("eventflow-sink")}, f.kafka), sink_args),
              {"--postgres-password-file", pg_password_file_.string(), "--log-level", "debug"})},
    };
    for (const auto& [tool, argv] : tools) {
      SCOPED_TRACE(tool + " with a " + f.name);
      const fs::path log = Log("fail-" + std::to_string(logs_.size()));
      const auto t0 = Clock::now();
      EXPECT_EQ(RunLogged(argv, log, 60s), 2) << ReadFile(log);
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
      EXPECT_LT(took, 20s) << "took " << took.count() << " ms";
      const std::string out = ReadFile(log);
      for (const std::string& text : f.expected) {
        EXPECT_NE(out.find(text), std::string::npos) << "no \"" << text << "\" in:\n" << out;
      }
    }
  }

  // PostgreSQL: a CA that did not sign the server's certificate, a wrong
  // password, a missing password file.
  const fs::path missing = out_ / "no-such-password-file";
  const std::vector<std::tuple<std::string, std::vector<std::string>,
                               std::vector<std::string>, std::vector<std::string>>>
      pg_failures = {
          {"sink, wrong CA",
           With(With({Tool("eventflow-sink")}, kafka_ok),
                {"--postgres-url", services_->PgUrl(certs.other_ca), "--topic-prefix", prefix,
                 "--postgres-password-file", pg_password_file_.string()}),
           {},
           {"TLS to PostgreSQL", "certificate verify failed"}},
          {"analytics, wrong CA",
           {Tool("eventflow-analytics"), "--postgres-url", services_->PgUrl(certs.other_ca),
            "--postgres-password-file", pg_password_file_.string()},
           {},
           {"TLS to PostgreSQL", "certificate verify failed"}},
          {"sink, wrong password",
           With(With({Tool("eventflow-sink")}, kafka_ok),
                {"--postgres-url", pg_url, "--topic-prefix", prefix, "--postgres-password-file",
                 wrong_pg_password_file_.string()}),
           {},
           {"authentication failed for user \"analytics\"", "28P01"}},
          {"sink, missing password file",
           With(With({Tool("eventflow-sink")}, kafka_ok),
                {"--postgres-url", pg_url, "--postgres-password-file", missing.string()}),
           {},
           {"--postgres-password-file", missing.string(), "No such file"}},
          {"analytics, missing POSTGRES_PASSWORD_FILE",
           {Tool("eventflow-analytics"), "--postgres-url", pg_url},
           {"POSTGRES_PASSWORD_FILE=" + missing.string()},
           {"POSTGRES_PASSWORD_FILE", missing.string(), "No such file"}},
      };
  for (const auto& [name, argv, env, expected] : pg_failures) {
    SCOPED_TRACE(name);
    const fs::path log = Log("fail-" + std::to_string(logs_.size()));
    const auto t0 = Clock::now();
    EXPECT_EQ(RunLogged(argv, log, 60s, env), 2) << ReadFile(log);
    EXPECT_LT(Clock::now() - t0, 20s);
    const std::string out = ReadFile(log);
    for (const std::string& text : expected) {
      EXPECT_NE(out.find(text), std::string::npos) << "no \"" << text << "\" in:\n" << out;
    }
  }

  // --- 3. No secret in any output -------------------------------------------------------
  {  // The secret settings were printed, redacted: the search below looks at them.
    const std::string app_log = ReadFile(out_ / "app.log");
    for (const char* line : {"sasl.password=[redacted]", "ssl.key.password=[redacted]",
                             "ssl.keystore.password=[redacted]", "sasl.password = [redacted]"}) {
      EXPECT_NE(app_log.find(line), std::string::npos) << "no \"" << line << "\" in app.log";
    }
  }
  for (const fs::path& log : logs_) other_outputs_.emplace_back(log.string(), ReadFile(log));
  size_t searched = 0;
  for (const auto& [what, text] : other_outputs_) {
    searched += text.size();
    for (const std::string& secret :
         {kKafkaPassword, kWrongKafkaPassword, kScramPassword, kPgPassword, kWrongPgPassword,
          kBrokerKeystorePassword, kClientKeyPassword, kClientKeystorePassword}) {
      const size_t at = text.find(secret);
      if (at == std::string::npos) continue;
      const size_t line = text.rfind('\n', at);
      ADD_FAILURE() << "secret \"" << secret << "\" in " << what << ": "
                    << text.substr(line == std::string::npos ? 0 : line + 1, 300);
    }
  }
  EXPECT_GT(searched, 10'000u) << "suspiciously little output searched";
  std::printf("security_test: %lld events, %lld orders in PostgreSQL; %zu outputs, %zu bytes "
              "searched for secrets\n",
              static_cast<long long>(kEvents), static_cast<long long>(orders),
              other_outputs_.size(), searched);
}

// --- SCRAM where the broker accepts librdkafka 2.0.2's nonce ----------------------------

class ScramOnKafka39Test : public SecurityTest {
 protected:
  // Kafka 3.9.x, SASL_SSL with SCRAM only: a SCRAM-SHA-512 and a SCRAM-SHA-256
  // user, created when scripts/kafka formats the storage.
  ServicesSetup Setup() const override {
    ServicesSetup s;
    s.name = "security-scram-test";
    const char* version = std::getenv("EVENTFLOW_SECURITY_TEST_SCRAM_KAFKA_VERSION");
    s.kafka_version = (version != nullptr && *version != '\0') ? version : "3.9.1";
    s.kafka_port = EnvPort("EVENTFLOW_SECURITY_TEST_SCRAM_KAFKA_PORT", 29892);
    s.controller_port = EnvPort("EVENTFLOW_SECURITY_TEST_SCRAM_KAFKA_CONTROLLER_PORT", 29992);
    s.pg_port = EnvPort("EVENTFLOW_SECURITY_TEST_SCRAM_PG_PORT", 25933);
    s.kafka_env = [](const Certs&) -> std::vector<std::string> {
      return {"EVENTFLOW_KAFKA_SASL_MECHANISMS=SCRAM-SHA-256,SCRAM-SHA-512",
              "EVENTFLOW_KAFKA_SCRAM=SCRAM-SHA-512=[name=" + kScram512User +
                  ",password=" + kScram512Password + "]\nSCRAM-SHA-256=[name=" + kScram256User +
                  ",password=" + kScram256Password + "]"};
    };
    return s;
  }
};

TEST_F(ScramOnKafka39Test, ScramSha256And512EndToEndWrongPasswordFailsClearly) {
  const Certs& certs = services_->certs();
  const std::string prefix = testing::UniqueName("scram") + "-";
  const std::string bootstrap = services_->bootstrap();
  const auto scram512 =
      KafkaFlags(bootstrap, kScram512Password, certs.ca, "SCRAM-SHA-512", kScram512User);
  const auto scram256 =
      KafkaFlags(bootstrap, kScram256Password, certs.ca, "SCRAM-SHA-256", kScram256User);
  const std::vector<std::string> sink_args = {
      "--postgres-url", services_->PgUrl(certs.ca), "--postgres-password-file",
      pg_password_file_.string(), "--group", prefix + "sink", "--topic-prefix", prefix,
      "--dlq-topic", prefix + "sink-dlq", "--batch-ms", "50ms"};

  // --- 1. Generator (SCRAM-SHA-256) → app → sink (SCRAM-SHA-512) → PostgreSQL ----------
  const fs::path produce_log = Log("produce");
  ASSERT_EQ(RunLogged(With(With({Tool("eventflow-produce")}, scram256),
                           {"--topic-prefix", prefix, "--partitions", "3", "--count", "2000",
                            "--max-rate", "--seed", "12", "--progress", "off"}),
                      produce_log, 90s),
            0)
      << ReadFile(produce_log);
  std::smatch m;
  const std::string produced = ReadFile(produce_log);
  ASSERT_TRUE(std::regex_search(produced, m, std::regex(R"(events sent: (\d+) \(.*orders (\d+)\))")))
      << produced;
  ASSERT_EQ(std::stoll(m[1]), 2000) << produced;
  const int64_t orders = std::stoll(m[2]);
  ASSERT_GT(orders, 0);

  app_ = std::make_unique<ChildProcess>(
      With(With({Tool("eventflow"), "run"}, scram512),
           {"--application-id", prefix + "app", "--instance-id", "i0", "--state-dir",
            (out_ / "state").string(), "--topic-prefix", prefix, "--http-port",
            std::to_string(testing::FreePort()), "--commit-interval-ms", "100"}),
      Log("app").string());
  sink_ = std::make_unique<ChildProcess>(
      With(With({Tool("eventflow-sink")}, scram512), sink_args), Log("sink").string());
  const auto deadline = Clock::now() + 100s;
  Result<int64_t> landed = Status::NotFound("not read yet");
  while (Clock::now() < deadline) {
    landed = OrdersInPostgres();
    if (landed.ok() && *landed >= orders) break;
    ASSERT_TRUE(Alive(*app_) && Alive(*sink_))
        << "app or sink exited early\n--- app:\n"
        << ReadFile(out_ / "app.log") << "\n--- sink:\n"
        << ReadFile(out_ / "sink.log");
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  EXPECT_EQ(*landed, orders) << "orders_raw rows vs orders produced";
  app_->Signal(SIGTERM);
  sink_->Signal(SIGTERM);
  EXPECT_EQ(app_->Wait(60s, "eventflow run"), 0) << ReadFile(out_ / "app.log");
  EXPECT_EQ(sink_->Wait(60s, "eventflow-sink"), 0) << ReadFile(out_ / "sink.log");

  // --- 2. A wrong SCRAM password: exit 2 at start-up, naming authentication, and the
  // #4895 note does not claim that SCRAM cannot work (it just did).
  const auto wrong =
      KafkaFlags(bootstrap, kWrongScramPassword, certs.ca, "SCRAM-SHA-512", kScram512User);
  const std::map<std::string, std::vector<std::string>> tools = {
      {"eventflow-produce",
       With(With({Tool("eventflow-produce")}, wrong),
            {"--topic-prefix", prefix, "--count", "10", "--max-rate", "--progress", "off"})},
      {"eventflow run",
       With(With({Tool("eventflow"), "run"}, wrong),
            {"--application-id", prefix + "bad", "--state-dir", (out_ / "bad-state").string(),
             "--topic-prefix", prefix})},
      {"eventflow-sink", With(With({Tool("eventflow-sink")}, wrong), sink_args)},
  };
  for (const auto& [tool, argv] : tools) {
    SCOPED_TRACE(tool + " with a wrong SCRAM password");
    const fs::path log = Log("fail-" + std::to_string(logs_.size()));
    const auto t0 = Clock::now();
    EXPECT_EQ(RunLogged(argv, log, 60s), 2) << ReadFile(log);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    EXPECT_LT(took, 20s) << "took " << took.count() << " ms";
    const std::string out = ReadFile(log);
    for (const char* text :
         {"Kafka authentication failed", "SCRAM-SHA-512", "_AUTHENTICATION",
          "if the broker is Kafka 4.x", "Kafka 3.x brokers accept this build's SCRAM",
          "check the user name, the password"}) {
      EXPECT_NE(out.find(text), std::string::npos) << "no \"" << text << "\" in:\n" << out;
    }
  }

  // --- 3. No SCRAM password in any output.
  for (const fs::path& log : logs_) {
    const std::string text = ReadFile(log);
    for (const std::string& secret : {kScram512Password, kScram256Password, kWrongScramPassword,
                                      kPgPassword, kBrokerKeystorePassword}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "secret \"" << secret << "\" in " << log;
    }
  }
  std::printf("security_test (SCRAM on Kafka %s): %lld orders in PostgreSQL\n",
              Setup().kafka_version.c_str(), static_cast<long long>(orders));
}

}  // namespace
}  // namespace eventflow
