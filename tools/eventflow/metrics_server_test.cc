// MetricsServer scraped over real HTTP on loopback, with an application that
// was created but not started (no broker needed): the metric names and labels
// of DESIGN.md, the state gauge, /healthz and /readyz, and bind errors naming
// the setting. (The per-store restore series appear once a store restores;
// the broker tests of the runtime cover restore_metrics() itself.)
#include "metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "eventflow/topologies/registry.h"

namespace eventflow::tools {
namespace {

// Returns the whole HTTP response to GET `path`.
std::string Get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ::send(fd, request.data(), request.size(), 0);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, n);
  ::close(fd);
  return response;
}

TEST(MetricsServerTest, ServesMetricsAndHealthOfTheAttachedApplication) {
  auto server = MetricsServer::Start("127.0.0.1", 0, "app-1", "inst-a");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  // Nothing attached yet: alive, not ready.
  EXPECT_NE(Get(port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_NE(Get(port, "/readyz").find("503"), std::string::npos);

  streams::StreamsConfig config;
  config.application_id = "app-1";
  config.bootstrap_servers = "127.0.0.1:1";
  streams::KafkaStreams app(
      topologies::FindTopology(topologies::kDefaultTopology)->Build({}), config);
  (*server)->Attach(&app);
  const std::string metrics = Get(port, "/metrics");
  EXPECT_NE(metrics.find("200 OK"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  for (const char* line :
       {"# TYPE eventflow_records_processed_total counter",
        "eventflow_records_processed_total{application_id=\"app-1\",instance=\"inst-a\"} 0",
        "eventflow_records_dropped_total{application_id=\"app-1\",instance=\"inst-a\",reason="
        "\"late\"} 0",
        "eventflow_application_state{application_id=\"app-1\",instance=\"inst-a\",state="
        "\"CREATED\"} 1",
        "eventflow_application_state{application_id=\"app-1\",instance=\"inst-a\",state="
        "\"RUNNING\"} 0",
        "eventflow_up{application_id=\"app-1\",instance=\"inst-a\"} 1"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
  // Created, not running: healthy but not ready.
  EXPECT_NE(Get(port, "/healthz").find("200 OK"), std::string::npos);
  const std::string ready = Get(port, "/readyz");
  EXPECT_NE(ready.find("503"), std::string::npos) << ready;
  EXPECT_NE(ready.find("CREATED"), std::string::npos) << ready;
  EXPECT_NE(Get(port, "/nope").find("404"), std::string::npos);
  (*server)->Attach(nullptr);
  EXPECT_NE(Get(port, "/metrics").find("eventflow_up{application_id=\"app-1\",instance=\"inst-a\"} 0"),
            std::string::npos);
}

TEST(MetricsServerTest, BindErrorsNameTheSetting) {
  auto bad = MetricsServer::Start("not-an-ip", 0, "a", "i");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--http-address"), std::string::npos);
  auto first = MetricsServer::Start("127.0.0.1", 0, "a", "i");
  ASSERT_TRUE(first.ok());
  auto taken = MetricsServer::Start("127.0.0.1", (*first)->port(), "a", "i");
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.status().message().find("--http-port"), std::string::npos);
}

}  // namespace
}  // namespace eventflow::tools
