// One batch of the PostgreSQL sink (private to eventflow::sinks): the decoded
// rows per table with each record's coordinates and raw bytes (for the
// dead-letter topic), the bad records, and the SQL that writes a batch.
//
// Memory is reused across batches (Clear keeps capacity), so a steady stream of
// batches allocates nothing per record.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/sinks/table_contract.h"

namespace eventflow::sinks {

//! Bytes in SinkBatch::raw; `present` false for a Kafka null.
struct RawSpan {
  uint32_t offset = 0;
  uint32_t size = 0;
  bool present = false;
};

//! Where a row came from.
struct RecordRef {
  int32_t partition;
  int64_t offset;
  bool tombstone;
  RawSpan key;
  RawSpan value;
};

//! A record that goes to the dead-letter topic.
struct BadRecord {
  size_t table;
  int32_t partition;
  int64_t offset;
  RawSpan key;
  RawSpan value;
  std::string error;
  std::string_view stage;
};

//! Rows of one table, in consumption order; refs[i] describes rows row i.
struct TableBatch {
  RowBuffer rows;
  std::vector<RecordRef> refs;
};

struct SinkBatch {
  SinkBatch();

  //! Records the latest decoded row of `table` (already appended to its rows).
  void AddRow(size_t table, int32_t partition, int64_t offset,
              std::optional<std::string_view> key, std::optional<std::string_view> value);
  //! Records a bad record with a copy of its bytes.
  void AddBad(size_t table, int32_t partition, int64_t offset,
              std::optional<std::string_view> key, std::optional<std::string_view> value,
              std::string error, std::string_view stage);
  //! Moves row `row` of `table` to the bad records.
  void AddBadRow(size_t table, size_t row, std::string error, std::string_view stage);
  //! The bytes of `span`.
  std::string_view Raw(RawSpan span) const {
    return std::string_view(raw).substr(span.offset, span.size);
  }
  //! Empties the batch, keeping memory.
  void Clear();

  std::array<TableBatch, kTableCount> tables;
  std::vector<BadRecord> bad;
  std::string raw;     //!< keys and values of the batch's records
  size_t records = 0;  //!< records consumed into this batch (good and bad)
  size_t decode_bad = 0;  //!< bad[0, decode_bad) were rejected by the decoder

 private:
  RawSpan Copy(std::optional<std::string_view> bytes);
};

// Turns a SinkBatch into SQL on one connection, inside the caller's transaction.
class BatchWriter {
 public:
  explicit BatchWriter(SinkBatch* batch) : batch_(batch) {}

  //! Deduplicates each table's rows by key (the last record wins: an upsert or,
  //! for a tombstone, a delete). Call before WriteBulk.
  Status Prepare();
  //! Multi-row parameterised upserts and deletes of the prepared rows. Returns
  //! the first statement's error (InvalidArgument for a row PostgreSQL rejects).
  Status WriteBulk(PgConnection& conn);
  //! Every row in consumption order, each under a SAVEPOINT; rows PostgreSQL
  //! rejects (InvalidArgument) become bad records of `stage`, the rest land.
  Status WriteRowByRow(PgConnection& conn, std::string_view stage);

  //! Rows upserted into table `t` by the last successful write.
  uint64_t written(size_t t) const { return written_[t]; }
  //! Rows deleted from table `t` by the last successful write.
  uint64_t deleted(size_t t) const { return deleted_[t]; }

 private:
  Status Upsert(PgConnection& conn, size_t t, const uint32_t* rows, size_t count);
  Status Delete(PgConnection& conn, size_t t, const uint32_t* rows, size_t count);

  SinkBatch* batch_;
  std::array<std::vector<uint32_t>, kTableCount> upserts_;
  std::array<std::vector<uint32_t>, kTableCount> deletes_;
  std::vector<uint32_t> order_;
  std::array<uint64_t, kTableCount> written_{};
  std::array<uint64_t, kTableCount> deleted_{};
  std::string sql_;
  std::vector<std::optional<std::string_view>> params_;
};

}  // namespace eventflow::sinks
