#include "eventflow/core/event_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/event.h"
#include "eventflow/core/time.h"

namespace eventflow {
namespace {

// The data contract's example records, and the structs they stand for.
constexpr char kLoginJson[] =
    R"({"eventType":"LOGIN","userId":"u123","country":"DE","device":"mobile","timestamp":"2025-11-30T11:15:32Z"})";
constexpr char kViewJson[] =
    R"({"eventType":"VIEW","userId":"u123","productId":"p10","category":"electronics","timestamp":"2025-11-30T11:16:10Z"})";
constexpr char kOrderJson[] =
    R"({"eventType":"ORDER","orderId":"o777","userId":"u123","productId":"p10","price":59.99,"currency":"EUR","timestamp":"2025-11-30T11:17:00Z"})";

UserEvent LoginEvent() {
  return UserEvent{UserEventType::kLogin, "u123", "DE", "mobile", 1'764'501'332'000};
}
ProductView ViewEvent() {
  return ProductView{"u123", "p10", Category::kElectronics, 1'764'501'370'000};
}
Order OrderEvent() { return Order{"o777", "u123", "p10", 5999, Currency::kEur, 1'764'501'420'000}; }

// A record as (key, raw JSON value) pairs, so tests can vary one field at a time.
using Fields = std::vector<std::pair<std::string, std::string>>;

Fields LoginFields() {
  return {{"eventType", R"("LOGIN")"},
          {"userId", R"("u123")"},
          {"country", R"("DE")"},
          {"device", R"("mobile")"},
          {"timestamp", R"("2025-11-30T11:15:32Z")"}};
}
Fields ViewFields() {
  return {{"eventType", R"("VIEW")"},
          {"userId", R"("u123")"},
          {"productId", R"("p10")"},
          {"category", R"("electronics")"},
          {"timestamp", R"("2025-11-30T11:16:10Z")"}};
}
Fields OrderFields() {
  return {{"eventType", R"("ORDER")"},
          {"orderId", R"("o777")"},
          {"userId", R"("u123")"},
          {"productId", R"("p10")"},
          {"price", "59.99"},
          {"currency", R"("EUR")"},
          {"timestamp", R"("2025-11-30T11:17:00Z")"}};
}

std::string Render(const Fields& fields) {
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ",";
    out += "\"" + key + "\":" + value;
  }
  return out + "}";
}

Fields With(Fields fields, const std::string& key, const std::string& value) {
  for (auto& field : fields) {
    if (field.first == key) field.second = value;
  }
  return fields;
}

Fields Without(Fields fields, const std::string& key) {
  std::erase_if(fields, [&](const auto& field) { return field.first == key; });
  return fields;
}

Fields Plus(Fields fields, const std::string& key, const std::string& value) {
  fields.emplace_back(key, value);
  return fields;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Decodes with the generic Decode and returns its error message ("" when it succeeded).
std::string DecodeError(const std::string& json) {
  EventDecoder decoder;
  Result<Event> event = decoder.Decode(json);
  if (event.ok()) return "";
  EXPECT_TRUE(event.status().IsInvalidArgument()) << event.status().ToString();
  return event.status().message();
}

#define EXPECT_REJECTED(json, ...)                                                         \
  do {                                                                                     \
    const std::string input_ = (json);                                                     \
    const std::string message_ = DecodeError(input_);                                      \
    EXPECT_FALSE(message_.empty()) << "accepted: " << input_;                              \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__}) {               \
      EXPECT_TRUE(Contains(message_, part_))                                               \
          << "input:   " << input_ << "\nmessage: " << message_ << "\nmissing: " << part_; \
    }                                                                                      \
  } while (false)

// ---------------------------------------------------------------------------
// event.h

TEST(EventTest, NamesAndParsing) {
  EXPECT_EQ(Name(UserEventType::kLogin), "LOGIN");
  EXPECT_EQ(Name(UserEventType::kLogout), "LOGOUT");
  EXPECT_EQ(Name(UserEventType::kSignup), "SIGNUP");
  EXPECT_EQ(Name(Category::kElectronics), "electronics");
  EXPECT_EQ(Name(Category::kClothing), "clothing");
  EXPECT_EQ(Name(Category::kBooks), "books");
  EXPECT_EQ(Name(Category::kHome), "home");
  EXPECT_EQ(Name(Category::kSports), "sports");
  EXPECT_EQ(Name(Category::kToys), "toys");
  EXPECT_EQ(Name(Currency::kUsd), "USD");
  EXPECT_EQ(Name(Currency::kEur), "EUR");
  EXPECT_EQ(Name(Currency::kGbp), "GBP");
  EXPECT_EQ(Name(Currency::kJpy), "JPY");
  EXPECT_EQ(Name(Currency::kInr), "INR");

  EXPECT_EQ(kAllUserEventTypes.size(), 3u);
  EXPECT_EQ(kAllCategories.size(), 6u);
  EXPECT_EQ(kAllCurrencies.size(), 5u);
  for (UserEventType t : kAllUserEventTypes) EXPECT_EQ(ParseUserEventType(Name(t)), t);
  for (Category c : kAllCategories) EXPECT_EQ(ParseCategory(Name(c)), c);
  for (Currency c : kAllCurrencies) EXPECT_EQ(ParseCurrency(Name(c)), c);

  EXPECT_EQ(ParseUserEventType("login"), std::nullopt);
  EXPECT_EQ(ParseUserEventType("VIEW"), std::nullopt);
  EXPECT_EQ(ParseUserEventType(""), std::nullopt);
  EXPECT_EQ(ParseCategory("Electronics"), std::nullopt);
  EXPECT_EQ(ParseCategory("electronics "), std::nullopt);
  EXPECT_EQ(ParseCategory("toy"), std::nullopt);
  EXPECT_EQ(ParseCurrency("usd"), std::nullopt);
  EXPECT_EQ(ParseCurrency("US"), std::nullopt);
  EXPECT_EQ(ParseCurrency("USDX"), std::nullopt);
}

TEST(EventTest, TopicsAndAccessors) {
  EXPECT_EQ(TopicName(EventTopic::kUserEvents), "user-events");
  EXPECT_EQ(TopicName(EventTopic::kProductView), "product-view");
  EXPECT_EQ(TopicName(EventTopic::kOrders), "orders");

  const Event login = LoginEvent();
  const Event view = ViewEvent();
  const Event order = OrderEvent();
  EXPECT_EQ(TopicOf(login), EventTopic::kUserEvents);
  EXPECT_EQ(TopicOf(view), EventTopic::kProductView);
  EXPECT_EQ(TopicOf(order), EventTopic::kOrders);
  EXPECT_EQ(TimestampOf(login), 1'764'501'332'000);
  EXPECT_EQ(TimestampOf(view), 1'764'501'370'000);
  EXPECT_EQ(TimestampOf(order), 1'764'501'420'000);
  EXPECT_EQ(UserIdOf(login), "u123");
  EXPECT_EQ(UserIdOf(view), "u123");
  EXPECT_EQ(UserIdOf(order), "u123");
  EXPECT_EQ(EventTypeName(login), "LOGIN");
  EXPECT_EQ(EventTypeName(Event(UserEvent{UserEventType::kSignup, "u", "", "", 0})), "SIGNUP");
  EXPECT_EQ(EventTypeName(view), "VIEW");
  EXPECT_EQ(EventTypeName(order), "ORDER");
}

TEST(EventTest, Equality) {
  EXPECT_EQ(OrderEvent(), OrderEvent());
  Order other = OrderEvent();
  other.price_cents = 6000;
  EXPECT_NE(OrderEvent(), other);
  EXPECT_EQ(Event(LoginEvent()), Event(LoginEvent()));
  EXPECT_NE(Event(LoginEvent()), Event(ViewEvent()));
}

// ---------------------------------------------------------------------------
// Encoding

TEST(EncodeTest, ContractExamples) {
  std::string out;
  AppendJson(LoginEvent(), &out);
  EXPECT_EQ(out, kLoginJson);
  out.clear();
  AppendJson(ViewEvent(), &out);
  EXPECT_EQ(out, kViewJson);
  out.clear();
  AppendJson(OrderEvent(), &out);
  EXPECT_EQ(out, kOrderJson);
}

TEST(EncodeTest, EventVariantAndAppending) {
  std::string out = "prefix:";
  AppendJson(Event(OrderEvent()), &out);
  out += "\n";
  AppendJson(Event(ViewEvent()), &out);
  out += "\n";
  AppendJson(Event(LoginEvent()), &out);
  EXPECT_EQ(out, std::string("prefix:") + kOrderJson + "\n" + kViewJson + "\n" + kLoginJson);
}

TEST(EncodeTest, UserEventTypesAndMilliseconds) {
  std::string out;
  AppendJson(UserEvent{UserEventType::kSignup, "u9", "IN", "desktop", 1'764'501'420'007}, &out);
  EXPECT_EQ(out, R"({"eventType":"SIGNUP","userId":"u9","country":"IN","device":"desktop",)"
                 R"("timestamp":"2025-11-30T11:17:00.007Z"})");
  out.clear();
  AppendJson(UserEvent{UserEventType::kLogout, "u9", "", "", 0}, &out);
  EXPECT_EQ(out, R"({"eventType":"LOGOUT","userId":"u9","country":"","device":"",)"
                 R"("timestamp":"1970-01-01T00:00:00Z"})");
}

TEST(EncodeTest, PricesHaveExactlyTwoDecimals) {
  const std::pair<int64_t, const char*> cases[] = {
      {0, "0.00"},         {5, "0.05"},         {50, "0.50"},
      {99, "0.99"},        {100, "1.00"},       {5999, "59.99"},
      {120000, "1200.00"}, {100001, "1000.01"}, {999'999'999'999, "9999999999.99"},
      {-150, "-1.50"},     {-5, "-0.05"},
  };
  for (const auto& [cents, text] : cases) {
    std::string out;
    AppendPrice(cents, &out);
    EXPECT_EQ(out, text) << cents;
  }
  Order jpy{"o1", "u1", "p1", 120000, Currency::kJpy, 0};
  std::string out;
  AppendJson(jpy, &out);
  EXPECT_EQ(out, R"({"eventType":"ORDER","orderId":"o1","userId":"u1","productId":"p1",)"
                 R"("price":1200.00,"currency":"JPY","timestamp":"1970-01-01T00:00:00Z"})");
}

TEST(EncodeTest, EscapesStrings) {
  ProductView view{"q\"b\\s/", std::string("a\x01\n\t\x1f\x7f", 6), Category::kToys, 0};
  std::string out;
  AppendJson(view, &out);
  EXPECT_EQ(out, R"({"eventType":"VIEW","userId":"q\"b\\s/","productId":"a\u0001\u000a\u0009\u001f)"
                 "\x7f"
                 R"(","category":"toys","timestamp":"1970-01-01T00:00:00Z"})");

  UserEvent nul{UserEventType::kLogin, std::string("a\0b", 3), "DE", "m", 0};
  out.clear();
  AppendJson(nul, &out);
  EXPECT_TRUE(Contains(out, R"("userId":"a\u0000b")")) << out;
}

TEST(EncodeTest, PassesUtf8Through) {
  UserEvent event{UserEventType::kLogin, "üser-日本-🎉", "ÖS", "📱", 0};
  std::string out;
  AppendJson(event, &out);
  EXPECT_EQ(out, R"({"eventType":"LOGIN","userId":"üser-日本-🎉","country":"ÖS","device":"📱",)"
                 R"("timestamp":"1970-01-01T00:00:00Z"})");
}

// ---------------------------------------------------------------------------
// Decoding valid records

TEST(DecodeTest, ContractExamples) {
  EventDecoder decoder;
  Result<UserEvent> login = decoder.DecodeUserEvent(kLoginJson);
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(*login, LoginEvent());
  Result<ProductView> view = decoder.DecodeProductView(kViewJson);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(*view, ViewEvent());
  Result<Order> order = decoder.DecodeOrder(kOrderJson);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(*order, OrderEvent());
}

TEST(DecodeTest, GenericDecodeDispatchesOnEventType) {
  EventDecoder decoder;
  const std::pair<const char*, UserEventType> user_types[] = {
      {"LOGIN", UserEventType::kLogin},
      {"LOGOUT", UserEventType::kLogout},
      {"SIGNUP", UserEventType::kSignup},
  };
  for (const auto& [name, type] : user_types) {
    Result<Event> event =
        decoder.Decode(Render(With(LoginFields(), "eventType", std::string("\"") + name + "\"")));
    ASSERT_TRUE(event.ok()) << event.status().ToString();
    UserEvent expected = LoginEvent();
    expected.type = type;
    EXPECT_EQ(*event, Event(expected));
  }
  Result<Event> view = decoder.Decode(kViewJson);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view, Event(ViewEvent()));
  Result<Event> order = decoder.Decode(kOrderJson);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, Event(OrderEvent()));
}

TEST(DecodeTest, DecodeFromTopic) {
  EventDecoder decoder;
  Result<Event> order = decoder.DecodeFromTopic(EventTopic::kOrders, kOrderJson);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, Event(OrderEvent()));
  Result<Event> login = decoder.DecodeFromTopic(EventTopic::kUserEvents, kLoginJson);
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(*login, Event(LoginEvent()));
  Result<Event> wrong = decoder.DecodeFromTopic(EventTopic::kProductView, kOrderJson);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(Contains(wrong.status().message(),
                       R"(eventType "ORDER" does not belong on topic product-view)"));
}

TEST(DecodeTest, PerTopicDecodersRejectOtherTopicsEventTypes) {
  EventDecoder decoder;
  Result<UserEvent> a = decoder.DecodeUserEvent(kOrderJson);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(Contains(a.status().message(),
                       R"(field "eventType" at byte 13: eventType "ORDER" does not belong on )"
                       R"(topic user-events)"))
      << a.status().message();
  Result<ProductView> b = decoder.DecodeProductView(kLoginJson);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(
      Contains(b.status().message(), R"(eventType "LOGIN" does not belong on topic product-view)"));
  Result<Order> c = decoder.DecodeOrder(kViewJson);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(
      Contains(c.status().message(), R"(eventType "VIEW" does not belong on topic orders)"));
}

TEST(DecodeTest, FieldsInAnyOrderAndWhitespace) {
  EventDecoder decoder;
  const std::string reordered =
      R"({"timestamp":"2025-11-30T11:17:00Z","currency":"EUR","price":59.99,)"
      R"("productId":"p10","userId":"u123","orderId":"o777","eventType":"ORDER"})";
  Result<Order> order = decoder.DecodeOrder(reordered);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(*order, OrderEvent());

  const std::string spaced =
      " \n\t{ \"eventType\" : \"ORDER\" ,\r\n \"orderId\":\"o777\", \"userId\" :\"u123\","
      "\"productId\": \"p10\" , \"price\" : 59.99 , \"currency\":\"EUR\" ,"
      "\"timestamp\" : \"2025-11-30T11:17:00Z\"\n}\n ";
  order = decoder.DecodeOrder(spaced);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(*order, OrderEvent());
}

TEST(DecodeTest, PricesAreExact) {
  EventDecoder decoder;
  const std::pair<const char*, int64_t> cases[] = {
      {"59.99", 5999},
      {"59.990", 5999},
      {"59.9900000", 5999},
      {"59.9", 5990},
      {"59", 5900},
      {"0", 0},
      {"0.0", 0},
      {"0.5", 50},
      {"0.05", 5},
      {"1200", 120000},
      {"1200.00", 120000},
      {"9999999999.99", 999'999'999'999},
      {"9999999999", 999'999'999'900},
      {"-0", 0},
      {"-0.00", 0},
      {"0.10", 10},
      {"1.01", 101},
  };
  for (const auto& [text, cents] : cases) {
    Result<Order> order = decoder.DecodeOrder(Render(With(OrderFields(), "price", text)));
    ASSERT_TRUE(order.ok()) << text << ": " << order.status().ToString();
    EXPECT_EQ(order->price_cents, cents) << text;
  }
}

TEST(DecodeTest, EveryCategoryAndCurrency) {
  EventDecoder decoder;
  for (Category category : kAllCategories) {
    Result<ProductView> view = decoder.DecodeProductView(
        Render(With(ViewFields(), "category", "\"" + std::string(Name(category)) + "\"")));
    ASSERT_TRUE(view.ok()) << view.status().ToString();
    EXPECT_EQ(view->category, category);
  }
  for (Currency currency : kAllCurrencies) {
    Result<Order> order = decoder.DecodeOrder(
        Render(With(OrderFields(), "currency", "\"" + std::string(Name(currency)) + "\"")));
    ASSERT_TRUE(order.ok()) << order.status().ToString();
    EXPECT_EQ(order->currency, currency);
  }
}

TEST(DecodeTest, UnescapesStrings) {
  EventDecoder decoder;
  const std::string json =
      Render(With(With(With(LoginFields(), "userId", R"("q\"b\\s\/\u00fc\u65e5\ud83c\udf89\n\t")"),
                       "country", R"("\u0044\u0045")"),
                  "device", R"("üñí 📱")"));
  Result<UserEvent> event = decoder.DecodeUserEvent(json);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->user_id, "q\"b\\s/ü日🎉\n\t");
  EXPECT_EQ(event->country, "DE");
  EXPECT_EQ(event->device, "üñí 📱");
}

TEST(DecodeTest, EscapedKeysAreDecoded) {
  EventDecoder decoder;
  const std::string json =
      Render(Without(OrderFields(), "userId")).insert(1, R"("user\u0049d":"u123",)");
  Result<Order> order = decoder.DecodeOrder(json);
  ASSERT_TRUE(order.ok()) << json << ": " << order.status().ToString();
  EXPECT_EQ(*order, OrderEvent());
}

TEST(DecodeTest, RoundTripsEncodedEventsIncludingEscapes) {
  const std::vector<Event> events = {
      LoginEvent(),
      ViewEvent(),
      OrderEvent(),
      UserEvent{UserEventType::kLogout, "u\"1\\", "", std::string("\x01\x02\x1f", 3), 0},
      UserEvent{UserEventType::kSignup, "ü日本🎉", "DE", "tablet\n", kMaxTimestampMillis},
      ProductView{"u/1", "p\"x\"", Category::kSports, 1},
      Order{"o\\", "u\u2028", "p\t", 0, Currency::kInr, 999},
      Order{std::string(256, 'o'), std::string(256, 'u'), std::string(256, 'p'), kMaxPriceCents,
            Currency::kGbp, 951'782'400'000},
  };
  EventDecoder decoder;
  std::string buffer;
  for (const Event& event : events) {
    buffer.clear();
    AppendJson(event, &buffer);
    Result<Event> decoded = decoder.Decode(buffer);
    ASSERT_TRUE(decoded.ok()) << buffer << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, event) << buffer;
    Result<Event> by_topic = decoder.DecodeFromTopic(TopicOf(event), buffer);
    ASSERT_TRUE(by_topic.ok()) << buffer;
    EXPECT_EQ(*by_topic, event);
  }
}

TEST(DecodeTest, IgnoresUnknownFieldsOfAnyType) {
  EventDecoder decoder;
  Fields fields = OrderFields();
  fields.insert(fields.begin(), {"schemaVersion", "2"});
  fields.insert(fields.begin() + 3, {"meta", R"({"a":[1,2.5e3,{"b":null}],"c":"x","d":{}})"});
  fields.emplace_back("tags", R"(["x","y",[],[[]],true,false,null,-0.0])");
  fields.emplace_back("note", R"("with \"escapes\" \u00e9 and a \u0000 NUL")");
  fields.emplace_back("flag", "false");
  fields.emplace_back("nothing", "null");
  fields.emplace_back("", R"("empty key")");
  fields.emplace_back("category", R"("not-a-category")");  // belongs to VIEW: ignored here
  fields.emplace_back("country", "42");                    // belongs to user-events
  Result<Order> order = decoder.DecodeOrder(Render(fields));
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(*order, OrderEvent());

  // Other event types' fields, even duplicated, are ignored like unknown ones.
  Result<ProductView> view = decoder.DecodeProductView(
      Render(Plus(Plus(ViewFields(), "price", R"("abc")"), "price", R"("def")")));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(*view, ViewEvent());
}

TEST(DecodeTest, UnknownFieldNestedUpToTheLimit) {
  EventDecoder decoder;
  const int depth = kMaxUnknownNestingDepth;
  const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
  Result<Order> order = decoder.DecodeOrder(Render(Plus(OrderFields(), "deep", arrays)));
  ASSERT_TRUE(order.ok()) << order.status().ToString();

  std::string objects;
  for (int i = 0; i < depth; ++i) objects += R"({"k":)";
  objects += "1" + std::string(depth, '}');
  order = decoder.DecodeOrder(Render(Plus(OrderFields(), "deep", objects)));
  ASSERT_TRUE(order.ok()) << order.status().ToString();

  const std::string too_deep = std::string(depth + 1, '[') + std::string(depth + 1, ']');
  EXPECT_REJECTED(Render(Plus(OrderFields(), "deep", too_deep)), R"(field "deep")",
                  "nested deeper than 64 levels");
}

TEST(DecodeTest, DeepNestingNeverCrashes) {
  constexpr int kDepth = 10000;
  const std::string balanced = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_REJECTED(Render(Plus(OrderFields(), "deep", balanced)), R"(field "deep")", "nested");
  std::string objects;
  for (int i = 0; i < kDepth; ++i) objects += R"({"a":)";
  objects += "0" + std::string(kDepth, '}');
  EXPECT_REJECTED(Render(Plus(OrderFields(), "deep", objects)), R"(field "deep")", "nested");
  // Unbalanced and at the top level.
  EXPECT_REJECTED(Render(Plus(OrderFields(), "deep", std::string(kDepth, '['))));
  EXPECT_REJECTED(std::string(kDepth, '[') + std::string(kDepth, ']'), "not a JSON object");
  EXPECT_REJECTED(std::string(kDepth, '{'));
  EXPECT_REJECTED(Render(With(OrderFields(), "userId", balanced)), R"(field "userId")");
}

TEST(DecodeTest, DecoderIsReusableAcrossSizesAndErrors) {
  EventDecoder decoder;
  // A long record, then short ones: stale bytes past the end must not matter.
  const std::string long_record =
      Render(Plus(OrderFields(), "padding", "\"" + std::string(100000, 'x') + "\"}"));
  EXPECT_FALSE(decoder.DecodeOrder(long_record).ok());  // trailing '}' inside a string is fine,
                                                        // but the extra '}' after it is not
  const std::string long_ok =
      Render(Plus(OrderFields(), "padding", "\"" + std::string(100000, '}') + "\""));
  ASSERT_TRUE(decoder.DecodeOrder(long_ok).ok());
  for (size_t cut = 1; cut < 40; ++cut) {
    EXPECT_FALSE(decoder.DecodeOrder(std::string(kOrderJson).substr(0, cut)).ok());
  }
  for (int i = 0; i < 3; ++i) {
    Result<Order> order = decoder.DecodeOrder(kOrderJson);
    ASSERT_TRUE(order.ok()) << order.status().ToString();
    EXPECT_EQ(*order, OrderEvent());
  }
  EventDecoder moved = std::move(decoder);
  ASSERT_TRUE(moved.DecodeOrder(kOrderJson).ok());
}

TEST(DecodeTest, DecodedStringsOutliveTheInputAndTheNextRecord) {
  EventDecoder decoder;
  std::string input = R"({"eventType":"VIEW","userId":"a-long-user-id-beyond-sso","productId":)"
                      R"("p\u00e9","category":"books","timestamp":"2025-11-30T11:16:10Z"})";
  Result<ProductView> first = decoder.DecodeProductView(input);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  input.assign(input.size(), ' ');
  ASSERT_TRUE(decoder.DecodeProductView(kViewJson).ok());
  EXPECT_EQ(first->user_id, "a-long-user-id-beyond-sso");
  EXPECT_EQ(first->product_id, "pé");
  EXPECT_EQ(first->category, Category::kBooks);
}

// ---------------------------------------------------------------------------
// Rejected records

TEST(RejectTest, EmptyAndWhitespaceInput) {
  EXPECT_REJECTED("", "empty input");
  EXPECT_REJECTED("   \n\t ", "no JSON value");
}

TEST(RejectTest, TopLevelNotAnObject) {
  EXPECT_REJECTED("[1,2]", "top level at byte 0 is an array, not a JSON object");
  EXPECT_REJECTED(std::string("[") + kOrderJson + "]", "is an array, not a JSON object");
  EXPECT_REJECTED("123", "is a number, not a JSON object");
  EXPECT_REJECTED("-1.5", "is a number");
  EXPECT_REJECTED(R"("str")", "is a string, not a JSON object");
  EXPECT_REJECTED("null", "is null, not a JSON object");
  EXPECT_REJECTED("  true", "top level at byte 2 is a boolean");
  EXPECT_REJECTED("hello", "not a JSON object");
  EXPECT_REJECTED("}", "not a JSON object");
}

TEST(RejectTest, NotJson) {
  EXPECT_REJECTED("{eventType:\"ORDER\"}", "invalid JSON");
  EXPECT_REJECTED("{'eventType':'ORDER'}", "invalid JSON");
  EXPECT_REJECTED(R"({"eventType" "ORDER"})", "invalid JSON");
  EXPECT_REJECTED(R"({"eventType":"ORDER",})", "invalid JSON");
  EXPECT_REJECTED(R"({,"eventType":"ORDER"})", "invalid JSON");
  EXPECT_REJECTED(R"({"eventType":"ORDER" "userId":"u1"})", "invalid JSON");
  EXPECT_REJECTED(R"({"a":[1,2}})", "invalid JSON");
  EXPECT_REJECTED(R"({"a":{"b":1]})", "invalid JSON");
  EXPECT_REJECTED(R"({"a":"\x"})", R"(field "a")", "bad escape");
  EXPECT_REJECTED(R"({"a":"\ud800"})", R"(field "a")", "bad escape");
  EXPECT_REJECTED(R"({"a\q":1})", "bad escape sequence in the key");
  // A string followed by ':' where ',' belongs: simdjson's skipper alone would take
  // it for a key and swallow the rest, so these must be caught by the decoder.
  EXPECT_REJECTED(Render(Plus(OrderFields(), "x", R"("a":[1]})")), "invalid JSON");
  EXPECT_REJECTED(Render(With(OrderFields(), "userId", R"("u123":[1]})")), "invalid JSON");
  EXPECT_REJECTED(Render(Plus(OrderFields(), "x", R"(["a":1])")), "invalid JSON");
  EXPECT_REJECTED(Render(Plus(OrderFields(), "x", R"({"k":"v":{}})")), "invalid JSON");
}

TEST(RejectTest, InvalidValuesInUnknownFields) {
  const std::string bad_values[] = {
      "tru", "nul", "fals", "truex", "NaN",  "Infinity", "-Infinity", "01",           "1.",  ".5",
      "-",   "1e",  "1e+",  "+1",    "0x10", "[1,tru]",  "[01]",      R"({"a":nul})", "'x'",
  };
  for (const std::string& value : bad_values) {
    EXPECT_REJECTED(Render(Plus(OrderFields(), "extra", value)), R"(field "extra")");
  }
}

TEST(RejectTest, EveryPrefixOfAValidRecordIsAnError) {
  const std::string records[] = {
      kLoginJson,
      kViewJson,
      kOrderJson,
      Render(Plus(OrderFields(), "meta", R"({"a":[1,{"b":"}"}],"c":{"d":[]}})")),
      Render(Plus(ViewFields(), "x", R"({"y":{"z":{}}})")),
  };
  EventDecoder decoder;
  for (size_t r = 0; r < std::size(records); ++r) {
    const std::string& record = records[r];
    ASSERT_TRUE(decoder.Decode(record).ok()) << record;
    // The contract's records (the first three) end with a required field, so closing
    // any shorter prefix with '}' (making the last character '}') is still an error.
    const bool ends_with_required_field = r < 3;
    for (size_t n = 0; n < record.size(); ++n) {
      const std::string prefix = record.substr(0, n);
      Result<Event> event = decoder.Decode(prefix);
      EXPECT_FALSE(event.ok()) << "accepted prefix: " << prefix;
      EXPECT_TRUE(event.status().IsInvalidArgument()) << prefix;
      if (ends_with_required_field && n + 1 < record.size()) {
        EXPECT_FALSE(decoder.Decode(prefix + "}").ok()) << "accepted: " << prefix << "}";
      }
    }
  }
}

TEST(RejectTest, TruncatedMessagesSayTruncated) {
  const std::string order = kOrderJson;
  EXPECT_REJECTED(order.substr(0, 27), "truncated JSON", "string starting at byte 21");
  EXPECT_REJECTED(order.substr(0, order.size() - 1), "truncated JSON",
                  "object starting at byte 0 is not closed");
}

TEST(RejectTest, TrailingContent) {
  const std::string order = kOrderJson;
  EXPECT_REJECTED(order + "x", "trailing content at byte " + std::to_string(order.size()));
  EXPECT_REJECTED(order + " \n 1", "trailing content at byte " + std::to_string(order.size() + 3));
  EXPECT_REJECTED(order + order, "trailing content at byte " + std::to_string(order.size()));
  EXPECT_REJECTED(order + "}", "trailing content at byte " + std::to_string(order.size()));
  EXPECT_REJECTED(order + "]", "trailing content");
  EXPECT_REJECTED(order + R"("x}")", "trailing content");
  EXPECT_TRUE(DecodeError(order + " \r\n\t").empty());
}

TEST(RejectTest, MissingEachRequiredField) {
  const std::pair<Fields, std::vector<std::string>> records[] = {
      {LoginFields(), {"eventType", "userId", "country", "device", "timestamp"}},
      {ViewFields(), {"eventType", "userId", "productId", "category", "timestamp"}},
      {OrderFields(),
       {"eventType", "orderId", "userId", "productId", "price", "currency", "timestamp"}},
  };
  for (const auto& [fields, required] : records) {
    for (const std::string& name : required) {
      EXPECT_REJECTED(Render(Without(fields, name)), "missing required field \"" + name + "\"",
                      "byte");
    }
  }
  EXPECT_REJECTED("{}", R"(missing required field "eventType")");
  EXPECT_REJECTED(Render(Without(OrderFields(), "price")),
                  R"(missing required field "price" for eventType "ORDER")");
}

TEST(RejectTest, WrongJsonTypeForEachField) {
  const std::pair<std::string, std::string> wrong_values[] = {
      {"123", "number"}, {"true", "boolean"}, {"null", "null"},
      {"{}", "object"},  {"[]", "array"},     {R"({"a":[1]})", "object"},
  };
  const Fields records[] = {LoginFields(), ViewFields(), OrderFields()};
  for (const Fields& fields : records) {
    for (const auto& [name, original] : fields) {
      for (const auto& [value, type] : wrong_values) {
        const std::string json = Render(With(fields, name, value));
        if (name == "price") {
          if (type == "number") continue;
          EXPECT_REJECTED(json, "field \"price\" at byte", "expected a number, got " + type);
        } else {
          EXPECT_REJECTED(json, "field \"" + name + "\" at byte", "expected a string, got " + type);
        }
      }
    }
  }
  EXPECT_REJECTED(Render(With(OrderFields(), "price", R"("59.99")")),
                  R"(field "price" at byte 80: expected a number, got string)");
}

TEST(RejectTest, ErrorOffsetsPointAtTheValue) {
  const std::string json = Render(With(OrderFields(), "currency", R"("XYZ")"));
  const std::string message = DecodeError(json);
  EXPECT_TRUE(Contains(message,
                       "field \"currency\" at byte " + std::to_string(json.find(R"("XYZ")")) + ":"))
      << message;
}

TEST(RejectTest, DuplicateFields) {
  const std::string json = Render(Plus(OrderFields(), "userId", R"("u999")"));
  EXPECT_REJECTED(json, R"(field "userId" appears twice)",
                  "at byte " + std::to_string(json.find(R"("userId")")),
                  "and byte " + std::to_string(json.rfind(R"("userId")")));
  EXPECT_REJECTED(Render(Plus(OrderFields(), "eventType", R"("ORDER")")),
                  R"(field "eventType" appears twice)");
  EXPECT_REJECTED(Render(Plus(OrderFields(), "price", "59.99")), R"(field "price" appears twice)");
  EXPECT_REJECTED(Render(Plus(LoginFields(), "device", R"("x")")),
                  R"(field "device" appears twice)");
  // A duplicate spelled with an escape is still a duplicate.
  EXPECT_REJECTED(Render(Plus(OrderFields(), R"(user\u0049d)", R"("u999")")),
                  R"(field "userId" appears twice)");
}

TEST(RejectTest, UnknownEventType) {
  EXPECT_REJECTED(Render(With(OrderFields(), "eventType", R"("PURCHASE")")),
                  R"(field "eventType" at byte 13: unknown eventType "PURCHASE"; expected one )"
                  R"(of LOGIN, LOGOUT, SIGNUP, VIEW, ORDER)");
  EXPECT_REJECTED(Render(With(OrderFields(), "eventType", R"("order")")), "unknown eventType");
  EXPECT_REJECTED(Render(With(OrderFields(), "eventType", R"("")")), "unknown eventType");
  EXPECT_REJECTED(Render(With(OrderFields(), "eventType", "1")),
                  R"(field "eventType" at byte 13: expected a string, got number)");
}

TEST(RejectTest, UnknownCategoryAndCurrency) {
  EXPECT_REJECTED(Render(With(ViewFields(), "category", R"("Electronics")")), R"(field "category")",
                  R"(unknown category "Electronics"; expected one of electronics, clothing, )"
                  R"(books, home, sports, toys)");
  EXPECT_REJECTED(Render(With(ViewFields(), "category", R"("")")), "unknown category");
  EXPECT_REJECTED(Render(With(OrderFields(), "currency", R"("usd")")), R"(field "currency")",
                  R"(unknown currency "usd"; expected one of USD, EUR, GBP, JPY, INR)");
  EXPECT_REJECTED(Render(With(OrderFields(), "currency", R"("CHF")")), "unknown currency");
}

TEST(RejectTest, BadPrices) {
  const std::pair<std::string, std::string> cases[] = {
      {"-1.00", "price -1.00 is negative"},
      {"-0.01", "is negative"},
      {"-5e2", "is negative"},
      {"1e12", "price 1e12 exceeds 9999999999.99"},
      {"1E12", "exceeds 9999999999.99"},
      {"12345678901.5e0", "exceeds"},
      {"0.00000000001e22", "exceeds"},
      {"1e999999999999999999", "exceeds"},
      {"10000000000", "price 10000000000 exceeds 9999999999.99"},
      {"10000000000.00", "exceeds 9999999999.99"},
      {"99999999999999999999999", "exceeds"},
      {"5.999e1", "price 5.999e1 is in exponent notation"},
      {"1e2", "exponent notation"},
      {"1E+2", "exponent notation"},
      {"1e-5", "exponent notation"},
      {"0e0", "exponent notation"},
      {"9.99999999999e9", "exponent notation"},
      {"59.999", "price 59.999 has more than 2 decimal places"},
      {"0.001", "more than 2 decimal places"},
      {"59.9901", "more than 2 decimal places"},
      {R"("NaN")", "expected a number, got string"},
      {R"("59.99")", "expected a number, got string"},
      {"NaN", "invalid JSON value"},
      {"Infinity", "invalid JSON value"},
      {"-Infinity", "invalid JSON number"},
      {"01.5", "invalid JSON number"},
      {"1.", "invalid JSON number"},
      {"+1", "invalid JSON value"},
  };
  for (const auto& [price, message] : cases) {
    EXPECT_REJECTED(Render(With(OrderFields(), "price", price)), R"(field "price" at byte)",
                    message);
  }
  // A decimal comma breaks the object itself: the error is where parsing stopped.
  const std::string comma = Render(With(OrderFields(), "price", "59,99"));
  EXPECT_REJECTED(comma, "invalid JSON at byte " + std::to_string(comma.find("99,")));
}

TEST(RejectTest, BadTimestamps) {
  const std::pair<std::string, std::string> cases[] = {
      {R"("2025-11-30T11:17:00")", "timestamp has no zone designator; expected 'Z'"},
      {R"("2025-11-30T11:17:00+01:00")", "must be UTC with 'Z'"},
      {R"("2025-11-30T11:17:00+00:00")", "must be UTC with 'Z'"},
      {R"("2025-02-30T11:17:00Z")", "day 30 is out of range"},
      {R"("2023-02-29T11:17:00Z")", "day 29 is out of range"},
      {R"("2025-11-30T24:00:00Z")", "hour 24"},
      {R"("2025-11-30T11:60:00Z")", "minute 60"},
      {R"("2016-12-31T23:59:60Z")", "leap second"},
      {R"("1969-12-31T23:59:59Z")", "before 1970-01-01"},
      {R"("2025-11-30T11:17:00.1234567890Z")", "more than 9 digits"},
      {R"("2025-11-30T11:17:00Zx")", "after the zone designator"},
      {R"("")", "timestamp is empty"},
      {R"(" 2025-11-30T11:17:00Z")", "expected 4-digit year"},
      {R"("2025-11-30 11:17:00Z")", "expected 'T'"},
      {"1764501420000", "expected a string, got number"},
  };
  for (const auto& [value, message] : cases) {
    const std::string json = Render(With(OrderFields(), "timestamp", value));
    EXPECT_REJECTED(json, "field \"timestamp\" at byte " + std::to_string(json.find(value)) + ":",
                    message);
  }
  EXPECT_REJECTED(Render(With(OrderFields(), "timestamp", R"("2025-11-30T11:17:00")")),
                  R"(invalid timestamp "2025-11-30T11:17:00")", "offset 19");
}

TEST(RejectTest, InvalidUtf8) {
  const std::string order = kOrderJson;
  const size_t at = order.find("u123") + 1;
  const std::string bad_sequences[] = {
      "\xff",              // never valid
      "\x80",              // lone continuation byte
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xe2\x82",          // truncated sequence
      "\xc3(",             // bad continuation
  };
  for (const std::string& bad : bad_sequences) {
    std::string json = order;
    json.insert(at, bad);
    EXPECT_REJECTED(json, "invalid UTF-8 at byte " + std::to_string(at));
  }
  // In a key, in an unknown field, at the very end, and outside strings.
  EXPECT_REJECTED(Render(Plus(OrderFields(), "k\xff", "1")), "invalid UTF-8 at byte");
  EXPECT_REJECTED(Render(Plus(OrderFields(), "extra", "\"\xfe\"")), "invalid UTF-8 at byte");
  EXPECT_REJECTED(order + "\xe2", "invalid UTF-8 at byte " + std::to_string(order.size()));
  EXPECT_REJECTED("\xef\xbb\xbf" + order, "not a JSON object");  // a BOM is not JSON
}

TEST(RejectTest, NulAndControlCharacters) {
  EXPECT_REJECTED(Render(With(OrderFields(), "userId", R"("u\u0000x")")),
                  R"(field "userId" at byte)", "NUL");
  EXPECT_REJECTED(Render(With(LoginFields(), "country", R"("\u0000")")), R"(field "country")",
                  "NUL");
  EXPECT_REJECTED(Render(With(OrderFields(), "orderId", R"("\u0000")")), R"(field "orderId")",
                  "NUL");
  // A raw control byte inside a string is not JSON at all.
  std::string raw = kOrderJson;
  const size_t at = raw.find("u123") + 1;
  raw.insert(at, "\x01");
  EXPECT_REJECTED(raw,
                  "unescaped control character 0x01 in a string at byte " + std::to_string(at));
  std::string raw_nul = kOrderJson;
  raw_nul.insert(at, std::string(1, '\0'));
  EXPECT_REJECTED(raw_nul, "unescaped control character 0x00");
  // But an escaped control character other than NUL is fine.
  EXPECT_TRUE(DecodeError(Render(With(OrderFields(), "userId", R"("u\u0001")"))).empty());
}

TEST(RejectTest, EmptyAndOverlongStrings) {
  for (const char* id : {"orderId", "userId", "productId"}) {
    EXPECT_REJECTED(Render(With(OrderFields(), id, R"("")")),
                    std::string("field \"") + id + "\" at byte", "must not be empty");
  }
  // Empty country and device are allowed; they are not ids.
  EXPECT_TRUE(DecodeError(Render(With(With(LoginFields(), "country", R"("")"), "device", R"("")")))
                  .empty());

  const std::string max(kMaxIdBytes, 'x');
  const std::string over(kMaxIdBytes + 1, 'x');
  for (const char* id : {"orderId", "userId", "productId"}) {
    EXPECT_TRUE(DecodeError(Render(With(OrderFields(), id, "\"" + max + "\""))).empty());
    EXPECT_REJECTED(Render(With(OrderFields(), id, "\"" + over + "\"")),
                    std::string("field \"") + id + "\"",
                    "string of 257 bytes is longer than the limit of 256 bytes");
  }
  for (const char* name : {"country", "device"}) {
    EXPECT_REJECTED(Render(With(LoginFields(), name, "\"" + over + "\"")),
                    std::string("field \"") + name + "\"", "limit of 256 bytes");
  }
  // The limit counts bytes of the decoded UTF-8: 128 two-byte characters fit, 129 do not.
  std::string two_byte;
  for (int i = 0; i < 129; ++i) two_byte += "\\u00e9";
  EXPECT_REJECTED(Render(With(OrderFields(), "userId", "\"" + two_byte + "\"")),
                  "string of 258 bytes");
}

TEST(RejectTest, MessagesQuoteLongValuesShortly) {
  const std::string long_category = "\"" + std::string(1000, 'z') + "\"";
  const std::string message = DecodeError(Render(With(ViewFields(), "category", long_category)));
  EXPECT_TRUE(Contains(message, "unknown category")) << message;
  EXPECT_LT(message.size(), 300u) << message;
}

}  // namespace
}  // namespace eventflow
