// TrafficGenerator: the EventFlow commerce traffic model, reproducing the
// original producer's mix, as a deterministic stream of events.
//
// Model (per event, drawn from one Rng seeded by TrafficOptions::seed):
//  - type: 60% VIEW, 15% ORDER, 25% user events (LOGIN 12%, LOGOUT 10%, SIGNUP 3%);
//  - user: 30% of events come from the kHeavyUsers heaviest users (u1..u10),
//    the rest uniformly from the others (u11..uN);
//  - viewed product: 40% of views hit the kPopularProducts most popular
//    products (p1..p20), the rest go uniformly to the others;
//  - ordered product: 60% the user's last viewed product when that view was
//    less than 5 minutes ago (so order attribution has matches), else drawn
//    like a view;
//  - each user has a home country and currency (US/CA→USD, DE/FR/ES/IT/NL→EUR,
//    GB→GBP, JP→JPY, IN→INR); 90% of orders are in the home currency, 10% in a
//    uniformly drawn one; prices are per product, drawn log-uniformly from
//    its category's USD range and converted with fixed rates to prices that
//    look native (x.99 for USD/EUR/GBP, whole tens of yen, whole rupees ending in 9);
//  - event time: a simulated clock starts at start_time_ms and advances by
//    event_spacing_us per event (microseconds: a million events can span less
//    than a grace period); an event's time lags the clock by a uniform
//    0..max_disorder_ms (bounded disorder), or by late_by_ms for a
//    late_fraction of events (beyond any grace period, for testing drops).
// Same options (seed included) ⇒ the same events, on every machine.
//
// Lifecycle: construct, call Next() repeatedly. Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eventflow/core/event.h"
#include "eventflow/core/status.h"
#include "eventflow/generator/random.h"

namespace eventflow::generator {

inline constexpr int kHeavyUsers = 10;          //!< users that make kHeavyUserShare of traffic
inline constexpr double kHeavyUserShare = 0.30;
inline constexpr int kPopularProducts = 20;     //!< products that get kPopularViewShare of views
inline constexpr double kPopularViewShare = 0.40;

//! What to generate. Defaults match the original producer.
struct TrafficOptions {
  uint64_t seed = 1;                //!< same seed ⇒ same events
  int num_users = 1000;             //!< users u1..uN; must exceed kHeavyUsers
  int num_products = 200;           //!< products p1..pN; must exceed kPopularProducts
  int64_t start_time_ms = 0;        //!< event time of the first event (epoch ms)
  int64_t event_spacing_us = 100'000;  //!< simulated time between events, µs (>= 0)
  int64_t max_disorder_ms = 0;      //!< event time lags the clock by up to this
  double late_fraction = 0.0;       //!< share of events made late by late_by_ms
  int64_t late_by_ms = 3'600'000;   //!< how far behind the clock late events are

  //! Returns InvalidArgument naming the first setting out of range.
  Status Validate() const;
};

class TrafficGenerator {
 public:
  //! `options` must be valid (Validate()).
  explicit TrafficGenerator(const TrafficOptions& options);

  //! Generates the next event and returns its topic; read it with the
  //! accessor of that topic. Reuses internal storage: no allocation once warm.
  EventTopic Next();

  //! The last event, valid after Next() returned kUserEvents.
  const UserEvent& user_event() const { return user_event_; }
  //! The last event, valid after Next() returned kProductView.
  const ProductView& product_view() const { return product_view_; }
  //! The last event, valid after Next() returned kOrders.
  const Order& order() const { return order_; }

  //! Returns a copy of the last generated event.
  Event Current() const;

  //! Appends the last event's contract JSON to `out`.
  void AppendCurrentJson(std::string* out) const;

  //! Returns the simulated clock (event time before disorder) of the last event.
  int64_t clock_ms() const { return clock_us_ / 1000; }

  //! Returns how many events were generated so far.
  uint64_t generated() const { return generated_; }

 private:
  struct User {
    std::string id;
    std::string country;
    Currency currency;
    int last_view_product = -1;
    int64_t last_view_ms = 0;
  };
  struct Product {
    std::string id;
    Category category;
    int64_t usd_cents;
  };

  int PickUser();
  int PickViewedProduct();
  int64_t PriceIn(const Product& product, Currency currency) const;
  int64_t NextEventTime();

  TrafficOptions options_;
  Rng rng_;
  std::vector<User> users_;
  std::vector<Product> products_;
  std::string order_prefix_;
  int64_t clock_us_ = 0;  // the simulated clock, microseconds since the epoch
  uint64_t generated_ = 0;
  uint64_t orders_ = 0;
  EventTopic last_topic_ = EventTopic::kUserEvents;
  UserEvent user_event_;
  ProductView product_view_;
  Order order_;
};

}  // namespace eventflow::generator
