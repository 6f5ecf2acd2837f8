#include "eventflow/testing/app_progress.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <thread>

#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/testing/test_env.h"

namespace eventflow::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Parses the decimal number at text[*at...], advancing *at; -1 if none.
int64_t NumberAt(std::string_view text, size_t* at) {
  int64_t n = -1;
  while (*at < text.size() && text[*at] >= '0' && text[*at] <= '9') {
    n = (n < 0 ? 0 : n * 10) + (text[*at] - '0');
    ++*at;
  }
  return n;
}

// Moves *at past `expected` if it is there; returns whether it was.
bool Expect(std::string_view text, size_t* at, std::string_view expected) {
  if (text.substr(*at, expected.size()) != expected) return false;
  *at += expected.size();
  return true;
}

bool IsZombieOrGone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  const std::string line((std::istreambuf_iterator<char>(stat)), {});
  // "<pid> (<comm>) <state> ...": the state follows the last ')'.
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z' ||
         line[paren + 2] == 'X';
}

}  // namespace

std::vector<RestoreLine> ParseRestoreLines(std::string_view log) {
  std::vector<RestoreLine> out;
  constexpr std::string_view kTask = "task ";
  for (size_t line_start = 0; line_start < log.size();) {
    size_t line_end = log.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = log.size();
    const std::string_view line = log.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    const size_t task_at = line.find(kTask);
    if (task_at == std::string_view::npos || line.find("all stores restored") == line.npos) {
      continue;
    }
    RestoreLine r;
    size_t at = task_at + kTask.size();
    const size_t space = line.find(' ', at);
    if (space == line.npos) continue;
    r.task = std::string(line.substr(at, space - at));
    at = space;
    if (!Expect(line, &at, " store ")) continue;
    const size_t colon = line.find(": ", at);
    if (colon == line.npos) continue;
    r.store = std::string(line.substr(at, colon - at));
    at = colon + 2;
    if (Expect(line, &at, "full restore of ")) {
      r.full = true;
    } else if (!Expect(line, &at, "tail replay of ")) {
      continue;
    }
    r.records = NumberAt(line, &at);
    if (!Expect(line, &at, " record(s) from offset ")) continue;
    r.from = NumberAt(line, &at);
    if (!Expect(line, &at, " (changelog end ")) continue;
    r.changelog_end = NumberAt(line, &at);
    if (r.records < 0 || r.from < 0 || r.changelog_end < 0) continue;
    if (Expect(line, &at, "); all stores restored in ")) r.duration_ms = NumberAt(line, &at);
    out.push_back(std::move(r));
  }
  return out;
}

std::string ReadFileFrom(const std::string& path, size_t from) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  if (from >= size) return "";
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(size - from, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::string LogTail(const std::string& path, size_t lines) {
  constexpr size_t kMaxBytes = 64 * 1024;
  const size_t size = FileSize(path);
  std::string text = ReadFileFrom(path, size > kMaxBytes ? size - kMaxBytes : 0);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  size_t at = text.size();
  for (size_t n = 0; n < lines && at != std::string::npos && at > 0; ++n) {
    at = text.rfind('\n', at - 1);
  }
  const size_t begin = (at == std::string::npos) ? 0 : at + 1;
  return "--- last lines of " + path + " ---\n" + text.substr(begin) + "\n---";
}

size_t FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

std::vector<std::string> TopicsStartingWith(const std::string& prefix) {
  std::vector<std::string> names;
  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, TestKafkaProperties());
  if (!client.ok()) return names;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(client->get(), 1, nullptr, &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return names;
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string name = md->topics[i].topic;
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  rd_kafka_metadata_destroy(md);
  return names;
}

PartitionOffsets EndOffsetsOf(const std::vector<std::string>& topics) {
  PartitionOffsets ends;
  for (const std::string& topic : topics) {
    auto e = EndOffsets(topic);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) continue;
    for (size_t p = 0; p < e->size(); ++p) ends[{topic, static_cast<int>(p)}] = (*e)[p];
  }
  return ends;
}

bool ProcessExited(int pid) { return IsZombieOrGone(pid); }

PartitionOffsets PipelineProgress(const std::string& app_id,
                                  const std::vector<std::string>& outputs) {
  std::vector<std::string> repartition;
  for (const std::string& topic : TopicsStartingWith(app_id + "-")) {
    if (topic.ends_with("-repartition")) repartition.push_back(topic);
  }
  std::vector<std::string> all = repartition;
  all.insert(all.end(), outputs.begin(), outputs.end());
  PartitionOffsets s = EndOffsetsOf(all);
  for (const std::string& topic : repartition) {
    auto c = CommittedOffsets(app_id, topic);
    if (!c.ok()) return PartitionOffsets{};
    for (size_t p = 0; p < c->size(); ++p) {
      s[{"committed " + topic, static_cast<int>(p)}] = (*c)[p];
    }
    auto left = RecordsAfter(topic, *c, std::chrono::seconds(30));
    if (!left.ok() || *left > 0) return PartitionOffsets{};
  }
  return s;
}

Result<int64_t> RecordsAfter(const std::string& topic, const std::vector<int64_t>& committed,
                             std::chrono::milliseconds timeout) {
  auto ends = EndOffsets(topic);
  if (!ends.ok()) return ends.status();
  kafka::KafkaProperties props = TestKafkaProperties();
  props.Set("group.id", UniqueName("after-committed"));  // assign only, never joins
  props.Set("enable.auto.commit", "false");
  props.Set("enable.partition.eof", "true");
  props.Set("isolation.level", "read_committed");
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, props);
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  int pending = 0;
  for (size_t p = 0; p < ends->size() && p < committed.size(); ++p) {
    const int64_t from = std::max<int64_t>(committed[p], 0);
    if (from >= (*ends)[p]) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), static_cast<int32_t>(p))
        ->offset = from;
    ++pending;
  }
  if (pending == 0) return int64_t{0};
  EVENTFLOW_RETURN_IF_ERROR(
      kafka::FromKafkaError(rd_kafka_assign(rk, list.get()), "assigning " + topic));
  // Under read_committed a partition's end-of-partition event comes at its
  // last stable offset: the records counted are exactly the committed ones.
  int64_t records = 0;
  const auto deadline = Clock::now() + timeout;
  while (pending > 0) {
    if (Clock::now() > deadline) {
      return Status::TimedOut("reading " + topic + " after the committed offsets");
    }
    kafka::KafkaMessage msg(rd_kafka_consumer_poll(rk, 200));
    if (!msg) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --pending;
    } else if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++records;
    } else {
      return kafka::FromKafkaError(msg->err, "consuming " + topic);
    }
  }
  rd_kafka_consumer_close(rk);
  return records;
}

Result<std::vector<int64_t>> EndOffsets(const std::string& topic) {
  kafka::KafkaProperties props = TestKafkaProperties();
  auto client = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, props);
  if (!client.ok()) return client.status();
  auto partitions = kafka::PartitionCount(client->get(), topic, std::chrono::seconds(30));
  if (!partitions.ok()) return partitions.status();
  std::vector<int64_t> ends(static_cast<size_t>(*partitions), 0);
  for (int p = 0; p < *partitions; ++p) {
    auto marks = kafka::QueryWatermarks(client->get(), topic, p, std::chrono::seconds(30));
    if (!marks.ok()) return marks.status();
    ends[p] = marks->high;
  }
  return ends;
}

Result<std::vector<int64_t>> CommittedOffsets(const std::string& group,
                                              const std::string& topic) {
  kafka::KafkaProperties props = TestKafkaProperties();
  props.Set("group.id", group);  // only asks the coordinator; never joins
  props.Set("enable.auto.commit", "false");
  props.Set("isolation.level", "read_committed");
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, props);
  if (!consumer.ok()) return consumer.status();
  auto partitions = kafka::PartitionCount(consumer->get(), topic, std::chrono::seconds(30));
  if (!partitions.ok()) return partitions.status();
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  for (int p = 0; p < *partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(
      rd_kafka_committed(consumer->get(), list.get(), 30'000),
      "committed offsets of group " + group));
  std::vector<int64_t> out(static_cast<size_t>(*partitions), -1);
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka::FromKafkaError(tp.err, "committed offset of " + topic + " partition " +
                                                 std::to_string(tp.partition));
    }
    out[static_cast<size_t>(tp.partition)] = tp.offset < 0 ? -1 : tp.offset;
  }
  rd_kafka_consumer_close(consumer->get());
  return out;
}

Status AwaitCommitted(const std::string& group, const std::string& topic,
                      const std::vector<int64_t>& target, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "none";
  while (true) {
    auto committed = CommittedOffsets(group, topic);
    if (committed.ok()) {
      bool reached = committed->size() == target.size();
      last.clear();
      for (size_t p = 0; p < committed->size(); ++p) {
        if (p < target.size() && (*committed)[p] < target[p]) reached = false;
        last += (p ? "," : "") + std::to_string((*committed)[p]);
      }
      if (reached) return Status::OK();
    } else {
      last = committed.status().ToString();
    }
    if (Clock::now() > deadline) {
      return Status::TimedOut("group " + group + " did not commit its way through " + topic +
                              " in time; last committed: " + last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

bool AwaitLogText(const std::string& path, size_t from, std::string_view text, size_t count,
                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const std::string log = ReadFileFrom(path, from);
    size_t found = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
      ++found;
    }
    if (found >= count) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Result<std::string> HttpGet(int port, const std::string& path) {
  const std::string where = "http://127.0.0.1:" + std::to_string(port) + path;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError("socket() for " + where);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return Status::Unavailable("cannot connect to " + where);
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return Status::IOError("cannot send the request to " + where);
  }
  char buf[16384];
  for (int reads = 0; reads < 10000; ++reads) {  // bounded: 160 MB at most
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      ::close(fd);
      return Status::TimedOut("reading " + where);
    }
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return Status::Corruption("not an HTTP response from " + where);
  }
  if (response.find(" 200") > response.find("\r\n")) {
    return Status::Corruption(where + " answered " + response.substr(0, response.find("\r\n")));
  }
  return response.substr(body + 4);
}

// The sum of eventflow_records_dropped_total samples with reason="late" (over
// every other label) in a Prometheus text exposition.
double LateDrops(const std::string& exposition) {
  double sum = 0;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string::npos) end = exposition.size();
    const std::string_view line(exposition.data() + at, end - at);
    at = end + 1;
    if (!line.starts_with("eventflow_records_dropped_total{") ||
        line.find("reason=\"late\"") == std::string_view::npos) {
      continue;
    }
    const size_t brace = line.rfind('}');
    sum += std::stod(std::string(line.substr(brace + 1)));
  }
  return sum;
}

std::vector<TaskArrival> ParseTaskArrivals(std::string_view log) {
  static const std::regex line(
      R"(task (\d+_\d+) (moved here|resumed here after the rebalance)( from its standby copy)?: )"
      R"(restore (none|tail|full) of (\d+) record\(s\) in \d+ ms, processing gap ([0-9.]+ s|unknown))");
  std::vector<TaskArrival> out;
  const std::string text(log);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    TaskArrival a;
    a.task = m[1];
    a.moved = m[2] == "moved here";
    a.from_standby = m[3].matched;
    a.kind = m[4];
    a.records = std::stoll(m[5]);
    if (m[6] != "unknown") a.gap_seconds = std::stod(m[6]);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<std::pair<std::string, double>> MetricSamples(std::string_view exposition,
                                                          std::string_view name) {
  std::vector<std::pair<std::string, double>> out;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string_view::npos) end = exposition.size();
    const std::string_view line = exposition.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    std::string labels;
    size_t value_at = name.size() + 1;
    if (next == '{') {
      const size_t close = line.rfind('}');
      if (close == std::string_view::npos) continue;
      labels = std::string(line.substr(name.size() + 1, close - name.size() - 1));
      value_at = close + 2;
    }
    if (value_at > line.size()) continue;
    out.emplace_back(std::move(labels), std::stod(std::string(line.substr(value_at))));
  }
  return out;
}

}  // namespace eventflow::testing
