#include "eventflow/generator/traffic.h"

#include <array>
#include <cmath>
#include <string_view>

#include "eventflow/core/event_codec.h"

namespace eventflow::generator {
namespace {

struct CountryShare {
  std::string_view country;
  Currency currency;
  double weight;
};
constexpr std::array<CountryShare, 10> kCountries{{
    {"US", Currency::kUsd, 0.28}, {"CA", Currency::kUsd, 0.04}, {"DE", Currency::kEur, 0.13},
    {"FR", Currency::kEur, 0.08}, {"ES", Currency::kEur, 0.03}, {"IT", Currency::kEur, 0.03},
    {"NL", Currency::kEur, 0.02}, {"GB", Currency::kGbp, 0.11}, {"JP", Currency::kJpy, 0.12},
    {"IN", Currency::kInr, 0.16},
}};

// Price ranges in US cents per category (log-uniform within the range).
struct PriceRange {
  Category category;
  int64_t low_cents;
  int64_t high_cents;
};
constexpr std::array<PriceRange, 6> kPriceRanges{{
    {Category::kElectronics, 2'000, 150'000},
    {Category::kClothing, 1'000, 20'000},
    {Category::kBooks, 500, 6'000},
    {Category::kHome, 1'500, 50'000},
    {Category::kSports, 1'000, 40'000},
    {Category::kToys, 500, 15'000},
}};

constexpr std::array<std::string_view, 3> kDevices{"mobile", "desktop", "tablet"};
constexpr int64_t kAttributionWindowMs = 5 * 60 * 1000;

}  // namespace

Status TrafficOptions::Validate() const {
  if (num_users <= kHeavyUsers) {
    return Status::InvalidArgument("--users must be greater than " + std::to_string(kHeavyUsers) +
                                   ", got " + std::to_string(num_users));
  }
  if (num_products <= kPopularProducts) {
    return Status::InvalidArgument("--products must be greater than " +
                                   std::to_string(kPopularProducts) + ", got " +
                                   std::to_string(num_products));
  }
  if (start_time_ms < 0) return Status::InvalidArgument("--start-time must not be before 1970");
  if (event_spacing_us < 0) return Status::InvalidArgument("--event-spacing must be >= 0");
  if (max_disorder_ms < 0) return Status::InvalidArgument("--max-disorder-ms must be >= 0");
  if (!(late_fraction >= 0.0 && late_fraction <= 1.0)) {
    return Status::InvalidArgument("--late-fraction must be within [0, 1]");
  }
  if (late_by_ms < 0) return Status::InvalidArgument("--late-by-ms must be >= 0");
  return Status::OK();
}

TrafficGenerator::TrafficGenerator(const TrafficOptions& options)
    : options_(options),
      rng_(options.seed),
      clock_us_(options.start_time_ms * 1000) {
  users_.reserve(static_cast<size_t>(options.num_users));
  for (int i = 1; i <= options.num_users; ++i) {
    double r = rng_.UniformDouble();
    const CountryShare* home = &kCountries.back();
    for (const CountryShare& c : kCountries) {
      if (r < c.weight) {
        home = &c;
        break;
      }
      r -= c.weight;
    }
    users_.push_back(User{"u" + std::to_string(i), std::string(home->country), home->currency});
  }
  products_.reserve(static_cast<size_t>(options.num_products));
  for (int i = 1; i <= options.num_products; ++i) {
    const PriceRange& range = kPriceRanges[rng_.Uniform(kPriceRanges.size())];
    const double log_low = std::log(static_cast<double>(range.low_cents));
    const double log_high = std::log(static_cast<double>(range.high_cents));
    const double cents = std::exp(log_low + rng_.UniformDouble() * (log_high - log_low));
    // Whole dollars minus one cent: 59.99-style prices.
    const int64_t dollars = std::max<int64_t>(1, std::llround(cents / 100.0));
    products_.push_back(Product{"p" + std::to_string(i), range.category, dollars * 100 - 1});
  }
  char prefix[24];
  std::snprintf(prefix, sizeof(prefix), "o%08x-", static_cast<unsigned>(options.seed));
  order_prefix_ = prefix;
}

int TrafficGenerator::PickUser() {
  if (rng_.Bernoulli(kHeavyUserShare)) return static_cast<int>(rng_.Uniform(kHeavyUsers));
  return kHeavyUsers + static_cast<int>(rng_.Uniform(users_.size() - kHeavyUsers));
}

int TrafficGenerator::PickViewedProduct() {
  if (rng_.Bernoulli(kPopularViewShare)) return static_cast<int>(rng_.Uniform(kPopularProducts));
  return kPopularProducts + static_cast<int>(rng_.Uniform(products_.size() - kPopularProducts));
}

int64_t TrafficGenerator::PriceIn(const Product& product, Currency currency) const {
  const int64_t usd = product.usd_cents + 1;  // back to whole dollars, in cents
  switch (currency) {
    case Currency::kUsd:
      return product.usd_cents;
    case Currency::kEur:
      return std::max<int64_t>(1, std::llround(usd * 0.92 / 100.0)) * 100 - 1;
    case Currency::kGbp:
      return std::max<int64_t>(1, std::llround(usd * 0.79 / 100.0)) * 100 - 1;
    case Currency::kJpy:  // whole tens of yen
      return std::max<int64_t>(1, std::llround(usd * 1.50 / 10.0)) * 1000;
    case Currency::kInr:  // whole rupees ending in 9
      return (std::max<int64_t>(1, std::llround(usd * 0.83 / 10.0)) * 10 - 1) * 100;
  }
  return product.usd_cents;
}

int64_t TrafficGenerator::NextEventTime() {
  if (options_.late_fraction > 0 && rng_.Bernoulli(options_.late_fraction)) {
    return std::max<int64_t>(0, clock_ms() - options_.late_by_ms);
  }
  if (options_.max_disorder_ms == 0) return clock_ms();
  const int64_t lag =
      static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(options_.max_disorder_ms) + 1));
  return std::max<int64_t>(0, clock_ms() - lag);
}

EventTopic TrafficGenerator::Next() {
  if (generated_ > 0) clock_us_ += options_.event_spacing_us;
  ++generated_;
  const double kind = rng_.UniformDouble();
  User& user = users_[static_cast<size_t>(PickUser())];
  const int64_t event_time = NextEventTime();

  if (kind < 0.60) {
    const int p = PickViewedProduct();
    product_view_.user_id = user.id;
    product_view_.product_id = products_[static_cast<size_t>(p)].id;
    product_view_.category = products_[static_cast<size_t>(p)].category;
    product_view_.timestamp_ms = event_time;
    user.last_view_product = p;
    user.last_view_ms = event_time;
    last_topic_ = EventTopic::kProductView;
  } else if (kind < 0.75) {
    int p = -1;
    if (user.last_view_product >= 0 && event_time - user.last_view_ms <= kAttributionWindowMs &&
        event_time >= user.last_view_ms && rng_.Bernoulli(0.6)) {
      p = user.last_view_product;
    } else {
      p = PickViewedProduct();
    }
    const Currency currency = rng_.Bernoulli(0.9)
                                  ? user.currency
                                  : kAllCurrencies[rng_.Uniform(kAllCurrencies.size())];
    order_.order_id = order_prefix_;
    order_.order_id.append(std::to_string(++orders_));
    order_.user_id = user.id;
    order_.product_id = products_[static_cast<size_t>(p)].id;
    order_.price_cents = PriceIn(products_[static_cast<size_t>(p)], currency);
    order_.currency = currency;
    order_.timestamp_ms = event_time;
    last_topic_ = EventTopic::kOrders;
  } else {
    const double t = (kind - 0.75) / 0.25;  // LOGIN 12%, LOGOUT 10%, SIGNUP 3% of all
    user_event_.type = t < 0.48   ? UserEventType::kLogin
                       : t < 0.88 ? UserEventType::kLogout
                                  : UserEventType::kSignup;
    user_event_.user_id = user.id;
    user_event_.country = user.country;
    const double d = rng_.UniformDouble();
    user_event_.device = kDevices[d < 0.55 ? 0 : d < 0.90 ? 1 : 2];
    user_event_.timestamp_ms = event_time;
    last_topic_ = EventTopic::kUserEvents;
  }
  return last_topic_;
}

Event TrafficGenerator::Current() const {
  switch (last_topic_) {
    case EventTopic::kUserEvents: return user_event_;
    case EventTopic::kProductView: return product_view_;
    case EventTopic::kOrders: return order_;
  }
  return user_event_;
}

void TrafficGenerator::AppendCurrentJson(std::string* out) const {
  switch (last_topic_) {
    case EventTopic::kUserEvents: AppendJson(user_event_, out); break;
    case EventTopic::kProductView: AppendJson(product_view_, out); break;
    case EventTopic::kOrders: AppendJson(order_, out); break;
  }
}

}  // namespace eventflow::generator
