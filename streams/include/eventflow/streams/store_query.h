// Interactive queries: reading the state stores of a running application
// from outside its stream threads, and finding which instance holds a key
// (Kafka Streams' KafkaStreams#store, queryMetadataForKey,
// streamsMetadataForStore and application.server).
//
// WHAT A READER SEES. Committed state only. A read goes through the store's
// committed view (state_store.h "THREAD-SAFETY"): the same read code the task
// uses, over what the store's last commit wrote — which happens after the
// Kafka transaction carrying the same changes committed. A task's writes
// since its last commit, and everything still in its record cache, are never
// visible; a read answers as of the last commit (at most commit_interval old).
//
// AVAILABILITY. A store partition (one task's store) is readable on the
// instance whose stream thread runs the task, once its restore has finished.
// Reads of a partition that is restoring, closing, moving or not here return
// Unavailable: retry (the HTTP layer answers 503 with Retry-After). A reader
// never blocks a task for longer than its own read, never sees a store being
// closed (closing waits for the reads in progress, then refuses new ones),
// and adds nothing to the per-record path.
//
// METADATA. A key's partition is computed as the producer computed it
// (kafka::KeyPartitioner, the data producers' `partitioner`, murmur2 by
// default) over the serialized key and the partition count of the store's
// sub-topology; the task of that partition is the key's owner. Instances
// learn who runs which task from the consumer group itself: each stream
// thread's consumer carries its instance's `application_server` in its
// client.id ("<client id>@<host>:<port>"), and DescribeConsumerGroups (Admin
// API) returns every member's client id and assigned partitions. The answer
// is cached and refreshed after every rebalance this instance takes part in
// (eager rebalancing: every member takes part in every one), when the cache is
// older than `metadata_max_age`, and when a caller reports it stale. No other
// coordination service is involved.
//
// Thread-safety: the values are plain; the read handles and KafkaStreams'
// query methods may be used from any thread while the KafkaStreams object
// lives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

//! Where an instance serves interactive queries: StreamsConfig's
//! application_server (Kafka's application.server, "host:port").
struct HostInfo {
  std::string host;  //!< a host name or an IP literal (IPv6 without brackets)
  int port = 0;      //!< 1..65535

  //! Returns "host:port" ("[v6]:port" for an IPv6 literal).
  std::string ToString() const;
  //! Parses "host:port" or "[v6]:port". Returns InvalidArgument naming `setting`.
  static Result<HostInfo> Parse(std::string_view text, std::string_view setting);

  friend bool operator==(const HostInfo&, const HostInfo&) = default;
};

//! A store of the topology as queries see it.
struct QueryableStoreInfo {
  std::string name;  //!< the store's name
  StoreSpec::Kind kind = StoreSpec::Kind::kKeyValue;
  int partitions = 0;                        //!< its tasks (partitions); 0 before Start()
  std::chrono::milliseconds window_size{0};  //!< windowed aggregations' window size, else 0
};

//! Where a key of a store lives (KafkaStreams::QueryMetadataForKey).
struct KeyQueryMetadata {
  int partition = -1;  //!< the key's partition, i.e. its task's partition
  //! The instance running that task, nullopt when no member of the group has
  //! it assigned right now (a rebalance) or its member advertises no endpoint.
  std::optional<HostInfo> active_host;
  //! True when this instance runs the task (its store may still be restoring).
  bool local = false;
};

//! An instance of the application and the partitions of one store it runs
//! (KafkaStreams::StreamsMetadataForStore).
struct StreamsMetadata {
  std::optional<HostInfo> host;  //!< its application_server; nullopt when it has none
  bool local = false;            //!< this instance
  std::vector<int> partitions;   //!< the store's partitions it runs, ascending
};

//! A key-value entry read from a store (serialized key and value).
struct KeyValueEntry {
  std::string key;
  std::string value;
};

//! A window read from a window store. `end` is start + the store's window
//! size (QueryableStoreInfo::window_size; start when unknown).
struct WindowEntry {
  std::string key;
  int64_t start = 0;
  int64_t end = 0;
  std::string value;
};

//! A session read from a session store: [start, end], both inclusive.
struct SessionEntry {
  std::string key;
  int64_t start = 0;
  int64_t end = 0;
  std::string value;
};

//! Which partitions of a store a read covers (Kafka's StoreQueryParameters).
struct StoreQueryParameters {
  std::string store;             //!< the store's name
  std::optional<int> partition;  //!< one partition; nullopt: see each method
};

class QueryableStores;

//! Reads of one store's committed state on this instance. Obtained from
//! KafkaStreams::Store(); a cheap handle that must not outlive it. Every call
//! returns Unavailable ("retry") for a partition not running here or still
//! restoring, and InvalidArgument when the store is not of the kind the
//! method reads.
class ReadOnlyStore {
 public:
  //! Key-value stores: copies the value of `key` (serialized) into *value.
  //! The partition is the parameters' one, else the key's. Returns OK, or
  //! NotFound when the key has no value.
  Status Get(std::string_view key, std::string* value) const;

  //! Key-value stores: appends the entries with from <= key < to (an empty
  //! `to`: no upper bound), in key order over the partitions read (the
  //! parameters' one, else every partition this instance runs), at most
  //! `limit` of them.
  Status Range(std::string_view from, std::string_view to, size_t limit,
               std::vector<KeyValueEntry>* out) const;

  //! Window stores: appends `key`'s windows with start in [time_from,
  //! time_to], oldest first (the parameters' partition, else the key's).
  Status FetchWindows(std::string_view key, int64_t time_from, int64_t time_to,
                      std::vector<WindowEntry>* out) const;

  //! Window stores: appends every key's windows with start in [time_from,
  //! time_to] over the partitions read (as Range), ordered by key then start,
  //! at most `limit`.
  Status FetchAllWindows(int64_t time_from, int64_t time_to, size_t limit,
                         std::vector<WindowEntry>* out) const;

  //! Session stores: appends `key`'s sessions with end >= earliest_end and
  //! start <= latest_start, ordered by end then start.
  Status FetchSessions(std::string_view key, int64_t earliest_end, int64_t latest_start,
                       std::vector<SessionEntry>* out) const;

  //! Returns the store's description.
  const QueryableStoreInfo& info() const { return *info_; }

 private:
  friend class QueryableStores;
  ReadOnlyStore(const QueryableStores* stores, const QueryableStoreInfo* info,
                std::optional<int> partition)
      : stores_(stores), info_(info), partition_(partition) {}

  const QueryableStores* stores_;
  const QueryableStoreInfo* info_;
  std::optional<int> partition_;
};

//! What serves interactive queries: a running KafkaStreams, or a
//! TopologyTestDriver in tests (its one task per sub-topology is partition 0
//! of every store, always local). The HTTP layer (eventflow/queries) takes
//! this interface.
class StoreQueries {
 public:
  virtual ~StoreQueries() = default;
  //! Returns the stores with their partition counts (empty when not started).
  virtual std::vector<QueryableStoreInfo> QueryableStoreInfos() const = 0;
  //! Returns a handle reading `params.store` here. NotFound for an unknown
  //! store, InvalidArgument for a partition the store does not have.
  virtual Result<ReadOnlyStore> Store(const StoreQueryParameters& params) const = 0;
  //! Where the serialized `key` of `store` lives. NotFound for an unknown store.
  virtual Result<KeyQueryMetadata> QueryMetadataForKey(std::string_view store,
                                                       std::string_view key) const = 0;
  //! The instances running partitions of `store` (this one first when it runs
  //! any). NotFound for an unknown store.
  virtual Result<std::vector<StreamsMetadata>> StreamsMetadataForStore(
      std::string_view store) const = 0;
  //! The metadata named an instance that did not answer: describe again.
  virtual void MarkMetadataStale() const = 0;
};

}  // namespace eventflow::streams
