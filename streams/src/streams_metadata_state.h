// StreamsMetadataState: which instance runs which task, for interactive
// queries (Kafka Streams' StreamsMetadataState), learned from the consumer
// group itself — no other coordination service.
//
// Each stream thread's group consumer carries its instance's
// application_server in its client.id ("<client id>@<host>:<port>",
// ClientIdWithEndpoint); a DescribeConsumerGroups answer (Admin API: every
// member's client id and assigned partitions) then says, per member, where it
// can be reached and which source-topic partitions — hence which tasks — it
// runs. Checked against Kafka 4.1 with librdkafka 2.0.2: client ids with '@',
// ':' and brackets come back unchanged, with the range assignor's
// assignments.
//
// The description is cached. It is refreshed on the next query after this
// instance's stream threads saw a rebalance (OnRebalance: with eager
// rebalancing every member takes part in every rebalance, so any move of a
// task is seen), after MarkStale() (a caller found an instance it named not
// answering), when it is older than max_age, or while the group was not
// Stable when described — at most once per min_refresh_interval, one
// describe at a time.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/streams/store_query.h"
#include "queryable_stores.h"

namespace eventflow::streams {

class StreamsMetadataState {
 public:
  //! Describes the application's consumer group (the Admin API in production).
  using DescribeGroup = std::function<Result<kafka::GroupDescription>()>;

  struct Options {
    //! A description older than this is refreshed before use.
    std::chrono::milliseconds max_age{30'000};
    //! Refreshes are at least this far apart (a stale answer is used meanwhile).
    std::chrono::milliseconds min_refresh_interval{200};
  };

  //! `source_topics[i]`: the resolved source topics of the sub-topology of
  //! stores->infos()[i]; `self`: this instance's application_server, if any.
  //! `stores` must outlive this object.
  StreamsMetadataState(const QueryableStores* stores,
                       std::vector<std::vector<std::string>> source_topics,
                       std::optional<HostInfo> self, DescribeGroup describe, Options options);
  StreamsMetadataState(const QueryableStores* stores,
                       std::vector<std::vector<std::string>> source_topics,
                       std::optional<HostInfo> self, DescribeGroup describe)
      : StreamsMetadataState(stores, std::move(source_topics), std::move(self), std::move(describe),
                             Options{}) {}

  //! A stream thread of this instance was assigned or revoked partitions.
  void OnRebalance() { generation_.fetch_add(1, std::memory_order_relaxed); }
  //! The cached description is wrong (e.g. an instance did not answer).
  void MarkStale();

  //! Where the serialized `key` of the store `info` lives. Returns the
  //! describe error (Unavailable, TimedOut, ...) when there is no description
  //! at all (a failed refresh falls back to the last one).
  Result<KeyQueryMetadata> ForKey(const QueryableStoreInfo& info, std::string_view key);
  //! Every instance running partitions of the store `info` (the local one
  //! included when it runs some), by host.
  Result<std::vector<StreamsMetadata>> ForStore(const QueryableStoreInfo& info);

  //! `client_id` + "@" + the endpoint: the client.id of a stream thread's
  //! consumer of an instance with an application_server.
  static std::string ClientIdWithEndpoint(std::string_view client_id, const HostInfo& endpoint);
  //! The endpoint a member's client id carries, nullopt when none.
  static std::optional<HostInfo> EndpointOfClientId(std::string_view client_id);

 private:
  using Clock = std::chrono::steady_clock;
  struct Member {
    std::optional<HostInfo> host;
    std::set<std::pair<std::string, int>> partitions;  // (topic, partition)
  };
  struct Snapshot {
    std::vector<Member> members;
    Clock::time_point taken;
    uint64_t generation = 0;
    bool stable = false;
  };

  //! The description to use, refreshed first when it is stale (see top).
  Result<std::shared_ptr<const Snapshot>> Current();
  bool Fresh(const Snapshot& s, Clock::time_point now) const;
  //! The member running partition `partition` of `info`'s store, or nullptr.
  const Member* OwnerOf(const Snapshot& s, const QueryableStoreInfo& info, int partition) const;
  const std::vector<std::string>& TopicsOf(const QueryableStoreInfo& info) const;

  const QueryableStores* const stores_;
  const std::vector<std::vector<std::string>> source_topics_;
  const std::optional<HostInfo> self_;
  const DescribeGroup describe_;
  const Options options_;
  std::atomic<uint64_t> generation_{0};

  std::mutex refresh_mu_;  // one describe at a time; taken before mu_
  std::mutex mu_;          // guards what follows
  std::shared_ptr<const Snapshot> snapshot_;
  bool stale_ = false;
  bool describe_failing_ = false;  // the last describe failed (logged once)
  Clock::time_point last_attempt_{};
};

}  // namespace eventflow::streams
