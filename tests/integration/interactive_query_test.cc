// Interactive queries across two real instances of the pipeline (`eventflow
// run`, real broker; labels integration, kafka): a deterministic input of
// orders and product views is replayed (eventflow-produce --from-file), and
// every answer is compared with an independent computation over the events
// the test wrote — revenue per currency and 5-minute window, views and orders
// per user and window:
//   1. each key is asked of BOTH instances: the one that does not run the
//      key's partition forwards to the one that does (served_by names it),
//      and the answer is right; the metadata routes agree with the group;
//      scans over both instances return every window;
//   2. a moving task: the instance running some users' partitions is stopped
//      gracefully (SIGTERM) while the other is asked for those users, in a
//      loop; it answers 503 with Retry-After while the task is gone, moving or
//      restoring, and then the right value — never a wrong one.
// Every wait is bounded; everything listens on loopback.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "eventflow/core/time.h"
#include "eventflow/http/client.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/app_progress.h"
#include "eventflow/testing/kafka_fixture.h"
#include "eventflow/testing/test_env.h"

namespace eventflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::KafkaBootstrap;

constexpr int kPartitions = 3;
constexpr int64_t kWindowMs = 5 * 60'000;
constexpr const char* kCurrencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};
constexpr int kUsers = 30;

// What the test sent, and what the pipeline's stores must hold for it.
struct Input {
  std::vector<std::string> lines;  // JSON events, for eventflow-produce --from-file
  // (currency, window start) → (cents, orders)
  std::map<std::pair<std::string, int64_t>, std::pair<int64_t, int64_t>> revenue;
  // (user, window start) → count
  std::map<std::pair<std::string, int64_t>, int64_t> views, orders;
  int64_t view_count = 0, order_count = 0;
};

// Events over 9 minutes (windows [0, 5) and [5, 10) of the hour): the
// watermark stays below the first window's end + grace, so no window expires
// and every record counts (nothing is late).
Input MakeInput(int64_t start_ms) {
  Input in;
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int i = 0; i < 900; ++i) {
    const int64_t t = start_ms + i * 600;  // 0.6 s apart: 9 minutes
    const std::string user = "u" + std::to_string(next() % kUsers);
    const std::string product = "p" + std::to_string(next() % 20);
    const std::string ts = "\"" + FormatTimestamp(t) + "\"";
    const int64_t window = t / kWindowMs * kWindowMs;
    if (next() % 4 == 0) {
      const std::string currency = kCurrencies[next() % 5];
      const int64_t cents = 100 + next() % 20'000;
      char price[32];
      std::snprintf(price, sizeof price, "%lld.%02lld", static_cast<long long>(cents / 100),
                    static_cast<long long>(cents % 100));
      in.lines.push_back("{\"eventType\":\"ORDER\",\"orderId\":\"o" + std::to_string(i) +
                         "\",\"userId\":\"" + user + "\",\"productId\":\"" + product +
                         "\",\"price\":" + price + ",\"currency\":\"" + currency +
                         "\",\"timestamp\":" + ts + "}");
      auto& r = in.revenue[{currency, window}];
      r.first += cents;
      r.second += 1;
      ++in.orders[{user, window}];
      ++in.order_count;
    } else {
      in.lines.push_back("{\"eventType\":\"VIEW\",\"userId\":\"" + user + "\",\"productId\":\"" +
                         product + "\",\"category\":\"books\",\"timestamp\":" + ts + "}");
      ++in.views[{user, window}];
      ++in.view_count;
    }
  }
  return in;
}

std::string Cents(int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

// One answer of an instance.
struct Answer {
  int status = 0;  // 0: no answer at all
  std::string body;
  std::string retry_after;
};

Answer Ask(int port, const std::string& target) {
  http::FetchOptions options;
  options.timeout = 10s;
  auto r = http::Fetch("127.0.0.1", port, target, options);
  if (!r.ok()) return Answer{0, r.status().ToString(), ""};
  auto retry = r->Header("Retry-After");
  return Answer{r->status, r->body, retry ? std::string(*retry) : ""};
}

// A key's windows as the store shows them: window start → value (as JSON
// text rendered by the pipeline's codec, normalised by simdjson).
struct KeyWindows {
  std::string served_by;
  std::map<int64_t, std::string> values;
};

std::optional<KeyWindows> ParseWindows(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) return std::nullopt;
  KeyWindows out;
  std::string_view served;
  if (!doc["served_by"].get(served)) out.served_by = served;
  simdjson::dom::array windows;
  if (doc["windows"].get(windows)) return std::nullopt;
  for (simdjson::dom::element w : windows) {
    int64_t start = 0;
    if (w["start_ms"].get(start)) return std::nullopt;
    out.values[start] = simdjson::minify(w["value"]);
  }
  return out;
}

std::string RevenueJson(int64_t cents, int64_t count) {
  return "{\"total_revenue\":\"" + Cents(cents) + "\",\"order_count\":" + std::to_string(count) +
         ",\"avg_order_value\":\"" + Cents((2 * cents + count) / (2 * count)) + "\"}";
}

class InteractiveQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniqueName("iq") + "-";
    app_id_ = prefix_ + "app";
    dir_ = std::filesystem::temp_directory_path() / prefix_;
    std::filesystem::create_directories(dir_);
    std::vector<kafka::NewTopic> topics;
    for (const char* t :
         {"user-events", "product-view", "orders", "orders_raw", "revenue_by_currency_5min",
          "conversion_funnel_5min", "order_attribution"}) {
      topics.push_back({prefix_ + t, kPartitions, 1, {}});
    }
    topics_ = std::make_unique<testing::ScopedTopics>(topics);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    input_ = MakeInput((now / 3'600'000 - 2) * 3'600'000);
    for (int i = 0; i < 2; ++i) ports_[i] = testing::FreePort();
  }

  void TearDown() override {
    for (auto& app : apps_) app.reset();
    auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, testing::TestKafkaProperties());
    const std::vector<std::string> internal = testing::TopicsStartingWith(app_id_ + "-");
    if (client.ok() && !internal.empty()) {
      Status s = kafka::DeleteTopics(client->get(), internal, 30s);
      if (!s.ok()) std::fprintf(stderr, "leftover topics: %s\n", s.ToString().c_str());
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Log(int i) const { return (dir_ / ("app-" + std::to_string(i) + ".log")).string(); }

  void StartApp(int i) {
    const std::vector<std::string> argv = {
        testing::ToolDir() + "/eventflow", "run", "--bootstrap-servers", KafkaBootstrap(),
        "--application-id", app_id_, "--instance-id", "i" + std::to_string(i), "--state-dir",
        (dir_ / ("state-" + std::to_string(i))).string(), "--commit-interval-ms", "100",
        "--http-port", std::to_string(ports_[i]), "--topic-prefix", prefix_,
        // A stopped instance's tasks move to the other within seconds.
        "--kafka.session.timeout.ms=6000"};
    apps_[i] = std::make_unique<ChildProcess>(argv, Log(i));
  }

  void Produce() {
    const std::string file = (dir_ / "input.jsonl").string();
    std::ofstream out(file);
    for (const std::string& line : input_.lines) out << line << "\n";
    out.close();
    testing::ProcessResult r = testing::RunProcess(
        {testing::ToolDir() + "/eventflow-produce", "--bootstrap-servers", KafkaBootstrap(),
         "--topic-prefix", prefix_, "--partitions", std::to_string(kPartitions), "--from-file",
         file, "--progress", "off"});
    ASSERT_EQ(r.exit_code, 0) << "eventflow-produce: " << r.err;
  }

  // Polls `done` every 200 ms until it holds, or fails after `timeout`.
  template <typename F>
  bool AwaitUntil(const std::string& what, std::chrono::seconds timeout, F done) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      for (int i = 0; i < 2; ++i) {
        if (apps_[i] && apps_[i]->running() && testing::ProcessExited(apps_[i]->pid())) {
          ADD_FAILURE() << "instance " << i << " exited while waiting for " << what << "; see "
                        << Log(i);
          return false;
        }
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what
                  << "; logs in " << dir_;
    return false;
  }

  // The expected windows of `key` in `store`, as the codec renders them.
  std::map<int64_t, std::string> Expected(const std::string& store, const std::string& key) const {
    std::map<int64_t, std::string> out;
    if (store == "revenue-by-currency-store") {
      for (const auto& [k, r] : input_.revenue) {
        if (k.first == key) out[k.second] = RevenueJson(r.first, r.second);
      }
    } else {
      const auto& counts = store == "funnel-views-store" ? input_.views : input_.orders;
      for (const auto& [k, n] : counts) {
        if (k.first == key) out[k.second] = std::to_string(n);
      }
    }
    return out;
  }

  std::string WindowsTarget(const std::string& store, const std::string& key) const {
    return "/stores/" + store + "/keys/" + key + "/windows";
  }

  // True when instance i answers every key of every store rightly.
  bool AllAnswersRight(int i, std::string* why) {
    for (const char* currency : kCurrencies) {
      if (!Right(i, "revenue-by-currency-store", currency, why)) return false;
    }
    for (int u = 0; u < kUsers; ++u) {
      for (const char* store : {"funnel-views-store", "funnel-orders-store"}) {
        if (!Right(i, store, "u" + std::to_string(u), why)) return false;
      }
    }
    return true;
  }

  bool Right(int i, const std::string& store, const std::string& key, std::string* why) {
    const Answer a = Ask(ports_[i], WindowsTarget(store, key));
    auto parsed = a.status == 200 ? ParseWindows(a.body) : std::nullopt;
    if (!parsed || parsed->values != Expected(store, key)) {
      *why = "instance " + std::to_string(i) + " " + store + " " + key + ": HTTP " +
             std::to_string(a.status) + " " + a.body.substr(0, 400);
      return false;
    }
    served_by_[{store, key}].insert(parsed->served_by);
    return true;
  }

  std::string prefix_, app_id_;
  std::filesystem::path dir_;
  std::unique_ptr<testing::ScopedTopics> topics_;
  Input input_;
  int ports_[2] = {0, 0};
  std::unique_ptr<ChildProcess> apps_[2];
  std::map<std::pair<std::string, std::string>, std::set<std::string>> served_by_;
};

TEST_F(InteractiveQueryTest, KeysOfTheOtherInstanceAreForwardedAndAMovingTaskAnswers503ThenRight) {
  StartApp(0);
  StartApp(1);
  Produce();
  ASSERT_GT(input_.order_count, 100);
  ASSERT_GT(input_.view_count, 400);

  // 1. Both instances answer every key rightly (the committed state settles
  //    as the application catches up with the input: poll, bounded).
  std::string why;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(AwaitUntil("instance " + std::to_string(i) + " to answer every key rightly", 180s,
                           [&] { return AllAnswersRight(i, &why); }))
        << why;
  }
  // Once more, now that the group has settled (the polls above may span the
  // rebalance that gave instance 1 its tasks): keys are answered by the
  // instance running them, whichever was asked — each key by exactly one
  // instance, and both instances run some.
  // The group may still be rebalancing (a loaded machine delays the second
  // member's join), so the settled split is awaited, bounded; each round asks
  // every key of both instances afresh.
  const std::string host[2] = {"127.0.0.1:" + std::to_string(ports_[0]),
                               "127.0.0.1:" + std::to_string(ports_[1])};
  std::map<std::string, int> keys_served;
  ASSERT_TRUE(AwaitUntil("both instances to run some of the keys", 120s, [&] {
    served_by_.clear();
    keys_served.clear();
    for (int i = 0; i < 2; ++i) {
      if (!AllAnswersRight(i, &why)) return false;
    }
    for (const auto& [key, hosts] : served_by_) {
      if (hosts.size() != 1) return false;  // moved between the two asks
      ++keys_served[*hosts.begin()];
    }
    why = "keys answered by instance 0: " + std::to_string(keys_served[host[0]]) +
          ", by instance 1: " + std::to_string(keys_served[host[1]]);
    return keys_served[host[0]] > 0 && keys_served[host[1]] > 0;
  })) << why;
  for (const auto& [key, hosts] : served_by_) {
    ASSERT_EQ(hosts.size(), 1u) << key.first << " " << key.second << " answered by two instances";
  }
  EXPECT_GT(keys_served[host[0]], 0);
  EXPECT_GT(keys_served[host[1]], 0);
  // The metadata route names the same instance, asked of either.
  for (int u = 0; u < kUsers; ++u) {
    const std::string user = "u" + std::to_string(u);
    const std::string owner = *served_by_[{"funnel-views-store", user}].begin();
    for (int i = 0; i < 2; ++i) {
      const Answer m = Ask(ports_[i], "/stores/funnel-views-store/metadata?key=" + user);
      ASSERT_EQ(m.status, 200) << m.body;
      EXPECT_NE(m.body.find("\"host\":\"" + owner + "\""), std::string::npos) << m.body;
      EXPECT_NE(m.body.find(std::string("\"local\":") + (owner == host[i] ? "true" : "false")),
                std::string::npos)
          << m.body;
    }
  }
  // A scan over both instances returns every (currency, window).
  const Answer scan = Ask(ports_[1], "/stores/revenue-by-currency-store/windows?limit=1000");
  ASSERT_EQ(scan.status, 200) << scan.body;
  for (const auto& [k, r] : input_.revenue) {
    EXPECT_NE(scan.body.find("{\"key\":\"" + k.first + "\",\"start\":\"" +
                             FormatTimestamp(k.second) + "\""),
              std::string::npos)
        << k.first << " " << k.second;
  }

  // 2. Instance 1 stops gracefully while instance 0 is asked for the users
  //    instance 1 ran: 503 (Retry-After) until their tasks have moved and
  //    been restored, then the right windows; never a wrong answer.
  std::vector<std::string> moving;
  for (int u = 0; u < kUsers; ++u) {
    const std::string user = "u" + std::to_string(u);
    if (*served_by_[{"funnel-views-store", user}].begin() == host[1]) moving.push_back(user);
  }
  ASSERT_FALSE(moving.empty());
  apps_[1]->Signal(SIGTERM);
  int unavailable = 0;
  int wrong = 0;
  std::set<std::string> answered;  // users answered rightly after the stop
  const auto deadline = Clock::now() + 120s;
  while (answered.size() < moving.size() && Clock::now() < deadline) {
    for (const std::string& user : moving) {
      if (answered.count(user)) continue;
      const Answer a = Ask(ports_[0], WindowsTarget("funnel-views-store", user));
      if (a.status == 503) {
        ++unavailable;
        EXPECT_EQ(a.retry_after, "1") << a.body;
        continue;
      }
      auto parsed = a.status == 200 ? ParseWindows(a.body) : std::nullopt;
      if (!parsed || parsed->values != Expected("funnel-views-store", user)) {
        ++wrong;
        ADD_FAILURE() << "wrong answer for " << user << ": HTTP " << a.status << " " << a.body;
        continue;
      }
      // Right; once instance 1 is gone it must come from instance 0 itself.
      if (testing::ProcessExited(apps_[1]->pid()) && parsed->served_by == host[0]) {
        answered.insert(user);
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  std::printf(
      "keys answered by instance 0: %d, by instance 1: %d; %zu users moved, %d answers "
      "503 while they moved, all answered by instance 0 after %.1f s\n",
      keys_served[host[0]], keys_served[host[1]], moving.size(), unavailable,
      std::chrono::duration<double>(Clock::now() - (deadline - 120s)).count());
  EXPECT_EQ(apps_[1]->Wait(60s, "instance 1 (SIGTERM)"), 0) << "see " << Log(1);
  EXPECT_EQ(answered.size(), moving.size())
      << "instance 0 did not answer for every moved user within 120 s; logs in " << dir_;
  EXPECT_GT(unavailable, 0) << "no 503 while the tasks moved";
  EXPECT_EQ(wrong, 0);
  // Now instance 0 runs everything: every key, and the scans, from it alone.
  EXPECT_TRUE(AllAnswersRight(0, &why)) << why;
}

}  // namespace
}  // namespace eventflow
