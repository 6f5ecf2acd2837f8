// A real Prometheus (Debian's `prometheus` server, scripts/deps) scrapes two
// `eventflow run` instances of one application and eventflow-sink while the
// pipeline runs on the real broker and PostgreSQL (labels integration, kafka,
// postgres), and the key series are checked through Prometheus' HTTP API
// (/api/v1/query) against figures counted independently:
//   - records processed by the sub-topology reading the input topics = the
//     records in those topics (their end offsets: fresh topics, written once);
//   - consumer lag of every assigned input partition returns to 0, and so
//     does the sink's;
//   - the commit-duration histograms have counts (at most one per committed
//     transaction or failed commit), and their +Inf bucket equals _count;
//   - end-to-end latency of every output topic (live event times) has counts
//     and a mean and a 99th percentile below generous bounds;
//   - the sink's orders_raw rows written = SELECT count(*) (each order once),
//     and for every table rows written >= the table's rows;
//   - every metric family the binaries export reaches Prometheus, /healthz
//     and /readyz answer 200, and `promtool check metrics` accepts both
//     binaries' /metrics text;
//   - the Grafana dashboards (dashboards/*.json), on the same run: their
//     variables' label_values() queries list this application, its two
//     instances and the sink's group; every PromQL expression, expanded as
//     Grafana would (the variables, $__interval/$__rate_interval/$__range for
//     the dashboard's default time range), parses and returns data (a range
//     query, or an instant one where the panel asks for it, with at least one
//     finite value), and names only metrics and labels the binaries' /metrics
//     export; every SQL query, its macros expanded, runs on the sink's tables
//     and returns rows with data.
// Prometheus runs with a temporary configuration and --storage.tsdb.path in
// the test's directory, on a loopback port, scraping every second, and is
// stopped at the end (killed by the fixture if the test fails first). Every
// wait is bounded.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/http/client.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/grafana_dashboard.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/pipeline_contract.h"
#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::FreePort;
using testing::KafkaBootstrap;
using testing::PartitionOffsets;

constexpr int kPartitions = 3;
constexpr int kRate = 400;         // events per second, live event times
constexpr int kEvents = 6000;

// One sample of an instant-vector answer.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Prometheus, started on a free loopback port with `config`, its data in `dir`.
class PrometheusServer {
 public:
  PrometheusServer(const std::filesystem::path& dir, const std::string& config) {
    std::filesystem::create_directories(dir / "tsdb");
    const std::filesystem::path config_path = dir / "prometheus.yml";
    std::ofstream(config_path) << config;
    port_ = FreePort();
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            "/usr/bin/prometheus", "--config.file=" + config_path.string(),
            "--storage.tsdb.path=" + (dir / "tsdb").string(),
            "--storage.tsdb.retention.time=1h",
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        (dir / "prometheus.log").string());
  }
  ~PrometheusServer() { Stop(); }

  int port() const { return port_; }

  // Waits (bounded) until Prometheus answers /-/ready.
  bool AwaitReady(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto r = http::Fetch("127.0.0.1", port_, "/-/ready", {.timeout = 2s});
      if (r.ok() && r->status == 200) return true;
      if (testing::ProcessExited(process_->pid())) return false;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // Runs an instant query; returns its samples, or an error.
  Result<std::vector<Sample>> Query(const std::string& expr) {
    auto r = http::Fetch("127.0.0.1", port_, "/api/v1/query?query=" + http::PercentEncode(expr),
                         {.timeout = 10s});
    if (!r.ok()) return r.status();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r->body).get(doc) != simdjson::SUCCESS) {
      return Status::Corruption("not JSON: " + r->body.substr(0, 200));
    }
    std::string_view status;
    if (doc["status"].get_string().get(status) != simdjson::SUCCESS || status != "success") {
      return Status::InvalidArgument("query " + expr + " failed: " + r->body.substr(0, 400));
    }
    simdjson::dom::array result;
    if (doc["data"]["result"].get_array().get(result) != simdjson::SUCCESS) {
      return Status::Corruption("no result array: " + r->body.substr(0, 200));
    }
    std::vector<Sample> samples;
    for (simdjson::dom::element e : result) {
      Sample& s = samples.emplace_back();
      simdjson::dom::object metric;
      if (e["metric"].get_object().get(metric) == simdjson::SUCCESS) {
        for (auto [key, value] : metric) {
          std::string_view v;
          if (value.get_string().get(v) == simdjson::SUCCESS) s.labels[std::string(key)] = v;
        }
      }
      std::string_view text;
      simdjson::dom::array pair;
      if (e["value"].get_array().get(pair) == simdjson::SUCCESS &&
          pair.at(1).get_string().get(text) == simdjson::SUCCESS) {
        s.value = std::stod(std::string(text));
      }
    }
    return samples;
  }

  // What a query answered: its result type, the series (or 1 for a scalar)
  // and how many of their values are finite numbers.
  struct Answer {
    std::string type;
    size_t series = 0;
    size_t finite = 0;
  };

  // Runs an /api/v1/query or /api/v1/query_range URL (its parameters already
  // percent-encoded) and counts what it answered; an error when Prometheus
  // rejects the query (e.g. a parse error).
  Result<Answer> Run(const std::string& url) {
    auto r = http::Fetch("127.0.0.1", port_, url, {.timeout = 30s});
    if (!r.ok()) return r.status();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r->body).get(doc) != simdjson::SUCCESS) {
      return Status::Corruption("not JSON: " + r->body.substr(0, 200));
    }
    std::string_view status;
    if (doc["status"].get_string().get(status) != simdjson::SUCCESS || status != "success") {
      return Status::InvalidArgument(r->body.substr(0, 600));
    }
    Answer answer;
    std::string_view type;
    if (doc["data"]["resultType"].get_string().get(type) != simdjson::SUCCESS) {
      return Status::Corruption("no resultType: " + r->body.substr(0, 200));
    }
    answer.type = std::string(type);
    auto count = [&](simdjson::dom::element pair) {
      std::string_view text;
      if (pair.at(1).get_string().get(text) == simdjson::SUCCESS &&
          std::isfinite(std::strtod(std::string(text).c_str(), nullptr))) {
        ++answer.finite;
      }
    };
    if (answer.type == "scalar") {
      answer.series = 1;
      count(doc["data"]["result"].value_unsafe());
      return answer;
    }
    simdjson::dom::array result;
    if (doc["data"]["result"].get_array().get(result) != simdjson::SUCCESS) {
      return Status::Corruption("no result array: " + r->body.substr(0, 200));
    }
    for (simdjson::dom::element e : result) {
      ++answer.series;
      simdjson::dom::array values;
      simdjson::dom::element value;
      if (e["values"].get_array().get(values) == simdjson::SUCCESS) {
        for (simdjson::dom::element pair : values) count(pair);
      } else if (e["value"].get(value) == simdjson::SUCCESS) {
        count(value);
      }
    }
    return answer;
  }

  // The values of `label` over the series `selector` matches (every series
  // when empty) between two instants, as Grafana's label_values() asks; with
  // an empty `label`, the label names of those series.
  Result<std::vector<std::string>> LabelValues(const std::string& label,
                                               const std::string& selector, double start_s,
                                               double end_s) {
    std::string url = (label.empty() ? std::string("/api/v1/labels")
                                     : "/api/v1/label/" + label + "/values") +
                      "?start=" + std::to_string(start_s) + "&end=" + std::to_string(end_s);
    if (!selector.empty()) url += "&match[]=" + http::PercentEncode(selector);
    auto r = http::Fetch("127.0.0.1", port_, url, {.timeout = 10s});
    if (!r.ok()) return r.status();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array data;
    if (parser.parse(r->body).get(doc) != simdjson::SUCCESS ||
        doc["data"].get_array().get(data) != simdjson::SUCCESS) {
      return Status::InvalidArgument(url + ": " + r->body.substr(0, 400));
    }
    std::vector<std::string> values;
    for (simdjson::dom::element v : data) {
      std::string_view text;
      if (v.get_string().get(text) == simdjson::SUCCESS) values.emplace_back(text);
    }
    return values;
  }

  // The single value of an aggregating query; nullopt when it has no sample.
  std::optional<double> Value(const std::string& expr) {
    auto samples = Query(expr);
    if (!samples.ok()) {
      ADD_FAILURE() << samples.status().ToString();
      return std::nullopt;
    }
    if (samples->empty()) return std::nullopt;
    return (*samples)[0].value;
  }

  void Stop() {
    if (!process_ || !process_->running()) return;
    process_->Signal(SIGTERM);
    process_->Wait(30s, "prometheus");
  }

 private:
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists("/usr/bin/prometheus"))
        << "Debian's prometheus package is not installed (scripts/deps installs it)";
    prefix_ = testing::UniqueName("prom") + "-";
    app_id_ = prefix_ + "app";
    group_ = prefix_ + "sink";
    dir_ = std::filesystem::temp_directory_path() / prefix_;
    std::filesystem::create_directories(dir_);
    schema_ = std::make_unique<testing::ScopedSchema>();
    auto conn = sinks::PgConnection::Connect(schema_->url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_.emplace(std::move(*conn));
    std::vector<kafka::NewTopic> topics;
    for (const char* t : {"user-events", "product-view", "orders"}) {
      topics.push_back({prefix_ + t, kPartitions, 1, {}});
    }
    for (const char* t : testing::kContractTables) topics.push_back({prefix_ + t, kPartitions, 1, {}});
    topics.push_back({prefix_ + "sink-dlq", 1, 1, {}});
    auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    ASSERT_TRUE(kafka::EnsureTopics(admin->get(), topics, 60s).ok());
  }

  void TearDown() override {
    prometheus_.reset();
    for (auto& app : apps_) app.reset();
    sink_.reset();
    producer_.reset();
    auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    std::vector<std::string> topics = testing::TopicsStartingWith(prefix_);
    if (client.ok() && !topics.empty()) {
      IgnoreError(kafka::DeleteTopics(client->get(), topics, 30s),
                  "best-effort clean-up: leftover topics have unique names");
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Log(const std::string& name) const { return (dir_ / (name + ".log")).string(); }

  void StartApp(int i) {
    app_ports_[i] = FreePort();
    apps_[i] = std::make_unique<ChildProcess>(
        std::vector<std::string>{testing::ToolDir() + "/eventflow", "run",
                                 "--bootstrap-servers", KafkaBootstrap(),
                                 "--application-id", app_id_,
                                 "--instance-id", "i" + std::to_string(i),
                                 "--threads", "1",
                                 "--state-dir", (dir_ / ("state-" + std::to_string(i))).string(),
                                 "--commit-interval-ms", "100",
                                 "--http-port", std::to_string(app_ports_[i]),
                                 "--topic-prefix", prefix_,
                                 "--kafka.statistics.interval.ms=1000"},
        Log("app-" + std::to_string(i)));
  }

  void StartSink() {
    sink_port_ = FreePort();
    sink_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{testing::ToolDir() + "/eventflow-sink",
                                 "--bootstrap-servers", KafkaBootstrap(),
                                 "--postgres-url", schema_->url(),
                                 "--group", group_,
                                 "--topic-prefix", prefix_,
                                 "--dlq-topic", prefix_ + "sink-dlq",
                                 "--batch-ms", "50ms",
                                 "--http-port", std::to_string(sink_port_),
                                 "--kafka.statistics.interval.ms=1000"},
        Log("sink"));
  }

  std::string PrometheusConfig() const {
    std::string config =
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 900ms\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        // honor_labels: the exported `instance` (the application instance)
        // stays; without it Prometheus renames it exported_instance.
        "  - job_name: eventflow\n"
        "    honor_labels: true\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:" +
        std::to_string(app_ports_[0]) + "', '127.0.0.1:" + std::to_string(app_ports_[1]) +
        "']\n"
        "  - job_name: eventflow-sink\n"
        "    honor_labels: true\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:" +
        std::to_string(sink_port_) + "']\n";
    return config;
  }

  // Fails when a process exited early, naming its log.
  bool ProcessesAlive() {
    for (int i = 0; i < 2; ++i) {
      if (apps_[i] && testing::ProcessExited(apps_[i]->pid())) {
        ADD_FAILURE() << "instance " << i << " exited; see " << Log("app-" + std::to_string(i));
        return false;
      }
    }
    if (sink_ && testing::ProcessExited(sink_->pid())) {
      ADD_FAILURE() << "the sink exited; see " << Log("sink");
      return false;
    }
    return true;
  }

  // Polls `done` every 250 ms until it holds or `timeout` passes (then fails
  // naming `what` and the last value `describe` gives).
  bool Await(const std::string& what, std::chrono::seconds timeout,
             const std::function<bool()>& done,
             const std::function<std::string()>& describe = {}) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      if (!ProcessesAlive()) return false;
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what
                  << (describe ? "; last: " + describe() : std::string()) << "; logs in " << dir_;
    return false;
  }

  // Waits until `expr` (an aggregation) equals `expected` in Prometheus.
  bool AwaitValue(const std::string& expr, double expected, std::chrono::seconds timeout) {
    std::optional<double> last;
    return Await(
        expr + " == " + std::to_string(expected), timeout,
        [&] {
          last = prometheus_->Value(expr);
          return last && *last == expected;
        },
        [&] { return last ? std::to_string(*last) : std::string("no sample"); });
  }

  // Waits until `expr` (an aggregation of counters) is at least `bound`.
  bool AwaitAtLeast(const std::string& expr, double bound, std::chrono::seconds timeout) {
    std::optional<double> last;
    return Await(
        expr + " >= " + std::to_string(bound), timeout,
        [&] {
          last = prometheus_->Value(expr);
          return last && *last >= bound;
        },
        [&] { return last ? std::to_string(*last) : std::string("no sample"); });
  }

  // 8. The dashboards against this run (see the file comment).
  void CheckDashboards();

  std::string App() const { return "application_id=\"" + app_id_ + "\""; }
  std::string Group() const { return "group=\"" + group_ + "\""; }

  std::string prefix_, app_id_, group_;
  std::filesystem::path dir_;
  std::unique_ptr<testing::ScopedSchema> schema_;
  std::optional<sinks::PgConnection> conn_;
  int app_ports_[2] = {0, 0};
  int sink_port_ = 0;
  std::unique_ptr<ChildProcess> apps_[2];
  std::unique_ptr<ChildProcess> sink_;
  std::unique_ptr<ChildProcess> producer_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

int64_t SumEnds(const std::string& topic) {
  auto ends = testing::EndOffsets(topic);
  if (!ends.ok()) {
    ADD_FAILURE() << ends.status().ToString();
    return -1;
  }
  int64_t sum = 0;
  for (int64_t e : *ends) sum += e;
  return sum;
}

TEST_F(PrometheusTest, ARealPrometheusScrapesThePipelineAndItsSeriesMatchIndependentCounts) {
  StartApp(0);
  StartApp(1);
  StartSink();
  prometheus_ = std::make_unique<PrometheusServer>(dir_ / "prometheus", PrometheusConfig());
  ASSERT_TRUE(prometheus_->AwaitReady(60s)) << "see " << (dir_ / "prometheus" / "prometheus.log");

  // Both instances ready, sharing the 12 tasks, and the sink ready — as
  // Prometheus sees them (so no rebalance happens while the input flows).
  ASSERT_TRUE(AwaitValue("sum(up)", 3, 120s));
  ASSERT_TRUE(AwaitValue("sum(eventflow_ready{" + App() + "})", 2, 180s));
  // The tasks: one per partition of each sub-topology's source topics
  // (eventflow describe: 0 reads the inputs, 1 revenue-by-currency, 2 the
  // attribution joins, 3 attribution-by-order), counted from the topics.
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
  ASSERT_TRUE(admin.ok());
  int tasks = kPartitions;
  for (const char* repartition :
       {"revenue-by-currency", "attribution-join-left", "attribution-by-order"}) {
    const std::string topic = app_id_ + "-" + repartition + "-repartition";
    Result<int> n = Status::NotFound("not yet");
    ASSERT_TRUE(Await(topic + " to exist", 60s, [&] {
      n = kafka::PartitionCount(admin->get(), topic, 10s);
      return n.ok();
    }));
    tasks += *n;
  }
  ASSERT_TRUE(
      AwaitValue("sum(eventflow_active_tasks{" + App() + ",state=\"running\"})", tasks, 120s));
  ASSERT_TRUE(AwaitValue("count(sum by (instance) (eventflow_active_tasks{" + App() +
                             ",state=\"running\"}) > 0)",
                         2, 60s));
  ASSERT_TRUE(AwaitValue("eventflow_sink_ready{" + Group() + "}", 1, 120s));

  // Live input: event times follow the wall clock.
  producer_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{testing::ToolDir() + "/eventflow-produce",
                               "--bootstrap-servers", KafkaBootstrap(),
                               "--topic-prefix", prefix_,
                               "--rate", std::to_string(kRate),
                               "--count", std::to_string(kEvents),
                               "--progress", "off"},
      Log("produce"));
  ASSERT_EQ(producer_->Wait(120s, "eventflow-produce"), 0) << "see " << Log("produce");
  const int64_t views = SumEnds(prefix_ + "product-view");
  const int64_t orders = SumEnds(prefix_ + "orders");
  const int64_t sent = views + orders;
  std::printf("sent: %lld views, %lld orders\n", static_cast<long long>(views),
              static_cast<long long>(orders));
  ASSERT_GT(views, 0);
  ASSERT_GT(orders, 0);

  // The application commits the inputs to their ends; the sink stores the
  // output topics' ends.
  for (const char* t : {"product-view", "orders"}) {
    auto ends = testing::EndOffsets(prefix_ + t);
    ASSERT_TRUE(ends.ok());
    ASSERT_TRUE(testing::AwaitCommitted(app_id_, prefix_ + t, *ends, 120s).ok());
  }
  std::vector<std::string> outputs;
  for (const char* t : testing::kContractTables) outputs.push_back(prefix_ + t);
  PartitionOffsets last_ends;
  ASSERT_TRUE(Await("the sink to store the output topics' ends, stable", 120s, [&] {
    PartitionOffsets ends;
    for (const auto& [tp, end] : testing::EndOffsetsOf(outputs)) {
      if (end > 0) ends[tp] = end;
    }
    const bool stored = !ends.empty() && testing::StoredOffsets(*conn_) == ends;
    const bool stable = ends == last_ends;
    last_ends = ends;
    return stored && stable;
  }));

  // 1. Processed = records sent: sub-topology 0 reads orders and
  //    product-view; nothing was dead-lettered.
  EXPECT_TRUE(AwaitValue("sum(eventflow_records_processed_total{" + App() + ",task=~\"0_.*\"})",
                         static_cast<double>(sent), 60s));
  EXPECT_TRUE(AwaitValue("sum(eventflow_dlq_records_total{" + App() + "})", 0, 10s));
  EXPECT_TRUE(AwaitValue("sum(eventflow_records_dropped_total{" + App() + "})", 0, 10s));

  // 2. Lag returns to 0: every input partition has a lag series (statistics
  //    every second), all 0; the sink's too.
  EXPECT_TRUE(AwaitValue("count(eventflow_consumer_lag_records{" + App() + ",topic=~\"" +
                             prefix_ + "(orders|product-view)\"})",
                         2 * kPartitions, 60s));
  EXPECT_TRUE(AwaitValue("max(eventflow_consumer_lag_records{" + App() + "})", 0, 60s));
  EXPECT_TRUE(AwaitValue("count(eventflow_sink_lag_records{" + Group() + "})",
                         4 * kPartitions, 60s));
  EXPECT_TRUE(AwaitValue("max(eventflow_sink_lag_records{" + Group() + "})", 0, 60s));

  // 3. Commit histograms have counts, consistent with the transactions.
  const auto commits = prometheus_->Value("sum(eventflow_commit_duration_seconds_count{" + App() + "})");
  const auto inf = prometheus_->Value("sum(eventflow_commit_duration_seconds_bucket{" + App() +
                                      ",le=\"+Inf\"})");
  const auto txns = prometheus_->Value("sum(eventflow_transactions_total{" + App() +
                                       ",result=\"committed\"}) + sum(eventflow_commit_failures_total{" +
                                       App() + "})");
  ASSERT_TRUE(commits && inf && txns);
  EXPECT_GT(*commits, 0);
  EXPECT_EQ(*inf, *commits);
  EXPECT_LE(*commits, *txns);
  EXPECT_TRUE(prometheus_->Value("sum(eventflow_sink_commit_duration_seconds_count{" + Group() +
                                 "})")
                  .value_or(0) > 0);
  EXPECT_EQ(prometheus_->Value("sum(eventflow_sink_batch_duration_seconds_count{" + Group() + "})"),
            prometheus_->Value("sum(eventflow_sink_batches_total{" + Group() + "})"));

  // 4. End-to-end latency of each output topic: counted, mean below 15 s,
  //    99th percentile below 60 s (commits every 100 ms; live event times).
  for (const char* t : testing::kContractTables) {
    const std::string sel = App() + ",topic=\"" + prefix_ + t + "\"";
    const auto count = prometheus_->Value("sum(eventflow_e2e_latency_seconds_count{" + sel + "})");
    const auto sum = prometheus_->Value("sum(eventflow_e2e_latency_seconds_sum{" + sel + "})");
    const auto p99 = prometheus_->Value(
        "histogram_quantile(0.99, sum by (le) (eventflow_e2e_latency_seconds_bucket{" + sel +
        "}))");
    ASSERT_TRUE(count && sum && p99) << t;
    EXPECT_GT(*count, 0) << t;
    EXPECT_LT(*sum / *count, 15.0) << t;
    EXPECT_LT(*p99, 60.0) << t;
    std::printf("e2e latency %s: %.0f records, mean %.3f s, p99 %.3f s\n", t, *count,
                *sum / *count, *p99);
  }

  // 5. The sink's rows written against the tables counted with SQL.
  for (const char* t : testing::kContractTables) {
    auto rows = conn_->Query(std::string("SELECT count(*) FROM ") + t, {});
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    const double counted = std::stod(std::string(rows->Get(0, 0)));
    const std::string expr =
        "sum(eventflow_sink_rows_written_total{" + Group() + ",table=\"" + t + "\"})";
    if (std::string_view(t) == "orders_raw") {
      EXPECT_TRUE(AwaitValue(expr, counted, 30s));  // every order written once
      EXPECT_EQ(counted, static_cast<double>(orders));
    } else {
      // Rows in the table were written (updates are written again); the
      // sample Prometheus holds may predate the last rows counted, so wait
      // for a scrape that has them.
      EXPECT_TRUE(AwaitAtLeast(expr, counted, 30s)) << t << ": updates are written again";
      EXPECT_GT(counted, 0) << t;
    }
  }

  // 6. Every family the binaries export reached Prometheus.
  for (const char* name :
       {"eventflow_up", "eventflow_application_state", "eventflow_ready",
        "eventflow_records_processed_total", "eventflow_dlq_records_total",
        "eventflow_records_dropped_total", "eventflow_punctuations_total",
        "eventflow_process_duration_seconds_bucket", "eventflow_commit_duration_seconds_bucket",
        "eventflow_commit_failures_total", "eventflow_transactions_total",
        "eventflow_thread_time_seconds_total", "eventflow_rebalances_total",
        "eventflow_active_tasks", "eventflow_standby_tasks", "eventflow_consumer_lag_records",
        "eventflow_standby_records_total", "eventflow_task_restores_total",
        "eventflow_task_restore_records_total", "eventflow_task_move_gap_seconds_bucket",
        "eventflow_warming_up", "eventflow_warmup_tasks",
        "eventflow_e2e_latency_seconds_bucket", "eventflow_record_cache_hits_total",
        "eventflow_record_cache_bytes", "eventflow_state_store_bytes",
        "eventflow_rocksdb_live_sst_bytes", "eventflow_rocksdb_memtable_bytes",
        "eventflow_rocksdb_estimated_keys", "eventflow_rocksdb_block_cache_usage_bytes",
        "eventflow_rocksdb_block_cache_capacity_bytes", "eventflow_rocksdb_memtable_usage_bytes",
        "eventflow_record_cache_limit_bytes", "eventflow_restored_records_total",
        "eventflow_restore_remaining_records", "eventflow_partition_stalls_total",
        "eventflow_stalled_partitions", "eventflow_kafka_client_queue_messages",
        "eventflow_kafka_client_messages_total", "eventflow_kafka_broker_up",
        "eventflow_kafka_broker_state", "eventflow_kafka_broker_rtt_seconds",
        "eventflow_kafka_broker_requests_total", "eventflow_kafka_topic_messages_total",
        "eventflow_kafka_topic_bytes_total"}) {
    const auto n = prometheus_->Value("count({__name__=\"" + std::string(name) + "\"," + App() + "})");
    EXPECT_TRUE(n && *n > 0) << name << " not in Prometheus";
  }
  for (const char* name :
       {"eventflow_sink_up", "eventflow_sink_ready", "eventflow_sink_postgres_connected",
        "eventflow_sink_rows_written_total", "eventflow_sink_rows_deleted_total",
        "eventflow_sink_records_total", "eventflow_sink_batches_total",
        "eventflow_sink_batch_duration_seconds_bucket", "eventflow_sink_commit_duration_seconds_bucket",
        "eventflow_sink_retries_total", "eventflow_sink_fenced_total",
        "eventflow_sink_reconnects_total", "eventflow_sink_dlq_records_total",
        "eventflow_sink_partition_stalls_total", "eventflow_sink_stalled_partitions",
        "eventflow_sink_lag_records", "eventflow_records_lost_total", "eventflow_kafka_broker_up",
        "eventflow_kafka_client_messages_total"}) {
    const auto n =
        prometheus_->Value("count({__name__=\"" + std::string(name) + "\"," + Group() + "})");
    EXPECT_TRUE(n && *n > 0) << name << " not in Prometheus (sink)";
  }
  // The client figures are fed: the consumers fetched the inputs (as of
  // their latest statistics report, every second).
  const std::string fetched_expr =
      "sum(eventflow_kafka_topic_messages_total{" + App() +
      ",client=\"consumer\",direction=\"in\",topic=~\"" + prefix_ + "(orders|product-view)\"})";
  std::optional<double> fetched;
  EXPECT_TRUE(Await(
      fetched_expr + " >= records sent", 30s,
      [&] {
        fetched = prometheus_->Value(fetched_expr);
        return fetched && *fetched >= static_cast<double>(sent);
      },
      [&] { return fetched ? std::to_string(*fetched) : std::string("no sample"); }));

  // 7. Health, and promtool's lint of both expositions.
  for (int port : {app_ports_[0], app_ports_[1], sink_port_}) {
    for (const char* path : {"/healthz", "/readyz"}) {
      auto r = http::Fetch("127.0.0.1", port, path);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->status, 200) << port << path << ": " << r->body;
    }
  }
  for (int port : {app_ports_[0], sink_port_}) {
    auto body = testing::HttpGet(port, "/metrics");
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    const std::filesystem::path file = dir_ / ("metrics-" + std::to_string(port) + ".txt");
    std::ofstream(file) << *body;
    testing::ProcessResult lint = testing::RunProcess(
        {"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + file.string()});
    EXPECT_EQ(lint.exit_code, 0) << "promtool check metrics on port " << port << ":\n"
                                 << lint.out << lint.err;
  }

  // 8. Every dashboard's queries, as Grafana would run them.
  CheckDashboards();

  // Graceful stops.
  for (auto& app : apps_) {
    app->Signal(SIGTERM);
    EXPECT_EQ(app->Wait(60s, "an application instance"), 0);
  }
  sink_->Signal(SIGTERM);
  EXPECT_EQ(sink_->Wait(60s, "eventflow-sink"), 0);
  prometheus_->Stop();
}

void PrometheusTest::CheckDashboards() {
  namespace grafana = testing::grafana;
  constexpr int64_t kScrapeIntervalMs = 1000;  // PrometheusConfig(): the data source's scrape interval

  // What the binaries export, from their /metrics now. A family a binary
  // declares (# TYPE) without a series yet (eventflow_records_lost_total
  // before any loss) would carry that binary's constant labels: the labels
  // every one of its samples has (application_id and instance; group).
  grafana::MetricsExposition exported;
  std::map<std::string, std::set<std::string>> labels_of;  // sample name -> possible labels
  std::set<std::string> exported_labels = {"job", "instance"};  // Prometheus' target labels
  for (int port : {app_ports_[0], app_ports_[1], sink_port_}) {
    auto body = testing::HttpGet(port, "/metrics");
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    auto e = grafana::ParseExposition(*body);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    std::optional<std::set<std::string>> constant;
    for (const auto& [name, labels] : e->samples) {
      labels_of[name].insert(labels.begin(), labels.end());
      exported_labels.insert(labels.begin(), labels.end());
      if (!constant) {
        constant = labels;
      } else {
        std::set<std::string> both;
        std::set_intersection(constant->begin(), constant->end(), labels.begin(), labels.end(),
                              std::inserter(both, both.begin()));
        constant = std::move(both);
      }
    }
    if (!constant) constant.emplace();
    for (const auto& [family, type] : e->families) {
      for (const char* suffix : {"", "_bucket", "_sum", "_count"}) {
        if (*suffix && type != "histogram") continue;
        labels_of[family + suffix].insert(constant->begin(), constant->end());
      }
    }
    exported.Merge(*e);
  }
  // Series come and go (a broker's latency window without requests, a
  // family before its first event): the labels a metric had in Prometheus
  // over the last hour count too.
  std::map<std::string, std::set<std::string>> seen_labels;
  auto labels_seen = [&](const std::string& metric) -> const std::set<std::string>& {
    auto it = seen_labels.find(metric);
    if (it != seen_labels.end()) return it->second;
    std::set<std::string>& labels = seen_labels[metric];
    const double now_s = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    auto names = prometheus_->LabelValues("", metric, now_s - 3600, now_s);
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    if (names.ok()) labels.insert(names->begin(), names->end());
    return labels;
  };
  // Checks the metric and label names of an expanded PromQL expression.
  std::set<std::string> used_metrics;
  auto check_names = [&](const std::string& where, const std::string& expr) {
    auto names = grafana::ReferencedNames(expr);
    ASSERT_TRUE(names.ok()) << where << ": " << names.status().ToString();
    for (const std::string& metric : names->metrics) {
      used_metrics.insert(metric);
      EXPECT_TRUE(exported.Exports(metric)) << where << ": " << metric << " is not exported";
    }
    for (const grafana::VectorSelector& s : names->selectors) {
      for (const grafana::LabelMatcher& m : s.matchers) {
        EXPECT_TRUE(labels_of[s.metric].count(m.label) || labels_seen(s.metric).count(m.label))
            << where << ": " << s.metric << " has no label " << m.label;
      }
    }
    for (const std::string& label : names->labels) {
      EXPECT_TRUE(exported_labels.count(label)) << where << ": no series has label " << label;
    }
  };

  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(EVENTFLOW_SOURCE_DIR) / "dashboards")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 4u);

  // The variables' expected values: this run's application, instances, sink group.
  const std::map<std::string, std::set<std::string>> expected_values = {
      {"application", {app_id_}}, {"instance", {"i0", "i1"}}, {"sink", {group_}}};
  int promql = 0, sql = 0;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto d = grafana::LoadDashboard(file);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    for (const std::string& problem : grafana::StructureProblems(*d)) ADD_FAILURE() << problem;
    // The dashboard's default time range, ending now.
    auto from = grafana::ParseGrafanaTime(d->time_from, now_ms);
    auto to = grafana::ParseGrafanaTime(d->time_to, now_ms);
    ASSERT_TRUE(from.ok() && to.ok()) << d->time_from << " .. " << d->time_to;
    const grafana::TimeRange range{*from, *to};

    // The variables, in order, as Grafana resolves them: a query variable's
    // label_values() runs with the earlier variables' values; a single-value
    // variable takes this run's value, a multi-value one "All".
    grafana::VariableValues values;
    for (const grafana::Variable& v : d->variables) {
      if (v.type != "query") continue;
      auto query = grafana::ExpandPromQL(v.query, *d, values, range, kScrapeIntervalMs,
                                         kScrapeIntervalMs);
      ASSERT_TRUE(query.ok()) << "$" << v.name << ": " << query.status().ToString();
      auto lv = grafana::ParseLabelValues(*query);
      ASSERT_TRUE(lv.ok()) << lv.status().ToString();
      if (!lv->selector.empty()) check_names("$" + v.name, lv->selector);
      EXPECT_TRUE(exported_labels.count(lv->label)) << "$" << v.name << ": no series has label "
                                                     << lv->label;
      auto listed = prometheus_->LabelValues(lv->label, lv->selector, range.from_ms / 1000.0,
                                             range.to_ms / 1000.0);
      ASSERT_TRUE(listed.ok()) << listed.status().ToString();
      auto expected = expected_values.find(v.name);
      ASSERT_NE(expected, expected_values.end()) << "no expectation for $" << v.name;
      if (v.multi || v.include_all) {
        EXPECT_EQ(std::set<std::string>(listed->begin(), listed->end()), expected->second)
            << "$" << v.name << ": " << *query;
        values[v.name] = *listed;
      } else {
        EXPECT_NE(std::find(listed->begin(), listed->end(), *expected->second.begin()),
                  listed->end())
            << "$" << v.name << ": " << *query << " does not list " << *expected->second.begin();
        values[v.name] = {*expected->second.begin()};
      }
    }

    for (const grafana::Panel& p : d->panels) {
      // Grafana asks for about one point per pixel: ~80 px per grid column.
      const int64_t max_points = p.max_data_points > 0 ? p.max_data_points : p.grid_w * 80;
      int64_t min_interval = kScrapeIntervalMs;
      if (!p.interval.empty()) {
        auto ms = grafana::ParseIntervalMs(p.interval);
        ASSERT_TRUE(ms.ok()) << p.title << ": " << ms.status().ToString();
        min_interval = *ms;
      }
      const int64_t interval = grafana::PrometheusIntervalMs(range, max_points, min_interval);
      for (const grafana::Target& t : p.targets) {
        const std::string where = p.title + " (" + t.ref_id + ")";
        if (t.datasource.type == grafana::kPrometheus) {
          ++promql;
          auto expr = grafana::ExpandPromQL(t.expr, *d, values, range, interval, kScrapeIntervalMs);
          ASSERT_TRUE(expr.ok()) << where << ": " << expr.status().ToString();
          check_names(where, *expr);
          // A range query over the time range with the interval as its step
          // (start and end aligned to it), or an instant query at its end.
          const std::string q = "query=" + http::PercentEncode(*expr);
          std::string url;
          if (t.instant) {
            url = "/api/v1/query?" + q + "&time=" + std::to_string(range.to_ms / 1000.0);
          } else {
            const int64_t start = range.from_ms / interval * interval;
            const int64_t end = range.to_ms / interval * interval;
            url = "/api/v1/query_range?" + q + "&start=" + std::to_string(start / 1000.0) +
                  "&end=" + std::to_string(end / 1000.0) +
                  "&step=" + std::to_string(interval / 1000.0);
          }
          auto answer = prometheus_->Run(url);
          if (!answer.ok()) {
            ADD_FAILURE() << where << ": " << *expr << ": " << answer.status().ToString();
            continue;
          }
          EXPECT_GT(answer->series, 0u) << where << ": no data for " << *expr;
          EXPECT_GT(answer->finite, 0u) << where << ": only NaN/Inf for " << *expr;
        } else if (t.datasource.type == grafana::kPostgres) {
          ++sql;
          auto text = grafana::ExpandSql(t.raw_sql, *d, values, range, interval);
          ASSERT_TRUE(text.ok()) << where << ": " << text.status().ToString();
          auto rows = conn_->Query(*text, {});
          if (!rows.ok()) {
            ADD_FAILURE() << where << ": " << *text << ": " << rows.status().ToString();
            continue;
          }
          EXPECT_GT(rows->rows(), 0) << where << ": no rows from " << *text;
          // Data, not a row of NULLs or zeros (an aggregate over nothing).
          bool has_time = false, has_data = false;
          for (int c = 0; c < rows->columns(); ++c) {
            const std::string_view name = rows->ColumnName(c);
            if (name == "time") {
              has_time = true;
              continue;
            }
            for (int r = 0; r < rows->rows(); ++r) {
              const std::string_view v = rows->Get(r, c);
              has_data |= !rows->IsNull(r, c) && v != "0" && v != "0.00";
            }
          }
          if (t.format == "time_series") {
            EXPECT_TRUE(has_time) << where << ": no time column";
          }
          EXPECT_TRUE(has_data) << where << ": only NULLs or zeros from " << *text;
        } else {
          ADD_FAILURE() << where << ": data source " << t.datasource.type;
        }
      }
    }
  }
  std::printf("dashboards: %d PromQL and %d SQL queries run\n", promql, sql);
  std::string unused;
  for (const auto& [family, type] : exported.families) {
    const bool used = used_metrics.count(family) || used_metrics.count(family + "_bucket") ||
                      used_metrics.count(family + "_count") || used_metrics.count(family + "_sum");
    if (!used) unused += " " + family;
  }
  std::printf("exported, on no dashboard:%s\n", unused.empty() ? " none" : unused.c_str());
}

}  // namespace
}  // namespace eventflow
