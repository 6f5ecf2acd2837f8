#include "eventflow/http/client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "wire.h"

namespace eventflow::http {
namespace {

using internal::Clock;
using internal::ReadOutcome;

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

std::string Where(std::string_view host, int port) {
  return std::string(host) + ":" + std::to_string(port);
}

// Connects a non-blocking socket to host:port before `deadline`.
Result<int> Connect(std::string_view host, int port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host_text(host);
  const std::string port_text = std::to_string(port);
  if (const int rc = ::getaddrinfo(host_text.c_str(), port_text.c_str(), &hints, &found);
      rc != 0) {
    return Status::Unavailable("http: cannot resolve " + Where(host, port) + ": " +
                               ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, internal::MillisLeft(deadline));
      int error = 0;
      socklen_t len = sizeof error;
      if (n > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      if (n == 0) {
        ::close(fd);
        ::freeaddrinfo(found);
        return Status::TimedOut("http: connecting to " + Where(host, port) + " timed out");
      }
      last_error = std::strerror(error != 0 ? error : errno);
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return Status::Unavailable("http: cannot connect to " + Where(host, port) + ": " + last_error);
}

// Decodes a chunked body (RFC 9112 7.1); trailers are ignored.
std::optional<std::string> Unchunk(std::string_view data) {
  std::string out;
  for (;;) {
    const size_t eol = data.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view size_text = data.substr(0, eol);
    if (const size_t semi = size_text.find(';'); semi != std::string_view::npos) {
      size_text = size_text.substr(0, semi);
    }
    size_t size = 0;
    const auto [ptr, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || ptr != size_text.data() + size_text.size()) return std::nullopt;
    data.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (data.size() < size + 2) return std::nullopt;
    out.append(data.substr(0, size));
    data.remove_prefix(size + 2);
  }
}

Status ReadFailure(ReadOutcome outcome, std::string_view host, int port) {
  switch (outcome) {
    case ReadOutcome::kTimedOut:
      return Status::TimedOut("http: no complete response from " + Where(host, port) + " in time");
    case ReadOutcome::kClosed:
      return Status::Unavailable("http: " + Where(host, port) + " closed the connection early");
    default:
      return Status::Corruption("http: bad or oversized response from " + Where(host, port));
  }
}

}  // namespace

Result<Response> Fetch(std::string_view host, int port, std::string_view target,
                       const FetchOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  auto connected = Connect(host, port, deadline);
  if (!connected.ok()) return connected.status();
  const int fd = *connected;
  FdCloser closer(fd);

  std::string request = options.method + " " + std::string(target) + " HTTP/1.1\r\nHost: " +
                        Where(host, port) + "\r\nConnection: close\r\n";
  if (!options.body.empty() || options.method == "POST" || options.method == "PUT") {
    request += "Content-Length: " + std::to_string(options.body.size()) + "\r\n";
  }
  if (!options.content_type.empty()) request += "Content-Type: " + options.content_type + "\r\n";
  for (const auto& [name, value] : options.headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  request += options.body;
  if (!internal::WriteAll(fd, request, deadline)) {
    return internal::MillisLeft(deadline) == 0
               ? Status::TimedOut("http: sending to " + Where(host, port) + " timed out")
               : Status::Unavailable("http: " + Where(host, port) + " closed the connection");
  }

  std::string head;
  std::string body;
  if (auto outcome = internal::ReadHead(fd, deadline, 64 * 1024, &head, &body);
      outcome != ReadOutcome::kOk) {
    return ReadFailure(outcome, host, port);
  }
  std::string status_line;
  Response response;
  response.content_type.clear();
  std::vector<Field> headers;
  if (!internal::ParseHead(head, &status_line, &headers) || status_line.rfind("HTTP/1.", 0) != 0 ||
      status_line.size() < 12) {
    return Status::Corruption("http: not an HTTP response from " + Where(host, port));
  }
  const auto [ptr, ec] =
      std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  if (ec != std::errc() || ptr != status_line.data() + 12) {
    return Status::Corruption("http: bad status line from " + Where(host, port));
  }
  std::optional<size_t> length;
  bool chunked = false;
  for (Field& f : headers) {
    if (f.first == "content-type") {
      response.content_type = f.second;
      continue;
    }
    if (f.first == "content-length") {
      size_t n = 0;
      const auto [p, e] = std::from_chars(f.second.data(), f.second.data() + f.second.size(), n);
      if (e != std::errc() || p != f.second.data() + f.second.size()) {
        return Status::Corruption("http: bad Content-Length from " + Where(host, port));
      }
      length = n;
    }
    if (f.first == "transfer-encoding" && f.second.find("chunked") != std::string::npos) {
      chunked = true;
    }
    response.headers.push_back(std::move(f));
  }
  ReadOutcome outcome;
  if (length && !chunked) {
    if (*length > options.max_response_bytes) {
      return Status::Corruption("http: response from " + Where(host, port) + " too large");
    }
    outcome = internal::ReadExactly(fd, deadline, *length, &body);
  } else {
    outcome = internal::ReadUntilClose(fd, deadline, options.max_response_bytes, &body);
  }
  if (outcome != ReadOutcome::kOk) return ReadFailure(outcome, host, port);
  if (chunked) {
    auto decoded = Unchunk(body);
    if (!decoded) return Status::Corruption("http: bad chunked body from " + Where(host, port));
    body = std::move(*decoded);
  }
  response.body = std::move(body);
  return response;
}

}  // namespace eventflow::http
