// QueryService over in-process applications (TopologyTestDriver behind
// StoreQueries), no broker: the routes and their status codes (404 unknown
// store or key, 400 bad key/time/limit/kind, 405), committed-only answers
// (a piped record is invisible until the driver commits), windows rendered
// through a codec and checked against a count of the input, and two
// "instances" on real HTTP servers: a key the other one holds is forwarded
// once and answered by it, a forwarded request is never forwarded again,
// an owner that does not answer is a bounded 503 that marks the metadata
// stale, and scans merge both instances' partitions in key order.
#include "eventflow/queries/query_service.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eventflow/core/time.h"
#include "eventflow/http/client.h"
#include "eventflow/http/server.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::queries {
namespace {

using streams::Consumed;
using streams::HostInfo;
using streams::KeyValue;
using streams::Materialized;
using streams::Produced;
using streams::Serdes;
using streams::StoreCodec;
using streams::TestDriverOptions;
using streams::TimeWindows;
using streams::TopologyTestDriver;
using streams::Windowed;

constexpr int64_t kMinute = 60'000;

// Counts per key ("counts", key-value, through Reduce over int64 ones) and
// per key and minute ("per-minute", a window store), from topic "in".
streams::Topology CountingTopology() {
  streams::StreamsBuilder builder;
  auto in = builder.Stream<std::string, std::string>(
      "in", Consumed<std::string, std::string>::With(Serdes::String(), Serdes::String()));
  in.GroupByKey().Count(Materialized<std::string, int64_t>::As("counts"));
  in.GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(1), std::chrono::hours(1)))
      .Count(Materialized<std::string, int64_t>::As("per-minute"));
  return builder.Build();
}

QueryServiceOptions Options() {
  QueryServiceOptions options;
  options.codecs["counts"] = StoreCodec::Of(StoreCodec::Key::kString, StoreCodec::Value::kInt64);
  options.codecs["per-minute"] =
      StoreCodec::Of(StoreCodec::Key::kString, StoreCodec::Value::kInt64);
  options.forward_timeout = std::chrono::milliseconds(500);
  return options;
}

http::Request Get(std::string target) {
  http::Request r;
  r.method = "GET";
  r.target = target;
  const size_t q = target.find('?');
  r.path = http::PercentDecode(target.substr(0, q), false).value_or(target.substr(0, q));
  if (q != std::string::npos) {
    std::string_view query = std::string_view(target).substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const size_t eq = pair.find('=');
      r.query.emplace_back(
          http::PercentDecode(pair.substr(0, eq), true).value_or(""),
          http::PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true)
              .value_or(""));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  return r;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DriverTest : public ::testing::Test {
 protected:
  void Start(bool commit_every_input) {
    TestDriverOptions options;
    options.commit_every_input = commit_every_input;
    options.initial_wall_clock_ms = 0;
    driver_ = std::make_unique<TopologyTestDriver>(CountingTopology(), options);
    ASSERT_TRUE(driver_->status().ok()) << driver_->status().ToString();
    service_ = std::make_unique<QueryService>(Options());
    service_->Attach(driver_.get(), HostInfo{"127.0.0.1", 1});
  }
  void Pipe(const std::string& key, int64_t t) {
    auto in = driver_->CreateInputTopic<std::string, std::string>("in", Serdes::String(),
                                                                  Serdes::String());
    ASSERT_TRUE(in.PipeInput(key, "x", t).ok());
  }
  http::Response Ask(const std::string& target) { return service_->Handle(Get(target)); }

  std::unique_ptr<TopologyTestDriver> driver_;
  std::unique_ptr<QueryService> service_;
};

TEST_F(DriverTest, UnknownStoresAndMissingKeysAre404BadRequestsAre400) {
  Start(true);
  Pipe("u1", 1000);
  EXPECT_EQ(Ask("/stores/nope/keys/u1").status, 404);
  const http::Response missing = Ask("/stores/counts/keys/u2");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(Contains(missing.body, "key not found")) << missing.body;
  EXPECT_EQ(Ask("/stores/counts/keys/u1/windows").status, 400) << "a key-value store";
  EXPECT_EQ(Ask("/stores/per-minute/keys/u1").status, 400) << "a window store";
  EXPECT_EQ(Ask("/stores/per-minute/keys/u1/windows?from=yesterday").status, 400);
  EXPECT_EQ(Ask("/stores/per-minute/keys/u1/windows?to=-5").status, 400);
  EXPECT_EQ(Ask("/stores/counts/range?limit=0").status, 400);
  EXPECT_EQ(Ask("/stores/counts/range?limit=100000").status, 400);
  EXPECT_EQ(Ask("/stores/counts/windows").status, 400);
  EXPECT_EQ(Ask("/stores/counts/nothing").status, 404);
  EXPECT_EQ(Ask("/stores/counts/keys/%zz").status, 400);
  http::Request post = Get("/stores/counts/keys/u1");
  post.method = "POST";
  EXPECT_EQ(service_->Handle(post).status, 405);
  // A store with int64 keys refuses text that is not a number.
  QueryServiceOptions options = Options();
  options.codecs["counts"] = StoreCodec::Of(StoreCodec::Key::kInt64, StoreCodec::Value::kInt64);
  QueryService int_keys(options);
  int_keys.Attach(driver_.get(), std::nullopt);
  const http::Response bad = int_keys.Handle(Get("/stores/counts/keys/u1"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Contains(bad.body, "not a 64-bit integer key")) << bad.body;
  int_keys.Attach(nullptr, std::nullopt);
  EXPECT_EQ(int_keys.Handle(Get("/stores")).status, 503);
}

TEST_F(DriverTest, AnswersShowCommittedStateOnly) {
  Start(/*commit_every_input=*/false);
  Pipe("u1", 1000);
  Pipe("u1", 2000);
  EXPECT_EQ(Ask("/stores/counts/keys/u1").status, 404) << "visible before the commit";
  ASSERT_TRUE(driver_->Commit().ok());
  http::Response r = Ask("/stores/counts/keys/u1");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Contains(r.body, "\"value\":2")) << r.body;
  EXPECT_TRUE(Contains(r.body, "\"served_by\":\"127.0.0.1:1\"")) << r.body;
  Pipe("u1", 3000);
  EXPECT_TRUE(Contains(Ask("/stores/counts/keys/u1").body, "\"value\":2"));
  ASSERT_TRUE(driver_->Commit().ok());
  EXPECT_TRUE(Contains(Ask("/stores/counts/keys/u1").body, "\"value\":3"));
}

TEST_F(DriverTest, WindowsAndScansMatchACountOfTheInput) {
  Start(true);
  std::map<std::string, std::map<int64_t, int>> model;  // key → minute start → count
  for (int i = 0; i < 60; ++i) {
    const std::string key = "u" + std::to_string(i % 4);
    const int64_t t = (i % 5) * kMinute + i;
    Pipe(key, t);
    ++model[key][t / kMinute * kMinute];
  }
  for (const auto& [key, minutes] : model) {
    const http::Response r =
        Ask("/stores/per-minute/keys/" + key + "/windows?from=60000&to=1970-01-01T00:03:00Z");
    ASSERT_EQ(r.status, 200) << r.body;
    std::string expected;
    for (const auto& [start, count] : minutes) {
      if (start < kMinute || start > 3 * kMinute) continue;
      expected += std::string(expected.empty() ? "" : ",") + "{\"start\":\"" +
                  FormatTimestamp(start) + "\",\"end\":\"" + FormatTimestamp(start + kMinute) +
                  "\",\"start_ms\":" + std::to_string(start) +
                  ",\"end_ms\":" + std::to_string(start + kMinute) +
                  ",\"value\":" + std::to_string(count) + "}";
    }
    EXPECT_TRUE(Contains(r.body, "\"windows\":[" + expected + "]")) << r.body;
  }
  const http::Response range = Ask("/stores/counts/range?from=u1&to=u3");
  ASSERT_EQ(range.status, 200) << range.body;
  EXPECT_TRUE(Contains(range.body,
                       "\"entries\":[{\"key\":\"u1\",\"value\":15},{\"key\":\"u2\","
                       "\"value\":15}]"))
      << range.body;
  const http::Response limited = Ask("/stores/per-minute/windows?limit=3");
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_TRUE(Contains(limited.body, "\"limit\":3"));
  EXPECT_EQ(std::count(limited.body.begin(), limited.body.end(), '{'), 1 + 3);
  const http::Response stores = Ask("/stores");
  EXPECT_TRUE(Contains(stores.body,
                       "{\"name\":\"per-minute\",\"kind\":\"window\",\"partitions\":1,"
                       "\"window_size_ms\":60000}"))
      << stores.body;
}

// ---------------------------------------------------------------------------
// Two instances over HTTP. Each wraps a driver (its partition 0) and claims
// one partition of two: keys starting with "a" are partition 0 on instance
// A, the others partition 1 on instance B.

class FakeInstance final : public streams::StoreQueries {
 public:
  FakeInstance(TopologyTestDriver* driver, int partition) : driver_(driver), mine_(partition) {}

  std::map<int, std::optional<HostInfo>> owners;  // partition → instance (as the group says)
  mutable std::atomic<int> stale_marks{0};

  std::vector<streams::QueryableStoreInfo> QueryableStoreInfos() const override {
    auto infos = driver_->QueryableStoreInfos();
    for (auto& info : infos) info.partitions = 2;
    return infos;
  }
  Result<streams::ReadOnlyStore> Store(const streams::StoreQueryParameters& params) const override {
    if (params.partition && *params.partition != mine_) {
      return Status::Unavailable("partition " + std::to_string(*params.partition) +
                                 " is not running on this instance");
    }
    return driver_->Store({params.store, std::nullopt});
  }
  Result<streams::KeyQueryMetadata> QueryMetadataForKey(std::string_view,
                                                        std::string_view key) const override {
    streams::KeyQueryMetadata m;
    m.partition = !key.empty() && key[0] == 'a' ? 0 : 1;
    m.local = m.partition == mine_;
    auto owner = owners.find(m.partition);
    if (owner != owners.end()) m.active_host = owner->second;
    return m;
  }
  Result<std::vector<streams::StreamsMetadata>> StreamsMetadataForStore(
      std::string_view) const override {
    std::vector<streams::StreamsMetadata> out;
    out.push_back({std::nullopt, true, {mine_}});
    for (const auto& [partition, host] : owners) {
      if (partition != mine_) out.push_back({host, false, {partition}});
    }
    return out;
  }
  void MarkMetadataStale() const override { ++stale_marks; }

 private:
  TopologyTestDriver* driver_;
  int mine_;
};

struct Instance {
  explicit Instance(int partition) {
    TestDriverOptions options;
    options.initial_wall_clock_ms = 0;
    driver = std::make_unique<TopologyTestDriver>(CountingTopology(), options);
    fake = std::make_unique<FakeInstance>(driver.get(), partition);
    service = std::make_unique<QueryService>(Options());
    auto started = http::Server::Start({});
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    server = std::move(*started);
    service->RegisterRoutes(*server);
  }
  ~Instance() {
    server->Stop();
    service->Attach(nullptr, std::nullopt);
  }
  HostInfo host() const { return HostInfo{"127.0.0.1", server->port()}; }
  void Pipe(const std::string& key, int64_t t) {
    auto in = driver->CreateInputTopic<std::string, std::string>("in", Serdes::String(),
                                                                 Serdes::String());
    ASSERT_TRUE(in.PipeInput(key, "x", t).ok());
  }
  http::Response Ask(const std::string& target) {
    auto r = http::Fetch("127.0.0.1", server->port(), target);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::Response::Text(599, r.status().ToString());
  }

  std::unique_ptr<TopologyTestDriver> driver;
  std::unique_ptr<FakeInstance> fake;
  std::unique_ptr<QueryService> service;
  std::unique_ptr<http::Server> server;
};

class TwoInstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.fake->owners = {{0, a_.host()}, {1, b_.host()}};
    b_.fake->owners = {{0, a_.host()}, {1, b_.host()}};
    a_.service->Attach(a_.fake.get(), a_.host());
    b_.service->Attach(b_.fake.get(), b_.host());
    for (const char* key : {"alice", "bob", "bob", "carol", "amy", "amy", "amy"}) {
      (key[0] == 'a' ? a_ : b_).Pipe(key, 1000);
    }
  }
  Instance a_{0};
  Instance b_{1};
};

TEST_F(TwoInstancesTest, AKeyTheOtherInstanceHoldsIsForwardedOnceAndAnsweredByIt) {
  const http::Response bob = a_.Ask("/stores/counts/keys/bob");
  ASSERT_EQ(bob.status, 200) << bob.body;
  EXPECT_TRUE(Contains(bob.body, "\"value\":2")) << bob.body;
  EXPECT_TRUE(Contains(bob.body, "\"served_by\":\"" + b_.host().ToString() + "\"")) << bob.body;
  const http::Response amy = b_.Ask("/stores/counts/keys/amy");
  ASSERT_EQ(amy.status, 200) << amy.body;
  EXPECT_TRUE(Contains(amy.body, "\"value\":3")) << amy.body;
  const http::Response windows = a_.Ask("/stores/per-minute/keys/carol/windows");
  ASSERT_EQ(windows.status, 200) << windows.body;
  EXPECT_TRUE(Contains(windows.body, "\"start_ms\":0,\"end_ms\":60000,\"value\":1"))
      << windows.body;
  EXPECT_EQ(a_.Ask("/stores/counts/keys/dave").status, 404) << "absent on its owner";
}

TEST_F(TwoInstancesTest, AForwardedRequestIsNeverForwardedAgain) {
  // B's metadata is stale: it believes A runs partition 1, A believes B does.
  b_.service->Attach(nullptr, std::nullopt);
  auto b_without_1 = std::make_unique<FakeInstance>(b_.driver.get(), /*partition=*/0);
  b_without_1->owners = {{0, a_.host()}, {1, a_.host()}};
  b_.service->Attach(b_without_1.get(), b_.host());
  const http::Response r = a_.Ask("/stores/counts/keys/bob");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_TRUE(Contains(r.body, "not running on this instance")) << r.body;
  EXPECT_GE(a_.fake->stale_marks.load(), 1) << "A learns again after a 503 from the owner";
  b_.service->Attach(nullptr, std::nullopt);
}

TEST_F(TwoInstancesTest, AnOwnerThatDoesNotAnswerIsABounded503) {
  // A port that accepts connections (the backlog) but never answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  a_.fake->owners[1] = HostInfo{"127.0.0.1", ntohs(addr.sin_port)};
  const auto start = std::chrono::steady_clock::now();
  const http::Response silent = a_.Ask("/stores/counts/keys/bob");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(silent.status, 503) << silent.body;
  EXPECT_TRUE(Contains(silent.body, "did not answer")) << silent.body;
  EXPECT_LT(waited, std::chrono::seconds(3)) << "bounded by forward_timeout (500 ms)";
  EXPECT_GE(a_.fake->stale_marks.load(), 1);
  ::close(fd);
  // No instance known for the partition: 503 at once.
  a_.fake->owners.erase(1);
  const http::Response nobody = a_.Ask("/stores/counts/keys/bob");
  EXPECT_EQ(nobody.status, 503) << nobody.body;
  EXPECT_TRUE(Contains(nobody.body, "not assigned")) << nobody.body;
}

TEST_F(TwoInstancesTest, ScansMergeBothInstancesInKeyOrder) {
  const http::Response range = a_.Ask("/stores/counts/range");
  ASSERT_EQ(range.status, 200) << range.body;
  EXPECT_TRUE(Contains(range.body,
                       "\"entries\":[{\"key\":\"alice\",\"value\":1},{\"key\":\"amy\",\"value\":3},"
                       "{\"key\":\"bob\",\"value\":2},{\"key\":\"carol\",\"value\":1}]"))
      << range.body;
  const http::Response limited = b_.Ask("/stores/counts/range?from=amy&limit=2");
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_TRUE(Contains(limited.body,
                       "\"entries\":[{\"key\":\"amy\",\"value\":3},{\"key\":\"bob\","
                       "\"value\":2}]"))
      << limited.body;
  const http::Response windows = a_.Ask("/stores/per-minute/windows?from=0&to=0");
  ASSERT_EQ(windows.status, 200) << windows.body;
  for (const char* key : {"alice", "amy", "bob", "carol"}) {
    EXPECT_TRUE(Contains(windows.body, std::string("{\"key\":\"") + key + "\",\"start\":"))
        << windows.body;
  }
  // An instance that does not answer makes the scan a 503.
  b_.server->Stop();
  const http::Response down = a_.Ask("/stores/counts/range");
  EXPECT_EQ(down.status, 503) << down.body;
}

}  // namespace
}  // namespace eventflow::queries
