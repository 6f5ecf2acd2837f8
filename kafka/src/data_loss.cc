#include "eventflow/kafka/data_loss.h"

namespace eventflow::kafka {

OutOfRange ExplainOutOfRange(std::string_view where, std::string_view reader, int64_t position,
                             const PartitionWatermarks& marks) {
  OutOfRange r;
  if (position >= 0 && position < marks.low) {
    r.resume = marks.low;
    r.lost = static_cast<uint64_t>(marks.low - position);
    r.what = std::string(where) + ": the records at offsets " + std::to_string(position) +
             " to " + std::to_string(marks.low - 1) + " (" + std::to_string(r.lost) +
             ") were deleted before " + std::string(reader) + " read them (the log now starts at " +
             std::to_string(marks.low) +
             "; time retention counted from old record timestamps, or DeleteRecords)";
  } else {
    r.resume = marks.high;
    r.what = std::string(where) + ": position " + std::to_string(position) +
             " is beyond the log end " + std::to_string(marks.high) +
             " (the topic was recreated or truncated)";
  }
  return r;
}

}  // namespace eventflow::kafka
