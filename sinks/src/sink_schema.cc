#include "eventflow/sinks/sink_schema.h"

#include <array>
#include <optional>
#include <string>

#include "eventflow/sinks/table_contract.h"

namespace eventflow::sinks {
namespace {

// Any constant shared by every sink instance; the lock is per database.
constexpr int64_t kSchemaLockKey = 0x6576666c6f77;  // "evflow"

std::string TableDdl(const TableSpec& table) {
  std::string ddl = "CREATE TABLE IF NOT EXISTS " + std::string(table.name) + " (";
  for (const ColumnSpec& column : table.columns) {
    ddl.append(column.name).append(" ").append(column.sql_type);
    if (!column.nullable) ddl.append(" NOT NULL");
    ddl.append(", ");
  }
  ddl.append("PRIMARY KEY (");
  for (size_t c = 0; c < table.key_columns; ++c) {
    ddl.append(c ? ", " : "").append(table.columns[c].name);
  }
  ddl.append("));\n");
  // Migration from an older schema: columns added later. A new NOT NULL column
  // cannot be added to a non-empty table without a default, so it is added nullable.
  for (size_t c = table.key_columns; c < table.columns.size(); ++c) {
    ddl.append("ALTER TABLE ")
        .append(table.name)
        .append(" ADD COLUMN IF NOT EXISTS ")
        .append(table.columns[c].name)
        .append(" ")
        .append(table.columns[c].sql_type)
        .append(";\n");
  }
  return ddl;
}

Status CheckTypes(PgConnection& conn, std::string_view table_name,
                  std::span<const ColumnSpec> columns) {
  const std::array<std::optional<std::string_view>, 1> params = {table_name};
  Result<PgResult> found = conn.Query(
      "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
      params);
  if (!found.ok()) return found.status();
  for (const ColumnSpec& column : columns) {
    bool present = false;
    for (int r = 0; r < found->rows(); ++r) {
      if (found->Get(r, 0) != column.name) continue;
      present = true;
      if (found->Get(r, 1) != column.sql_type) {
        return Status::InvalidArgument(
            "table " + std::string(table_name) + " column " + std::string(column.name) +
            " has type " + std::string(found->Get(r, 1)) + "; the sink needs " +
            std::string(column.sql_type) + " (migrate or drop the table)");
      }
    }
    if (!present) {
      return Status::InvalidArgument("table " + std::string(table_name) + " has no column " +
                                     std::string(column.name));
    }
  }
  return Status::OK();
}

constexpr ColumnSpec kOffsetsColumns[] = {
    {"topic", "text", JsonKind::kText},
    {"partition", "integer", JsonKind::kInt32},
    {"next_offset", "bigint", JsonKind::kInt64},
};

}  // namespace

Status EnsureSinkSchema(PgConnection& conn) {
  // One implicit transaction: the lock is held until every statement is done.
  std::string sql = "SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ");\n";
  for (const TableSpec& table : PipelineTables()) sql += TableDdl(table);
  sql += "CREATE TABLE IF NOT EXISTS " + std::string(kOffsetsTable) +
         " (topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL, "
         "PRIMARY KEY (topic, partition));\n";
  Status s = conn.Execute(sql);
  if (!s.ok()) return s.WithContext("creating the sink's tables");
  for (const TableSpec& table : PipelineTables()) {
    EVENTFLOW_RETURN_IF_ERROR(CheckTypes(conn, table.name, table.columns));
  }
  return CheckTypes(conn, kOffsetsTable, kOffsetsColumns);
}

}  // namespace eventflow::sinks
