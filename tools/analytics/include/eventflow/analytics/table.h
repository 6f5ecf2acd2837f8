// ResultTable: what a batch-analytics report produces, independent of how it is
// printed (format.h) or computed (reports.h).
//
// A table has a machine name (snake_case, e.g. "revenue_by_currency": the JSON
// key and the CSV block it becomes), a human title for the terminal, typed
// columns and rows of text cells. Cells hold the value exactly as PostgreSQL
// printed it (text format), or std::nullopt for SQL NULL, so that no report
// loses precision on the way to the user; the column's kind only decides
// alignment and JSON representation.
//
// Thread-safety: plain values; reading from several threads is safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace eventflow::analytics {

//! How a column's cells are to be read.
enum class CellKind {
  kText,       //!< any UTF-8 text (user ids, currency codes, segment names)
  kInteger,    //!< a decimal integer ("42")
  kDecimal,    //!< an exact decimal with fixed scale ("59.99"); JSON keeps it a string
  kFloat,      //!< a double as PostgreSQL prints it, shortest round-trip ("0.25")
  kTimestamp,  //!< RFC 3339 UTC ("2025-11-30T11:00:00Z")
};

//! One column of a ResultTable.
struct ResultColumn {
  std::string name;  //!< snake_case column name (header, JSON field, CSV header)
  CellKind kind;     //!< alignment and JSON representation
};

//! One report table (see the file comment).
struct ResultTable {
  std::string name;                   //!< machine name, e.g. "revenue_by_currency"
  std::string title;                  //!< one-line human title for the terminal
  std::vector<ResultColumn> columns;  //!< column order of every row
  //! Rows; each has exactly columns.size() cells, std::nullopt for SQL NULL.
  std::vector<std::vector<std::optional<std::string>>> rows;

  //! Index of the column named `column`, or -1.
  int ColumnIndex(const std::string& column) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name == column) return static_cast<int>(i);
    }
    return -1;
  }
};

//! The outcome of one run: its tables in output order, and notes for the user
//! (e.g. data a report had to leave out, and why).
struct Report {
  std::vector<ResultTable> tables;  //!< in the order they are printed
  std::vector<std::string> notes;   //!< one sentence each; printed on stderr, kept in JSON
};

}  // namespace eventflow::analytics
