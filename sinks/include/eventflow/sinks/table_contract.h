// The output-topic contract: how the streaming topologies hand the four result
// tables of the pipeline (../shared/DESIGN.md, "The EventFlow pipeline") to the
// PostgreSQL sink. Producers must write exactly this; the sink accepts nothing else.
//
// Topics: one per table, named like the table, with an optional common prefix
// (`<prefix>orders_raw`, `<prefix>revenue_by_currency_5min`,
// `<prefix>conversion_funnel_5min`, `<prefix>order_attribution`).
//
// Records, per table row:
//   key   = compact JSON object of the table's key columns, in table order, e.g.
//           {"window_start":"2025-11-30T11:15:00.000Z","currency":"EUR"}
//   value = JSON object with every column of the table (key columns included), e.g.
//           {"order_id":"o777","user_id":"u123","product_id":"p10","price":"59.99",
//            "currency":"EUR","event_time":"2025-11-30T11:17:00.000Z"}
//           or a Kafka null value (tombstone): delete the row with that key.
//
// JSON representation of each column kind (JsonKind):
//   kText       JSON string (no NUL character)                        -> text
//   kDecimal2   JSON string of a decimal with exactly two decimals,   -> numeric(p,2)
//               an optional '-', no leading zeros, at most p-2 integer
//               digits: "59.99", "0.50", "-3.00" (exact; never a JSON number)
//   kTimestamp  JSON string, RFC 3339 UTC with milliseconds,          -> timestamptz
//               "2025-11-30T11:15:00.000Z" (AppendContractTimestamp writes it;
//               any form ParseTimestampMillis accepts is read)
//   kInt64      JSON integer (no fraction or exponent), int64 range   -> bigint
//   kInt32      JSON integer, int32 range                             -> integer
//   kDouble     JSON number                                           -> double precision
//   SQL NULL    JSON null, only in a nullable column (conversion_rate)
// Fields not in the table are ignored; a column that is missing, present twice, of
// the wrong JSON type or out of range makes the record a bad row (dead-letter topic),
// as does a key that is not the value's key columns.
//
// The tables (DESIGN.md's names and meanings, key columns first):
//   orders_raw                (order_id) user_id, product_id, price numeric(12,2),
//                             currency, event_time timestamptz
//   revenue_by_currency_5min  (window_start, currency) window_end, total_revenue
//                             numeric(14,2), order_count bigint, avg_order_value numeric(14,2)
//   conversion_funnel_5min    (window_start, user_id) window_end, views bigint, orders
//                             bigint, conversion_rate double precision (NULL when views = 0)
//   order_attribution         (order_id) user_id, product_id, order_time timestamptz,
//                             views_before_order integer, last_view_time timestamptz
//
// Thread-safety: the specs are immutable; a RowDecoder is used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/core/table_format.h"

namespace eventflow::sinks {

//! How a column is written in JSON (see the file comment).
enum class JsonKind : uint8_t { kText, kDecimal2, kTimestamp, kInt64, kInt32, kDouble };

//! One column of a result table.
struct ColumnSpec {
  std::string_view name;      //!< column name = JSON field name
  std::string_view sql_type;  //!< PostgreSQL type as format_type() prints it
  JsonKind kind;              //!< JSON representation
  bool nullable = false;      //!< may be SQL NULL (JSON null)
  int integer_digits = 0;     //!< kDecimal2: digits before the point (precision - 2)
};

//! One result table: its columns, the first `key_columns` of which are the key.
struct TableSpec {
  std::string_view name;               //!< table name = topic name without prefix
  std::span<const ColumnSpec> columns;  //!< every column, key columns first
  size_t key_columns;                   //!< how many leading columns form the primary key
};

//! Number of result tables.
inline constexpr size_t kTableCount = 4;

//! The four tables, in the order orders_raw, revenue_by_currency_5min,
//! conversion_funnel_5min, order_attribution.
const std::array<TableSpec, kTableCount>& PipelineTables();

//! Returns the table named `name`, or nullptr.
const TableSpec* FindTable(std::string_view name);

// The contract's column encoders live in core (eventflow/core/table_format.h)
// so that the topologies, which do not link sinks, write the same text.
using ::eventflow::AppendContractDecimal;
using ::eventflow::AppendContractTimestamp;

//! Rows of one table held as PostgreSQL text values in one growing arena.
//!
//! Lifecycle: filled by RowDecoder, read by the sink, Clear()ed for the next
//! batch; its memory is kept, so a steady-state batch allocates nothing. Views
//! returned by Value() stay valid until the next append or Clear(). Not thread-safe.
class RowBuffer {
 public:
  //! A buffer for rows of `columns` cells.
  explicit RowBuffer(size_t columns = 0) : columns_(columns) {}

  //! Number of complete rows.
  size_t rows() const { return cells_.size() / (columns_ == 0 ? 1 : columns_); }
  //! Cells per row.
  size_t columns() const { return columns_; }
  //! True when the cell is SQL NULL.
  bool IsNull(size_t row, size_t column) const { return cells_[row * columns_ + column].null; }
  //! The cell's text (empty for NULL).
  std::string_view Value(size_t row, size_t column) const {
    const Cell& c = cells_[row * columns_ + column];
    return std::string_view(arena_).substr(c.offset, c.size);
  }
  //! Drops the last row (precondition: rows() > 0).
  void DropLast() {
    cells_.resize(cells_.size() - columns_);
    arena_.resize(cells_.empty() ? 0 : cells_.back().offset + cells_.back().size);
  }
  //! Drops every row, keeping the memory.
  void Clear() {
    arena_.clear();
    cells_.clear();
  }

 private:
  friend class RowDecoder;
  struct Cell {
    uint32_t offset;
    uint32_t size;
    bool null;
  };
  std::string arena_;
  std::vector<Cell> cells_;
  size_t columns_;
};

//! Decodes one table's Kafka keys and values into RowBuffer rows (simdjson).
//!
//! Lifecycle: one per sink thread (it keeps a parser and a padded copy of the
//! input that grow to the largest record seen, so decoding allocates nothing
//! afterwards). Errors are InvalidArgument naming the table, the field and the
//! problem. Movable, not copyable; not thread-safe.
class RowDecoder {
 public:
  RowDecoder();
  ~RowDecoder();
  RowDecoder(RowDecoder&&) noexcept;
  RowDecoder& operator=(RowDecoder&&) noexcept;

  //! Appends the row in `value` (every column of `table`) to `*rows`, whose
  //! column count must be the table's; on error appends nothing and returns why.
  Status DecodeValue(const TableSpec& table, std::string_view value, RowBuffer* rows);

  //! Appends a row holding the key columns decoded from `key` followed by NULLs
  //! for the other columns (a tombstone's row) to `*rows`; on error appends nothing.
  Status DecodeKey(const TableSpec& table, std::string_view key, RowBuffer* rows);

  //! Checks that `key` holds exactly the key columns of row `row` of `rows`
  //! (compared after normalisation). Returns InvalidArgument naming the column
  //! that differs, or the decoding error of `key`.
  Status CheckKey(const TableSpec& table, std::string_view key, const RowBuffer& rows,
                  size_t row);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventflow::sinks
