// The sink's RowDecoder for the four result tables (sinks/table_contract.h)
// and the configuration parsers: kafka.* pass-through
// (KafkaProperties::SetPassThrough), ParseDuration and RFC 3339 timestamps
// (ParseTimestampMillis).
//
// The first input byte chooses what the rest is (mod 4, so the seeds start
// with a readable digit):
//   '0'  "<record key>\n<record value>" (no newline: both are the whole rest),
//        decoded for each of the four tables. An accepted value holds its own
//        key (CheckKey of the value against its row passes) and its timestamp
//        cells are in a form ParseTimestampMillis accepts; an accepted key
//        gives a row of its key columns followed by NULLs, and checks against
//        that row; the record key checks against the value's row exactly
//        when it decodes to the same key columns.
//   '1'  lines of "kafka.<property>=<value>": every accepted line is then
//        found under its property, and the value of a secret property never
//        shows in ToRedactedString().
//   '2'  a duration: accepted ones are non-negative.
//   '3'  a timestamp: accepted ones are in range and both formatters
//        (FormatTimestamp, AppendContractTimestamp) write text that parses
//        back to the same milliseconds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/duration.h"
#include "eventflow/core/table_format.h"
#include "eventflow/core/time.h"
#include "eventflow/kafka/kafka_properties.h"
#include "eventflow/sinks/table_contract.h"
#include "fuzz_check.h"

namespace {

namespace sinks = eventflow::sinks;

void CheckTimestampCells(const sinks::TableSpec& table, const sinks::RowBuffer& rows, size_t row) {
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c].kind != sinks::JsonKind::kTimestamp || rows.IsNull(row, c)) continue;
    FUZZ_CHECK(eventflow::ParseTimestampMillis(rows.Value(row, c)).ok(), rows.Value(row, c));
  }
}

void CheckRows(std::string_view input) {
  static sinks::RowDecoder decoder;  // reused, as by the sink
  const size_t newline = input.find('\n');
  const std::string_view key = newline == std::string_view::npos ? input : input.substr(0, newline);
  const std::string_view value =
      newline == std::string_view::npos ? input : input.substr(newline + 1);
  for (const sinks::TableSpec& table : sinks::PipelineTables()) {
    sinks::RowBuffer rows(table.columns.size());
    const bool value_accepted = decoder.DecodeValue(table, value, &rows).ok();
    eventflow::Status key_vs_value;  // CheckKey of the record key against the value's row
    if (value_accepted) {
      FUZZ_CHECK(rows.rows() == 1, "an accepted value did not add one row");
      for (size_t c = 0; c < table.columns.size(); ++c) {
        FUZZ_CHECK(!rows.IsNull(0, c) || table.columns[c].nullable, table.columns[c].name);
      }
      CheckTimestampCells(table, rows, 0);
      const eventflow::Status own_key = decoder.CheckKey(table, value, rows, 0);
      FUZZ_CHECK(own_key.ok(), own_key.ToString());
      // Whatever the key; whether it matches is checked below, once it is
      // decoded on its own.
      key_vs_value = decoder.CheckKey(table, key, rows, 0);
    } else {
      FUZZ_CHECK(rows.rows() == 0, "a rejected value left a row behind");
    }

    const size_t before = rows.rows();
    if (decoder.DecodeKey(table, key, &rows).ok()) {
      const size_t row = rows.rows() - 1;
      FUZZ_CHECK(rows.rows() == before + 1, "an accepted key did not add one row");
      for (size_t c = 0; c < table.columns.size(); ++c) {
        FUZZ_CHECK(rows.IsNull(row, c) == (c >= table.key_columns), table.columns[c].name);
      }
      CheckTimestampCells(table, rows, row);
      const eventflow::Status same_key = decoder.CheckKey(table, key, rows, row);
      FUZZ_CHECK(same_key.ok(), same_key.ToString());
      if (value_accepted) {
        bool same_columns = true;
        for (size_t c = 0; c < table.key_columns; ++c) {
          same_columns = same_columns && rows.Value(0, c) == rows.Value(row, c);
        }
        FUZZ_CHECK(key_vs_value.ok() == same_columns, key_vs_value.ToString());
      }
    } else {
      FUZZ_CHECK(rows.rows() == before, "a rejected key left a row behind");
      FUZZ_CHECK(!value_accepted || !key_vs_value.ok(), "a key that does not decode matched");
    }
  }
}

void CheckPassThrough(std::string_view input) {
  eventflow::kafka::KafkaProperties properties;
  while (!input.empty()) {
    const size_t newline = input.find('\n');
    const std::string_view line = input.substr(0, newline);
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
    if (!properties.SetPassThrough(line).ok()) continue;
    const std::string_view setting = line.substr(line.find(eventflow::kafka::kPassThroughPrefix) +
                                                 eventflow::kafka::kPassThroughPrefix.size());
    const size_t eq = setting.find('=');
    const std::string_view property = setting.substr(0, eq);
    const std::string_view value = setting.substr(eq + 1);
    FUZZ_CHECK(!property.empty(), line);
    const std::string* found = properties.Find(property);
    FUZZ_CHECK(found != nullptr && *found == value, line);
  }
  // Each line of the dump is "<property>=<value>"; a secret's value is replaced.
  const std::string dump = properties.ToRedactedString();
  for (const auto& [property, value] : properties.entries()) {
    if (!eventflow::kafka::IsSecretProperty(property) || value == "[redacted]") continue;
    const std::string line = "\n" + property + "=" + value + "\n";
    FUZZ_CHECK(("\n" + dump).find(line) == std::string::npos, "secret shown: " + line);
  }
}

void CheckDuration(std::string_view input) {
  auto duration = eventflow::ParseDuration(input, "fuzz.setting");
  if (duration.ok()) FUZZ_CHECK(duration->count() >= 0, input);
}

void CheckTimestamp(std::string_view input) {
  eventflow::Result<int64_t> ms = eventflow::ParseTimestampMillis(input);
  if (!ms.ok()) return;
  FUZZ_CHECK(0 <= *ms && *ms <= eventflow::kMaxTimestampMillis, input);
  const std::string formatted = eventflow::FormatTimestamp(*ms);
  eventflow::Result<int64_t> again = eventflow::ParseTimestampMillis(formatted);
  FUZZ_CHECK(again.ok() && *again == *ms, formatted);
  std::string contract;
  eventflow::AppendContractTimestamp(*ms, &contract);
  again = eventflow::ParseTimestampMillis(contract);
  FUZZ_CHECK(again.ok() && *again == *ms, contract);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      CheckRows(rest);
      break;
    case 1:
      CheckPassThrough(rest);
      break;
    case 2:
      CheckDuration(rest);
      break;
    case 3:
      CheckTimestamp(rest);
      break;
  }
  return 0;
}
