// Printing a Report: an aligned text table for terminals, JSON and CSV for
// machines.
//
// Text (FormatText): per table its title, a header, a rule and the rows; text
// columns left-aligned, numeric and time columns right-aligned, widths measured
// in terminal columns (DisplayWidth: East Asian wide characters count 2,
// combining marks 0). Control characters in cells are shown escaped ("\n",
// "\t", "\x1b"), so a cell can neither break a row nor send escape sequences to
// the terminal; invalid UTF-8 is shown as U+FFFD. SQL NULL prints as "NULL".
// Floats (conversion rates) are rounded for people to kTextFloatDecimals
// decimals ("0.3333"); JSON and CSV keep PostgreSQL's full precision.
// Tables are separated by an empty line.
//
// JSON (FormatJson): one object, {"reports": {"<table name>": [ {column: value,
// ...}, ... ], ...}, "notes": [ ... ]}, in table and column order. Integers and
// floats are JSON numbers (a float PostgreSQL prints as "NaN" or "Infinity"
// becomes a string), decimals stay strings as in the pipeline's contract (exact,
// never a binary float), text and timestamps are strings, SQL NULL is null.
// Strings are escaped per RFC 8259 (quote, backslash, every control character
// below U+0020 and U+007F); invalid UTF-8 becomes U+FFFD, so the output is
// always valid UTF-8. Ends with a newline.
//
// CSV (FormatCsv, RFC 4180 with "\n" line ends): per table a header line and
// its rows; with several tables, one block per table in report order, separated
// by an empty line. A field is quoted when it contains a comma, a quote (which
// is doubled), CR, LF, any other control character or leading/trailing
// spaces, or when it is empty; SQL NULL is an empty unquoted field, so NULL and
// the empty string stay distinguishable. Bytes are written unchanged.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "eventflow/analytics/table.h"
#include "eventflow/core/status.h"

namespace eventflow::analytics {

//! Decimals of a float cell in FormatText (JSON and CSV are not rounded).
inline constexpr int kTextFloatDecimals = 4;

//! The output formats of eventflow-analytics.
enum class OutputFormat { kTable, kJson, kCsv };

//! Parses "table", "json" or "csv"; InvalidArgument naming `setting` otherwise.
Result<OutputFormat> ParseOutputFormat(std::string_view text, std::string_view setting);

//! Returns the number of terminal columns `utf8` occupies (see the file comment;
//! an invalid byte counts as one replacement character).
size_t DisplayWidth(std::string_view utf8);

//! Returns the report's tables as aligned text (notes are not included).
std::string FormatText(const Report& report);
//! Returns the report as one JSON document, notes included.
std::string FormatJson(const Report& report);
//! Returns the report's tables as CSV (notes are not included).
std::string FormatCsv(const Report& report);
//! Returns the report in `format`.
std::string FormatReport(const Report& report, OutputFormat format);

}  // namespace eventflow::analytics
