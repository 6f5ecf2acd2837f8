#include "sink_batch.h"

#include <algorithm>
#include <utility>

namespace eventflow::sinks {
namespace {

// Rows per statement: large enough to amortise round trips, within the
// protocol's 65535 parameters.
constexpr size_t kMaxRowsPerStatement = 500;

bool KeyLess(const RowBuffer& rows, size_t key_columns, uint32_t a, uint32_t b) {
  for (size_t c = 0; c < key_columns; ++c) {
    const int cmp = rows.Value(a, c).compare(rows.Value(b, c));
    if (cmp != 0) return cmp < 0;
  }
  return false;
}

void AppendPlaceholder(size_t index, const ColumnSpec& column, std::string* sql) {
  sql->push_back('$');
  sql->append(std::to_string(index));
  sql->append("::");
  sql->append(column.sql_type);
}

}  // namespace

SinkBatch::SinkBatch() {
  for (size_t t = 0; t < kTableCount; ++t) {
    tables[t].rows = RowBuffer(PipelineTables()[t].columns.size());
  }
}

RawSpan SinkBatch::Copy(std::optional<std::string_view> bytes) {
  if (!bytes) return {};
  RawSpan span{static_cast<uint32_t>(raw.size()), static_cast<uint32_t>(bytes->size()), true};
  raw.append(*bytes);
  return span;
}

void SinkBatch::AddRow(size_t table, int32_t partition, int64_t offset,
                       std::optional<std::string_view> key, std::optional<std::string_view> value) {
  tables[table].refs.push_back({partition, offset, !value.has_value(), Copy(key), Copy(value)});
}

void SinkBatch::AddBad(size_t table, int32_t partition, int64_t offset,
                       std::optional<std::string_view> key, std::optional<std::string_view> value,
                       std::string error, std::string_view stage) {
  bad.push_back({table, partition, offset, Copy(key), Copy(value), std::move(error), stage});
  decode_bad = bad.size();
}

void SinkBatch::AddBadRow(size_t table, size_t row, std::string error, std::string_view stage) {
  const RecordRef& ref = tables[table].refs[row];
  bad.push_back({table, ref.partition, ref.offset, ref.key, ref.value, std::move(error), stage});
}

void SinkBatch::Clear() {
  for (TableBatch& t : tables) {
    t.rows.Clear();
    t.refs.clear();
  }
  bad.clear();
  decode_bad = 0;
  raw.clear();
  records = 0;
}

Status BatchWriter::Prepare() {
  batch_->bad.resize(batch_->decode_bad);  // a retry finds PostgreSQL's rejections again
  for (size_t t = 0; t < kTableCount; ++t) {
    const TableBatch& tb = batch_->tables[t];
    const size_t keys = PipelineTables()[t].key_columns;
    const size_t n = tb.rows.rows();
    order_.resize(n);
    for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
    // Stable: among equal keys the consumption order stays, so the last is the latest.
    std::stable_sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
      return KeyLess(tb.rows, keys, a, b);
    });
    upserts_[t].clear();
    deletes_[t].clear();
    for (size_t i = 0; i < n; ++i) {
      const bool last_of_key = i + 1 == n || KeyLess(tb.rows, keys, order_[i], order_[i + 1]);
      if (!last_of_key) continue;
      const uint32_t row = order_[i];
      (tb.refs[row].tombstone ? deletes_[t] : upserts_[t]).push_back(row);
    }
  }
  return Status::OK();
}

Status BatchWriter::Upsert(PgConnection& conn, size_t t, const uint32_t* rows, size_t count) {
  const TableSpec& table = PipelineTables()[t];
  const RowBuffer& buffer = batch_->tables[t].rows;
  const size_t columns = table.columns.size();
  sql_.assign("INSERT INTO ").append(table.name).append(" (");
  for (size_t c = 0; c < columns; ++c) sql_.append(c ? ", " : "").append(table.columns[c].name);
  sql_.append(") VALUES ");
  params_.clear();
  for (size_t r = 0; r < count; ++r) {
    sql_.append(r ? ", (" : "(");
    for (size_t c = 0; c < columns; ++c) {
      if (c) sql_.append(", ");
      AppendPlaceholder(params_.size() + 1, table.columns[c], &sql_);
      if (buffer.IsNull(rows[r], c)) {
        params_.emplace_back(std::nullopt);
      } else {
        params_.emplace_back(buffer.Value(rows[r], c));
      }
    }
    sql_.push_back(')');
  }
  sql_.append(" ON CONFLICT (");
  for (size_t c = 0; c < table.key_columns; ++c) {
    sql_.append(c ? ", " : "").append(table.columns[c].name);
  }
  sql_.append(") DO UPDATE SET ");
  for (size_t c = table.key_columns; c < columns; ++c) {
    sql_.append(c > table.key_columns ? ", " : "")
        .append(table.columns[c].name)
        .append(" = EXCLUDED.")
        .append(table.columns[c].name);
  }
  Result<PgResult> result = conn.Query(sql_, params_);
  return result.status();
}

Status BatchWriter::Delete(PgConnection& conn, size_t t, const uint32_t* rows, size_t count) {
  const TableSpec& table = PipelineTables()[t];
  const RowBuffer& buffer = batch_->tables[t].rows;
  sql_.assign("DELETE FROM ").append(table.name).append(" WHERE (");
  for (size_t c = 0; c < table.key_columns; ++c) {
    sql_.append(c ? ", " : "").append(table.columns[c].name);
  }
  sql_.append(") IN (");
  params_.clear();
  for (size_t r = 0; r < count; ++r) {
    sql_.append(r ? ", (" : "(");
    for (size_t c = 0; c < table.key_columns; ++c) {
      if (c) sql_.append(", ");
      AppendPlaceholder(params_.size() + 1, table.columns[c], &sql_);
      params_.emplace_back(buffer.Value(rows[r], c));
    }
    sql_.push_back(')');
  }
  sql_.push_back(')');
  Result<PgResult> result = conn.Query(sql_, params_);
  return result.status();
}

Status BatchWriter::WriteBulk(PgConnection& conn) {
  for (size_t t = 0; t < kTableCount; ++t) {
    const size_t per_statement =
        std::min(kMaxRowsPerStatement, 65535 / PipelineTables()[t].columns.size());
    const std::vector<uint32_t>& up = upserts_[t];
    for (size_t i = 0; i < up.size(); i += per_statement) {
      EVENTFLOW_RETURN_IF_ERROR(
          Upsert(conn, t, up.data() + i, std::min(per_statement, up.size() - i)));
    }
    const std::vector<uint32_t>& del = deletes_[t];
    for (size_t i = 0; i < del.size(); i += per_statement) {
      EVENTFLOW_RETURN_IF_ERROR(
          Delete(conn, t, del.data() + i, std::min(per_statement, del.size() - i)));
    }
    written_[t] = up.size();
    deleted_[t] = del.size();
  }
  return Status::OK();
}

Status BatchWriter::WriteRowByRow(PgConnection& conn, std::string_view stage) {
  for (size_t t = 0; t < kTableCount; ++t) {
    written_[t] = 0;
    deleted_[t] = 0;
    const TableBatch& tb = batch_->tables[t];
    for (size_t i = 0; i < tb.rows.rows(); ++i) {
      EVENTFLOW_RETURN_IF_ERROR(conn.Execute("SAVEPOINT eventflow_row"));
      const uint32_t row = static_cast<uint32_t>(i);
      const bool tombstone = tb.refs[i].tombstone;
      Status s = tombstone ? Delete(conn, t, &row, 1) : Upsert(conn, t, &row, 1);
      if (s.IsInvalidArgument()) {
        EVENTFLOW_RETURN_IF_ERROR(conn.Execute("ROLLBACK TO SAVEPOINT eventflow_row"));
        batch_->AddBadRow(t, i, s.message(), stage);
        continue;
      }
      EVENTFLOW_RETURN_IF_ERROR(s);
      EVENTFLOW_RETURN_IF_ERROR(conn.Execute("RELEASE SAVEPOINT eventflow_row"));
      ++(tombstone ? deleted_[t] : written_[t]);
    }
  }
  return Status::OK();
}

}  // namespace eventflow::sinks
