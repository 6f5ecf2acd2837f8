#include "eventflow/core/event.h"

#include <algorithm>
#include <type_traits>

namespace eventflow {
namespace {

// Names indexed by the enumerator's value; the static_asserts keep them in step
// with the enums.
constexpr std::array<std::string_view, 3> kUserEventTypeNames{"LOGIN", "LOGOUT", "SIGNUP"};
constexpr std::array<std::string_view, 6> kCategoryNames{"electronics", "clothing", "books",
                                                         "home",        "sports",   "toys"};
constexpr std::array<std::string_view, 5> kCurrencyNames{"USD", "EUR", "GBP", "JPY", "INR"};
constexpr std::array<std::string_view, 3> kTopicNames{"user-events", "product-view", "orders"};

static_assert(kUserEventTypeNames.size() == kAllUserEventTypes.size());
static_assert(kCategoryNames.size() == kAllCategories.size());
static_assert(kCurrencyNames.size() == kAllCurrencies.size());
static_assert(std::variant_size_v<Event> == kTopicNames.size());

template <typename Enum, size_t N>
constexpr bool IndexedInOrder(const std::array<Enum, N>& all) {
  for (size_t i = 0; i < N; ++i) {
    if (static_cast<size_t>(all[i]) != i) return false;
  }
  return true;
}
static_assert(IndexedInOrder(kAllUserEventTypes));
static_assert(IndexedInOrder(kAllCategories));
static_assert(IndexedInOrder(kAllCurrencies));

// The variant's alternatives are in EventTopic order.
static_assert(std::is_same_v<std::variant_alternative_t<0, Event>, UserEvent>);
static_assert(std::is_same_v<std::variant_alternative_t<1, Event>, ProductView>);
static_assert(std::is_same_v<std::variant_alternative_t<2, Event>, Order>);
static_assert(static_cast<size_t>(EventTopic::kUserEvents) == 0);
static_assert(static_cast<size_t>(EventTopic::kProductView) == 1);
static_assert(static_cast<size_t>(EventTopic::kOrders) == 2);

template <typename Enum, size_t N>
std::optional<Enum> ParseByName(const std::array<std::string_view, N>& names,
                                std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    // Names are a few bytes: compare inline rather than through memcmp.
    if (names[i].size() == name.size() && std::equal(name.begin(), name.end(), names[i].begin())) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view Name(UserEventType type) { return kUserEventTypeNames[static_cast<size_t>(type)]; }
std::string_view Name(Category category) { return kCategoryNames[static_cast<size_t>(category)]; }
std::string_view Name(Currency currency) { return kCurrencyNames[static_cast<size_t>(currency)]; }

std::optional<UserEventType> ParseUserEventType(std::string_view name) {
  return ParseByName<UserEventType>(kUserEventTypeNames, name);
}
std::optional<Category> ParseCategory(std::string_view name) {
  return ParseByName<Category>(kCategoryNames, name);
}
std::optional<Currency> ParseCurrency(std::string_view name) {
  return ParseByName<Currency>(kCurrencyNames, name);
}

std::string_view TopicName(EventTopic topic) { return kTopicNames[static_cast<size_t>(topic)]; }

EventTopic TopicOf(const Event& event) { return static_cast<EventTopic>(event.index()); }

int64_t TimestampOf(const Event& event) {
  return std::visit([](const auto& e) { return e.timestamp_ms; }, event);
}

std::string_view UserIdOf(const Event& event) {
  return std::visit([](const auto& e) { return std::string_view(e.user_id); }, event);
}

std::string_view EventTypeName(const Event& event) {
  switch (TopicOf(event)) {
    case EventTopic::kUserEvents:
      return Name(std::get<UserEvent>(event).type);
    case EventTopic::kProductView:
      return kViewEventType;
    case EventTopic::kOrders:
      return kOrderEventType;
  }
  return {};
}

}  // namespace eventflow
