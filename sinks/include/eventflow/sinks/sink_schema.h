// The sink's PostgreSQL schema: the four result tables of table_contract.h and
// the offsets table that makes the sink exactly-once.
//
//   eventflow_sink_offsets(topic text, partition integer, next_offset bigint,
//                          PRIMARY KEY (topic, partition))
//
// holds, per consumed partition, the offset of the next record to write; it is
// updated in the same transaction as the rows (see pg_sink.h).
//
// Tables live in the connection's search_path (unqualified names), so a
// deployment chooses its schema with the connection string's
// `options=-csearch_path=...`.
//
// Thread-safety: free functions over a caller-owned connection.
#pragma once

#include "eventflow/core/status.h"
#include "eventflow/sinks/pg_connection.h"

namespace eventflow::sinks {

//! Name of the offsets table.
inline constexpr std::string_view kOffsetsTable = "eventflow_sink_offsets";

//! Creates or migrates the schema, idempotently, in one transaction under a
//! transaction-scoped advisory lock (so sink instances starting together do not
//! race): CREATE TABLE IF NOT EXISTS for each table with DESIGN.md's columns and
//! types, NOT NULL except nullable columns, the primary key on the key columns;
//! ADD COLUMN IF NOT EXISTS for columns an older schema lacks. Then checks every
//! column's type. Returns InvalidArgument naming the table, column, expected and
//! found type when an existing column has another type, or the PostgreSQL error.
Status EnsureSinkSchema(PgConnection& conn);

}  // namespace eventflow::sinks
