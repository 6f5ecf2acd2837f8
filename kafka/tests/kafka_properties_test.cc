#include "eventflow/kafka/kafka_properties.h"

#include <gtest/gtest.h>

#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

TEST(KafkaPropertiesTest, PassThroughSetsPropertyWithoutPrefix) {
  KafkaProperties props;
  ASSERT_TRUE(props.SetPassThrough("kafka.security.protocol=SASL_SSL").ok());
  ASSERT_TRUE(props.SetPassThrough("--kafka.linger.ms=5").ok());
  ASSERT_TRUE(props.SetPassThrough("kafka.sasl.password=a=b=c").ok());
  ASSERT_NE(props.Find("security.protocol"), nullptr);
  EXPECT_EQ(*props.Find("security.protocol"), "SASL_SSL");
  EXPECT_EQ(*props.Find("linger.ms"), "5");
  EXPECT_EQ(*props.Find("sasl.password"), "a=b=c");  // only the first '=' splits
  EXPECT_EQ(props.Find("kafka.linger.ms"), nullptr);
}

TEST(KafkaPropertiesTest, PassThroughRejectsMalformedSettingsNamingThem) {
  KafkaProperties props;
  Status s = props.SetPassThrough("linger.ms=5");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("kafka."), std::string::npos);
  s = props.SetPassThrough("kafka.linger.ms");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("linger.ms"), std::string::npos);
  EXPECT_TRUE(props.SetPassThrough("kafka.=1").IsInvalidArgument());
  EXPECT_TRUE(props.entries().empty());
}

TEST(KafkaPropertiesTest, SetReplacesAndSetDefaultDoesNot) {
  KafkaProperties props;
  props.Set("acks", "1");
  props.Set("acks", "all");
  props.SetDefault("acks", "0");
  props.SetDefault("linger.ms", "10");
  EXPECT_EQ(*props.Find("acks"), "all");
  EXPECT_EQ(*props.Find("linger.ms"), "10");
  EXPECT_EQ(props.entries().size(), 2u);

  KafkaProperties user;
  user.Set("linger.ms", "1");
  props.Merge(user);
  EXPECT_EQ(*props.Find("linger.ms"), "1");
}

TEST(KafkaPropertiesTest, SecretsAreRecognised) {
  for (const char* key :
       {"sasl.password", "ssl.key.password", "ssl.key.pem", "ssl.keystore.password", "ssl_key",
        "sasl.oauthbearer.client.secret", "ssl.keystore.location", "SASL.PASSWORD"}) {
    EXPECT_TRUE(IsSecretProperty(key)) << key;
  }
  for (const char* key : {"bootstrap.servers", "security.protocol", "sasl.mechanism", "linger.ms",
                          "ssl.ca.location"}) {
    EXPECT_FALSE(IsSecretProperty(key)) << key;
  }
}

TEST(KafkaPropertiesTest, RedactedDumpHidesSecretValuesOnly) {
  KafkaProperties props;
  props.Set("sasl.password", "hunter2-very-secret");
  props.Set("bootstrap.servers", "127.0.0.1:19092");
  props.Set("ssl.key.password", "p@ss");
  const std::string dump = props.ToRedactedString();
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
  EXPECT_EQ(dump.find("p@ss"), std::string::npos);
  EXPECT_EQ(dump,
            "bootstrap.servers=127.0.0.1:19092\n"
            "sasl.password=[redacted]\n"
            "ssl.key.password=[redacted]\n");
}

TEST(KafkaClientTest, BadPropertyNamesSettingAndHidesSecretValue) {
  KafkaProperties props;
  props.Set("no.such.property", "x");
  auto conf = BuildKafkaConf(props);
  ASSERT_FALSE(conf.ok());
  EXPECT_TRUE(conf.status().IsInvalidArgument());
  EXPECT_NE(conf.status().message().find("kafka.no.such.property"), std::string::npos);

  KafkaProperties bad_value;
  bad_value.Set("acks", "several");
  conf = BuildKafkaConf(bad_value);
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.status().message().find("\"kafka.acks\" = \"several\""), std::string::npos);

  // A secret property with a bad value must not echo the value.
  KafkaProperties secret;
  secret.Set("sasl.password.nonexistent", "topsecret");
  conf = BuildKafkaConf(secret);
  ASSERT_FALSE(conf.ok());
  EXPECT_EQ(conf.status().message().find("topsecret"), std::string::npos);
}

TEST(KafkaClientTest, ErrorTranslationPicksCodeAndNamesContext) {
  EXPECT_TRUE(FromKafkaError(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
  Status s = FromKafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, "committing offsets for group g");
  EXPECT_EQ(s.code(), StatusCode::kTimedOut);
  EXPECT_NE(s.message().find("committing offsets for group g"), std::string::npos);
  EXPECT_NE(s.message().find("_TIMED_OUT"), std::string::npos);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR_PRODUCER_FENCED, "c").code(), StatusCode::kFenced);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "c").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "c").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "c").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR__FATAL, "c").code(), StatusCode::kFatal);
  EXPECT_EQ(FromKafkaError(RD_KAFKA_RESP_ERR_INVALID_MSG, "c").code(), StatusCode::kIOError);
}

TEST(KafkaClientTest, ErrorObjectFlagsDecideTheCode) {
  KafkaError abortable(rd_kafka_error_new(RD_KAFKA_RESP_ERR__STATE, "needs abort"));
  // rd_kafka_error_new() sets no flags: plain translation of the code.
  EXPECT_EQ(FromKafkaError(abortable.get(), "txn").code(), StatusCode::kIOError);
  EXPECT_NE(FromKafkaError(abortable.get(), "txn").message().find("needs abort"),
            std::string::npos);
  EXPECT_TRUE(FromKafkaError(static_cast<const rd_kafka_error_t*>(nullptr), "txn").ok());
}

TEST(KafkaClientTest, CreatesProducerFromValidProperties) {
  KafkaProperties props;
  props.Set("bootstrap.servers", "127.0.0.1:1");
  props.Set("client.id", "eventflow-test");
  auto client = CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_NE(client->get(), nullptr);
}

}  // namespace
}  // namespace eventflow::kafka
