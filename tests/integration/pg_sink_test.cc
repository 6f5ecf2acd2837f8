// The exactly-once PostgreSQL sink against the real broker and PostgreSQL
// (labels kafka, postgres). Every expected table is recomputed here from the
// records the test produced: the latest value per key, tombstones deleting,
// aborted transactions invisible.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/dead_letter.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/sinks/pg_sink.h"
#include "eventflow/sinks/sink_schema.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/postgres_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow::sinks {
namespace {

using testing::KafkaBootstrap;
using testing::UniqueName;
using Param = std::optional<std::string_view>;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kPartitions = 3;
const char* const kTables[] = {"orders_raw", "revenue_by_currency_5min", "conversion_funnel_5min",
                               "order_attribution"};

// --- Producing -----------------------------------------------------------------

struct Rec {
  int table;                         // index into kTables
  std::string key;                   // Kafka key (JSON)
  std::optional<std::string> value;  // nullopt: tombstone
  std::vector<std::string> cells;    // the expected row as PostgreSQL text (values only)
  int32_t partition = -1;            // from the delivery report
  int64_t offset = -1;
};

class Producer {
 public:
  explicit Producer(bool transactional) {
    kafka::KafkaProperties props = testing::TestKafkaProperties();
    props.Set("enable.idempotence", "true");
    props.Set("acks", "all");
    props.Set("linger.ms", "5");
    if (transactional) props.Set("transactional.id", UniqueName("pg-sink-test-txn"));
    auto conf = kafka::BuildKafkaConf(props);
    EXPECT_TRUE(conf.ok()) << conf.status().ToString();
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
    auto rk = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
    EXPECT_TRUE(rk.ok()) << rk.status().ToString();
    rk_ = std::move(*rk);
    if (transactional) {
      kafka::KafkaError e(rd_kafka_init_transactions(rk_.get(), 60'000));
      EXPECT_FALSE(e) << rd_kafka_error_string(e.get());
    }
  }

  // Produces `records` (filling in their coordinates); in a transaction that is
  // committed, or aborted when `abort`, for a transactional producer.
  void Send(const std::string& prefix, std::vector<Rec>& records, size_t begin, size_t end,
            bool in_transaction = false, bool abort = false) {
    if (in_transaction) {
      kafka::KafkaError e(rd_kafka_begin_transaction(rk_.get()));
      ASSERT_FALSE(e) << rd_kafka_error_string(e.get());
    }
    for (size_t i = begin; i < end; ++i) {
      Rec& r = records[i];
      const std::string topic = prefix + kTables[r.table];
      void* value = r.value ? r.value->data() : nullptr;
      const size_t value_size = r.value ? r.value->size() : 0;
      rd_kafka_resp_err_t err;
      do {
        err = rd_kafka_producev(
            rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
            RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
            RD_KAFKA_V_VALUE(value, value_size),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&r), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk_.get(), 10);
      } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
      ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    }
    if (in_transaction) {
      // Deliver first: aborting would purge unsent records, and librdkafka 2.0.2
      // committing with sends still in flight met INVALID_TXN_STATE on Kafka 4.1.
      ASSERT_EQ(rd_kafka_flush(rk_.get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
      kafka::KafkaError e(abort ? rd_kafka_abort_transaction(rk_.get(), 60'000)
                                  : rd_kafka_commit_transaction(rk_.get(), 60'000));
      ASSERT_FALSE(e) << rd_kafka_error_string(e.get());
    }
    ASSERT_EQ(rd_kafka_flush(rk_.get(), 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_poll(rk_.get(), 0);
    for (size_t i = begin; i < end; ++i) ASSERT_GE(records[i].offset, 0) << "record " << i;
  }

  rd_kafka_t* get() { return rk_.get(); }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    auto* r = static_cast<Rec*>(msg->_private);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR || msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE) {
      r->partition = msg->partition;
      r->offset = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? msg->offset : 0;
    }
  }
  kafka::KafkaHandle rk_;
};

// --- Records and the expected tables --------------------------------------------

std::string Ts(int64_t minute, int ms = 0) {  // 2025-11-30T<h>:<m>:00.<ms>Z
  char buf[40];
  std::snprintf(buf, sizeof buf, "2025-11-30T%02lld:%02lld:00.%03dZ", static_cast<long long>(minute / 60 % 24),
                static_cast<long long>(minute % 60), ms);
  return buf;
}
std::string Money(int64_t cents) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}
std::string Q(const std::string& s) { return "\"" + s + "\""; }

// Random records over few keys per table (so keys repeat), some tombstones.
std::vector<Rec> MakeRecords(size_t count, uint64_t seed, double tombstone_share = 0.05) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<Rec> out;
  const char* currencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};
  for (size_t i = 0; i < count; ++i) {
    Rec r;
    r.table = pick(4);
    const bool tombstone = std::uniform_real_distribution<>(0, 1)(rng) < tombstone_share;
    switch (r.table) {
      case 0: {
        const std::string order = "o" + std::to_string(pick(300));
        const std::string user = "u" + std::to_string(pick(50));
        const std::string product = "p" + std::to_string(pick(40));
        const int64_t price = pick(1000000);
        const std::string cur = currencies[pick(5)];
        const std::string t = Ts(pick(1440), pick(1000));
        r.key = "{\"order_id\":" + Q(order) + "}";
        r.value = "{\"order_id\":" + Q(order) + ",\"user_id\":" + Q(user) + ",\"product_id\":" +
                  Q(product) + ",\"price\":" + Q(Money(price)) + ",\"currency\":" + Q(cur) +
                  ",\"event_time\":" + Q(t) + "}";
        r.cells = {order, user, product, Money(price), cur, t};
        break;
      }
      case 1: {
        const int64_t w = pick(20) * 5;
        const std::string cur = currencies[pick(5)];
        const int64_t total = pick(100000000), count_ = 1 + pick(100);
        r.key = "{\"window_start\":" + Q(Ts(w)) + ",\"currency\":" + Q(cur) + "}";
        r.value = "{\"window_start\":" + Q(Ts(w)) + ",\"currency\":" + Q(cur) +
                  ",\"window_end\":" + Q(Ts(w + 5)) + ",\"total_revenue\":" + Q(Money(total)) +
                  ",\"order_count\":" + std::to_string(count_) + ",\"avg_order_value\":" +
                  Q(Money(total / count_)) + "}";
        r.cells = {Ts(w), cur, Ts(w + 5), Money(total), std::to_string(count_), Money(total / count_)};
        break;
      }
      case 2: {
        const int64_t w = pick(10) * 5;
        const std::string user = "u" + std::to_string(pick(30));
        const int64_t views = pick(5), orders = pick(4);
        std::string rate_json = "null", rate_cell = "NULL";
        if (views > 0) {
          char buf[40];
          std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(orders) / static_cast<double>(views));
          rate_json = buf;
          rate_cell = buf;
        }
        r.key = "{\"window_start\":" + Q(Ts(w)) + ",\"user_id\":" + Q(user) + "}";
        r.value = "{\"window_start\":" + Q(Ts(w)) + ",\"user_id\":" + Q(user) + ",\"window_end\":" +
                  Q(Ts(w + 5)) + ",\"views\":" + std::to_string(views) + ",\"orders\":" +
                  std::to_string(orders) + ",\"conversion_rate\":" + rate_json + "}";
        r.cells = {Ts(w), user, Ts(w + 5), std::to_string(views), std::to_string(orders), rate_cell};
        break;
      }
      default: {
        const std::string order = "o" + std::to_string(pick(300));
        const std::string user = "u" + std::to_string(pick(50));
        const std::string product = "p" + std::to_string(pick(40));
        const int64_t t = 10 + pick(1400);
        const int views = 1 + pick(6);
        r.key = "{\"order_id\":" + Q(order) + "}";
        r.value = "{\"order_id\":" + Q(order) + ",\"user_id\":" + Q(user) + ",\"product_id\":" +
                  Q(product) + ",\"order_time\":" + Q(Ts(t)) + ",\"views_before_order\":" +
                  std::to_string(views) + ",\"last_view_time\":" + Q(Ts(t - 1, 250)) + "}";
        r.cells = {order, user, product, Ts(t), std::to_string(views), Ts(t - 1, 250)};
      }
    }
    if (tombstone) {
      r.value.reset();
      r.cells.clear();
    }
    out.push_back(std::move(r));
  }
  return out;
}

// table -> key -> row (PostgreSQL text; double columns normalised).
using Tables = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

std::string NormalDouble(const std::string& text) {
  if (text == "NULL") return text;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", std::stod(text));
  return buf;
}

// The key of an expected row: its key columns joined (as the table query does).
std::string RowKey(int table, const std::vector<std::string>& cells) {
  const size_t keys = (table == 1 || table == 2) ? 2 : 1;
  std::string k;
  for (size_t c = 0; c < keys; ++c) k += cells[c] + "|";
  return k;
}

// Applies records in order, as the contract says: upsert, or delete on a tombstone.
void Apply(const Rec& r, Tables* expected) {
  auto& table = (*expected)[kTables[r.table]];
  if (r.value) {
    std::vector<std::string> cells = r.cells;
    if (r.table == 2) cells[5] = NormalDouble(cells[5]);
    table[RowKey(r.table, cells)] = cells;
  } else {
    // The key JSON of the test's records holds the key columns in order.
    std::vector<std::string> key_cells;
    size_t pos = 0;
    while ((pos = r.key.find(":\"", pos)) != std::string::npos) {
      const size_t end = r.key.find('"', pos + 2);
      key_cells.push_back(r.key.substr(pos + 2, end - pos - 2));
      pos = end;
    }
    table.erase(RowKey(r.table, key_cells));
  }
}

Tables Expected(const std::vector<Rec>& records, const std::vector<bool>* skip = nullptr) {
  Tables expected;
  for (const char* t : kTables) expected[t];
  for (size_t i = 0; i < records.size(); ++i) {
    if (skip != nullptr && (*skip)[i]) continue;
    Apply(records[i], &expected);
  }
  return expected;
}

PgConnection Connect(const std::string& url) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) throw std::runtime_error(conn.status().ToString());
  return std::move(*conn);
}

std::string TsText(const char* column) {
  return std::string("to_char(") + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

Tables ReadTables(PgConnection& conn) {
  const std::string queries[] = {
      "SELECT order_id, user_id, product_id, price::text, currency, " + TsText("event_time") +
          " FROM orders_raw",
      "SELECT " + TsText("window_start") + ", currency, " + TsText("window_end") +
          ", total_revenue::text, order_count::text, avg_order_value::text FROM "
          "revenue_by_currency_5min",
      "SELECT " + TsText("window_start") + ", user_id, " + TsText("window_end") +
          ", views::text, orders::text, conversion_rate::text FROM conversion_funnel_5min",
      "SELECT order_id, user_id, product_id, " + TsText("order_time") +
          ", views_before_order::text, " + TsText("last_view_time") + " FROM order_attribution",
  };
  Tables out;
  for (int t = 0; t < 4; ++t) {
    auto& table = out[kTables[t]];
    auto rows = conn.Query(queries[t], {});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) continue;
    for (int r = 0; r < rows->rows(); ++r) {
      std::vector<std::string> cells;
      for (int c = 0; c < rows->columns(); ++c) {
        cells.push_back(rows->IsNull(r, c) ? "NULL" : std::string(rows->Get(r, c)));
      }
      if (t == 2) cells[5] = NormalDouble(cells[5]);
      table[RowKey(t, cells)] = cells;
    }
  }
  return out;
}

void ExpectTablesEqual(const Tables& expected, const Tables& actual) {
  for (const char* t : kTables) {
    const auto& e = expected.at(t);
    const auto& a = actual.at(t);
    EXPECT_EQ(e.size(), a.size()) << t;
    size_t shown = 0;
    for (const auto& [key, row] : e) {
      auto it = a.find(key);
      if (it == a.end()) {
        if (shown++ < 5) ADD_FAILURE() << t << ": missing row " << key;
      } else if (it->second != row) {
        if (shown++ < 5) {
          std::string x, y;
          for (auto& c : row) x += c + ",";
          for (auto& c : it->second) y += c + ",";
          ADD_FAILURE() << t << ": row " << key << " is " << y << " expected " << x;
        }
      }
    }
    for (const auto& [key, row] : a) {
      if (!e.count(key) && shown++ < 5) ADD_FAILURE() << t << ": unexpected row " << key;
    }
  }
}

// --- The environment of one test ------------------------------------------------

class PgSinkTest : public ::testing::Test {
 protected:
  PgSinkTest()
      : prefix_(UniqueName("pgsink") + "-"),
        dlq_(prefix_ + "dlq"),
        topics_(MakeTopics(prefix_, dlq_)),
        conn_(Connect(schema_.url())) {}

  static std::vector<kafka::NewTopic> MakeTopics(const std::string& prefix,
                                                 const std::string& dlq) {
    std::vector<kafka::NewTopic> topics;
    for (const char* t : kTables) topics.push_back({prefix + t, kPartitions, 1, {}});
    topics.push_back({dlq, 1, 1, {}});
    return topics;
  }

  PgSinkOptions Options() {
    PgSinkOptions o;
    o.bootstrap_servers = KafkaBootstrap();
    o.postgres_url = schema_.url();
    o.group_id = prefix_ + "group";
    o.topic_prefix = prefix_;
    o.dlq_topic = dlq_;
    o.batch_size = 200;
    o.batch_time = std::chrono::milliseconds(50);
    o.reconnect_backoff_min = std::chrono::milliseconds(20);
    o.reconnect_backoff_max = std::chrono::milliseconds(500);
    return o;
  }

  // The end offset of every partition of the four topics.
  std::map<std::pair<std::string, int>, int64_t> EndOffsets(rd_kafka_t* rk) {
    std::map<std::pair<std::string, int>, int64_t> ends;
    for (const char* t : kTables) {
      for (int p = 0; p < kPartitions; ++p) {
        const std::string topic = prefix_ + t;
        auto marks = kafka::QueryWatermarks(rk, topic, p, std::chrono::seconds(10));
        EXPECT_TRUE(marks.ok()) << marks.status().ToString();
        if (marks.ok() && marks->high > 0) ends[{topic, p}] = marks->high;
      }
    }
    return ends;
  }

  std::map<std::pair<std::string, int>, int64_t> StoredOffsets(PgConnection& conn) {
    std::map<std::pair<std::string, int>, int64_t> stored;
    auto rows = conn.Query("SELECT topic, partition, next_offset FROM eventflow_sink_offsets", {});
    if (!rows.ok()) return stored;  // the sink may not have created it yet
    for (int r = 0; r < rows->rows(); ++r) {
      stored[{std::string(rows->Get(r, 0)), std::stoi(std::string(rows->Get(r, 1)))}] =
          std::stoll(std::string(rows->Get(r, 2)));
    }
    return stored;
  }

  // Waits (bounded) until the stored offsets equal the topics' end offsets.
  // On failure says which partitions are short and by how much (1 short of a
  // transactional partition's end: only its last commit marker, i.e. the sink
  // read everything but never stored the end), and how the stored sum moved
  // during the wait (stuck or slow), plus the end of `sink_log` if given.
  bool WaitCaughtUp(rd_kafka_t* rk, std::chrono::seconds timeout = std::chrono::seconds(90),
                    const std::string& sink_log = "") {
    // The ends are read again on every look: a transaction's commit returns
    // before the coordinator has written its markers, and until then the end
    // offsets (the last stable offsets: this client reads committed) miss
    // that transaction, so a snapshot taken once can be behind the sink.
    auto ends = EndOffsets(rk);
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::map<std::pair<std::string, int>, int64_t> stored;
    std::string samples;  // the stored sum every 10 s
    auto next_sample = start;
    while (Clock::now() < deadline) {
      stored = StoredOffsets(conn_);
      ends = EndOffsets(rk);
      if (stored == ends) return true;
      if (Clock::now() >= next_sample) {
        int64_t sum = 0;
        for (const auto& [tp, next] : stored) sum += next;
        samples += " " + std::to_string(sum);
        next_sample += std::chrono::seconds(10);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int64_t end_sum = 0;
    std::string short_of_end;
    for (const auto& [tp, end] : ends) {
      end_sum += end;
      const auto it = stored.find(tp);
      const int64_t have = it == stored.end() ? -1 : it->second;
      if (have != end) {
        short_of_end += "\n  " + tp.first + " partition " + std::to_string(tp.second) +
                        ": stored " + (have < 0 ? std::string("none") : std::to_string(have)) +
                        ", end " + std::to_string(end);
      }
    }
    std::string log_tail;
    if (!sink_log.empty()) {
      const std::string text = testing::ReadFileFrom(sink_log);
      size_t from = text.size();
      for (int lines = 0; lines < 16 && from > 0; ++lines) {
        from = text.rfind('\n', from - 2);
        if (from == std::string::npos) { from = 0; break; }
      }
      log_tail = "\nlast lines of " + sink_log + ":\n" + text.substr(from);
    }
    ADD_FAILURE() << "the sink did not catch up within " << timeout.count()
                  << " s; stored sum every 10 s:" << samples << " (end sum " << end_sum
                  << "); partitions not at their end:" << short_of_end << log_tail;
    return false;
  }

  int64_t StoredSum() {
    int64_t sum = 0;
    for (const auto& [tp, next] : StoredOffsets(conn_)) sum += next;
    return sum;
  }

  testing::ScopedSchema schema_;
  std::string prefix_;
  std::string dlq_;
  testing::ScopedTopics topics_;
  PgConnection conn_;
};

// Runs a PgSink on a thread until stopped.
class SinkThread {
 public:
  explicit SinkThread(PgSinkOptions options) {
    auto sink = PgSink::Create(std::move(options));
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(*sink);
    thread_ = std::thread([this] { result_ = sink_->Run(); });
  }
  // Every test checks Stop()'s status; after a failed assertion the
  // destructor only ends the thread.
  ~SinkThread() { Join(); }
  Status Stop() {
    Join();
    return result_;
  }
  PgSinkProbe::Snapshot probe() const { return sink_->probe().Read(); }

 private:
  void Join() {
    if (thread_.joinable()) {
      sink_->Stop();
      thread_.join();
    }
  }

  std::unique_ptr<PgSink> sink_;
  std::thread thread_;
  Status result_;
};

// --- Tests ---------------------------------------------------------------------

TEST_F(PgSinkTest, WritesLatestValuePerKeyDeletesTombstonesIgnoresAbortedRecords) {
  std::vector<Rec> records = MakeRecords(6000, 1);
  std::vector<Rec> aborted = MakeRecords(500, 2, 0.5);
  Producer producer(/*transactional=*/true);
  producer.Send(prefix_, records, 0, 3000, true);
  producer.Send(prefix_, aborted, 0, aborted.size(), true, /*abort=*/true);
  producer.Send(prefix_, records, 3000, records.size(), true);

  SinkThread sink(Options());
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  ASSERT_TRUE(sink.Stop().ok());
  ExpectTablesEqual(Expected(records), ReadTables(conn_));

  const PgSinkProbe::Snapshot probe = sink.probe();
  EXPECT_EQ(probe.records_consumed, records.size());  // the aborted ones never arrive
  EXPECT_EQ(probe.dlq_records, 0u);
  uint64_t written = 0;
  for (uint64_t w : probe.rows_written) written += w;
  EXPECT_GT(written, 0u);
  EXPECT_GT(probe.batches, 0u);
}

TEST_F(PgSinkTest, ExactlyOnceAcrossKillNineOfTheBinary) {
  std::vector<Rec> records = MakeRecords(20000, 3);
  Producer producer(/*transactional=*/true);
  for (size_t i = 0; i < 10000; i += 1000) producer.Send(prefix_, records, i, i + 1000, true);
  int64_t first_half_end = 0;
  for (const auto& [tp, end] : EndOffsets(producer.get())) first_half_end += end;

  const std::vector<std::string> argv = {
      testing::ToolDir() + "/eventflow-sink", "--bootstrap-servers", KafkaBootstrap(),
      "--postgres-url", schema_.url(), "--group", prefix_ + "group", "--topic-prefix", prefix_,
      "--dlq-topic", dlq_, "--batch-size", "20", "--batch-ms", "20ms",
      // A line every 2 s in the log: whether a slow catch-up is stuck or only slow.
      "--progress-interval", "2s",
      // The killed member's partitions move after its session times out.
      "--kafka.session.timeout.ms=6000"};
  const std::string log = "/tmp/" + prefix_ + "sink.log";
  int64_t at_kill = 0;
  {
    testing::ChildProcess first(argv, log);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline && (at_kill = StoredSum()) < 1000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    first.Signal(SIGKILL);
    EXPECT_EQ(first.Wait(120s, "the first sink"), 128 + SIGKILL);
  }
  // Mid-run: some but not all of the first half was stored.
  EXPECT_GE(at_kill, 1000);
  EXPECT_LT(StoredSum(), first_half_end);
  for (size_t i = 10000; i < records.size(); i += 2000) producer.Send(prefix_, records, i, i + 2000, true);

  testing::ChildProcess second(argv, log);
  ASSERT_TRUE(WaitCaughtUp(producer.get(), std::chrono::seconds(120), log));
  second.Signal(SIGTERM);
  EXPECT_EQ(second.Wait(120s, "the second sink"), 0) << "see " << log;
  ExpectTablesEqual(Expected(records), ReadTables(conn_));
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
}

TEST_F(PgSinkTest, StaleInstanceWhoseCompareAndSetFailsDoesNotOverwrite) {
  // Only orders_raw, so that the other instance's progress is easy to state.
  std::vector<Rec> first;
  std::vector<Rec> second;
  for (Rec& r : MakeRecords(4000, 4, 0)) {
    if (r.table != 0) continue;
    (first.size() < 600 ? first : second).push_back(std::move(r));
  }
  Producer producer(/*transactional=*/false);
  producer.Send(prefix_, first, 0, first.size());

  std::atomic<bool> armed{false};
  std::atomic<int> bumps{0};
  std::vector<Rec> newer;  // what the "other instance" wrote
  PgSinkOptions options = Options();
  const std::string url = schema_.url();
  options.before_transaction_for_testing = [&] {
    if (!armed.exchange(false)) return;
    // Another instance processed everything up to the end and wrote newer rows
    // for the keys of `second`, between this instance's read and its write.
    PgConnection other = Connect(url);
    ASSERT_TRUE(other.Execute("BEGIN").ok());
    for (const auto& [tp, end] : EndOffsets(producer.get())) {
      const std::string p = std::to_string(tp.second), e = std::to_string(end);
      const std::array<Param, 3> params = {tp.first, p, e};
      auto r = other.Query(
          "INSERT INTO eventflow_sink_offsets VALUES ($1, $2, $3) ON CONFLICT (topic, partition) "
          "DO UPDATE SET next_offset = EXCLUDED.next_offset",
          params);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    for (const Rec& r : newer) {
      const std::array<Param, 6> params = {r.cells[0], r.cells[1], r.cells[2],
                                           r.cells[3], r.cells[4], r.cells[5]};
      auto q = other.Query(
          "INSERT INTO orders_raw VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO "
          "UPDATE SET user_id = $2, product_id = $3, price = $4, currency = $5, event_time = $6",
          params);
      ASSERT_TRUE(q.ok()) << q.status().ToString();
    }
    ASSERT_TRUE(other.Execute("COMMIT").ok());
    ++bumps;
  };
  for (const Rec& r : second) {
    if (!r.value) continue;
    Rec n = r;
    n.cells[1] = "newer-" + n.cells[1];
    newer.push_back(std::move(n));
  }

  SinkThread sink(std::move(options));
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  armed = true;
  producer.Send(prefix_, second, 0, second.size());
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  // Give a stale write every chance to land before looking.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(sink.Stop().ok());
  EXPECT_EQ(bumps.load(), 1);

  Tables expected = Expected(first);
  for (const Rec& r : newer) Apply(r, &expected);
  ExpectTablesEqual(expected, ReadTables(conn_));
  EXPECT_EQ(sink.probe().fenced, 1u);
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
}

// Another instance behind this one: its offsets, lower than what this sink
// has read, land under it. The compare-and-set fails; the sink goes back to
// the stored offsets — without a seek: by assigning its partitions again at
// explicit offsets — and reads those records again, so the tables still
// equal the contract.
TEST_F(PgSinkTest, StoredOffsetsMovedBackUnderTheSinkAreReadAgainWithoutASeek) {
  std::vector<Rec> first;
  std::vector<Rec> second;
  for (Rec& r : MakeRecords(4000, 12, 0.1)) {
    if (r.table != 0) continue;
    (first.size() < 600 ? first : second).push_back(std::move(r));
  }
  Producer producer(/*transactional=*/false);
  producer.Send(prefix_, first, 0, first.size());

  std::atomic<bool> armed{false};
  std::atomic<int> moved_back{0};
  std::map<std::pair<std::string, int>, int64_t> lowered;
  PgSinkOptions options = Options();
  const std::string url = schema_.url();
  options.before_transaction_for_testing = [&] {
    if (!armed.exchange(false)) return;
    // Every orders_raw row back to half of what is stored.
    PgConnection other = Connect(url);
    for (const auto& [tp, next] : StoredOffsets(other)) {
      const std::string p = std::to_string(tp.second), back = std::to_string(next / 2);
      const std::array<Param, 3> params = {tp.first, p, back};
      auto r = other.Query(
          "UPDATE eventflow_sink_offsets SET next_offset = $3 WHERE topic = $1 AND partition = $2",
          params);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      lowered[tp] = next / 2;
    }
    ++moved_back;
  };
  SinkThread sink(std::move(options));
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  armed = true;
  producer.Send(prefix_, second, 0, second.size());
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  ASSERT_TRUE(sink.Stop().ok());
  ASSERT_EQ(moved_back.load(), 1);
  ASSERT_EQ(lowered.size(), static_cast<size_t>(kPartitions));
  for (const auto& [tp, back] : lowered) EXPECT_GT(back, 0) << tp.first << " " << tp.second;
  EXPECT_EQ(sink.probe().fenced, 1u);
  // Read again: everything from half of the first part on, and the second part.
  int64_t again = 0;
  for (const Rec& r : first) {
    again += r.offset >= lowered[{prefix_ + kTables[0], r.partition}] ? 1 : 0;
  }
  EXPECT_EQ(sink.probe().records_consumed, first.size() + again + second.size());
  std::vector<Rec> all = first;
  all.insert(all.end(), second.begin(), second.end());
  ExpectTablesEqual(Expected(all), ReadTables(conn_));
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
}

TEST_F(PgSinkTest, ReconnectsWhenItsBackendIsTerminated) {
  std::vector<Rec> records = MakeRecords(12000, 5);
  Producer producer(/*transactional=*/true);
  PgSinkOptions options = Options();
  options.batch_size = 50;
  options.application_name = prefix_ + "sink";
  SinkThread sink(std::move(options));

  PgConnection admin = Connect(testing::PostgresUrl());
  const std::string app = prefix_ + "sink";
  int terminated = 0;
  for (size_t i = 0; i < records.size(); i += 1000) {
    producer.Send(prefix_, records, i, i + 1000, true);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    const std::array<Param, 1> params = {app};
    auto r = admin.Query(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1",
        params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    terminated += std::stoi(std::string(r->Get(0, 0)));
  }
  ASSERT_TRUE(WaitCaughtUp(producer.get(), std::chrono::seconds(120)));
  ASSERT_TRUE(sink.Stop().ok());
  EXPECT_GE(terminated, 3);
  EXPECT_GE(sink.probe().reconnects, 3u);
  ExpectTablesEqual(Expected(records), ReadTables(conn_));
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
}

// Records the broker deleted (DeleteRecords) before the sink wrote them: by
// default the sink stops naming topic, partition, offsets and count; with
// DataLossPolicy::kSkip it goes on from the log start and counts exactly the
// records deleted, and the tables equal the contract without them.
TEST_F(PgSinkTest, RecordsDeletedBeforeTheSinkWritesThemStopItOrAreSkippedAndCounted) {
  std::vector<Rec> records = MakeRecords(3000, 9, 0.0);
  Producer producer(/*transactional=*/false);
  producer.Send(prefix_, records, 0, 1200);
  {
    SinkThread sink(Options());
    ASSERT_TRUE(WaitCaughtUp(producer.get()));
    ASSERT_TRUE(sink.Stop().ok());
  }
  producer.Send(prefix_, records, 1200, records.size());
  // Half of what the sink has not read yet, per partition it has a position in.
  const auto stored = StoredOffsets(conn_);
  const auto ends = EndOffsets(producer.get());
  std::vector<kafka::PartitionOffset> cuts;
  std::map<std::pair<std::string, int>, std::pair<int64_t, int64_t>> deleted;  // [from, to)
  uint64_t deleted_count = 0;
  for (const auto& [tp, end] : ends) {
    auto at = stored.find(tp);
    if (at == stored.end() || end - at->second < 2) continue;
    const int64_t cut = at->second + (end - at->second) / 2;
    cuts.push_back({tp.first, tp.second, cut});
    deleted[tp] = {at->second, cut};
    deleted_count += static_cast<uint64_t>(cut - at->second);
  }
  ASSERT_GE(cuts.size(), 6u) << "too few partitions to cut";
  Status cut = kafka::DeleteRecordsBefore(producer.get(), cuts, 30s);
  ASSERT_TRUE(cut.ok()) << cut.ToString();

  // The default: the sink stops by itself, naming what is gone.
  {
    auto sink = PgSink::Create(Options());
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    std::promise<Status> done;
    std::future<Status> finished = done.get_future();
    std::thread run([&] { done.set_value((*sink)->Run()); });
    if (finished.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "the sink did not stop by itself within 60 s";
      (*sink)->Stop();
    }
    run.join();
    const Status result = finished.get();
    EXPECT_EQ(result.code(), StatusCode::kDataLoss) << result.ToString();
    EXPECT_NE(result.message().find("were deleted before the sink read them"), std::string::npos)
        << result.message();
    EXPECT_NE(result.message().find(prefix_), std::string::npos) << result.message();
    EXPECT_NE(result.message().find("--on-data-loss=skip"), std::string::npos) << result.message();
  }
  EXPECT_EQ(StoredOffsets(conn_), stored) << "the stopped sink stored nothing past the gap";

  // Skip: everything that survived lands, the deleted records are counted.
  PgSinkOptions skip = Options();
  skip.data_loss_policy = kafka::DataLossPolicy::kSkip;
  {
    SinkThread sink(skip);
    ASSERT_TRUE(WaitCaughtUp(producer.get()));
    ASSERT_TRUE(sink.Stop().ok());
    uint64_t lost = 0;
    for (uint64_t n : sink.probe().records_lost) lost += n;
    EXPECT_EQ(lost, deleted_count);
  }
  std::vector<bool> gone(records.size(), false);
  for (size_t i = 0; i < records.size(); ++i) {
    auto d = deleted.find({prefix_ + kTables[records[i].table], records[i].partition});
    gone[i] = d != deleted.end() && records[i].offset >= d->second.first &&
              records[i].offset < d->second.second;
  }
  ExpectTablesEqual(Expected(records, &gone), ReadTables(conn_));
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
  // A restart finds no gap any more (the positions past the gaps were
  // stored): it reads on and counts nothing twice.
  std::vector<Rec> more = MakeRecords(300, 10, 0.0);
  producer.Send(prefix_, more, 0, more.size());
  {
    SinkThread sink(skip);
    ASSERT_TRUE(WaitCaughtUp(producer.get()));
    ASSERT_TRUE(sink.Stop().ok());
    uint64_t lost = 0;
    for (uint64_t n : sink.probe().records_lost) lost += n;
    EXPECT_EQ(lost, 0u);
    EXPECT_EQ(sink.probe().records_consumed, more.size());
  }
}

// librdkafka 2.0.2 can stop delivering a partition without a word: an
// operation it refuses after bumping the partition's version (here a seek to
// RD_KAFKA_OFFSET_STORED, refused with "invalid argument"; in the wild a seek
// that meets a fetch start or stop) leaves its fetcher fetching under the old
// version, and everything fetched is then discarded as outdated. The test hook
// does that to orders_raw partition 0 after the sink's first batch.
//   1. Guard off: the partition stays behind while the others catch up (the
//      fault is real, and nothing else in the sink recovers from it).
//   2. Guard on (2 s): the stall is found and counted, the fetch restarted, and
//      the tables equal the contract with every offset stored.
TEST_F(PgSinkTest, AStalledPartitionIsFoundAndRestartedByTheGuardAndTheTablesStayExact) {
  std::vector<Rec> records = MakeRecords(6000, 11);
  Producer producer(/*transactional=*/true);
  producer.Send(prefix_, records, 0, 1000, true);
  const std::string stalled_topic = prefix_ + kTables[0];
  std::atomic<bool> armed{true};
  std::atomic<bool> fired{false};
  std::atomic<int> refused{RD_KAFKA_RESP_ERR_NO_ERROR};
  auto stall_options = [&](std::chrono::milliseconds timeout) {
    PgSinkOptions o = Options();
    o.partition_stall_timeout = timeout;
    o.progress_interval = 1s;
    o.after_batch_for_testing = [&](rd_kafka_t* consumer) {
      if (!armed.exchange(false)) return;
      kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(list.get(), stalled_topic.c_str(), 0)->offset =
          RD_KAFKA_OFFSET_STORED;
      kafka::KafkaError e(rd_kafka_seek_partitions(consumer, list.get(), 5000));
      refused = list->elems[0].err;
      fired = true;
    };
    return o;
  };
  auto await_fired = [&] {
    const auto deadline = Clock::now() + 60s;
    while (!fired && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return fired.load();
  };
  // Stored and end offsets of every partition but the stalled one, and of it.
  auto split = [&](const std::map<std::pair<std::string, int>, int64_t>& offsets) {
    auto others = offsets;
    const int64_t stalled = others.count({stalled_topic, 0}) ? others[{stalled_topic, 0}] : -1;
    others.erase({stalled_topic, 0});
    return std::make_pair(others, stalled);
  };

  {  // 1. Guard off.
    SinkThread sink(stall_options(0ms));
    ASSERT_TRUE(await_fired()) << "no batch within 60 s";
    producer.Send(prefix_, records, 1000, 3000, true);
    // The ends are read again on every look (see WaitCaughtUp).
    auto ends = split(EndOffsets(producer.get()));
    const auto deadline = Clock::now() + 60s;
    while (split(StoredOffsets(conn_)).first != ends.first && Clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      ends = split(EndOffsets(producer.get()));
    }
    ASSERT_EQ(split(StoredOffsets(conn_)).first, ends.first) << "the other partitions caught up";
    const int64_t stalled_end = ends.second;
    ASSERT_GT(stalled_end, 0);
    // An observation window, not synchronisation: nothing of the partition
    // arrives, however long one waits.
    std::this_thread::sleep_for(5s);
    EXPECT_LT(split(StoredOffsets(conn_)).second, stalled_end)
        << "orders_raw partition 0 was read after all (refused seek: "
        << rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(refused.load())) << ")";
    ASSERT_TRUE(sink.Stop().ok());
    EXPECT_EQ(sink.probe().partition_stalls, 0u);
  }
  {  // 2. Guard on: the same fault again after the first batch of a new sink.
    armed = true;
    fired = false;
    SinkThread sink(stall_options(2000ms));
    ASSERT_TRUE(await_fired()) << "no batch within 60 s";
    producer.Send(prefix_, records, 3000, records.size(), true);
    const auto start = Clock::now();
    ASSERT_TRUE(WaitCaughtUp(producer.get(), 120s));
    std::printf("caught up %.1f s after the last records were sent\n",
                std::chrono::duration<double>(Clock::now() - start).count());
    // The gauge follows at the guard's next round (a second at most).
    const auto deadline = Clock::now() + 10s;
    while (sink.probe().stalled_partitions != 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    const PgSinkProbe::Snapshot during = sink.probe();
    ASSERT_TRUE(sink.Stop().ok());
    EXPECT_GE(during.partition_stalls, 1u);
    EXPECT_EQ(during.stalled_partitions, 0) << "still counted stalled, though caught up";
  }
  ExpectTablesEqual(Expected(records), ReadTables(conn_));
  EXPECT_EQ(StoredOffsets(conn_), EndOffsets(producer.get()));
}

TEST_F(PgSinkTest, BadRowsGoToTheDeadLetterTopicWithCoordinatesAndTheRestLands) {
  // A constraint of the user's that PostgreSQL enforces (SQLSTATE 23514).
  ASSERT_TRUE(EnsureSinkSchema(conn_).ok());
  ASSERT_TRUE(conn_.Execute("ALTER TABLE orders_raw ADD CONSTRAINT price_cap CHECK (price < 1000000)").ok());

  std::vector<Rec> records = MakeRecords(3000, 6);
  std::vector<std::pair<size_t, std::string>> bad;  // index, expected error fragment
  auto add_bad = [&](int table, std::string key, std::optional<std::string> value,
                     std::string fragment) {
    Rec r;
    r.table = table;
    r.key = std::move(key);
    r.value = std::move(value);
    records.insert(records.begin() + 1500 + static_cast<long>(bad.size()) * 100, std::move(r));
    for (auto& [i, f] : bad) {
      if (i >= 1500 + bad.size() * 100) ++i;
    }
    bad.emplace_back(1500 + bad.size() * 100, std::move(fragment));
  };
  const std::string ok_order =
      R"("user_id":"u1","product_id":"p1","currency":"EUR","event_time":"2025-11-30T11:17:00.000Z")";
  add_bad(0, R"({"order_id":"bad1"})", "{not json", "invalid JSON");
  add_bad(0, R"({"order_id":"bad2"})", R"({"order_id":"bad2",)" + ok_order + "}",
          "field \"price\": missing");
  add_bad(0, R"({"order_id":"bad3"})", R"({"order_id":"bad3","price":12.5,)" + ok_order + "}",
          "field \"price\": expected a decimal");
  add_bad(0, R"({"order_id":"bad4"})", R"({"order_id":"bad4","price":"1.5",)" + ok_order + "}",
          "field \"price\"");
  add_bad(3, R"({"order_id":"bad5"})",
          R"({"order_id":"bad5","user_id":"u1","product_id":"p1","order_time":"yesterday",)"
          R"("views_before_order":1,"last_view_time":"2025-11-30T11:16:00.000Z"})",
          "field \"order_time\": invalid timestamp");
  add_bad(0, R"({"order_id":"other"})", R"({"order_id":"bad6","price":"1.00",)" + ok_order + "}",
          "key: field \"order_id\"");
  add_bad(0, R"({"order_id":"bad7"})", R"({"order_id":"bad7","price":"5000000.00",)" + ok_order + "}",
          "23514");
  add_bad(2, "not a key", std::nullopt, "conversion_funnel_5min key: invalid JSON");

  Producer producer(/*transactional=*/false);
  producer.Send(prefix_, records, 0, records.size());
  SinkThread sink(Options());
  ASSERT_TRUE(WaitCaughtUp(producer.get()));
  ASSERT_TRUE(sink.Stop().ok());

  std::vector<bool> skip(records.size(), false);
  for (const auto& [i, f] : bad) skip[i] = true;
  ExpectTablesEqual(Expected(records, &skip), ReadTables(conn_));
  EXPECT_EQ(sink.probe().dlq_records, bad.size());

  auto dlq = testing::ReadAll(dlq_, /*read_committed=*/true);
  ASSERT_TRUE(dlq.ok()) << dlq.status().ToString();
  ASSERT_EQ(dlq->size(), bad.size());
  for (const auto& [i, fragment] : bad) {
    const Rec& r = records[i];
    const std::string topic = prefix_ + kTables[r.table];
    bool found = false;
    for (const testing::ConsumedRecord& d : *dlq) {
      if (d.Header(std::string(kafka::kDlqTopicHeader)) != topic ||
          d.Header(std::string(kafka::kDlqPartitionHeader)) != std::to_string(r.partition) ||
          d.Header(std::string(kafka::kDlqOffsetHeader)) != std::to_string(r.offset)) {
        continue;
      }
      found = true;
      EXPECT_EQ(d.key, r.key);
      EXPECT_EQ(d.value, r.value.value_or(""));
      EXPECT_NE(d.Header(std::string(kafka::kDlqErrorHeader)).find(fragment), std::string::npos)
          << d.Header(std::string(kafka::kDlqErrorHeader)) << " lacks " << fragment;
    }
    EXPECT_TRUE(found) << "no dead letter for " << topic << " " << r.partition << "@" << r.offset;
  }
}

}  // namespace
}  // namespace eventflow::sinks
