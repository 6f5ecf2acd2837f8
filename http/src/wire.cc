#include "wire.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace eventflow::http::internal {
namespace {

// Waits for `events` on fd; false on time-out or error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const int left = MillisLeft(deadline);
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// Reads what is available into `out`: >0 bytes read, 0 peer closed, -1 time-out.
ssize_t ReadSome(int fd, Clock::time_point deadline, std::string* out, size_t max) {
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, max), 0);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
    if (!WaitFor(fd, POLLIN, deadline)) return -1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

int MillisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

ReadOutcome ReadHead(int fd, Clock::time_point deadline, size_t max_head, std::string* head,
                     std::string* rest) {
  std::string buffer;
  size_t scanned = 0;
  for (;;) {
    const size_t from = scanned >= 3 ? scanned - 3 : 0;
    const size_t end = buffer.find("\r\n\r\n", from);
    if (end != std::string::npos) {
      if (end + 2 > max_head) return ReadOutcome::kHeadTooLarge;
      head->assign(buffer, 0, end + 2);
      rest->assign(buffer, end + 4);
      return ReadOutcome::kOk;
    }
    scanned = buffer.size();
    if (buffer.size() > max_head) return ReadOutcome::kHeadTooLarge;
    const ssize_t n = ReadSome(fd, deadline, &buffer, max_head + 4 - buffer.size() + 1);
    if (n == 0) return ReadOutcome::kClosed;
    if (n < 0) return ReadOutcome::kTimedOut;
  }
}

ReadOutcome ReadExactly(int fd, Clock::time_point deadline, size_t length, std::string* body) {
  if (body->size() > length) body->resize(length);
  while (body->size() < length) {
    const ssize_t n = ReadSome(fd, deadline, body, length - body->size());
    if (n == 0) return ReadOutcome::kClosed;
    if (n < 0) return ReadOutcome::kTimedOut;
  }
  return ReadOutcome::kOk;
}

ReadOutcome ReadUntilClose(int fd, Clock::time_point deadline, size_t max, std::string* body) {
  for (;;) {
    if (body->size() > max) return ReadOutcome::kBodyTooLarge;
    const ssize_t n = ReadSome(fd, deadline, body, max + 1 - body->size());
    if (n == 0) return ReadOutcome::kOk;
    if (n < 0) return ReadOutcome::kTimedOut;
  }
}

bool WriteAll(int fd, std::string_view data, Clock::time_point deadline, bool more) {
  const int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), flags);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool ParseHead(std::string_view head, std::string* first_line, std::vector<Field>* headers) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) eol = head.size();
  first_line->assign(head.substr(0, eol));
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    const std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string name(Trim(line.substr(0, colon)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers->emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
  }
  return true;
}

}  // namespace eventflow::http::internal
