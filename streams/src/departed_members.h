// DepartedMemberFencer: under exactly-once, aborts at once the open
// transaction of a group member that left without closing it (kill -9, a host
// lost), instead of waiting for the broker to time it out.
//
// Why: a killed stream thread leaves its transaction open. Until that
// transaction ends, the partitions it wrote (changelogs, repartition and
// output topics) are stuck at their last stable offset for every
// read_committed reader, and a new owner of its input partitions cannot read
// their committed offsets when the transaction holds offsets for them
// (UNSTABLE_OFFSET_COMMIT, KIP-447). The broker aborts it only after
// transaction.timeout.ms plus up to its
// transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s by
// default). Whoever takes the partitions over can end it sooner: a producer
// initialising transactions with the dead thread's transactional.id fences
// it, and the coordinator aborts the open transaction then (Kafka's
// InitProducerId).
//
// Who left: every member of the group is a static member whose
// group.instance.id is its stream thread's name, "<instance id>-<index>", and
// whose transactional.id is "<application id>-<thread name>" (client_supplier.h).
// On each assignment a stream thread calls OnAssignment(): the group is
// described (Admin API; after SyncGroup it lists the new generation's members)
// and every member this instance saw before that is gone now has departed:
// its transactional.id is fenced — all of them at once, each waiting up to
// `fence_timeout`. With eager rebalancing every member takes part in every
// rebalance, so a member that joined was seen by the others at the rebalance
// its join caused. A member whose session expired while it lived on (a
// stopped process) is fenced too, as it must be: its partitions are someone
// else's; it recreates its producer when it wakes (StreamsProducer::Recover).
// The instance's own threads are never fenced by it. A failed describe or
// fence is logged and left to the broker's time-out (the departed members stay
// known, so the next assignment tries again).
//
// Thread-safety: OnAssignment may be called from any thread; calls are
// serialised (the instance's threads are assigned together, and the second
// finds nothing new).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_admin.h"

namespace eventflow::streams {

class DepartedMemberFencer {
 public:
  //! Describes the application's consumer group.
  using DescribeGroup = std::function<Result<kafka::GroupDescription>()>;
  //! Fences the transactional.id of the stream thread named `member` (its
  //! group.instance.id), waiting up to `timeout`: initialises transactions
  //! with it and drops the producer.
  using Fence = std::function<Status(const std::string& member, std::chrono::milliseconds timeout)>;

  //! `own_threads`: this instance's thread names (never fenced).
  DepartedMemberFencer(std::set<std::string> own_threads, DescribeGroup describe, Fence fence,
                       std::chrono::milliseconds fence_timeout = std::chrono::seconds(10));

  //! Stream thread `thread` of this instance was assigned partitions:
  //! describes the group and fences the members that departed since the last
  //! description. Returns the members fenced.
  std::vector<std::string> OnAssignment(const std::string& thread);

 private:
  const std::set<std::string> own_threads_;
  const DescribeGroup describe_;
  const Fence fence_;
  const std::chrono::milliseconds fence_timeout_;
  std::mutex mu_;
  //! Static members seen in the group and not fenced since they departed.
  std::set<std::string> known_;
};

}  // namespace eventflow::streams
