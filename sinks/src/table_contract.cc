#include "eventflow/sinks/table_contract.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "eventflow/core/time.h"

namespace eventflow::sinks {
namespace {

constexpr ColumnSpec kOrdersRaw[] = {
    {"order_id", "text", JsonKind::kText},
    {"user_id", "text", JsonKind::kText},
    {"product_id", "text", JsonKind::kText},
    {"price", "numeric(12,2)", JsonKind::kDecimal2, false, 10},
    {"currency", "text", JsonKind::kText},
    {"event_time", "timestamp with time zone", JsonKind::kTimestamp},
};
constexpr ColumnSpec kRevenue[] = {
    {"window_start", "timestamp with time zone", JsonKind::kTimestamp},
    {"currency", "text", JsonKind::kText},
    {"window_end", "timestamp with time zone", JsonKind::kTimestamp},
    {"total_revenue", "numeric(14,2)", JsonKind::kDecimal2, false, 12},
    {"order_count", "bigint", JsonKind::kInt64},
    {"avg_order_value", "numeric(14,2)", JsonKind::kDecimal2, false, 12},
};
constexpr ColumnSpec kFunnel[] = {
    {"window_start", "timestamp with time zone", JsonKind::kTimestamp},
    {"user_id", "text", JsonKind::kText},
    {"window_end", "timestamp with time zone", JsonKind::kTimestamp},
    {"views", "bigint", JsonKind::kInt64},
    {"orders", "bigint", JsonKind::kInt64},
    {"conversion_rate", "double precision", JsonKind::kDouble, /*nullable=*/true},
};
constexpr ColumnSpec kAttribution[] = {
    {"order_id", "text", JsonKind::kText},
    {"user_id", "text", JsonKind::kText},
    {"product_id", "text", JsonKind::kText},
    {"order_time", "timestamp with time zone", JsonKind::kTimestamp},
    {"views_before_order", "integer", JsonKind::kInt32},
    {"last_view_time", "timestamp with time zone", JsonKind::kTimestamp},
};

const std::array<TableSpec, kTableCount> kTables = {{
    {"orders_raw", kOrdersRaw, 1},
    {"revenue_by_currency_5min", kRevenue, 2},
    {"conversion_funnel_5min", kFunnel, 2},
    {"order_attribution", kAttribution, 1},
}};

std::string_view KindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kText:
      return "a string";
    case JsonKind::kDecimal2:
      return "a decimal string with exactly two decimals (e.g. \"59.99\")";
    case JsonKind::kTimestamp:
      return "an RFC 3339 UTC timestamp string (e.g. \"2025-11-30T11:15:00.000Z\")";
    case JsonKind::kInt64:
    case JsonKind::kInt32:
      return "an integer";
    case JsonKind::kDouble:
      return "a number";
  }
  return "?";
}

std::string_view TypeName(simdjson::dom::element_type type) {
  using T = simdjson::dom::element_type;
  switch (type) {
    case T::ARRAY:
      return "array";
    case T::OBJECT:
      return "object";
    case T::INT64:
    case T::UINT64:
      return "integer";
    case T::DOUBLE:
      return "number with a fraction or exponent";
    case T::STRING:
      return "string";
    case T::BOOL:
      return "boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "?";
}

std::string Shown(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out.append("...");
  out.push_back('"');
  return out;
}

// "-"? (0 | [1-9][0-9]*) "." [0-9]{2}, at most `integer_digits` before the point.
// Returns the problem, or empty when valid.
std::string DecimalProblem(std::string_view s, int integer_digits) {
  std::string_view rest = s;
  if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);
  const size_t point = rest.find('.');
  const std::string_view integer = rest.substr(0, point);
  const bool digits_ok =
      !integer.empty() && std::all_of(integer.begin(), integer.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
  if (point == std::string_view::npos || !digits_ok || rest.size() - point - 1 != 2 ||
      !(rest[point + 1] >= '0' && rest[point + 1] <= '9') ||
      !(rest[point + 2] >= '0' && rest[point + 2] <= '9')) {
    return "expected " + std::string(KindName(JsonKind::kDecimal2)) + ", got " + Shown(s);
  }
  if (integer.size() > 1 && integer.front() == '0') {
    return "decimal " + Shown(s) + " has a leading zero";
  }
  if (static_cast<int>(integer.size()) > integer_digits) {
    return "decimal " + Shown(s) + " has more than " + std::to_string(integer_digits) +
           " digits before the point";
  }
  return {};
}

}  // namespace

const std::array<TableSpec, kTableCount>& PipelineTables() { return kTables; }

const TableSpec* FindTable(std::string_view name) {
  for (const TableSpec& t : kTables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------

struct RowDecoder::Impl {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buffer;  // capacity + SIMDJSON_PADDING bytes
  size_t capacity = 0;
  RowBuffer key_scratch;

  // Decodes the first `decoded` columns of `table` from the object in `json` into a
  // new row of `rows` (remaining cells NULL). `what` is "key" or "value".
  Status Decode(const TableSpec& table, std::string_view json, size_t decoded,
                std::string_view what, RowBuffer* rows);

 private:
  Status AppendCell(const TableSpec& table, std::string_view what, const ColumnSpec& column,
                    simdjson::dom::element value, RowBuffer* rows);
};

namespace {

Status RecordError(const TableSpec& table, std::string_view what, std::string problem) {
  return Status::InvalidArgument(std::string(table.name) + " " + std::string(what) + ": " +
                                 std::move(problem));
}

Status FieldError(const TableSpec& table, std::string_view what, std::string_view field,
                  std::string problem) {
  return RecordError(table, what, "field \"" + std::string(field) + "\": " + std::move(problem));
}

}  // namespace

Status RowDecoder::Impl::AppendCell(const TableSpec& table, std::string_view what,
                                    const ColumnSpec& column, simdjson::dom::element value,
                                    RowBuffer* rows) {
  using T = simdjson::dom::element_type;
  std::string& arena = rows->arena_;
  const size_t offset = arena.size();
  const T type = value.type();
  auto wrong_type = [&] {
    return FieldError(table, what, column.name,
                      "expected " + std::string(KindName(column.kind)) + ", got " +
                          std::string(TypeName(type)));
  };
  if (type == T::NULL_VALUE) {
    if (!column.nullable) return FieldError(table, what, column.name, "must not be null");
    rows->cells_.push_back({static_cast<uint32_t>(offset), 0, true});
    return Status::OK();
  }
  switch (column.kind) {
    case JsonKind::kText: {
      if (type != T::STRING) return wrong_type();
      std::string_view s = value.get_string().value_unsafe();
      if (s.find('\0') != std::string_view::npos) {
        return FieldError(table, what, column.name,
                          "string contains a NUL character (\\u0000), which PostgreSQL text "
                          "cannot store");
      }
      arena.append(s);
      break;
    }
    case JsonKind::kDecimal2: {
      if (type != T::STRING) return wrong_type();
      std::string_view s = value.get_string().value_unsafe();
      if (std::string problem = DecimalProblem(s, column.integer_digits); !problem.empty()) {
        return FieldError(table, what, column.name, std::move(problem));
      }
      arena.append(s);
      break;
    }
    case JsonKind::kTimestamp: {
      if (type != T::STRING) return wrong_type();
      std::string_view s = value.get_string().value_unsafe();
      Result<int64_t> ms = ParseTimestampMillis(s);
      if (!ms.ok()) {
        return FieldError(table, what, column.name,
                          "invalid timestamp " + Shown(s) + ": " + ms.status().message());
      }
      AppendContractTimestamp(*ms, &arena);
      break;
    }
    case JsonKind::kInt64:
    case JsonKind::kInt32: {
      if (type == T::UINT64) {
        return FieldError(table, what, column.name, "integer is out of range");
      }
      if (type != T::INT64) return wrong_type();
      const int64_t v = value.get_int64().value_unsafe();
      if (column.kind == JsonKind::kInt32 && (v < std::numeric_limits<int32_t>::min() ||
                                              v > std::numeric_limits<int32_t>::max())) {
        return FieldError(table, what, column.name,
                          "integer " + std::to_string(v) + " is out of the range of integer");
      }
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
      arena.append(digits, end);
      break;
    }
    case JsonKind::kDouble: {
      if (type != T::INT64 && type != T::UINT64 && type != T::DOUBLE) return wrong_type();
      const double v = value.get_double().value_unsafe();
      char digits[32];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
      arena.append(digits, end);
      break;
    }
  }
  if (arena.size() > std::numeric_limits<uint32_t>::max()) {
    return FieldError(table, what, column.name, "batch arena exceeds 4 GiB");
  }
  rows->cells_.push_back(
      {static_cast<uint32_t>(offset), static_cast<uint32_t>(arena.size() - offset), false});
  return Status::OK();
}

Status RowDecoder::Impl::Decode(const TableSpec& table, std::string_view json, size_t decoded,
                                std::string_view what, RowBuffer* rows) {
  if (json.empty()) return RecordError(table, what, "empty; expected a JSON object");
  const size_t size = json.size();
  if (size > capacity) {
    const size_t grown = std::max<size_t>({size, 2 * capacity, 1024});
    buffer = std::make_unique_for_overwrite<char[]>(grown + simdjson::SIMDJSON_PADDING);
    capacity = grown;
  }
  std::memcpy(buffer.get(), json.data(), size);
  std::memset(buffer.get() + size, 0, simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  if (auto error = parser.parse(buffer.get(), size, false).get(doc)) {
    return RecordError(table, what,
                       std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return RecordError(table, what,
                       "expected a JSON object, got " + std::string(TypeName(doc.type())));
  }

  // Cells are appended in column order, so first find each column's value.
  std::array<simdjson::dom::element, 16> found;
  uint32_t seen = 0;
  for (simdjson::dom::key_value_pair field : object) {
    for (size_t c = 0; c < decoded; ++c) {
      if (table.columns[c].name != field.key) continue;
      if ((seen & (1u << c)) != 0) {
        return FieldError(table, what, field.key, "appears twice");
      }
      seen |= 1u << c;
      found[c] = field.value;
      break;
    }
  }
  const size_t arena_size = rows->arena_.size();
  const size_t cells = rows->cells_.size();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    Status s;
    if (c >= decoded) {
      rows->cells_.push_back({static_cast<uint32_t>(rows->arena_.size()), 0, true});
    } else if ((seen & (1u << c)) == 0) {
      s = FieldError(table, what, table.columns[c].name, "missing");
    } else {
      s = AppendCell(table, what, table.columns[c], found[c], rows);
    }
    if (!s.ok()) {
      rows->arena_.resize(arena_size);
      rows->cells_.resize(cells);
      return s;
    }
  }
  return Status::OK();
}

RowDecoder::RowDecoder() : impl_(std::make_unique<Impl>()) {}
RowDecoder::~RowDecoder() = default;
RowDecoder::RowDecoder(RowDecoder&&) noexcept = default;
RowDecoder& RowDecoder::operator=(RowDecoder&&) noexcept = default;

Status RowDecoder::DecodeValue(const TableSpec& table, std::string_view value, RowBuffer* rows) {
  return impl_->Decode(table, value, table.columns.size(), "value", rows);
}

Status RowDecoder::DecodeKey(const TableSpec& table, std::string_view key, RowBuffer* rows) {
  return impl_->Decode(table, key, table.key_columns, "key", rows);
}

Status RowDecoder::CheckKey(const TableSpec& table, std::string_view key, const RowBuffer& rows,
                            size_t row) {
  RowBuffer& scratch = impl_->key_scratch;
  scratch.columns_ = table.columns.size();
  scratch.Clear();
  EVENTFLOW_RETURN_IF_ERROR(impl_->Decode(table, key, table.key_columns, "key", &scratch));
  for (size_t c = 0; c < table.key_columns; ++c) {
    if (scratch.Value(0, c) != rows.Value(row, c)) {
      return FieldError(table, "key", table.columns[c].name,
                        Shown(scratch.Value(0, c)) + " differs from the value's " +
                            Shown(rows.Value(row, c)));
    }
  }
  return Status::OK();
}

}  // namespace eventflow::sinks
