// The URI helpers and the lookups of Request and Response.
#include "eventflow/http/message.h"

#include <gtest/gtest.h>

#include <random>

namespace eventflow::http {
namespace {

TEST(HttpMessageTest, PercentDecodeHandlesEscapesPlusAndErrors) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e2%82%AC", false), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("", true), "");
  EXPECT_FALSE(PercentDecode("%", false));
  EXPECT_FALSE(PercentDecode("%4", false));
  EXPECT_FALSE(PercentDecode("ab%4", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
}

TEST(HttpMessageTest, PercentEncodeRoundTripsEveryByte) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string text(rng() % 40, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    const std::string encoded = PercentEncode(text);
    for (const char c : encoded) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '%' || c == '-' ||
                  c == '.' || c == '_' || c == '~')
          << encoded;
    }
    EXPECT_EQ(PercentDecode(encoded, true), text);
  }
  EXPECT_EQ(PercentEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
}

TEST(HttpMessageTest, LookupsAndBuilders) {
  Request request;
  request.query = {{"limit", "5"}, {"from", "a"}, {"limit", "6"}};
  request.headers = {{"x-forwarded-by", "inst-1"}};
  EXPECT_EQ(request.Query("limit"), "5");
  EXPECT_FALSE(request.Query("LIMIT"));
  EXPECT_EQ(request.Header("X-Forwarded-By"), "inst-1");
  EXPECT_FALSE(request.Header("missing"));

  Response json = Response::Json(503, "{}");
  json.AddHeader("Retry-After", "2").AddHeader("Location", "http://h:1/x");
  EXPECT_EQ(json.status, 503);
  EXPECT_EQ(json.Header("content-type"), "application/json");
  EXPECT_EQ(json.Header("retry-after"), "2");
  EXPECT_EQ(json.Header("location"), "http://h:1/x");
  EXPECT_EQ(Response::Text(404, "x").content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(299), "Unknown");
}

}  // namespace
}  // namespace eventflow::http
