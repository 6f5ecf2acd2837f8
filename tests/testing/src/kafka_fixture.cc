#include "eventflow/testing/kafka_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "eventflow/testing/test_env.h"

extern char** environ;

namespace eventflow::testing {

kafka::KafkaProperties TestKafkaProperties() {
  kafka::KafkaProperties props;
  props.Set("bootstrap.servers", KafkaBootstrap());
  return props;
}

ScopedTopics::ScopedTopics(std::vector<kafka::NewTopic> topics, Retention retention)
    : topics_(std::move(topics)) {
  // Test records carry fixed event times, often a year or more in the past,
  // and the broker's time retention (7 days) counts from the newest record
  // timestamp of a segment: at its next retention check (every 5 minutes) it
  // would delete everything produced so far, mid-test. So a test topic keeps
  // its records unless the test sets a retention itself.
  for (auto& topic : topics_) {
    if (retention == Retention::kBrokerDefault) continue;
    const bool has_retention =
        std::any_of(topic.configs.begin(), topic.configs.end(),
                    [](const auto& config) { return config.first == "retention.ms"; });
    if (!has_retention) topic.configs.emplace_back("retention.ms", "-1");
  }
  auto admin = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, TestKafkaProperties());
  if (!admin.ok()) {
    ADD_FAILURE() << admin.status().ToString();
    return;
  }
  admin_ = std::move(*admin);
  const Status s = kafka::EnsureTopics(admin_.get(), topics_, std::chrono::seconds(60));
  if (!s.ok()) ADD_FAILURE() << "creating test topics: " << s.ToString();
}

ScopedTopics::~ScopedTopics() {
  if (!admin_) return;
  std::vector<std::string> names;
  for (const auto& t : topics_) names.push_back(t.name);
  const Status s = kafka::DeleteTopics(admin_.get(), names, std::chrono::seconds(30));
  if (!s.ok()) std::fprintf(stderr, "warning: deleting test topics: %s\n", s.ToString().c_str());
}

Result<std::vector<ConsumedRecord>> ReadAll(const std::string& topic, bool read_committed,
                                            std::chrono::milliseconds timeout) {
  kafka::KafkaProperties props = TestKafkaProperties();
  props.Set("group.id", UniqueName("readall"));
  props.Set("enable.auto.commit", "false");
  props.Set("enable.partition.eof", "true");
  props.Set("isolation.level", read_committed ? "read_committed" : "read_uncommitted");
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, props);
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();

  auto partitions = kafka::PartitionCount(rk, topic, timeout);
  if (!partitions.ok()) return partitions.status();
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  std::vector<int64_t> high(static_cast<size_t>(*partitions), 0);
  for (int p = 0; p < *partitions; ++p) {
    auto marks = kafka::QueryWatermarks(rk, topic, p, timeout);
    if (!marks.ok()) return marks.status();
    high[p] = marks->high;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  EVENTFLOW_RETURN_IF_ERROR(
      kafka::FromKafkaError(rd_kafka_assign(rk, list.get()), "assigning " + topic));

  std::vector<std::vector<ConsumedRecord>> by_partition(static_cast<size_t>(*partitions));
  std::vector<bool> done(static_cast<size_t>(*partitions), false);
  for (int p = 0; p < *partitions; ++p) done[p] = high[p] == 0;
  // The offset of each partition's last end-of-partition event (-1: none):
  // an end that moves to where the consumer already is stays done.
  std::vector<int64_t> eof_at(static_cast<size_t>(*partitions), -1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto all_done = [&] {
    for (bool d : done) {
      if (!d) return false;
    }
    return true;
  };
  // Done only when every partition reached the end and a fresh look at the
  // ends finds nothing new (guards against an end read before the last
  // acknowledged writes became visible).
  auto ends_moved = [&]() -> Result<bool> {
    bool moved = false;
    for (int p = 0; p < *partitions; ++p) {
      auto marks = kafka::QueryWatermarks(rk, topic, p, std::chrono::seconds(10));
      if (!marks.ok()) return marks.status();
      const int64_t now_high = marks->high;
      if (now_high > high[p]) {
        high[p] = now_high;
        done[p] = eof_at[p] >= now_high;
        moved = moved || !done[p];
      }
    }
    return moved;
  };
  while (true) {
    if (all_done()) {
      auto moved = ends_moved();
      if (!moved.ok()) return moved.status();
      if (!*moved) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::TimedOut("reading " + topic + " to its end");
    }
    kafka::KafkaMessage msg(rd_kafka_consumer_poll(rk, 200));
    if (!msg) continue;
    const int32_t p = msg->partition;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // Under read_committed the end is the last stable offset, which equals the
      // high watermark once no transaction is open.
      eof_at[p] = msg->offset;
      if (msg->offset >= high[p]) done[p] = true;
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka::FromKafkaError(msg->err, "consuming " + topic);
    }
    ConsumedRecord r;
    r.topic = topic;
    r.partition = p;
    r.offset = msg->offset;
    if (msg->key != nullptr) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload != nullptr) {
      r.value.assign(static_cast<const char*>(msg->payload), msg->len);
    }
    r.timestamp_ms = rd_kafka_message_timestamp(msg.get(), nullptr);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
      }
    }
    by_partition[p].push_back(std::move(r));
    if (msg->offset + 1 >= high[p]) done[p] = true;
  }
  rd_kafka_consumer_close(rk);
  std::vector<ConsumedRecord> out;
  for (auto& records : by_partition) {
    for (auto& r : records) out.push_back(std::move(r));
  }
  return out;
}

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

namespace {

// Starts `argv` with stdin from /dev/null, stdout/stderr onto the given fds
// (closed here) and `env` added to this process's environment. Returns the
// pid, or -1 after reporting a test failure.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // `env` replaces inherited variables of the same name (getenv() would find
  // the inherited one first).
  auto name_of = [](std::string_view e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view inherited(*e);
    bool replaced = false;
    for (const auto& mine : env) replaced = replaced || name_of(mine) == name_of(inherited);
    if (!replaced) env_strings.emplace_back(inherited);
  }
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_fd);
  if (err_fd != out_fd) ::close(err_fd);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::vector<std::string>& env) {
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) {
    ADD_FAILURE() << "cannot open " << log_path;
    return;
  }
  pid_ = Spawn(argv, env, fd, fd);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    Signal(SIGKILL);
    Wait(std::chrono::seconds(30), "a child process killed at the end of its test");
  }
}

void ChildProcess::Signal(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  if (signal != SIGSTOP) return;
  // kill() returns before the process has stopped: its threads may still
  // write a file or two. Callers of SIGSTOP compare files next, so wait
  // (bounded) until the kernel reports it stopped ("T" in /proc/<pid>/stat).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return;  // gone
    const char state = text[paren + 2];
    if (state == 'T' || state == 't' || state == 'Z' || state == 'X') return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int ChildProcess::Wait(std::chrono::milliseconds timeout, std::string_view what) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (done < 0) {  // not our child any more (reaped elsewhere)
      pid_ = -1;
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << what << " (pid " << pid_ << ") did not exit within " << timeout.count()
                    << " ms; killing it";
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env) {
  ProcessResult result;
  char out_path[] = "/tmp/eventflow-test-out-XXXXXX";
  char err_path[] = "/tmp/eventflow-test-err-XXXXXX";
  const int out_fd = ::mkstemp(out_path);
  const int err_fd = ::mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return result;
  }
  const pid_t pid = Spawn(argv, env, out_fd, err_fd);
  if (pid > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  result.out = Slurp(out_path);
  result.err = Slurp(err_path);
  ::unlink(out_path);
  ::unlink(err_path);
  return result;
}

}  // namespace eventflow::testing
