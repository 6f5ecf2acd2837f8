// Data loss: what it means when records a reader still had to read are gone
// from the broker, and what the reader does about it.
//
// A consumer's position is out of range when the partition's log no longer
// holds it: below the log start, the records in between were deleted (time
// retention counted from old record timestamps, or DeleteRecords) before the
// reader read them; beyond the log end, the topic was recreated or truncated.
// The streams runtime and the PostgreSQL sink both consume with
// auto.offset.reset=error, so such a position surfaces as an error that they
// explain with ExplainOutOfRange() and handle by their DataLossPolicy.
//
// Plain values and a pure function: no librdkafka here, so configuration
// headers (streams_config.h, pg_sink.h) can name the policy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eventflow::kafka {

//! What happens when records a reader still had to read are gone from the
//! broker (its position is below the partition's log start: deleted by
//! retention or DeleteRecords before they were read).
enum class DataLossPolicy {
  //! Stop with an error naming the topic, partition, the offsets and how many
  //! records are gone (the default: nothing is skipped without an operator
  //! deciding so).
  kFail,
  //! Log an ERROR naming the same, count the records in
  //! eventflow_records_lost_total{topic} and go on from the log start.
  kSkip,
};

//! Low and high watermark (log start and end offset) of one partition.
struct PartitionWatermarks {
  int64_t low = 0;   //!< the log start: the first offset still stored
  int64_t high = 0;  //!< the log end: the offset the next record will get
};

//! What a consumer position out of range means for one partition.
struct OutOfRange {
  int64_t resume = 0;  //!< where reading can go on: the log start, or the log end if beyond it
  uint64_t lost = 0;   //!< records deleted before they were read (0 when beyond the end)
  std::string what;    //!< "<where>: the records at offsets A to B (N) were deleted before ..."
};

//! Explains `position` of the partition named `where` (e.g. "topic orders
//! partition 2") against its current watermarks: below the log start, the
//! records in between were deleted before `reader` (e.g. "this application")
//! read them; beyond the log end, the topic was recreated or truncated.
//! Returns where to resume, how many records are lost and the explanation.
OutOfRange ExplainOutOfRange(std::string_view where, std::string_view reader, int64_t position,
                             const PartitionWatermarks& marks);

}  // namespace eventflow::kafka
