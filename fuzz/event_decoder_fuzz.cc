// EventDecoder on arbitrary bytes (core/event_codec.h).
//
// Properties: decoding never crashes (ASan/UBSan watch it); the topic-checked
// decoders agree with Decode(); an accepted event re-encodes (AppendJson) to
// JSON that decodes to the same event, and that encoding is a fixed point.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/event.h"
#include "eventflow/core/event_codec.h"
#include "fuzz_check.h"

namespace {

using eventflow::Event;
using eventflow::EventTopic;

constexpr EventTopic kTopics[] = {EventTopic::kUserEvents, EventTopic::kProductView,
                                  EventTopic::kOrders};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One decoder for the whole run, as the runtime keeps one per thread: its
  // buffers grow to the largest input and must not leak state between records.
  static eventflow::EventDecoder decoder;
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  eventflow::Result<Event> event = decoder.Decode(json);
  for (EventTopic topic : kTopics) {
    eventflow::Result<Event> on_topic = decoder.DecodeFromTopic(topic, json);
    const bool belongs = event.ok() && eventflow::TopicOf(*event) == topic;
    FUZZ_CHECK(on_topic.ok() == belongs, on_topic.status().ToString());
    if (belongs) FUZZ_CHECK(*on_topic == *event, json);
  }
  if (!event.ok()) return 0;

  std::string encoded;
  eventflow::AppendJson(*event, &encoded);
  eventflow::Result<Event> again = decoder.Decode(encoded);
  FUZZ_CHECK(again.ok(), again.status().ToString() + " for " + encoded);
  FUZZ_CHECK(*again == *event, encoded);
  std::string reencoded;
  eventflow::AppendJson(*again, &reencoded);
  FUZZ_CHECK(reencoded == encoded, reencoded);
  return 0;
}
