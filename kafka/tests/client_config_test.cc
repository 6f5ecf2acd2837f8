// The per-role client configuration (client_config.h): the scope table against
// the librdkafka we link, and for every role its defaults, the user's settings
// filtered by client type, the forced settings and the conflicts, without a
// broker.
#include "eventflow/kafka/client_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "eventflow/kafka/kafka_client.h"

namespace eventflow::kafka {
namespace {

constexpr ClientRole kAllRoles[] = {
    ClientRole::kMainConsumer,      ClientRole::kRestoreConsumer,
    ClientRole::kTransactionalProducer, ClientRole::kAtLeastOnceProducer,
    ClientRole::kAdmin,             ClientRole::kSinkConsumer,
    ClientRole::kSinkProducer,      ClientRole::kGeneratorProducer,
};

bool IsConsumer(ClientRole role) {
  return role == ClientRole::kMainConsumer || role == ClientRole::kRestoreConsumer ||
         role == ClientRole::kSinkConsumer;
}

bool IsProducer(ClientRole role) { return !IsConsumer(role) && role != ClientRole::kAdmin; }

// The C/P/* column of every property, as the linked librdkafka prints its
// own CONFIGURATION.md table (rd_kafka_conf_properties_show): the independent
// source the scope table is checked against.
std::map<std::string, char> LibrdkafkaScopes() {
  std::FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  rd_kafka_conf_properties_show(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  std::map<std::string, char> scopes;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    // "name   |  C  | range | default | importance | description"
    const size_t bar = line.find('|');
    if (bar == std::string::npos || line.find('|', bar + 1) == std::string::npos) continue;
    std::string name = line.substr(0, bar);
    name.erase(name.find_last_not_of(' ') + 1);
    std::string scope = line.substr(bar + 1, line.find('|', bar + 1) - bar - 1);
    scope.erase(0, scope.find_first_not_of(' '));
    scope.erase(scope.find_last_not_of(' ') + 1);
    if (scope != "C" && scope != "P" && scope != "*") continue;
    scopes[name] = scope[0];
  }
  return scopes;
}

ClientSettings Settings() {
  ClientSettings s;
  s.bootstrap_servers = "127.0.0.1:1";
  s.client_id = "app-1-client";
  s.group_id = "app";
  s.group_instance_id = "host-1";
  s.transactional_id = "app-host-1";
  s.session_timeout = std::chrono::milliseconds(10'000);
  return s;
}

std::string Get(const KafkaProperties& props, std::string_view key) {
  const std::string* v = props.Find(key);
  return v != nullptr ? *v : "<unset>";
}

TEST(ClientConfigTest, ScopesMatchTheLinkedLibrdkafka) {
  const auto scopes = LibrdkafkaScopes();
  ASSERT_GT(scopes.size(), 150u) << "could not read librdkafka's property table";
  size_t consumer = 0, producer = 0;
  for (const auto& [name, scope] : scopes) {
    const PropertyScope want = scope == 'C'   ? PropertyScope::kConsumer
                               : scope == 'P' ? PropertyScope::kProducer
                                              : PropertyScope::kAny;
    EXPECT_EQ(ScopeOf(name), want) << name << " is " << scope << " in librdkafka";
    consumer += scope == 'C';
    producer += scope == 'P';
  }
  EXPECT_GT(consumer, 20u);
  EXPECT_GT(producer, 20u);
  EXPECT_EQ(ScopeOf("no.such.property"), PropertyScope::kAny);
}

TEST(ClientConfigTest, UserSettingsReachOnlyTheClientTypesTheyApplyTo) {
  const auto scopes = LibrdkafkaScopes();
  KafkaProperties user;
  user.Set("fetch.wait.max.ms", "7");          // consumer only
  user.Set("max.poll.interval.ms", "600000");  // consumer only
  user.Set("linger.ms", "50");                 // producer only
  user.Set("compression.codec", "zstd");       // producer only (an alias)
  user.Set("security.protocol", "SASL_SSL");   // every client
  user.Set("sasl.password", "hunter2");        // every client, a secret
  user.Set("no.such.property", "1");           // unknown: librdkafka shall reject it
  for (ClientRole role : kAllRoles) {
    SCOPED_TRACE(std::string(ClientRoleName(role)));
    auto props = BuildClientConfig(role, Settings(), user);
    ASSERT_TRUE(props.ok()) << props.status().ToString();
    EXPECT_EQ(Get(*props, "security.protocol"), "SASL_SSL");
    EXPECT_EQ(Get(*props, "sasl.password"), "hunter2");
    EXPECT_EQ(Get(*props, "no.such.property"), "1");
    EXPECT_EQ(Get(*props, "fetch.wait.max.ms"), IsConsumer(role) ? "7" : "<unset>");
    EXPECT_EQ(Get(*props, "max.poll.interval.ms"), IsConsumer(role) ? "600000" : "<unset>");
    EXPECT_EQ(Get(*props, "linger.ms"), IsProducer(role) ? "50" : "<unset>");
    EXPECT_EQ(Get(*props, "compression.codec"), IsProducer(role) ? "zstd" : "<unset>");
    // Whatever the source (default, user, forced), no property of the other
    // client type, per librdkafka's own table.
    for (const auto& [key, value] : props->entries()) {
      auto it = scopes.find(key);
      if (it == scopes.end()) continue;
      if (IsConsumer(role)) {
        EXPECT_NE(it->second, 'P') << key;
      }
      if (IsProducer(role)) {
        EXPECT_NE(it->second, 'C') << key;
      }
      if (role == ClientRole::kAdmin) {
        EXPECT_EQ(it->second, '*') << key;
      }
    }
  }
}

TEST(ClientConfigTest, EachRoleHasItsDefaultsAndForcedSettings) {
  const KafkaProperties none;
  struct Expected {
    ClientRole role;
    std::map<std::string, std::string> props;
    std::vector<std::string> unset;
  };
  const std::vector<Expected> cases = {
      {ClientRole::kMainConsumer,
       {{"bootstrap.servers", "127.0.0.1:1"}, {"client.id", "app-1-client"}, {"group.id", "app"},
        {"group.instance.id", "host-1"}, {"partition.assignment.strategy", "range"},
        {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "error"}, {"isolation.level", "read_committed"},
        {"session.timeout.ms", "10000"}, {"heartbeat.interval.ms", "1000"},
        {"max.poll.interval.ms", "300000"}, {"fetch.wait.max.ms", "20"},
        {"enable.partition.eof", "true"}, {"statistics.interval.ms", "5000"}},
       {"transactional.id"}},
      {ClientRole::kRestoreConsumer,
       {{"group.id", "app"}, {"enable.auto.commit", "false"}, {"enable.partition.eof", "true"},
        {"isolation.level", "read_committed"}, {"auto.offset.reset", "error"},
        {"fetch.wait.max.ms", "20"}, {"queued.min.messages", "1000000"}},
       {"group.instance.id", "partition.assignment.strategy", "statistics.interval.ms"}},
      {ClientRole::kTransactionalProducer,
       {{"client.id", "app-1-client"}, {"partitioner", "murmur2_random"}, {"linger.ms", "5"},
        {"acks", "all"}, {"enable.idempotence", "true"}, {"compression.type", "lz4"},
        {"transactional.id", "app-host-1"}, {"transaction.timeout.ms", "10000"},
        {"statistics.interval.ms", "5000"}},
       {"group.id", "isolation.level"}},
      {ClientRole::kAtLeastOnceProducer,
       {{"partitioner", "murmur2_random"}, {"acks", "all"}, {"enable.idempotence", "true"},
        {"statistics.interval.ms", "5000"}},
       {"transactional.id", "transaction.timeout.ms"}},
      {ClientRole::kAdmin,
       {{"bootstrap.servers", "127.0.0.1:1"}, {"client.id", "app-1-client"}},
       {"group.id", "acks", "transactional.id", "statistics.interval.ms"}},
      {ClientRole::kSinkConsumer,
       {{"group.id", "app"}, {"partition.assignment.strategy", "range"},
        {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"},
        {"isolation.level", "read_committed"}, {"enable.auto.commit", "false"},
        {"auto.offset.reset", "error"}, {"statistics.interval.ms", "5000"}},
       {"group.instance.id"}},
      {ClientRole::kSinkProducer,
       {{"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}},
       {"transactional.id", "compression.type", "statistics.interval.ms"}},
      {ClientRole::kGeneratorProducer,
       {{"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "20"},
        {"batch.size", "1000000"}, {"compression.type", "lz4"}, {"partitioner", "murmur2_random"},
        {"queue.buffering.max.messages", "500000"}},
       {"transactional.id", "statistics.interval.ms"}},
  };
  for (const Expected& c : cases) {
    SCOPED_TRACE(std::string(ClientRoleName(c.role)));
    auto props = BuildClientConfig(c.role, Settings(), none);
    ASSERT_TRUE(props.ok()) << props.status().ToString();
    for (const auto& [key, value] : c.props) EXPECT_EQ(Get(*props, key), value) << key;
    for (const std::string& key : c.unset) EXPECT_EQ(props->Find(key), nullptr) << key;
  }
  // At-least-once reads uncommitted records; dynamic membership sets no
  // group.instance.id.
  ClientSettings alos = Settings();
  alos.exactly_once = false;
  alos.group_instance_id.clear();
  auto props = BuildClientConfig(ClientRole::kMainConsumer, alos, none);
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(Get(*props, "isolation.level"), "read_uncommitted");
  EXPECT_EQ(props->Find("group.instance.id"), nullptr);
}

TEST(ClientConfigTest, UserSettingsWinOverDefaults) {
  KafkaProperties user;
  user.Set("bootstrap.servers", "broker:9093");
  user.Set("client.id", "mine");
  user.Set("acks", "1");
  user.Set("session.timeout.ms", "6000");
  user.Set("fetch.wait.max.ms", "100");
  user.Set("group.id", "my-sink-group");  // the sink's group.id is only a default
  for (ClientRole role : kAllRoles) {
    SCOPED_TRACE(std::string(ClientRoleName(role)));
    auto props = BuildClientConfig(role, Settings(), user);
    if (role == ClientRole::kMainConsumer || role == ClientRole::kRestoreConsumer) {
      // The stream threads' consumers decide group.id themselves.
      ASSERT_FALSE(props.ok());
      continue;
    }
    ASSERT_TRUE(props.ok()) << props.status().ToString();
    EXPECT_EQ(Get(*props, "bootstrap.servers"), "broker:9093");
    EXPECT_EQ(Get(*props, "client.id"), "mine");
    if (IsProducer(role)) {
      EXPECT_EQ(Get(*props, "acks"), "1");
    }
    if (role == ClientRole::kSinkConsumer) {
      EXPECT_EQ(Get(*props, "group.id"), "my-sink-group");
    }
  }
  user = KafkaProperties();
  user.Set("session.timeout.ms", "6000");
  user.Set("fetch.wait.max.ms", "100");
  auto main = BuildClientConfig(ClientRole::kMainConsumer, Settings(), user);
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(Get(*main, "session.timeout.ms"), "6000");
  EXPECT_EQ(Get(*main, "fetch.wait.max.ms"), "100");
  auto restore = BuildClientConfig(ClientRole::kRestoreConsumer, Settings(), user);
  ASSERT_TRUE(restore.ok());
  EXPECT_EQ(Get(*restore, "fetch.wait.max.ms"), "100");
}

TEST(ClientConfigTest, ConflictsWithForcedSettingsNameThePropertyAndRoleButNotTheValue) {
  struct Case {
    ClientRole role;
    std::string key;
  };
  const std::vector<Case> cases = {
      {ClientRole::kMainConsumer, "isolation.level"},
      {ClientRole::kMainConsumer, "enable.auto.commit"},
      {ClientRole::kMainConsumer, "auto.offset.reset"},
      {ClientRole::kMainConsumer, "group.id"},
      {ClientRole::kMainConsumer, "group.instance.id"},
      {ClientRole::kRestoreConsumer, "isolation.level"},
      {ClientRole::kRestoreConsumer, "group.instance.id"},
      {ClientRole::kTransactionalProducer, "transactional.id"},
      {ClientRole::kAtLeastOnceProducer, "transactional.id"},
      {ClientRole::kSinkConsumer, "isolation.level"},
      {ClientRole::kSinkConsumer, "enable.auto.commit"},
      {ClientRole::kSinkConsumer, "auto.offset.reset"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(ClientRoleName(c.role)) + " " + c.key);
    EXPECT_TRUE(IsForcedSetting(c.role, c.key));
    KafkaProperties user;
    user.Set(c.key, "hunter2-secret");
    auto props = BuildClientConfig(c.role, Settings(), user);
    ASSERT_FALSE(props.ok());
    EXPECT_TRUE(props.status().IsInvalidArgument());
    const std::string& msg = props.status().message();
    EXPECT_NE(msg.find("kafka." + c.key + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find(ClientRoleName(c.role)), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  }
  // The forced value itself is no conflict.
  KafkaProperties same;
  same.Set("isolation.level", "read_committed");
  same.Set("enable.auto.commit", "false");
  same.Set("auto.offset.reset", "error");
  EXPECT_TRUE(BuildClientConfig(ClientRole::kSinkConsumer, Settings(), same).ok());
  EXPECT_TRUE(BuildClientConfig(ClientRole::kMainConsumer, Settings(), same).ok());
  // A forced consumer setting given to a producer role is filtered, not a conflict.
  EXPECT_TRUE(BuildClientConfig(ClientRole::kSinkProducer, Settings(), same).ok());
  EXPECT_FALSE(IsForcedSetting(ClientRole::kSinkConsumer, "group.id"));
  EXPECT_FALSE(IsForcedSetting(ClientRole::kGeneratorProducer, "acks"));
}

// librdkafka warns when a client is given a property of the other client type
// ("Configuration property fetch.wait.max.ms is a consumer property and will
// be ignored by this producer instance"), through the log callback that
// BuildKafkaConf routes to stderr.
std::string CreateAndCaptureWarnings(rd_kafka_type_t type, const KafkaProperties& props) {
  KafkaProperties quiet = props;
  quiet.Set("bootstrap.servers", "");  // no connection attempts, no connection errors
  ::testing::internal::CaptureStderr();
  {
    auto client = CreateKafkaClient(type, quiet);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
  }
  return ::testing::internal::GetCapturedStderr();
}

TEST(ClientConfigTest, EveryRolesConfigurationIsAcceptedByLibrdkafkaWithoutScopeWarnings) {
  KafkaProperties user;
  user.Set("socket.timeout.ms", "5000");
  user.Set("fetch.wait.max.ms", "50");
  user.Set("linger.ms", "1");
  // The check itself: the unfiltered settings make librdkafka warn.
  KafkaProperties unfiltered = user;
  EXPECT_NE(CreateAndCaptureWarnings(RD_KAFKA_PRODUCER, unfiltered).find("will be ignored"),
            std::string::npos);
  for (ClientRole role : kAllRoles) {
    SCOPED_TRACE(std::string(ClientRoleName(role)));
    auto props = BuildClientConfig(role, Settings(), user);
    ASSERT_TRUE(props.ok()) << props.status().ToString();
    const std::string log =
        CreateAndCaptureWarnings(IsConsumer(role) ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, *props);
    EXPECT_EQ(log.find("will be ignored"), std::string::npos) << log;
  }
}

// The memory bounds (fetch_queue_bytes, producer_queue_bytes): the derived
// librdkafka values, absent when 0, only for the client types they concern,
// below the user's settings, and accepted by librdkafka from tiny to large.
TEST(ClientConfigTest, MemoryBoundsBecomeDefaultsTheUserOverrides) {
  EXPECT_EQ(FetchQueueProperties(0).entries().size(), 0u);
  EXPECT_EQ(ProducerQueueProperties(0).entries().size(), 0u);
  const KafkaProperties fetch = FetchQueueProperties(size_t{16} << 20);
  EXPECT_EQ(Get(fetch, "queued.max.messages.kbytes"), "4096");        // a quarter
  EXPECT_EQ(Get(fetch, "max.partition.fetch.bytes"), "1048576");      // capped at 1 MiB
  const KafkaProperties small_fetch = FetchQueueProperties(size_t{100} << 10);
  EXPECT_EQ(Get(small_fetch, "queued.max.messages.kbytes"), "25");
  EXPECT_EQ(Get(small_fetch, "max.partition.fetch.bytes"), "65536");  // at least 64 KiB
  const KafkaProperties queue = ProducerQueueProperties(size_t{8} << 20);
  EXPECT_EQ(Get(queue, "queue.buffering.max.kbytes"), "8192");
  EXPECT_EQ(Get(queue, "queue.buffering.max.messages"), "16384");     // 512 bytes a record
  EXPECT_EQ(Get(ProducerQueueProperties(4096), "queue.buffering.max.messages"), "1000");

  ClientSettings s = Settings();
  s.fetch_queue_bytes = size_t{4} << 20;
  s.producer_queue_bytes = size_t{2} << 20;
  KafkaProperties none;
  for (ClientRole role : kAllRoles) {
    SCOPED_TRACE(std::string(ClientRoleName(role)));
    auto props = BuildClientConfig(role, s, none);
    ASSERT_TRUE(props.ok()) << props.status().ToString();
    const bool fetches = IsConsumer(role);
    const bool queues = IsProducer(role) && role != ClientRole::kGeneratorProducer;
    EXPECT_EQ(Get(*props, "queued.max.messages.kbytes"), fetches ? "1024" : "<unset>");
    EXPECT_EQ(Get(*props, "max.partition.fetch.bytes"), fetches ? "1048576" : "<unset>");
    EXPECT_EQ(Get(*props, "queue.buffering.max.kbytes"), queues ? "2048" : "<unset>");
  }
  KafkaProperties user;
  user.Set("fetch.message.max.bytes", "2000000");  // an alias of max.partition.fetch.bytes
  user.Set("queue.buffering.max.kbytes", "65536");
  auto consumer = BuildClientConfig(ClientRole::kMainConsumer, s, user);
  ASSERT_TRUE(consumer.ok());
  auto conf = BuildKafkaConf(*consumer);
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  char value[64];
  size_t size = sizeof(value);
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "max.partition.fetch.bytes", value, &size),
            RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "2000000") << "the user's alias, set after the default, wins";
  auto producer = BuildClientConfig(ClientRole::kTransactionalProducer, s, user);
  ASSERT_TRUE(producer.ok());
  EXPECT_EQ(Get(*producer, "queue.buffering.max.kbytes"), "65536");

  // librdkafka accepts the derived values (a client is created) at both ends.
  for (size_t bytes : {size_t{1}, size_t{64} << 10, size_t{1} << 30}) {
    SCOPED_TRACE(bytes);
    ClientSettings b = Settings();
    b.fetch_queue_bytes = bytes;
    b.producer_queue_bytes = bytes;
    for (ClientRole role : {ClientRole::kMainConsumer, ClientRole::kRestoreConsumer,
                            ClientRole::kTransactionalProducer}) {
      auto props = BuildClientConfig(role, b, none);
      ASSERT_TRUE(props.ok());
      props->Set("bootstrap.servers", "");
      auto client = CreateKafkaClient(IsConsumer(role) ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                                      *props);
      EXPECT_TRUE(client.ok()) << client.status().ToString();
    }
  }
}

}  // namespace
}  // namespace eventflow::kafka
