#include "eventflow/kafka/client_statistics.h"

#include <simdjson.h>

#include <charconv>

#include "eventflow/core/log.h"

namespace eventflow::kafka {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

int64_t Int(const object& o, std::string_view key, int64_t fallback = 0) {
  int64_t v = 0;
  if (o[key].get_int64().get(v) == simdjson::SUCCESS) return v;
  double d = 0;
  if (o[key].get_double().get(d) == simdjson::SUCCESS) return static_cast<int64_t>(d);
  return fallback;
}

std::string Str(const object& o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

WindowStatistics Window(const object& o, std::string_view key) {
  WindowStatistics w;
  object window;
  if (o[key].get_object().get(window) != simdjson::SUCCESS) return w;
  w.avg = Int(window, "avg");
  w.p50 = Int(window, "p50");
  w.p95 = Int(window, "p95");
  w.p99 = Int(window, "p99");
  w.cnt = Int(window, "cnt");
  return w;
}

}  // namespace

const PartitionStatistics* ClientStatistics::Find(std::string_view topic,
                                                  int32_t partition) const {
  for (const TopicStatistics& t : topics) {
    if (t.topic != topic) continue;
    for (const PartitionStatistics& p : t.partitions) {
      if (p.partition == partition) return &p;
    }
  }
  return nullptr;
}

Result<ClientStatistics> ParseClientStatistics(std::string_view json) {
  simdjson::dom::parser parser;
  element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc); error != simdjson::SUCCESS) {
    return Status::Corruption(std::string("librdkafka statistics: invalid JSON: ") +
                              simdjson::error_message(error));
  }
  object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) {
    return Status::Corruption("librdkafka statistics: not a JSON object");
  }
  ClientStatistics s;
  s.name = Str(root, "name");
  s.client_id = Str(root, "client_id");
  s.type = Str(root, "type");
  s.ts = Int(root, "ts");
  s.time = Int(root, "time");
  s.replyq = Int(root, "replyq");
  s.msg_cnt = Int(root, "msg_cnt");
  s.msg_size = Int(root, "msg_size");
  s.msg_max = Int(root, "msg_max");
  s.msg_size_max = Int(root, "msg_size_max");
  s.tx = Int(root, "tx");
  s.tx_bytes = Int(root, "tx_bytes");
  s.rx = Int(root, "rx");
  s.rx_bytes = Int(root, "rx_bytes");
  s.txmsgs = Int(root, "txmsgs");
  s.txmsg_bytes = Int(root, "txmsg_bytes");
  s.rxmsgs = Int(root, "rxmsgs");
  s.rxmsg_bytes = Int(root, "rxmsg_bytes");
  object cgrp;
  if (root["cgrp"].get_object().get(cgrp) == simdjson::SUCCESS) {
    s.cgrp_state = Str(cgrp, "state");
    s.rebalance_cnt = Int(cgrp, "rebalance_cnt");
  }
  object eos;
  if (root["eos"].get_object().get(eos) == simdjson::SUCCESS) s.txn_state = Str(eos, "txn_state");

  object brokers;
  if (root["brokers"].get_object().get(brokers) == simdjson::SUCCESS) {
    for (auto [key, value] : brokers) {
      object b;
      if (value.get_object().get(b) != simdjson::SUCCESS) continue;
      BrokerStatistics& out = s.brokers.emplace_back();
      out.name = Str(b, "name");
      if (out.name.empty()) out.name = std::string(key);
      out.nodeid = static_cast<int32_t>(Int(b, "nodeid", -1));
      out.state = Str(b, "state");
      out.outbuf_cnt = Int(b, "outbuf_cnt");
      out.waitresp_cnt = Int(b, "waitresp_cnt");
      out.tx = Int(b, "tx");
      out.txbytes = Int(b, "txbytes");
      out.txerrs = Int(b, "txerrs");
      out.rx = Int(b, "rx");
      out.rxbytes = Int(b, "rxbytes");
      out.rxerrs = Int(b, "rxerrs");
      out.req_timeouts = Int(b, "req_timeouts");
      out.connects = Int(b, "connects");
      out.disconnects = Int(b, "disconnects");
      out.rtt = Window(b, "rtt");
      out.int_latency = Window(b, "int_latency");
      out.outbuf_latency = Window(b, "outbuf_latency");
    }
  }
  object topics;
  if (root["topics"].get_object().get(topics) == simdjson::SUCCESS) {
    for (auto [key, value] : topics) {
      object t;
      if (value.get_object().get(t) != simdjson::SUCCESS) continue;
      TopicStatistics& topic = s.topics.emplace_back();
      topic.topic = Str(t, "topic");
      if (topic.topic.empty()) topic.topic = std::string(key);
      object partitions;
      if (t["partitions"].get_object().get(partitions) != simdjson::SUCCESS) continue;
      for (auto [pkey, pvalue] : partitions) {
        object p;
        if (pvalue.get_object().get(p) != simdjson::SUCCESS) continue;
        PartitionStatistics& out = topic.partitions.emplace_back();
        int64_t number = -1;
        if (p["partition"].get_int64().get(number) != simdjson::SUCCESS) {
          std::from_chars(pkey.data(), pkey.data() + pkey.size(), number);
        }
        out.partition = static_cast<int32_t>(number);
        out.fetch_state = Str(p, "fetch_state");
        out.msgq_cnt = Int(p, "msgq_cnt");
        out.fetchq_cnt = Int(p, "fetchq_cnt");
        out.next_offset = Int(p, "next_offset", -1001);
        out.app_offset = Int(p, "app_offset", -1001);
        out.committed_offset = Int(p, "committed_offset", -1001);
        out.eof_offset = Int(p, "eof_offset", -1001);
        out.lo_offset = Int(p, "lo_offset", -1001);
        out.hi_offset = Int(p, "hi_offset", -1001);
        out.ls_offset = Int(p, "ls_offset", -1001);
        out.txmsgs = Int(p, "txmsgs");
        out.txbytes = Int(p, "txbytes");
        out.rxmsgs = Int(p, "rxmsgs");
        out.rxbytes = Int(p, "rxbytes");
      }
    }
  }
  return s;
}

void StatisticsMailbox::Put(std::string_view json) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.assign(json);
  fresh_ = true;
  ++received_;
}

uint64_t StatisticsMailbox::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

std::shared_ptr<const ClientStatistics> StatisticsMailbox::Latest() {
  std::lock_guard<std::mutex> parse_lock(parse_mu_);
  std::string json;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fresh_) return parsed_;
    json.swap(pending_);
    fresh_ = false;
  }
  auto parsed = ParseClientStatistics(json);
  if (parsed.ok()) {
    parsed_ = std::make_shared<const ClientStatistics>(std::move(*parsed));
  } else if (!logged_error_) {
    logged_error_ = true;
    Log(LogLevel::kWarn, "kafka", parsed.status().ToString() + " (further failures not logged)");
  }
  return parsed_;
}

}  // namespace eventflow::kafka
