// PartitionRouter: a stream thread's assigned partitions — which task each
// feeds, its own queue, where the thread reads it — and the stall guard.
//
// Records of an assigned partition are taken from the partition's own queue
// (PartitionQueue, detached from the consumer queue) only while its buffer in
// the task has room (max_buffered_records_per_partition, counted per
// partition); the rest wait in the client,
// whose fetcher stops when its queue is full. (Pausing partitions instead
// makes librdkafka 2.0.2 discard and refetch prefetched data on every pause —
// measured at 4× the CPU per record.) Records fetched before a queue was
// detached arrive on the consumer queue and are routed by Find().
//
// Stall guard (CheckStalls, partition_stall_timeout): a partition from which
// nothing was taken for the time-out is checked against the broker's last
// stable offset (asked on a second connection: on the main consumer's the
// request waits behind the fetcher's long poll) and the high watermark the
// fetcher last saw; one the fetcher has not even seen the end of after a
// further time-out is stalled: logged at ERROR, counted, and its fetch
// restarted (RestartFetch) — until a record is taken from it again.
//
// RestartFetch assigns every partition again, each at the position the thread
// expects next: a seek cannot do this (after an auto.offset.reset=error reset
// librdkafka leaves the partition's fetcher stopped and refuses seeks).
//
// Thread-safety: the stream thread only, except stalled_partitions() and
// partition_stalls_total() (any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client_supplier.h"
#include "thread_probe.h"

namespace eventflow::streams {

class PartitionRouter {
 public:
  using Clock = std::chrono::steady_clock;

  //! One assigned partition.
  struct Route {
    const void* topic_handle = nullptr;  //!< the client's topic handle, learnt from records
    std::string topic;
    int32_t partition = 0;
    StreamTask* task = nullptr;
    std::unique_ptr<PartitionQueue> queue;  //!< nullptr until attached
    //! The offset after the last record taken (-1: none yet).
    int64_t position = -1;
    //! When the last record was taken (or the partition was last found not lagging).
    Clock::time_point last_progress{};
    bool stalled = false;                  //!< counted as stalled until a record is taken again
    Clock::time_point next_stall_check{};  //!< rate of broker queries
    //! When the partition was first found lagging with nothing taken since
    //! (zero: not lagging), and the stable end offset seen then.
    Clock::time_point lag_seen{};
    int64_t lag_end = -1;
    //! Where the thread publishes its position (consumer lag); may be nullptr.
    ThreadProbe::PartitionSlot* lag = nullptr;

    //! Notes that records were taken at `now` (the stall guard's progress).
    void Progressed(Clock::time_point now) {
      last_progress = now;
      stalled = false;
      lag_seen = Clock::time_point{};
    }
  };

  //! The committed offset of a partition, or RD_KAFKA_OFFSET_BEGINNING.
  using CommittedOffset = std::function<int64_t(const std::string& topic, int32_t partition)>;

  PartitionRouter(std::string thread, ConsumerClient* consumer)
      : thread_(std::move(thread)), consumer_(consumer) {}

  //! Adds the route of an assigned partition.
  void Add(Route route) { routes_.push_back(std::move(route)); }
  //! The routes, in assignment order.
  std::vector<Route>& routes() { return routes_; }
  //! Returns the route of a consumed record's partition, or nullptr (revoked meanwhile).
  Route* Find(const ConsumerItem& item);
  //! Returns the route of `partition` of `topic`, or nullptr.
  Route* Find(const std::string& topic, int32_t partition);
  //! Detaches the queue of every route that has none yet.
  void AttachQueues();
  //! Drops every route; their queues forward to the consumer queue again.
  void Clear();

  //! Assigns every routed partition again (see file comment): `partition` of
  //! `topic` at `offset` when >= 0, the others where the thread reads next
  //! (the position, else the committed offset). Does nothing when the
  //! assignment is lost (assigning would hide that from the coming revocation).
  Status RestartFetch(const CommittedOffset& committed, const std::string& topic, int32_t partition,
                      int64_t offset);

  //! The client that asks for last stable offsets, created on first use
  //! (nullptr when it cannot be).
  using ListOffsetsClient = std::function<ConsumerClient*()>;

  //! The stall guard, about once a second (see file comment).
  void CheckStalls(Clock::time_point now, std::chrono::milliseconds timeout,
                   const ListOffsetsClient& list_offsets, const CommittedOffset& committed);

  //! Partitions stalled and not moving since.
  int stalled_partitions() const { return stalled_partitions_.load(std::memory_order_relaxed); }
  //! Stalls detected since the thread started (each counted once).
  uint64_t partition_stalls_total() const {
    return partition_stalls_total_.load(std::memory_order_relaxed);
  }

 private:
  void CountStalled();

  const std::string thread_;
  ConsumerClient* const consumer_;
  std::vector<Route> routes_;
  size_t last_route_ = 0;
  std::atomic<int> stalled_partitions_{0};
  std::atomic<uint64_t> partition_stalls_total_{0};
};

}  // namespace eventflow::streams
