// Needs the local PostgreSQL (scripts/postgres start); labelled `postgres`.
#include "eventflow/sinks/pg_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow::sinks {
namespace {

using ::eventflow::testing::PostgresUrl;
using ::eventflow::testing::ScopedSchema;
using Param = std::optional<std::string_view>;

// The test URL with one more query parameter (libpq lets it override the
// URL's own user, password, port or database).
std::string WithParam(const std::string& url, std::string_view key, std::string_view value) {
  const char separator = url.find('?') == std::string::npos ? '?' : '&';
  return url + separator + std::string(key) + "=" + std::string(value);
}

PgConnection MustConnect(const std::string& url = PostgresUrl()) {
  Result<PgConnection> conn = PgConnection::Connect(url);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) throw std::runtime_error(conn.status().ToString());
  return std::move(conn).value();
}

TEST(PgConnectionTest, ConnectsWithPasswordOverTcp) {
  PgConnection conn = MustConnect();
  Result<PgResult> result = conn.Query(
      "SELECT current_user, inet_server_addr()::text, current_setting('client_encoding')", {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows(), 1);
  EXPECT_FALSE(result->Get(0, 0).empty());
  EXPECT_EQ(result->Get(0, 1), "127.0.0.1/32");
  EXPECT_EQ(result->Get(0, 2), "UTF8");
  EXPECT_EQ(conn.target().find("secret"), std::string::npos) << conn.target();
}

const std::string kLong(1 << 20, 'x');
const std::vector<Param> kValues = {
    "plain",
    std::nullopt,
    "",  // not NULL
    "it's \"quoted\" ''",
    "'); DROP TABLE x; --",
    "Grüße, 日本語, emoji \xF0\x9F\x9A\x80",
    "tab\there\nnew line\r\ncrlf",
    "back\\slash \\x00 $1 %s ? :name",
    "\x01\x1f\x7f",
    kLong,
};

TEST(PgConnectionTest, ParametersRoundTripByteIdentical) {
  PgConnection conn = MustConnect();
  std::string sql = "SELECT ";
  for (size_t i = 0; i < kValues.size(); ++i) {
    sql += (i ? ", $" : "$") + std::to_string(i + 1) + "::text AS v" + std::to_string(i);
  }
  Result<PgResult> result = conn.Query(sql, kValues);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows(), 1);
  ASSERT_EQ(result->columns(), static_cast<int>(kValues.size()));
  for (size_t i = 0; i < kValues.size(); ++i) {
    const int column = static_cast<int>(i);
    EXPECT_EQ(result->ColumnName(column), "v" + std::to_string(i));
    ASSERT_EQ(result->IsNull(0, column), !kValues[i].has_value()) << "value " << i;
    if (kValues[i]) {
      EXPECT_EQ(result->Get(0, column), *kValues[i]) << "value " << i;
    }
  }
}

TEST(PgConnectionTest, ParametersRoundTripThroughATable) {
  PgConnection conn = MustConnect();
  ASSERT_TRUE(conn.Execute("CREATE TEMP TABLE round_trip (i int PRIMARY KEY, v text)").ok());
  for (size_t i = 0; i < kValues.size(); ++i) {
    const std::string index = std::to_string(i);
    const std::array<Param, 2> params = {index, kValues[i]};
    Result<PgResult> inserted = conn.Query("INSERT INTO round_trip VALUES ($1, $2)", params);
    ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
    EXPECT_EQ(inserted->AffectedRows(), 1);
  }
  Result<PgResult> rows = conn.Query("SELECT i, v FROM round_trip ORDER BY i", {});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->rows(), static_cast<int>(kValues.size()));
  EXPECT_EQ(rows->AffectedRows(), static_cast<int64_t>(kValues.size()));
  for (int r = 0; r < rows->rows(); ++r) {
    EXPECT_EQ(rows->Get(r, 0), std::to_string(r));
    ASSERT_EQ(rows->IsNull(r, 1), !kValues[r].has_value()) << "row " << r;
    if (kValues[r]) {
      EXPECT_EQ(rows->Get(r, 1), *kValues[r]) << "row " << r;
    }
  }
}

TEST(PgConnectionTest, NulByteParameterIsRejected) {
  PgConnection conn = MustConnect();
  const std::array<Param, 1> params = {std::string_view("a\0b", 3)};
  Result<PgResult> result = conn.Query("SELECT $1::text", params);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_NE(result.status().message().find("$1"), std::string::npos);
}

TEST(PgConnectionTest, WrongPasswordIsInvalidArgumentAndNotRevealed) {
  const std::string wrong = "Wr0ng-pa55word-zq";
  Result<PgConnection> conn = PgConnection::Connect(WithParam(PostgresUrl(), "password", wrong));
  ASSERT_FALSE(conn.ok());
  const Status& status = conn.status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find("authentication failed for user"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("127.0.0.1:"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("28P01"), std::string::npos) << status.ToString();
  EXPECT_EQ(status.message().find(wrong), std::string::npos) << status.ToString();
}

TEST(PgConnectionTest, MalformedUrlIsInvalidArgumentAndNotRevealed) {
  // libpq quotes the whole URI in this error.
  Result<PgConnection> conn = PgConnection::Connect("postgresql://u:Hunter2-zq@[::1/db");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument) << conn.status().ToString();
  EXPECT_EQ(conn.status().message().find("Hunter2-zq"), std::string::npos)
      << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("postgresql://u:***@"), std::string::npos)
      << conn.status().ToString();
}

TEST(PgConnectionTest, MissingDatabaseIsInvalidArgument) {
  Result<PgConnection> conn =
      PgConnection::Connect(WithParam(PostgresUrl(), "dbname", "no_such_database_zq"));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument) << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("3D000"), std::string::npos) << conn.status().ToString();
  EXPECT_EQ(conn.status().message().find(":secret@"), std::string::npos)
      << conn.status().ToString();
}

TEST(PgConnectionTest, UnreachablePortIsUnavailable) {
  Result<PgConnection> conn = PgConnection::Connect(WithParam(PostgresUrl(), "port", "1"));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable) << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("127.0.0.1"), std::string::npos)
      << conn.status().ToString();
}

TEST(PgConnectionTest, SilentServerTimesOutAsUnavailable) {
  // A socket that accepts TCP connections (in the kernel) but never answers.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const auto start = std::chrono::steady_clock::now();
  Result<PgConnection> conn =
      PgConnection::Connect(WithParam(PostgresUrl(), "port", port), std::chrono::seconds(1));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(listener);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable) << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("timed out"), std::string::npos)
      << conn.status().ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(PgConnectionTest, SyntaxErrorNamesSqlState) {
  PgConnection conn = MustConnect();
  Status status = conn.Execute("SELEC 1");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kIOError) << status.ToString();
  EXPECT_NE(status.message().find("SQLSTATE 42601"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("SELEC 1"), std::string::npos) << status.ToString();
  EXPECT_TRUE(conn.Execute("SELECT 1").ok());  // the connection stays usable
}

TEST(PgConnectionTest, DuplicateKeyIsInvalidArgument) {
  PgConnection conn = MustConnect();
  ASSERT_TRUE(conn.Execute("CREATE TEMP TABLE dup (id int PRIMARY KEY)").ok());
  const std::array<Param, 1> params = {"7"};
  ASSERT_TRUE(conn.Query("INSERT INTO dup VALUES ($1)", params).ok());
  Result<PgResult> again = conn.Query("INSERT INTO dup VALUES ($1)", params);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument) << again.status().ToString();
  EXPECT_NE(again.status().message().find("23505"), std::string::npos) << again.status().ToString();
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos)  // the detail
      << again.status().ToString();
}

TEST(PgConnectionTest, DataExceptionIsInvalidArgument) {
  PgConnection conn = MustConnect();
  const std::array<Param, 1> params = {"not a number"};
  Result<PgResult> result = conn.Query("SELECT $1::int", params);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_NE(result.status().message().find("22P02"), std::string::npos)
      << result.status().ToString();
}

TEST(PgConnectionTest, SerializationFailureIsAborted) {
  ScopedSchema schema;
  PgConnection a = MustConnect(schema.url());
  PgConnection b = MustConnect(schema.url());
  ASSERT_TRUE(a.Execute("CREATE TABLE account (id int PRIMARY KEY, v int);"
                        "INSERT INTO account VALUES (1, 0)")
                  .ok());
  ASSERT_TRUE(a.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  ASSERT_TRUE(a.Execute("SELECT v FROM account WHERE id = 1").ok());  // takes the snapshot
  ASSERT_TRUE(b.Execute("UPDATE account SET v = 1 WHERE id = 1").ok());
  Status status = a.Execute("UPDATE account SET v = 2 WHERE id = 1");
  EXPECT_EQ(status.code(), StatusCode::kAborted) << status.ToString();
  EXPECT_NE(status.message().find("40001"), std::string::npos) << status.ToString();
  EXPECT_TRUE(a.Execute("ROLLBACK").ok());
}

TEST(PgConnectionTest, TerminatedBackendIsUnavailable) {
  PgConnection victim = MustConnect();
  PgConnection admin = MustConnect();
  Result<PgResult> pid = victim.Query("SELECT pg_backend_pid()::text", {});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  const std::array<Param, 1> params = {pid->Get(0, 0)};
  Result<PgResult> killed = admin.Query("SELECT pg_terminate_backend($1::int, 5000)", params);
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_EQ(killed->Get(0, 0), "t");
  Status status = victim.Execute("SELECT 1");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
}

TEST(ScopedSchemaTest, TablesCreatedThroughUrlLandInTheSchema) {
  ScopedSchema schema;
  EXPECT_TRUE(schema.name().starts_with("t_")) << schema.name();
  EXPECT_EQ(schema.name().find('-'), std::string::npos) << schema.name();
  PgConnection conn = MustConnect(schema.url());
  ASSERT_TRUE(conn.Execute("CREATE TABLE landed (x int)").ok());

  PgConnection other = MustConnect();
  const std::array<Param, 1> params = {schema.name()};
  Result<PgResult> found = other.Query(
      "SELECT count(*) FROM information_schema.tables "
      "WHERE table_schema = $1 AND table_name = 'landed'",
      params);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->Get(0, 0), "1");
}

TEST(ScopedSchemaTest, SchemaIsDroppedOnDestruction) {
  std::string name;
  {
    ScopedSchema schema;
    name = schema.name();
    PgConnection conn = MustConnect(schema.url());
    ASSERT_TRUE(conn.Execute("CREATE TABLE doomed (x int); INSERT INTO doomed VALUES (1)").ok());
  }
  PgConnection conn = MustConnect();
  const std::array<Param, 1> params = {name};
  Result<PgResult> found =
      conn.Query("SELECT count(*) FROM pg_namespace WHERE nspname = $1", params);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->Get(0, 0), "0");
}

TEST(ScopedSchemaTest, TwoSchemasAreDistinct) {
  ScopedSchema a;
  ScopedSchema b;
  EXPECT_NE(a.name(), b.name());
}

}  // namespace
}  // namespace eventflow::sinks
