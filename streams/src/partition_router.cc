#include "partition_router.h"

#include <algorithm>

#include "eventflow/core/log.h"

namespace eventflow::streams {

PartitionRouter::Route* PartitionRouter::Find(const ConsumerItem& item) {
  const int32_t partition = item.record.raw.partition;
  if (last_route_ < routes_.size() && item.topic_handle != nullptr &&
      routes_[last_route_].topic_handle == item.topic_handle &&
      routes_[last_route_].partition == partition) {
    return &routes_[last_route_];
  }
  for (size_t i = 0; i < routes_.size(); ++i) {
    Route& r = routes_[i];
    if (r.partition != partition) continue;
    if (r.topic_handle != item.topic_handle || item.topic_handle == nullptr) {
      if (r.topic != item.record.raw.topic) continue;
      r.topic_handle = item.topic_handle;
    }
    last_route_ = i;
    return &r;
  }
  return nullptr;
}

PartitionRouter::Route* PartitionRouter::Find(const std::string& topic, int32_t partition) {
  for (Route& r : routes_) {
    if (r.partition == partition && r.topic == topic) return &r;
  }
  return nullptr;
}

void PartitionRouter::AttachQueues() {
  for (Route& r : routes_) {
    if (!r.queue) r.queue = consumer_->DetachPartitionQueue(r.topic, r.partition);
  }
}

void PartitionRouter::Clear() {
  routes_.clear();  // each queue forwards to the consumer queue again as it goes
  last_route_ = 0;
  stalled_partitions_.store(0, std::memory_order_relaxed);
}

Status PartitionRouter::RestartFetch(const CommittedOffset& committed, const std::string& topic,
                                     int32_t partition, int64_t offset) {
  // A lost assignment is about to be revoked; assigning would hide that.
  if (consumer_->AssignmentLost()) return Status::OK();
  // Every partition at the position the thread expects next: after the last
  // record taken, else the committed offset, else the beginning. Records
  // fetched but not taken are fetched again.
  TopicPartitionOffsets list;
  list.reserve(routes_.size());
  for (const Route& r : routes_) {
    int64_t at = r.position;
    if (r.partition == partition && r.topic == topic && offset >= 0) at = offset;
    if (at < 0) at = committed(r.topic, r.partition);
    list.push_back(TopicPartitionOffset{r.topic, r.partition, at});
  }
  EVENTFLOW_RETURN_IF_ERROR(consumer_->Assign(list).WithContext("assigning again"));
  AttachQueues();
  return Status::OK();
}

void PartitionRouter::CheckStalls(Clock::time_point now, std::chrono::milliseconds timeout,
                                  const ListOffsetsClient& list_offsets,
                                  const CommittedOffset& committed) {
  for (Route& r : routes_) {
    if (now - r.last_progress < timeout || now < r.next_stall_check) continue;
    r.next_stall_check = now + std::min<Clock::duration>(timeout, std::chrono::seconds(10));
    // Nothing taken from this partition for the time-out: is there anything
    // to take? Its last stable offset against where we are, and against the
    // high watermark the fetcher last saw: a fetcher that runs has seen the
    // data (its cached high watermark reaches the stable offset), so
    // transaction markers and aborted records past our position are no stall.
    ConsumerClient* client = list_offsets();
    if (client == nullptr) return;
    auto marks = client->QueryWatermarks(r.topic, r.partition, std::chrono::seconds(5));
    if (!marks.ok()) continue;  // the broker is away: asked again later
    const int64_t cached_high = consumer_->CachedWatermarks(r.topic, r.partition).high;
    const int64_t position = r.position >= 0 ? r.position : marks->low;
    const bool lagging = marks->high > position && cached_high < marks->high;
    if (!lagging) {
      r.last_progress = now;
      r.lag_seen = Clock::time_point{};
      continue;
    }
    // Seen lagging for the first time (e.g. records produced a moment ago,
    // their fetch response in flight): it gets a whole time-out to move.
    if (r.lag_seen == Clock::time_point{}) {
      r.lag_seen = now;
      r.lag_end = marks->high;
      continue;
    }
    // Still nothing taken, and the fetcher has not even seen what the broker
    // had a time-out ago.
    if (now - r.lag_seen < timeout || cached_high >= r.lag_end || r.stalled) continue;
    r.stalled = true;
    partition_stalls_total_.fetch_add(1, std::memory_order_relaxed);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - r.lag_seen);
    Log(LogLevel::kError, "stream-thread " + thread_,
        "topic " + r.topic + " partition " + std::to_string(r.partition) +
            " is stalled: nothing taken for " + std::to_string(seconds.count()) +
            " s while the broker has records up to " + std::to_string(marks->high) +
            " past our position " + std::to_string(position) + " (the fetcher last saw " +
            std::to_string(cached_high) + "); restarting its fetch at " + std::to_string(position));
    // Assigning again leaves the routes (and `r`) in place.
    const Status restarted = RestartFetch(committed, r.topic, r.partition, -1);
    if (!restarted.ok()) {
      Log(LogLevel::kWarn, "stream-thread " + thread_,
          restarted.WithContext("restarting the fetch of " + r.topic).ToString());
    }
  }
  CountStalled();
}

void PartitionRouter::CountStalled() {
  int stalled = 0;
  for (const Route& r : routes_) stalled += r.stalled ? 1 : 0;
  stalled_partitions_.store(stalled, std::memory_order_relaxed);
}

}  // namespace eventflow::streams
