// ClientStatistics: the figures of librdkafka's statistics JSON
// (statistics.interval.ms; librdkafka's STATISTICS.md) that the project
// exports as metrics — per client its queues and totals, per broker its state,
// request round-trip time and queues, per partition its offsets (the end a
// consumer's lag is measured to) and traffic — and StatisticsMailbox, which
// carries the JSON from the client's callback to whoever reads it.
//
// Off the hot path: librdkafka calls the statistics callback from the poll of
// the client's main queue (on the thread that polls it: a stream thread, the
// sink thread) every statistics.interval.ms. The callback only copies the
// text into the mailbox; it is parsed (simdjson) when a reader asks for it,
// once per new text, never on the polling thread.
//
// Thread-safety: ParseClientStatistics is reentrant; StatisticsMailbox is
// thread-safe (Put from the polling thread, Latest from any).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::kafka {

//! A rolling-window latency figure of librdkafka, in microseconds.
struct WindowStatistics {
  int64_t avg = 0;  //!< mean over the window
  int64_t p50 = 0;  //!< median
  int64_t p95 = 0;  //!< 95th percentile
  int64_t p99 = 0;  //!< 99th percentile
  int64_t cnt = 0;  //!< samples in the window (0: the other fields mean nothing)
};

//! One broker connection of a client (the bootstrap entries included).
struct BrokerStatistics {
  std::string name;      //!< e.g. "127.0.0.1:9092/1" or "127.0.0.1:9092/bootstrap"
  int32_t nodeid = -1;   //!< broker id (-1: a bootstrap entry)
  std::string state;     //!< INIT, DOWN, CONNECT, AUTH, APIVERSION_QUERY, AUTH_HANDSHAKE, UP, UPDATE, ...
  int64_t outbuf_cnt = 0;    //!< requests waiting to be sent
  int64_t waitresp_cnt = 0;  //!< requests sent, waiting for their response
  int64_t tx = 0;            //!< requests sent
  int64_t txbytes = 0;       //!< bytes sent
  int64_t txerrs = 0;        //!< transmission errors
  int64_t rx = 0;            //!< responses received
  int64_t rxbytes = 0;       //!< bytes received
  int64_t rxerrs = 0;        //!< receive errors
  int64_t req_timeouts = 0;  //!< requests timed out
  int64_t connects = 0;      //!< connection attempts that succeeded
  int64_t disconnects = 0;   //!< disconnections
  WindowStatistics rtt;            //!< request round-trip time
  WindowStatistics int_latency;    //!< producer: time from produce() to the broker queue
  WindowStatistics outbuf_latency; //!< time a request waits to be sent
};

//! One partition of a topic as the client sees it (offsets -1001: unknown).
struct PartitionStatistics {
  int32_t partition = -1;  //!< -1: librdkafka's internal unassigned partition
  std::string fetch_state;  //!< consumer: "none", "active", "stopped", ...
  int64_t msgq_cnt = 0;     //!< producer: messages queued for this partition
  int64_t fetchq_cnt = 0;   //!< consumer: messages fetched, not yet consumed
  int64_t next_offset = -1001;  //!< consumer: the next offset to fetch
  int64_t app_offset = -1001;   //!< consumer: after the last message handed to the application
  int64_t committed_offset = -1001;  //!< consumer: last committed offset it knows of
  int64_t eof_offset = -1001;   //!< consumer: last end-of-partition offset signalled
  int64_t lo_offset = -1001;    //!< log start offset on the broker
  int64_t hi_offset = -1001;    //!< high watermark on the broker
  int64_t ls_offset = -1001;    //!< last stable offset on the broker
  int64_t txmsgs = 0;           //!< messages sent (producer)
  int64_t txbytes = 0;          //!< bytes sent (producer)
  int64_t rxmsgs = 0;           //!< messages received (consumer)
  int64_t rxbytes = 0;          //!< bytes received (consumer)
};

//! One topic of a client.
struct TopicStatistics {
  std::string topic;
  std::vector<PartitionStatistics> partitions;
};

//! One statistics report of one client.
struct ClientStatistics {
  std::string name;       //!< librdkafka's handle name, e.g. "app-inst-0-consumer#consumer-1"
  std::string client_id;  //!< client.id
  std::string type;       //!< "producer" or "consumer"
  int64_t ts = 0;         //!< librdkafka's monotonic clock, microseconds
  int64_t time = 0;       //!< wall clock, seconds since the epoch
  int64_t replyq = 0;     //!< ops (callbacks, events) waiting for the application's poll
  int64_t msg_cnt = 0;    //!< producer: messages in the producer queues
  int64_t msg_size = 0;   //!< producer: bytes in the producer queues
  int64_t msg_max = 0;    //!< producer: queue.buffering.max.messages
  int64_t msg_size_max = 0;  //!< producer: queue.buffering.max.kbytes in bytes
  int64_t tx = 0;          //!< requests sent to all brokers
  int64_t tx_bytes = 0;    //!< bytes sent to all brokers
  int64_t rx = 0;          //!< responses received from all brokers
  int64_t rx_bytes = 0;    //!< bytes received from all brokers
  int64_t txmsgs = 0;      //!< messages sent (producer)
  int64_t txmsg_bytes = 0;
  int64_t rxmsgs = 0;      //!< messages consumed (consumer)
  int64_t rxmsg_bytes = 0;
  std::string cgrp_state;     //!< consumer group state ("up", ...), empty without a group
  int64_t rebalance_cnt = 0;  //!< consumer group rebalances
  std::string txn_state;      //!< transactional producer state, empty otherwise
  std::vector<BrokerStatistics> brokers;
  std::vector<TopicStatistics> topics;

  //! Returns the partition's figures, or nullptr when the report has none.
  const PartitionStatistics* Find(std::string_view topic, int32_t partition) const;
};

//! Parses one statistics JSON text. Returns Corruption naming the problem
//! when it is not JSON or not an object; fields it does not know are ignored
//! and missing ones keep their defaults.
Result<ClientStatistics> ParseClientStatistics(std::string_view json);

//! The latest statistics text of one client, parsed on demand (see file comment).
class StatisticsMailbox {
 public:
  //! Keeps a copy of `json` as the latest report (the statistics callback).
  void Put(std::string_view json);
  //! Returns the latest report, parsed (once per new report); nullptr before
  //! the first. A report that does not parse is logged once and skipped.
  std::shared_ptr<const ClientStatistics> Latest();
  //! Returns how many reports arrived.
  uint64_t received() const;

 private:
  mutable std::mutex mu_;  // guards pending_, fresh_, received_
  std::string pending_;
  bool fresh_ = false;
  uint64_t received_ = 0;
  std::mutex parse_mu_;  // guards parsed_, logged_error_; held while parsing
  std::shared_ptr<const ClientStatistics> parsed_;
  bool logged_error_ = false;
};

}  // namespace eventflow::kafka
