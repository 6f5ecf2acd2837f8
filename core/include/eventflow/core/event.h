// The three event types of the EventFlow pipeline's data contract
// (docs/architecture.md, "The EventFlow pipeline"):
//
//   topic          eventType                 struct
//   user-events    LOGIN | LOGOUT | SIGNUP   UserEvent
//   product-view   VIEW                      ProductView
//   orders         ORDER                     Order
//
// Every record is keyed by userId and carries its event time as epoch
// milliseconds (see eventflow/core/time.h). Prices are exact: an integer number
// of hundredths of the currency unit, matching PostgreSQL's numeric(12,2)
// (59.99 EUR is 5999; 1200 JPY is 120000). The JSON form of these structs is
// in eventflow/core/event_codec.h.
//
// Thread-safety: plain values and free functions over constant tables; safe
// from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace eventflow {

//! The eventType of a record on the user-events topic.
enum class UserEventType : uint8_t { kLogin, kLogout, kSignup };

//! The product category of a view.
enum class Category : uint8_t { kElectronics, kClothing, kBooks, kHome, kSports, kToys };

//! The currency of an order's price (revenue is summed per currency, never converted).
enum class Currency : uint8_t { kUsd, kEur, kGbp, kJpy, kInr };

inline constexpr std::array kAllUserEventTypes{UserEventType::kLogin, UserEventType::kLogout,
                                               UserEventType::kSignup};
inline constexpr std::array kAllCategories{Category::kElectronics, Category::kClothing,
                                           Category::kBooks,       Category::kHome,
                                           Category::kSports,      Category::kToys};
inline constexpr std::array kAllCurrencies{Currency::kUsd, Currency::kEur, Currency::kGbp,
                                           Currency::kJpy, Currency::kInr};

//! The eventType of every ProductView record.
inline constexpr std::string_view kViewEventType = "VIEW";
//! The eventType of every Order record.
inline constexpr std::string_view kOrderEventType = "ORDER";

//! Returns the contract's name of the type: "LOGIN", "LOGOUT" or "SIGNUP".
std::string_view Name(UserEventType type);
//! Returns the contract's name of the category, e.g. "electronics".
std::string_view Name(Category category);
//! Returns the ISO 4217 code of the currency, e.g. "USD".
std::string_view Name(Currency currency);

//! Returns the type named exactly (case-sensitively) `name`, or nullopt.
std::optional<UserEventType> ParseUserEventType(std::string_view name);
//! Returns the category named exactly (case-sensitively) `name`, or nullopt.
std::optional<Category> ParseCategory(std::string_view name);
//! Returns the currency named exactly (case-sensitively) `name`, or nullopt.
std::optional<Currency> ParseCurrency(std::string_view name);

// A LOGIN, LOGOUT or SIGNUP on the user-events topic. A plain value.
struct UserEvent {
  UserEventType type = UserEventType::kLogin;
  std::string user_id;
  std::string country;       //!< as sent, e.g. "DE"; not checked against ISO 3166
  std::string device;        //!< as sent, e.g. "mobile"
  int64_t timestamp_ms = 0;  //!< event time, epoch milliseconds

  bool operator==(const UserEvent&) const = default;
};

// A product view (eventType "VIEW") on the product-view topic. A plain value.
struct ProductView {
  std::string user_id;
  std::string product_id;
  Category category = Category::kElectronics;
  int64_t timestamp_ms = 0;  //!< event time, epoch milliseconds

  bool operator==(const ProductView&) const = default;
};

// An order (eventType "ORDER") on the orders topic. A plain value.
struct Order {
  std::string order_id;
  std::string user_id;
  std::string product_id;
  int64_t price_cents = 0;  //!< price in hundredths of `currency`: 59.99 is 5999
  Currency currency = Currency::kUsd;
  int64_t timestamp_ms = 0;  //!< event time, epoch milliseconds

  bool operator==(const Order&) const = default;
};

//! Any record of the pipeline's input topics.
using Event = std::variant<UserEvent, ProductView, Order>;

//! The pipeline's input topics, one per event struct.
enum class EventTopic : uint8_t { kUserEvents, kProductView, kOrders };

//! Returns the topic's name: "user-events", "product-view" or "orders".
std::string_view TopicName(EventTopic topic);

//! Returns the topic on which `event` belongs.
EventTopic TopicOf(const Event& event);
//! Returns the event time of `event` in epoch milliseconds.
int64_t TimestampOf(const Event& event);
//! Returns the userId of `event` (the record key); valid while `event` is.
std::string_view UserIdOf(const Event& event);
//! Returns the eventType of `event` as written in JSON, e.g. "LOGIN" or "ORDER".
std::string_view EventTypeName(const Event& event);

}  // namespace eventflow
