// MetricsServer scraped over real HTTP on loopback, with an application that
// was created but not started (no broker needed): the state gauge, /healthz
// and /readyz, and bind errors naming the setting; and StreamsMetricsText
// over a StreamsMetrics filled by hand, every exported figure checked against
// the value put in. (tests/integration/prometheus_test.cc scrapes running
// instances with a real Prometheus.)
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
        "eventflow_application_state{application_id=\"app-1\",instance=\"inst-a\",state="
        "\"CREATED\"} 1",
        "eventflow_application_state{application_id=\"app-1\",instance=\"inst-a\",state="
        "\"RUNNING\"} 0",
        "eventflow_ready{application_id=\"app-1\",instance=\"inst-a\"} 0",
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

namespace eventflow::tools {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  size_t pos = 0;
  while ((pos = text.find(line, pos)) != std::string::npos) {
    const bool starts = pos == 0 || text[pos - 1] == '\n';
    const bool ends = pos + line.size() == text.size() || text[pos + line.size()] == '\n';
    if (starts && ends) return true;
    ++pos;
  }
  return false;
}

TEST(StreamsMetricsTextTest, WritesEveryFigureWithItsLabels) {
  streams::StreamsMetrics m;
  m.restore["counts"] = {120, 7};
  m.records_lost["orders"] = 3;
  m.warming_up = true;
  m.warmup_tasks = 3;
  m.block_cache_capacity_bytes = 1000;
  m.block_cache_usage_bytes = 400;
  m.block_cache_pinned_bytes = 10;
  m.memtable_limit_bytes = 500;
  m.memtable_usage_bytes = 200;
  m.record_cache_limit_bytes = 100;
  streams::ThreadMetrics& t = m.threads.emplace_back();
  t.thread = "inst-a-0";
  t.dropped_late = 5;
  t.rebalances = 2;
  t.commits_failed = 1;
  t.transactions_committed = 40;
  t.transactions_aborted = 1;
  t.poll_seconds = 1.5;
  t.process_seconds = 0.25;
  t.punctuate_seconds = 0.125;
  t.commit_seconds = 0.5;
  Histogram process({0.001});
  process.ObserveN(0.0005, 9);
  t.process_duration = process.Read();
  Histogram commit({0.1});
  commit.Observe(0.05);
  commit.Observe(0.2);
  t.commit_duration = commit.Read();
  Histogram e2e({1});
  e2e.Observe(0.5);
  t.e2e_latency.emplace_back("orders_raw", e2e.Read());
  t.active_tasks = 3;
  t.restoring_tasks = 1;
  streams::TaskMetrics& task = t.tasks.emplace_back();
  task.task = "0_1";
  task.active = true;
  task.processed = 9;
  task.dead_lettered = 2;
  task.punctuations = 4;
  task.cache_hits = 6;
  task.cache_misses = 7;
  task.cache_bytes = 800;
  streams::TaskMetrics& gone = t.tasks.emplace_back();
  gone.task = "1_0";
  gone.active = false;
  gone.processed = 11;
  gone.cache_bytes = 0;
  t.stores.push_back({"0_1", "counts", true, 300, 20, 12});
  t.standby_tasks = 2;
  t.standby_records = 77;
  t.standbys.push_back({"0_2", "counts", 500, 3});
  t.standbys.push_back({"0_3", "counts", 0, -1});  // lag unknown: no series
  t.arrivals.restores_none = 4;
  t.arrivals.restores_tail = 2;
  t.arrivals.restores_full = 1;
  t.arrivals.restore_records = 1234;
  Histogram moved(streams::kMoveGapBuckets);
  moved.Observe(1.5);
  t.move_gap_moved = moved.Read();
  t.partitions.push_back({"orders", 2, 90, 100, 10});
  t.partitions.push_back({"product-view", 0, 5, -1, -1});  // end unknown: no series

  ApplicationStatus status;
  status.attached = true;
  status.state = streams::KafkaStreams::State::kRunning;
  status.ready = true;
  status.stalled_partitions = 0;
  status.partition_stalls_total = 4;
  const std::string text = StreamsMetricsText(m, status, "app", "i");
  const std::string base = "application_id=\"app\",instance=\"i\"";
  const std::string th = base + ",thread=\"inst-a-0\"";
  for (const std::string& line : {
           "eventflow_up{" + base + "} 1",
           "eventflow_application_state{" + base + ",state=\"RUNNING\"} 1",
           "eventflow_ready{" + base + "} 1",
           "eventflow_partition_stalls_total{" + base + "} 4",
           "eventflow_restored_records_total{" + base + ",store=\"counts\"} 120",
           "eventflow_restore_remaining_records{" + base + ",store=\"counts\"} 7",
           "eventflow_records_lost_total{" + base + ",topic=\"orders\"} 3",
           "eventflow_rocksdb_block_cache_capacity_bytes{" + base + "} 1000",
           "eventflow_rocksdb_block_cache_usage_bytes{" + base + "} 400",
           "eventflow_rocksdb_block_cache_pinned_bytes{" + base + "} 10",
           "eventflow_rocksdb_memtable_limit_bytes{" + base + "} 500",
           "eventflow_rocksdb_memtable_usage_bytes{" + base + "} 200",
           "eventflow_record_cache_limit_bytes{" + base + "} 100",
           "eventflow_records_processed_total{" + th + ",task=\"0_1\"} 9",
           "eventflow_records_processed_total{" + th + ",task=\"1_0\"} 11",
           "eventflow_dlq_records_total{" + th + ",task=\"0_1\"} 2",
           "eventflow_punctuations_total{" + th + ",task=\"0_1\"} 4",
           "eventflow_record_cache_hits_total{" + th + ",task=\"0_1\"} 6",
           "eventflow_record_cache_misses_total{" + th + ",task=\"0_1\"} 7",
           "eventflow_record_cache_bytes{" + th + ",task=\"0_1\"} 800",
           "eventflow_records_dropped_total{" + th + ",reason=\"late\"} 5",
           "eventflow_process_duration_seconds_bucket{" + th + ",le=\"0.001\"} 9",
           "eventflow_process_duration_seconds_count{" + th + "} 9",
           "eventflow_commit_duration_seconds_bucket{" + th + ",le=\"0.1\"} 1",
           "eventflow_commit_duration_seconds_bucket{" + th + ",le=\"+Inf\"} 2",
           "eventflow_commit_duration_seconds_sum{" + th + "} 0.25",
           "eventflow_commit_failures_total{" + th + "} 1",
           "eventflow_transactions_total{" + th + ",result=\"committed\"} 40",
           "eventflow_transactions_total{" + th + ",result=\"aborted\"} 1",
           "eventflow_thread_time_seconds_total{" + th + ",activity=\"poll\"} 1.5",
           "eventflow_thread_time_seconds_total{" + th + ",activity=\"process\"} 0.25",
           "eventflow_thread_time_seconds_total{" + th + ",activity=\"punctuate\"} 0.125",
           "eventflow_thread_time_seconds_total{" + th + ",activity=\"commit\"} 0.5",
           "eventflow_rebalances_total{" + th + "} 2",
           "eventflow_active_tasks{" + th + ",state=\"running\"} 2",
           "eventflow_active_tasks{" + th + ",state=\"restoring\"} 1",
           "eventflow_standby_tasks{" + th + "} 2",
           "eventflow_standby_lag_records{" + th + ",task=\"0_2\",store=\"counts\"} 3",
           "eventflow_standby_records_total{" + th + "} 77",
           "eventflow_task_restores_total{" + th + ",kind=\"none\"} 4",
           "eventflow_task_restores_total{" + th + ",kind=\"tail\"} 2",
           "eventflow_task_restores_total{" + th + ",kind=\"full\"} 1",
           "eventflow_task_restore_records_total{" + th + "} 1234",
           "eventflow_task_move_gap_seconds_bucket{" + th + ",moved=\"true\",le=\"2\"} 1",
           "eventflow_task_move_gap_seconds_bucket{" + th + ",moved=\"true\",le=\"1\"} 0",
           "eventflow_task_move_gap_seconds_count{" + th + ",moved=\"false\"} 0",
           "eventflow_warming_up{" + base + "} 1",
           "eventflow_warmup_tasks{" + base + "} 3",
           "eventflow_consumer_lag_records{" + th + ",topic=\"orders\",partition=\"2\"} 10",
           "eventflow_e2e_latency_seconds_count{" + th + ",topic=\"orders_raw\"} 1",
           "eventflow_state_store_bytes{" + th + ",task=\"0_1\",store=\"counts\"} 320",
           "eventflow_rocksdb_live_sst_bytes{" + th + ",task=\"0_1\",store=\"counts\"} 300",
           "eventflow_rocksdb_memtable_bytes{" + th + ",task=\"0_1\",store=\"counts\"} 20",
           "eventflow_rocksdb_estimated_keys{" + th + ",task=\"0_1\",store=\"counts\"} 12",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("product-view"), std::string::npos) << "lag unknown: no series";
  EXPECT_EQ(text.find("task=\"0_3\""), std::string::npos) << "standby lag unknown: no series";
  EXPECT_EQ(text.find("eventflow_record_cache_bytes{" + th + ",task=\"1_0\"}"),
            std::string::npos)
      << "gauges only for active tasks";
  // Detached: eventflow_up 0 and nothing else.
  const std::string detached = StreamsMetricsText({}, ApplicationStatus{}, "app", "i");
  EXPECT_TRUE(HasLine(detached, "eventflow_up{" + base + "} 0")) << detached;
  EXPECT_EQ(detached.find("eventflow_records_processed_total"), std::string::npos);
}

}  // namespace
}  // namespace eventflow::tools
