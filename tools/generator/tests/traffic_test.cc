#include "eventflow/generator/traffic.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "eventflow/core/event_codec.h"

namespace eventflow::generator {
namespace {

std::vector<std::string> JsonLines(const TrafficOptions& options, int n) {
  TrafficGenerator gen(options);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    gen.Next();
    std::string line;
    gen.AppendCurrentJson(&line);
    out.push_back(std::move(line));
  }
  return out;
}

TrafficOptions Defaults(uint64_t seed) {
  TrafficOptions o;
  o.seed = seed;
  o.start_time_ms = 1'764'460'800'000;  // 2025-11-30T00:00:00Z
  return o;
}

TEST(TrafficGeneratorTest, SameSeedSameEventsOtherSeedOtherEvents) {
  const auto a = JsonLines(Defaults(7), 5000);
  const auto b = JsonLines(Defaults(7), 5000);
  const auto c = JsonLines(Defaults(8), 5000);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(TrafficGeneratorTest, ValidateNamesTheSetting) {
  TrafficOptions o = Defaults(1);
  o.num_users = 10;
  EXPECT_NE(o.Validate().message().find("--users"), std::string::npos);
  o = Defaults(1);
  o.num_products = 5;
  EXPECT_NE(o.Validate().message().find("--products"), std::string::npos);
  o = Defaults(1);
  o.late_fraction = 1.5;
  EXPECT_NE(o.Validate().message().find("--late-fraction"), std::string::npos);
  o = Defaults(1);
  o.max_disorder_ms = -1;
  EXPECT_NE(o.Validate().message().find("--max-disorder"), std::string::npos);
  EXPECT_TRUE(Defaults(1).Validate().ok());
}

// The traffic shape of the original producer, measured over the decoded JSON
// (what consumers see), not over the generator's internals.
TEST(TrafficGeneratorTest, DistributionsMatchTheOriginalProducer) {
  TrafficOptions o = Defaults(42);
  o.num_users = 1000;
  o.num_products = 200;
  const int n = 200'000;
  EventDecoder decoder;
  std::map<std::string, int> per_user;
  std::map<std::string, int> views_per_product;
  std::map<Currency, int> currencies;
  std::set<Category> categories;
  int views = 0, orders = 0, user_events = 0;
  // For order attribution: last view time per (user, product).
  std::map<std::pair<std::string, std::string>, int64_t> last_view;
  int attributable_orders = 0;
  for (const std::string& line : JsonLines(o, n)) {
    auto event = decoder.Decode(line);
    ASSERT_TRUE(event.ok()) << event.status().ToString() << " in " << line;
    ++per_user[std::string(UserIdOf(*event))];
    if (const auto* v = std::get_if<ProductView>(&*event)) {
      ++views;
      ++views_per_product[v->product_id];
      categories.insert(v->category);
      last_view[{v->user_id, v->product_id}] = v->timestamp_ms;
    } else if (const auto* ord = std::get_if<Order>(&*event)) {
      ++orders;
      ++currencies[ord->currency];
      EXPECT_GT(ord->price_cents, 0) << line;
      switch (ord->currency) {
        case Currency::kJpy: EXPECT_EQ(ord->price_cents % 1000, 0) << line; break;
        case Currency::kInr: EXPECT_EQ(ord->price_cents % 1000, 900) << line; break;
        default: EXPECT_EQ(ord->price_cents % 100, 99) << line; break;
      }
      auto it = last_view.find({ord->user_id, ord->product_id});
      if (it != last_view.end() && it->second <= ord->timestamp_ms &&
          ord->timestamp_ms - it->second <= 5 * 60 * 1000) {
        ++attributable_orders;
      }
    } else {
      ++user_events;
    }
  }
  int heavy = 0;
  for (int i = 1; i <= kHeavyUsers; ++i) heavy += per_user["u" + std::to_string(i)];
  EXPECT_NEAR(static_cast<double>(heavy) / n, 0.30, 0.01);
  int popular = 0;
  for (int i = 1; i <= kPopularProducts; ++i) popular += views_per_product["p" + std::to_string(i)];
  EXPECT_NEAR(static_cast<double>(popular) / views, 0.40, 0.01);
  EXPECT_NEAR(static_cast<double>(views) / n, 0.60, 0.01);
  EXPECT_NEAR(static_cast<double>(orders) / n, 0.15, 0.01);
  EXPECT_NEAR(static_cast<double>(user_events) / n, 0.25, 0.01);
  EXPECT_EQ(currencies.size(), kAllCurrencies.size());
  for (const auto& [currency, count] : currencies) EXPECT_GT(count, orders / 50);
  EXPECT_EQ(categories.size(), kAllCategories.size());
  EXPECT_GT(per_user.size(), 900u);  // non-heavy users are spread over the rest
  // Orders often follow a recent view of the same product (attribution has data).
  EXPECT_GT(static_cast<double>(attributable_orders) / orders, 0.2);
}

TEST(TrafficGeneratorTest, EventTimesFollowTheClockWithBoundedDisorder) {
  TrafficOptions o = Defaults(3);
  o.event_spacing_us = 20'000;
  o.max_disorder_ms = 30'000;
  TrafficGenerator gen(o);
  int64_t max_seen = 0;
  bool some_out_of_order = false;
  for (int64_t i = 0; i < 50'000; ++i) {
    gen.Next();
    const int64_t ts = TimestampOf(gen.Current());
    const int64_t clock = o.start_time_ms + i * 20;
    ASSERT_EQ(gen.clock_ms(), clock);
    ASSERT_LE(ts, clock);
    ASSERT_GE(ts, clock - o.max_disorder_ms);
    ASSERT_GE(ts, max_seen - o.max_disorder_ms);  // bounded out-of-order
    if (ts < max_seen) some_out_of_order = true;
    max_seen = std::max(max_seen, ts);
  }
  EXPECT_TRUE(some_out_of_order);
}

// Spacing below a millisecond: the clock advances in microseconds and event
// times are its whole milliseconds, so a million events can span less than a
// grace period.
TEST(TrafficGeneratorTest, SubMillisecondSpacingAdvancesTheClockInMicroseconds) {
  TrafficOptions o = Defaults(4);
  o.event_spacing_us = 300;
  TrafficGenerator gen(o);
  for (int64_t i = 0; i < 10'000; ++i) {
    gen.Next();
    ASSERT_EQ(gen.clock_ms(), o.start_time_ms + i * 300 / 1000) << i;
    ASSERT_EQ(TimestampOf(gen.Current()), gen.clock_ms()) << i;  // no disorder
  }
}

TEST(TrafficGeneratorTest, LateFractionPlacesEventsFarBehind) {
  TrafficOptions o = Defaults(5);
  o.late_fraction = 0.01;
  o.late_by_ms = 3'600'000;
  TrafficGenerator gen(o);
  int late = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) {
    gen.Next();
    const int64_t ts = TimestampOf(gen.Current());
    if (ts < gen.clock_ms()) {
      ASSERT_EQ(ts, gen.clock_ms() - o.late_by_ms);
      ++late;
    }
  }
  EXPECT_NEAR(static_cast<double>(late) / n, 0.01, 0.002);
}

TEST(TrafficGeneratorTest, JsonRoundTripsThroughTheDecoder) {
  TrafficGenerator gen(Defaults(9));
  EventDecoder decoder;
  for (int i = 0; i < 2000; ++i) {
    gen.Next();
    std::string line;
    gen.AppendCurrentJson(&line);
    auto decoded = decoder.Decode(line);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, gen.Current()) << line;
  }
}

TEST(TrafficGeneratorTest, OrderIdsAreUniqueWithinARun) {
  TrafficGenerator gen(Defaults(11));
  std::set<std::string> ids;
  int orders = 0;
  for (int i = 0; i < 20'000; ++i) {
    if (gen.Next() == EventTopic::kOrders) {
      ++orders;
      ids.insert(gen.order().order_id);
    }
  }
  EXPECT_EQ(static_cast<int>(ids.size()), orders);
}

}  // namespace
}  // namespace eventflow::generator
