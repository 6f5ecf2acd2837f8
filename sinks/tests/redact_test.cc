#include <gtest/gtest.h>
#include <unistd.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "eventflow/sinks/pg_connection.h"

namespace eventflow::sinks {
namespace {

TEST(RedactConnInfoTest, UrlWithPassword) {
  EXPECT_EQ(RedactConnInfo("postgresql://analytics:secret@127.0.0.1:15432/analytics"),
            "postgresql://analytics:***@127.0.0.1:15432/analytics");
  EXPECT_EQ(RedactConnInfo("postgres://u:pw@db.example:5432,db2:5433/d?sslmode=require"),
            "postgres://u:***@db.example:5432,db2:5433/d?sslmode=require");
}

TEST(RedactConnInfoTest, UrlWithoutPassword) {
  for (const char* url : {"postgresql://analytics@127.0.0.1:15432/analytics",
                          "postgresql://127.0.0.1:15432/analytics", "postgresql://",
                          "postgresql:///analytics?host=/run/postgresql&port=5432"}) {
    EXPECT_EQ(RedactConnInfo(url), url);
  }
}

TEST(RedactConnInfoTest, UrlWithEmptyPasswordStillShowsItWasSet) {
  EXPECT_EQ(RedactConnInfo("postgresql://u:@h/d"), "postgresql://u:***@h/d");
}

TEST(RedactConnInfoTest, PercentEncodedPassword) {
  EXPECT_EQ(RedactConnInfo("postgresql://u:p%40ss%2Fw%3Ard@h:1/d"), "postgresql://u:***@h:1/d");
}

TEST(RedactConnInfoTest, MisencodedPasswordIsHiddenWhole) {
  // Unencoded '@', '/' and '?' inside the password: libpq cannot parse these,
  // but its error messages could echo them.
  EXPECT_EQ(RedactConnInfo("postgresql://u:p@ss/w?rd@h/d"), "postgresql://u:***@h/d");
}

TEST(RedactConnInfoTest, UrlQueryParameters) {
  EXPECT_EQ(RedactConnInfo("postgresql://u@h/d?sslmode=disable&password=top&application_name=x"),
            "postgresql://u@h/d?sslmode=disable&password=***&application_name=x");
  EXPECT_EQ(RedactConnInfo("postgresql://u:a@h/d?password=b&sslpassword=c"),
            "postgresql://u:***@h/d?password=***&sslpassword=***");
  EXPECT_EQ(RedactConnInfo("postgresql://u@h/d?pass%77ord=x"), "postgresql://u@h/d?pass%77ord=***");
}

TEST(RedactConnInfoTest, KeyValuePassword) {
  EXPECT_EQ(RedactConnInfo("host=127.0.0.1 port=15432 user=analytics password=secret dbname=a"),
            "host=127.0.0.1 port=15432 user=analytics password=*** dbname=a");
  EXPECT_EQ(RedactConnInfo("password = secret user=u"), "password = *** user=u");
  EXPECT_EQ(RedactConnInfo("sslpassword=k password=p"), "sslpassword=*** password=***");
  EXPECT_EQ(RedactConnInfo("user=u password=se\\ cret dbname=d"), "user=u password=*** dbname=d");
}

TEST(RedactConnInfoTest, KeyValueQuotedPasswordWithSpaces) {
  EXPECT_EQ(RedactConnInfo("host=h password='my secret \\' pw' dbname=d"),
            "host=h password=*** dbname=d");
  EXPECT_EQ(RedactConnInfo("host=h password='' dbname=d"), "host=h password=*** dbname=d");
}

TEST(RedactConnInfoTest, KeyValueWithoutPassword) {
  EXPECT_EQ(RedactConnInfo("host=h dbname='my db' user=u"), "host=h dbname='my db' user=u");
  EXPECT_EQ(RedactConnInfo("passwordless=1"), "passwordless=1");
}

TEST(RedactConnInfoTest, MalformedTailIsHidden) {
  EXPECT_EQ(RedactConnInfo("host=h password secret"), "host=h ***");
  EXPECT_EQ(RedactConnInfo("host='h password=secret"), "host=***");
  EXPECT_EQ(RedactConnInfo("host=h password='unterminated"), "host=h password=***");
}

TEST(RedactConnInfoTest, PlainDatabaseNameIsUnchanged) {
  EXPECT_EQ(RedactConnInfo("analytics"), "analytics");
  EXPECT_EQ(RedactConnInfo(""), "");
}

}  // namespace
TEST(WithCredentialsTest, AppendsEncodedUserAndPasswordThatRedactionHides) {
  const std::string secret = "p@ss w'ord\\&";
  const std::string url =
      WithCredentials("postgresql://h:5432/db?sslmode=disable", "ana lytics", secret.c_str());
  EXPECT_EQ(url,
            "postgresql://h:5432/db?sslmode=disable&user=ana%20lytics&password=p%40ss%20w%27ord%5C%26");
  EXPECT_EQ(RedactConnInfo(url).find("p%40ss"), std::string::npos) << RedactConnInfo(url);
  EXPECT_EQ(WithCredentials("postgres://h/db", nullptr, "x"), "postgres://h/db?password=x");
  const std::string conninfo = WithCredentials("host=h dbname=db", "u", secret.c_str());
  EXPECT_EQ(conninfo, "host=h dbname=db user='u' password='p@ss w\\'ord\\\\&'");
  EXPECT_EQ(RedactConnInfo(conninfo).find("ss w"), std::string::npos) << RedactConnInfo(conninfo);
  EXPECT_EQ(WithCredentials("db", nullptr, nullptr), "db");
}

// A password file as Docker/Kubernetes secrets mount them.
class PasswordFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content) {
    const std::string path = ::testing::TempDir() + "pw-" + std::to_string(::getpid()) + "-" +
                             std::to_string(paths_.size());
    std::ofstream(path, std::ios::binary) << content;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::remove(p.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(PasswordFileTest, StripsOneTrailingLineBreak) {
  EXPECT_EQ(*ReadPasswordFile(Write("s3cr3t\n"), "--f"), "s3cr3t");
  EXPECT_EQ(*ReadPasswordFile(Write("s3cr3t\r\n"), "--f"), "s3cr3t");
  EXPECT_EQ(*ReadPasswordFile(Write("s3cr3t"), "--f"), "s3cr3t");
  EXPECT_EQ(*ReadPasswordFile(Write(" a b \n\n"), "--f"), " a b \n");  // only one
}

TEST_F(PasswordFileTest, ErrorsNameTheSettingAndPathButNeverTheContent) {
  Result<std::string> missing = ReadPasswordFile("/nonexistent/pw", "--postgres-password-file");
  ASSERT_TRUE(missing.status().IsInvalidArgument());
  EXPECT_NE(missing.status().message().find("--postgres-password-file"), std::string::npos);
  EXPECT_NE(missing.status().message().find("/nonexistent/pw"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);

  Result<std::string> empty = ReadPasswordFile(Write("\n"), "POSTGRES_PASSWORD_FILE");
  ASSERT_TRUE(empty.status().IsInvalidArgument());
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);

  Result<std::string> nul = ReadPasswordFile(Write(std::string("se\0cret-xyz", 10)), "--f");
  ASSERT_TRUE(nul.status().IsInvalidArgument());
  EXPECT_EQ(nul.status().message().find("cret-xyz"), std::string::npos);
}

TEST_F(PasswordFileTest, PostgresUrlSettingPrecedence) {
  for (const char* v :
       {"POSTGRES_URL", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"}) {
    ::unsetenv(v);
  }
  auto none = PostgresUrlSetting(nullptr, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->url, kDefaultPostgresUrl);
  EXPECT_FALSE(none->password.has_value());

  ::setenv("POSTGRES_URL", "postgresql://env-host/db", 1);
  ::setenv("POSTGRES_USER", "u", 1);
  ::setenv("POSTGRES_PASSWORD", "env-pw", 1);
  auto env = PostgresUrlSetting(nullptr, nullptr);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->url, "postgresql://env-host/db?user=u&password=env-pw");
  EXPECT_EQ(env->password, "env-pw");

  // The flag wins over $POSTGRES_URL, the password file over $POSTGRES_PASSWORD.
  const std::string flag = "postgresql://flag-host/db";
  const std::string file = Write("file-pw\n");
  auto flagged = PostgresUrlSetting(&flag, &file);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->url, "postgresql://flag-host/db?user=u&password=file-pw");
  EXPECT_EQ(flagged->password, "file-pw");

  const std::string missing = "/nonexistent/pw";
  auto bad = PostgresUrlSetting(&flag, &missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--postgres-password-file"), std::string::npos);
  for (const char* v : {"POSTGRES_URL", "POSTGRES_USER", "POSTGRES_PASSWORD"}) ::unsetenv(v);
}

}  // namespace eventflow::sinks
