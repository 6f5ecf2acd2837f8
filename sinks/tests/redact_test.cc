#include <gtest/gtest.h>

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

}  // namespace eventflow::sinks
