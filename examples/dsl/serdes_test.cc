// docs/dsl.md, "Serdes": default serdes, a serde for your own type with
// Serdes::Of, Consumed/Produced, Nullable, and what a missing serde does.
#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace eventflow::streams {
namespace {

// [START reading-serde]
struct Reading {
  std::string sensor;
  double celsius = 0;
};

// A Reading as text "<sensor>;<celsius>", e.g. "kitchen;21.5".
SerdePtr<Reading> ReadingSerde() {
  return Serdes::Of<Reading>(
      "reading",
      [](const Reading& r, std::string* out) {
        char number[32];
        const auto end = std::to_chars(number, number + sizeof number, r.celsius).ptr;
        out->append(r.sensor).append(";").append(number, end);
      },
      [](std::string_view data, Reading* out) -> Status {
        const size_t semi = data.find(';');
        if (semi == std::string_view::npos) return Status::InvalidArgument("no ';' in a reading");
        out->sensor.assign(data.substr(0, semi));
        const std::string_view number = data.substr(semi + 1);
        const auto [end, error] =
            std::from_chars(number.data(), number.data() + number.size(), out->celsius);
        if (error != std::errc() || end != number.data() + number.size()) {
          return Status::InvalidArgument("bad temperature \"" + std::string(number) + "\"");
        }
        return Status::OK();
      });
}
// [END reading-serde]

// [START consumed-produced]
// Readings above 30 °C, converted to Fahrenheit (room → reading).
Topology HotReadings() {
  StreamsBuilder builder;
  builder.Stream("readings", Consumed<std::string, Reading>::With(Serdes::String(), ReadingSerde()))
      .Filter([](const std::string&, const Reading& r) { return r.celsius > 30; })
      .MapValues([](const Reading& r) {
        return Reading{r.sensor, r.celsius * 9 / 5 + 32};
      })
      .To("hot-readings-fahrenheit",
          Produced<std::string, Reading>::With(Serdes::String(), ReadingSerde()));
  return builder.Build();
}
// [END consumed-produced]

TEST(SerdesExample, CustomSerdeReadsAndWritesAndBadBytesGoToTheDeadLetterTopic) {
  TestDriverOptions options;
  options.application_id = "readings-app";
  TopologyTestDriver driver(HotReadings(), options);
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in = driver.CreateInputTopic("readings", Serdes::String(), ReadingSerde());
  auto out = driver.CreateOutputTopic("hot-readings-fahrenheit", Serdes::String(), ReadingSerde());
  const std::vector<std::pair<std::string, Reading>> readings = {{"kitchen", {"k1", 21.5}},
                                                                 {"attic", {"a1", 35.25}},
                                                                 {"attic", {"a2", 30}},
                                                                 {"boiler", {"b1", 71}}};
  int64_t time = 1'000;
  for (const auto& [room, reading] : readings)
    ASSERT_TRUE(in.PipeInput(room, reading, time++).ok());
  ASSERT_TRUE(in.PipeRaw("cellar", "c1;warm", time++).ok());  // not a number

  auto got = out.ReadKeyValuesToList();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  using Row = std::tuple<std::string, std::string, double>;  // room, sensor, value
  std::vector<Row> got_rows, expected_rows;
  for (const auto& [room, r] : *got) got_rows.emplace_back(room, r.sensor, r.celsius);
  for (const auto& [room, r] : readings) {
    if (r.celsius > 30) expected_rows.emplace_back(room, r.sensor, r.celsius * 9 / 5 + 32);
  }
  EXPECT_EQ(got_rows, expected_rows);

  // The undecodable record went to the dead-letter topic, naming the serde.
  auto& dead = driver.OutputQueue(DeadLetterTopic("readings-app"));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, std::optional<std::string>("c1;warm"));
  const std::string* error = dead[0].headers.LastValue(kDlqErrorHeader);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->find("reading serde"), std::string::npos) << *error;
  EXPECT_NE(error->find("bad temperature \"warm\""), std::string::npos) << *error;
}

TEST(SerdesExample, DefaultSerdesCoverBuiltInTypesAndTheirOptionals) {
  // [START default-serdes]
  EXPECT_EQ(DefaultSerde<std::string>()->Name(), "string");
  EXPECT_EQ(DefaultSerde<int64_t>()->Name(), "int64");  // 8 bytes big-endian, Kafka's LongSerde
  EXPECT_EQ(DefaultSerde<double>()->Name(), "double");
  EXPECT_EQ(DefaultSerde<std::optional<std::string>>()->Name(), "string");  // Nullable(String())
  EXPECT_EQ(DefaultSerde<Reading>(), nullptr);  // your types need a serde where they meet a topic
  // [END default-serdes]
}

TEST(SerdesExample, NullableValuesSeeKafkaNullsAsNullopt) {
  // [START nullable]
  // A compacted topic of profiles (user → JSON) in which a Kafka null deletes a
  // user. std::optional<std::string> gets Serdes::Nullable(Serdes::String()) by
  // default: a null is std::nullopt instead of a deserialization error.
  StreamsBuilder builder;
  builder.Stream<std::string, std::optional<std::string>>("profiles")
      .Filter([](const std::string&, const std::optional<std::string>& profile) {
        return !profile.has_value();
      })
      .MapValues([](const std::optional<std::string>&) { return std::string("deleted"); })
      .To("deleted-users");
  // [END nullable]
  TopologyTestDriver driver(builder.Build());
  ASSERT_TRUE(driver.status().ok()) << driver.status().ToString();
  auto in =
      driver.CreateInputTopic("profiles", Serdes::String(), Serdes::Nullable(Serdes::String()));
  const std::vector<std::pair<std::string, std::optional<std::string>>> input = {
      {"u1", R"({"name":"Ann"})"}, {"u2", std::nullopt}, {"u3", "{}"}, {"u1", std::nullopt}};
  for (const auto& [user, profile] : input) ASSERT_TRUE(in.PipeInput(user, profile, 5).ok());
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& [user, profile] : input) {
    if (!profile) expected.emplace_back(user, "deleted");
  }
  auto out = driver.CreateOutputTopic("deleted-users", Serdes::String(), Serdes::String());
  EXPECT_EQ(*out.ReadKeyValuesToList(), expected);
}

TEST(SerdesExample, AMissingSerdeIsATopologyErrorNamingTheCall) {
  // [START missing-serde]
  StreamsBuilder builder;
  builder.Stream<std::string, std::string>("raw-readings")
      .MapValues([](const std::string& text) {
        return Reading{text, 0};
      })
      .To("readings");  // no Produced: the value serde is unknown
  // Validate(): KStream::To: no value serde for type ...Reading: give one in the
  // operation's options
  // [END missing-serde]
  const Status status = builder.Build().Validate();
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_NE(status.message().find("KStream::To: no value serde for type"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("Reading: give one in the operation's options"),
            std::string::npos)
      << status.ToString();
}

}  // namespace
}  // namespace eventflow::streams
