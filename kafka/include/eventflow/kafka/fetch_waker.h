// FetchWaker: wakes a consumer's broker threads when a drained partition
// queue should be fetched again.
//
// librdkafka 2.0.2 stops fetching a partition whose queue holds
// queued.max.messages.kbytes (or queued.min.messages) and looks at it again
// only when the broker thread leading it wakes up: on network traffic or an
// op, else after up to 1 s (rd_kafka_max_block_ms in rdkafka_broker.c). While
// an application catches up every queue is full, so no fetch is in flight and
// a queue the application has drained waits most of that second: the streams
// pass-through topped out at ~190k records/s with the default memory budget
// and ran at ~585k with four times the prefetch (bench/compare, 2026-12-07).
// librdkafka 2.1 added fetch.queue.backoff.ms for this; Debian 12 ships 2.0.2.
//
// Use: a consumer that takes records per partition queue
// (rd_kafka_queue_get_partition + rd_kafka_consume_batch_queue) keeps a
// QueueDrainWatch per queue and, when it says the queue drained, calls
// Request() for that partition. The waker's own thread then asks the
// partition's leader for the partition's end offset: the ListOffsets request
// is an op for that broker's thread, which wakes, finds the queue below its
// bound and fetches it. The answer is not needed; a failed request (leader
// moving, broker down) leaves librdkafka's 1 s wake-up, as before. The caller
// only appends to a list under a mutex (once per drain of a queue, never per
// record).
//
// Thread-safety: Request() from any thread; Stop() (and the destructor) must
// run before the consumer handle is destroyed.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "eventflow/kafka/handles.h"

namespace eventflow::kafka {

//! Says when a partition queue has drained: a busy batch (kBusyBatch records
//! or more, or all that was asked) followed by a short one. A queue that keeps
//! giving small batches (caught up, or live at a modest rate) never says so.
class QueueDrainWatch {
 public:
  //! A batch this large (or all that was asked) means records were waiting:
  //! catching up, not trickling in live (a fetch brings a few hundred at
  //! least at the smallest queue bounds of the streams memory model).
  static constexpr size_t kBusyBatch = 64;

  //! Call after every batch taken from the queue: `asked` records asked for,
  //! `got` taken. Returns true when the queue has just drained.
  bool OnBatch(size_t asked, size_t got) {
    const bool drained = got < asked && was_busy_;
    was_busy_ = asked > 0 && got >= std::min(asked, kBusyBatch);
    return drained;
  }

 private:
  bool was_busy_ = false;
};

class FetchWaker {
 public:
  //! Starts the waker's thread for `consumer` (not owned).
  explicit FetchWaker(rd_kafka_t* consumer);
  ~FetchWaker();
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;

  //! Asks for a wake-up of the broker leading `topic` [`partition`]; a
  //! partition already waiting is not added twice. No-op after Stop().
  void Request(const std::string& topic, int32_t partition);

  //! Ends the thread (waits for a request under way, at most its 500 ms
  //! time-out); nothing is asked of the consumer after it returns.
  void Stop();

  //! Wake-up rounds so far (each one ListOffsets request per leader of the
  //! partitions waiting), readable from any thread.
  uint64_t rounds() const { return sent_.load(std::memory_order_relaxed); }

 private:
  void Run();

  static constexpr int kQueryTimeoutMs = 500;
  rd_kafka_t* consumer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, int32_t>> pending_;
  bool stop_ = false;
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace eventflow::kafka
