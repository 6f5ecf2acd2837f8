// docs/dsl.md, "Windows": event time, tumbling and hopping TimeWindows with
// grace, late records, emit on window close, sliding and session windows, and
// reading Windowed<K> keys. Each test recomputes the windows from its input
// with a few plain loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

constexpr int64_t kSecond = 1'000;
constexpr int64_t kMinute = 60 * kSecond;

struct Click {
  std::string user;
  int64_t time;  // event time, epoch ms
};

// (key, window start, window end, value) of a windowed result.
using Row = std::tuple<std::string, int64_t, int64_t, int64_t>;

// Reads every record of a windowed count topic as rows.
std::vector<Row> ReadRows(TestOutputTopic<Windowed<std::string>, std::optional<int64_t>>& out) {
  std::vector<Row> rows;
  auto records = out.ReadKeyValuesToList();
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return rows;
  for (const auto& [window, count] : *records) {
    EXPECT_TRUE(count.has_value());
    rows.emplace_back(window.key, window.start, window.end, count.value_or(-1));
  }
  return rows;
}

// [START tumbling]
// Clicks per user and minute (user → page), on event time; a click up to 10 s
// late for its minute still counts.
Topology ClicksPerMinute() {
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("clicks")
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(1), std::chrono::seconds(10)))
      .Count(Materialized<std::string, int64_t>::As("clicks-per-minute"))
      .ToStream()
      .To("clicks-per-minute");  // key: Windowed<std::string>, written by TimeWindowedSerde
  return builder.Build();
}
// [END tumbling]

TEST(WindowsExample, TumblingWindowsCountEveryUpdateAndDropLateRecords) {
  const std::vector<Click> clicks = {
      {"ann", 5 * kSecond},   {"bob", 20 * kSecond},
      {"ann", 59 * kSecond},  {"ann", 62 * kSecond},  // minute 1
      {"bob", 50 * kSecond},  // out of order, minute 0 still open (its end + grace is 70 s)
      {"ann", 75 * kSecond},  // stream time 75 s: minute 0 closes
      {"bob", 58 * kSecond},  // late: dropped and counted
      {"ann", 130 * kSecond}, {"bob", 121 * kSecond}};
  TopologyTestDriver driver(ClicksPerMinute());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("clicks", Serdes::String(), Serdes::String());
  // [START windowed-serde]
  // The window size tells the serde where a window ends (Kafka's layout writes
  // the key and the window start only).
  SerdePtr<Windowed<std::string>> user_minute =
      std::make_shared<TimeWindowedSerde<std::string>>(Serdes::String(), 1 * kMinute);
  auto counts =
      driver.CreateOutputTopic("clicks-per-minute", user_minute, Serdes::Nullable(Serdes::Int64()));
  // [END windowed-serde]
  for (const Click& c : clicks) ASSERT_TRUE(in.PipeInput(c.user, "/page", c.time).ok());

  // The model: windows [start, start + 1 min); closed once start + 1 min + 10 s
  // <= the largest event time seen.
  std::map<std::pair<std::string, int64_t>, int64_t> count;
  std::vector<Row> expected;
  int64_t stream_time = -1;
  uint64_t late = 0;
  for (const Click& c : clicks) {
    stream_time = std::max(stream_time, c.time);
    const int64_t start = c.time - c.time % kMinute;
    if (start + kMinute + 10 * kSecond <= stream_time) {
      ++late;
      continue;
    }
    expected.emplace_back(c.user, start, start + kMinute, ++count[{c.user, start}]);
  }
  EXPECT_EQ(ReadRows(counts), expected);
  EXPECT_EQ(late, 1u);
  EXPECT_EQ(driver.Counters(0).dropped_late, late);
}

TEST(WindowsExample, HoppingWindowsEmitEachWindowOnceWhenItCloses) {
  // [START hopping]
  // Orders per product over the last 5 minutes, every minute: hopping windows.
  // Each window's final count goes out once, when the window closes (its end
  // + 30 s of grace); nothing before.
  StreamsBuilder builder;
  builder
      .Stream<std::string, std::string>("orders")  // product → order id
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(std::chrono::minutes(5), std::chrono::seconds(30))
                      .AdvanceBy(std::chrono::minutes(1)))
      .WithEmitStrategy(EmitStrategy::kOnWindowClose)
      .Count(Materialized<std::string, int64_t>::As("orders-per-5-minutes"))
      .ToStream()
      .To("orders-per-5-minutes");
  // [END hopping]
  constexpr int64_t kSize = 5 * kMinute, kAdvance = kMinute, kGrace = 30 * kSecond;
  const std::vector<Click> orders = {
      // (product, time)
      {"p1", 10 * kSecond}, {"p2", 70 * kSecond}, {"p1", 3 * kMinute},  {"p2", 4 * kMinute},
      {"p1", 6 * kMinute},  {"p1", 9 * kMinute},  {"p2", 11 * kMinute}, {"p1", 30 * kMinute}};
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("orders", Serdes::String(), Serdes::String());
  SerdePtr<Windowed<std::string>> window_serde =
      std::make_shared<TimeWindowedSerde<std::string>>(Serdes::String(), kSize);
  auto out = driver.CreateOutputTopic("orders-per-5-minutes", window_serde,
                                      Serdes::Nullable(Serdes::Int64()));

  std::map<std::pair<std::string, int64_t>, int64_t> count;  // (product, start) → orders
  std::set<std::pair<std::string, int64_t>> emitted;
  int64_t stream_time = -1;
  size_t total = 0;
  for (const Click& o : orders) {
    ASSERT_TRUE(in.PipeInput(o.user, "order", o.time).ok());
    stream_time = std::max(stream_time, o.time);
    for (int64_t start = 0; start <= o.time; start += kAdvance) {
      if (o.time < start + kSize && start + kSize + kGrace > stream_time) ++count[{o.user, start}];
    }
    std::vector<Row> closed;  // windows closed by now, not emitted before
    for (const auto& [window, n] : count) {
      const int64_t start = window.second;
      if (start + kSize + kGrace <= stream_time && emitted.insert(window).second) {
        closed.emplace_back(window.first, start, start + kSize, n);
      }
    }
    std::vector<Row> got = ReadRows(out);
    std::sort(got.begin(), got.end());  // windows closing together: the store's order
    EXPECT_EQ(got, closed) << "after the order at " << o.time;
    total += closed.size();
  }
  EXPECT_GT(total, 5u);
}

TEST(WindowsExample, EventTimeFromThePayload) {
  // [START timestamp-extractor]
  // Event time from the payload "<epoch ms>,<page>" rather than the Kafka
  // record timestamp; a payload without one is bad input (dead-lettered).
  auto clicks = Consumed<std::string, std::string>{}.WithTimestampExtractor(
      [](const Record<std::string, std::string>& click) -> Result<int64_t> {
        const std::string& v = click.value;
        int64_t ms = 0;
        const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), ms);
        if (error != std::errc() || end == v.data() + v.size() || *end != ',') {
          return Status::InvalidArgument("no event time in \"" + v + "\"");
        }
        return ms;
      });
  StreamsBuilder builder;
  builder.Stream("clicks", clicks).To("clicks-by-event-time");
  // [END timestamp-extractor]
  TestDriverOptions options;
  options.application_id = "clicks-app";
  TopologyTestDriver driver(builder.Build(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("clicks", Serdes::String(), Serdes::String());
  const std::vector<std::string> payloads = {"1500,/home", "900,/cart", "no-time", "2600,/pay"};
  int64_t kafka_time = 100;
  for (const std::string& p : payloads) ASSERT_TRUE(in.PipeInput("ann", p, kafka_time++).ok());

  std::vector<std::pair<std::string, int64_t>> expected;  // value, event time
  for (const std::string& p : payloads) {
    const size_t comma = p.find(',');
    if (comma != std::string::npos) expected.emplace_back(p, std::stoll(p.substr(0, comma)));
  }
  auto out = driver.CreateOutputTopic("clicks-by-event-time", Serdes::String(), Serdes::String());
  auto records = out.ReadRecordsToList();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& r : *records) got.emplace_back(r.value, r.timestamp);
  EXPECT_EQ(got, expected);
  auto& dead = driver.OutputQueue(DeadLetterTopic("clicks-app"));
  ASSERT_EQ(dead.size(), payloads.size() - expected.size());
  EXPECT_EQ(*dead[0].headers.LastValue(kDlqStageHeader), "timestamp");
}

TEST(WindowsExample, SlidingWindowsFindBurstsWithinAnyTenMinutes) {
  // [START sliding]
  // Three or more failed logins of a user within any 10 minutes: sliding
  // windows of 10 minutes, placed by the records rather than by the clock.
  StreamsBuilder builder;
  builder
      .Stream<std::string, std::string>("failed-logins")  // user → reason
      .GroupByKey()
      .WindowedBy(SlidingWindows::OfTimeDifferenceAndGrace(std::chrono::minutes(10),
                                                           std::chrono::minutes(1)))
      .WithEmitStrategy(EmitStrategy::kOnWindowClose)
      .Count(Materialized<std::string, int64_t>::As("failed-logins-10-minutes"))
      .ToStream()
      .Filter([](const Windowed<std::string>&, const std::optional<int64_t>& failures) {
        return failures.value_or(0) >= 3;
      })
      .To("login-alerts");
  // [END sliding]
  constexpr int64_t kDifference = 10 * kMinute;
  const std::vector<Click> failures = {
      {"ann", 1 * kMinute},  {"bob", 2 * kMinute},  {"ann", 8 * kMinute},  {"ann", 11 * kMinute},
      {"ann", 12 * kMinute}, {"bob", 14 * kMinute}, {"bob", 25 * kMinute}, {"cem", 26 * kMinute},
      {"bob", 30 * kMinute}, {"bob", 35 * kMinute}, {"zed", 90 * kMinute}};  // zed closes all
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("failed-logins", Serdes::String(), Serdes::String());
  for (const Click& f : failures) ASSERT_TRUE(in.PipeInput(f.user, "bad password", f.time).ok());
  SerdePtr<Windowed<std::string>> window_serde =
      std::make_shared<TimeWindowedSerde<std::string>>(Serdes::String(), kDifference);
  auto out =
      driver.CreateOutputTopic("login-alerts", window_serde, Serdes::Nullable(Serdes::Int64()));
  const std::vector<Row> alerts = ReadRows(out);

  // Each alert counts the user's failures in its window [start, end], both
  // ends inclusive, and each window is reported once.
  std::set<Row> distinct;
  std::set<std::string> alerted;
  for (const Row& alert : alerts) {
    const auto& [user, start, end, n] = alert;
    EXPECT_EQ(end - start, kDifference);
    int64_t in_window = 0;
    for (const Click& f : failures) in_window += f.user == user && start <= f.time && f.time <= end;
    EXPECT_EQ(n, in_window) << user << " [" << start << ", " << end << "]";
    EXPECT_TRUE(distinct.insert(alert).second) << user << " reported twice";
    alerted.insert(user);
  }
  // The users alerted are those with 3 failures within 10 minutes of each other.
  std::set<std::string> bursts;
  for (const Click& last : failures) {
    int64_t n = 0;
    for (const Click& f : failures) {
      n += f.user == last.user && last.time - kDifference <= f.time && f.time <= last.time;
    }
    if (n >= 3) bursts.insert(last.user);
  }
  EXPECT_EQ(alerted, bursts);
  EXPECT_EQ(bursts, (std::set<std::string>{"ann", "bob"}));  // the input is made so
}

TEST(WindowsExample, SessionWindowsMergeActivityWithinTheGap) {
  // [START session]
  // Browsing sessions: a user's clicks at most 30 minutes apart form one
  // session [first click, last click]; a late click within grace can merge two.
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("clicks")
      .GroupByKey()
      .WindowedBy(SessionWindows::OfInactivityGapAndGrace(std::chrono::minutes(30),
                                                          std::chrono::minutes(30)))
      .WithEmitStrategy(EmitStrategy::kOnWindowClose)
      .Count(Materialized<std::string, int64_t>::As("clicks-per-session"))
      .ToStream()
      .To("sessions");  // key: Windowed<std::string>, written by SessionWindowedSerde
  // [END session]
  const std::vector<Click> clicks = {{"ann", 0},
                                     {"bob", 5 * kMinute},
                                     {"ann", 50 * kMinute},  // two sessions of ann
                                     {"ann", 25 * kMinute},  // late: merges them
                                     {"bob", 20 * kMinute},
                                     {"bob", 70 * kMinute},
                                     {"cem", 71 * kMinute},
                                     {"zed", 300 * kMinute}};  // closes every other session
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("clicks", Serdes::String(), Serdes::String());
  for (const Click& c : clicks) ASSERT_TRUE(in.PipeInput(c.user, "/page", c.time).ok());
  SerdePtr<Windowed<std::string>> session_serde =
      std::make_shared<SessionWindowedSerde<std::string>>(Serdes::String());
  auto out = driver.CreateOutputTopic("sessions", session_serde, Serdes::Nullable(Serdes::Int64()));
  std::vector<Row> got = ReadRows(out);
  std::sort(got.begin(), got.end());

  // The model: each user's click times sorted, cut where two are more than
  // 30 minutes apart; zed's session is still open.
  std::map<std::string, std::vector<int64_t>> times;
  for (const Click& c : clicks) times[c.user].push_back(c.time);
  std::vector<Row> expected;
  for (auto& [user, ts] : times) {
    if (user == "zed") continue;
    std::sort(ts.begin(), ts.end());
    size_t first = 0;
    for (size_t i = 1; i <= ts.size(); ++i) {
      if (i == ts.size() || ts[i] - ts[i - 1] > 30 * kMinute) {
        expected.emplace_back(user, ts[first], ts[i - 1], static_cast<int64_t>(i - first));
        first = i;
      }
    }
  }
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace eventflow::streams
