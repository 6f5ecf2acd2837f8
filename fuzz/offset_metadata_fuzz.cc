// Offset-commit metadata and watermark stamps (streams/stream_task.h): text a
// restarted instance reads back from the broker and from repartition records.
//
// Properties: parsing arbitrary text never crashes; whatever is accepted
// formats to text that parses to the same value, and formatting that value
// again gives the same text (the formatted form is canonical).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/streams/stream_task.h"
#include "fuzz_check.h"

namespace {

namespace streams = eventflow::streams;

void CheckOffsetMetadata(std::string_view text) {
  eventflow::Result<streams::PartitionTimes> times = streams::ParseOffsetMetadata(text);
  if (!times.ok()) return;
  FUZZ_CHECK(times->stream_time >= -1, "accepted a stream time below -1");
  const std::string formatted = streams::FormatOffsetMetadata(*times);
  eventflow::Result<streams::PartitionTimes> again = streams::ParseOffsetMetadata(formatted);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(*again == *times, "offset metadata changed in the round trip: " + formatted);
  FUZZ_CHECK(streams::FormatOffsetMetadata(*again) == formatted, formatted);
}

void CheckWatermarkStamp(std::string_view text) {
  eventflow::Result<streams::WatermarkStamp> stamp = streams::ParseWatermarkStamp(text);
  if (!stamp.ok()) return;
  const std::string formatted = streams::FormatWatermarkStamp(*stamp);
  eventflow::Result<streams::WatermarkStamp> again = streams::ParseWatermarkStamp(formatted);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(*again == *stamp, "watermark stamp changed in the round trip: " + formatted);
  FUZZ_CHECK(streams::FormatWatermarkStamp(*again) == formatted, formatted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckOffsetMetadata(text);
  CheckWatermarkStamp(text);
  return 0;
}
