#include "eventflow/http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "eventflow/core/log.h"
#include "wire.h"

namespace eventflow::http {

namespace {

using internal::Clock;

struct Route {
  std::string prefix;
  std::shared_ptr<const Handler> handler;
};

bool PrefixMatches(const std::string& prefix, std::string_view path) {
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  if (path.size() == prefix.size()) return true;
  return prefix.back() == '/' || path[prefix.size()] == '/';
}

// The status line and headers (the body is written after them, not copied).
std::string Head(const Response& r) {
  std::string out;
  out.reserve(160);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += ReasonPhrase(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\nConnection: close\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// Parses the request line and target into `request`; an error response when bad.
std::optional<Response> ParseRequestLine(std::string_view line, Request* request) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return Response::Text(400, "bad request line\n");
  }
  request->method.assign(line.substr(0, sp1));
  request->target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view target = request->target;
  if (target.empty() || target.front() != '/') {
    return Response::Text(400, "request target must be a path\n");
  }
  const size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), /*plus_is_space=*/false);
  if (!path) return Response::Text(400, "bad escape in path\n");
  request->path = std::move(*path);
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    if (const size_t hash = query.find('#'); hash != std::string_view::npos) {
      query = query.substr(0, hash);
    }
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      auto name = PercentDecode(pair.substr(0, eq), true);
      auto value = PercentDecode(
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!name || !value) return Response::Text(400, "bad escape in query\n");
      request->query.emplace_back(std::move(*name), std::move(*value));
    }
  }
  return std::nullopt;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, int listen_fd, int port, int wake_read, int wake_write)
      : options_(std::move(options)),
        listen_fd_(listen_fd),
        port_(port),
        wake_read_(wake_read),
        wake_write_(wake_write) {}

  ~Impl() {
    Stop();
    ::close(wake_read_);
    ::close(wake_write_);
  }

  void StartAcceptor() {
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  void Stop() {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      stopped_cv_.wait(lock, [this] { return stopped_; });
      return;
    }
    stopping_ = true;
    lock.unlock();
    const char wake = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_write_, &wake, 1);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);  // new connections are refused from now on
    lock.lock();
    for (auto& queued : queue_) ::close(queued.first);
    queue_.clear();
    std::vector<std::thread> workers = std::move(workers_);
    work_cv_.notify_all();
    lock.unlock();
    for (std::thread& t : workers) t.join();
    lock.lock();
    stopped_ = true;
    stopped_cv_.notify_all();
  }

  const ServerOptions& options() const { return options_; }
  int port() const { return port_; }

  void Handle(const std::string& prefix, Handler handler) {
    auto shared = std::make_shared<const Handler>(std::move(handler));
    std::lock_guard<std::mutex> lock(routes_mu_);
    for (Route& r : routes_) {
      if (r.prefix == prefix) {
        r.handler = std::move(shared);
        return;
      }
    }
    routes_.push_back({prefix, std::move(shared)});
    // Longest first: the first match is the longest matching prefix.
    std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
      return a.prefix.size() > b.prefix.size();
    });
  }

 private:
  void AcceptLoop();
  void WorkerLoop();
  void Serve(int fd, std::string remote);
  Response Dispatch(const Request& request);
  // Writes `response` and closes the connection's write side; when the request
  // was not read to its end, reads what the client still sends for a moment so
  // that closing does not reset the connection before it reads the response.
  void Reply(int fd, const Response& response, bool request_fully_read);

  const ServerOptions options_;
  const int listen_fd_;
  const int port_;
  const int wake_read_;
  const int wake_write_;
  std::thread acceptor_;

  std::mutex routes_mu_;
  std::vector<Route> routes_;  // longest prefix first

  std::mutex mu_;  // guards what follows
  std::condition_variable work_cv_;
  std::condition_variable stopped_cv_;
  std::deque<std::pair<int, std::string>> queue_;  // accepted connections and peer addresses
  std::vector<std::thread> workers_;
  size_t idle_workers_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
};

namespace {

std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof text);
  } else if (peer.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text,
                sizeof text);
  }
  return text;
}

// Reads and discards what is already buffered on a non-blocking socket.
void DiscardPending(int fd) {
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

}  // namespace

void Server::Impl::AcceptLoop() {
  const size_t max = static_cast<size_t>(options_.max_concurrent_requests);
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Log(LogLevel::kError, "http", std::string("poll on the listening socket: ") +
                                        std::strerror(errno) + "; no longer accepting");
      return;
    }
    if (p[1].revents != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Out of descriptors: back off instead of spinning on a ready socket.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (queue_.size() >= max) {
      lock.unlock();
      Response busy = Response::Text(503, "busy: too many requests in progress\n");
      busy.AddHeader("Retry-After", "1");
      DiscardPending(fd);
      const auto deadline = Clock::now() + std::chrono::milliseconds(100);
      if (internal::WriteAll(fd, Head(busy), deadline, /*more=*/true)) {
        internal::WriteAll(fd, busy.body, deadline);
      }
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
      continue;
    }
    queue_.emplace_back(fd, PeerAddress(peer));
    if (idle_workers_ < queue_.size() && workers_.size() < max) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
    work_cv_.notify_one();
  }
}

void Server::Impl::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_workers_;
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_workers_;
    if (stopping_) return;  // Stop() closes what is still queued
    auto [fd, remote] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Serve(fd, std::move(remote));
    ::close(fd);
    lock.lock();
  }
}

void Server::Impl::Reply(int fd, const Response& response, bool request_fully_read) {
  const auto deadline = Clock::now() + options_.request_timeout;
  if (!internal::WriteAll(fd, Head(response), deadline, /*more=*/!response.body.empty()) ||
      !internal::WriteAll(fd, response.body, deadline)) {
    return;
  }
  ::shutdown(fd, SHUT_WR);
  if (request_fully_read) return;
  // Give the client a moment to read the response and close; a bounded drain.
  const auto linger = Clock::now() + std::chrono::milliseconds(200);
  std::string sink;
  size_t drained = 0;
  while (drained < (1u << 20)) {
    sink.clear();
    const auto outcome = internal::ReadUntilClose(fd, linger, 64 * 1024, &sink);
    drained += sink.size();
    if (outcome != internal::ReadOutcome::kBodyTooLarge) return;
  }
}

void Server::Impl::Serve(int fd, std::string remote) {
  using internal::ReadOutcome;
  const auto deadline = Clock::now() + options_.request_timeout;
  std::string head;
  std::string body;
  switch (internal::ReadHead(fd, deadline, options_.max_header_bytes, &head, &body)) {
    case ReadOutcome::kOk:
      break;
    case ReadOutcome::kTimedOut:
      Reply(fd, Response::Text(408, "request not received in time\n"), false);
      return;
    case ReadOutcome::kHeadTooLarge:
      Reply(fd,
            Response::Text(431, "request head longer than " +
                                    std::to_string(options_.max_header_bytes) + " bytes\n"),
            false);
      return;
    default:
      return;  // the client went away
  }
  Request request;
  request.remote_address = std::move(remote);
  std::string first_line;
  if (!internal::ParseHead(head, &first_line, &request.headers)) {
    Reply(fd, Response::Text(400, "malformed header\n"), false);
    return;
  }
  if (auto bad = ParseRequestLine(first_line, &request)) {
    Reply(fd, *bad, false);
    return;
  }
  if (request.Header("transfer-encoding")) {
    Reply(fd, Response::Text(501, "chunked request bodies are not supported\n"), false);
    return;
  }
  if (const auto length_text = request.Header("content-length")) {
    size_t length = 0;
    const char* end = length_text->data() + length_text->size();
    const auto [ptr, ec] = std::from_chars(length_text->data(), end, length);
    if (ec != std::errc() || ptr != end) {
      Reply(fd, Response::Text(400, "bad Content-Length\n"), false);
      return;
    }
    if (length > options_.max_body_bytes) {
      Reply(fd,
            Response::Text(413, "request body longer than " +
                                    std::to_string(options_.max_body_bytes) + " bytes\n"),
            false);
      return;
    }
    switch (internal::ReadExactly(fd, deadline, length, &body)) {
      case ReadOutcome::kOk:
        break;
      case ReadOutcome::kTimedOut:
        Reply(fd, Response::Text(408, "request body not received in time\n"), false);
        return;
      default:
        return;
    }
    request.body = std::move(body);
  }
  Reply(fd, Dispatch(request), true);
}

Response Server::Impl::Dispatch(const Request& request) {
  std::shared_ptr<const Handler> handler;
  std::vector<std::string> served;
  {
    std::lock_guard<std::mutex> lock(routes_mu_);
    for (const Route& r : routes_) {
      if (PrefixMatches(r.prefix, request.path)) {
        handler = r.handler;
        break;
      }
    }
    if (!handler) {
      for (const Route& r : routes_) served.push_back(r.prefix);
    }
  }
  if (!handler) {
    std::sort(served.begin(), served.end());
    std::string body = "not found: " + request.path + " (served:";
    for (const std::string& p : served) body += " " + p;
    return Response::Text(404, body + ")\n");
  }
  try {
    return (*handler)(request);
  } catch (const std::exception& e) {
    Log(LogLevel::kWarn, "http", "handler for " + request.path + " threw: " + e.what());
  } catch (...) {
    Log(LogLevel::kWarn, "http", "handler for " + request.path + " threw");
  }
  return Response::Text(500, "internal error\n");
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (options.port < 0 || options.port > 65535) {
    return Status::InvalidArgument(options.port_setting + ": " + std::to_string(options.port) +
                                   " is not a port (0-65535)");
  }
  const auto port = htons(static_cast<uint16_t>(options.port));
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = port;
    addr_len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
             ::inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = port;
    addr_len = sizeof(sockaddr_in6);
  } else {
    return Status::InvalidArgument(options.address_setting + ": \"" + options.address +
                                   "\" is not an IPv4 or IPv6 address");
  }
  if (options.max_concurrent_requests < 1) {
    return Status::InvalidArgument("http server: max_concurrent_requests must be at least 1");
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::IOError(std::string("HTTP server socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 || ::listen(fd, 128) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return Status::InvalidArgument(options.port_setting + ": cannot listen on " +
                                   options.address + ":" + std::to_string(options.port) + " (" +
                                   options.address_setting + "): " + reason);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int bound_port = ntohs(addr.ss_family == AF_INET
                                   ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                   : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return Status::IOError("HTTP server pipe: " + reason);
  }
  auto impl = std::make_unique<Impl>(std::move(options), fd, bound_port, wake[0], wake[1]);
  impl->StartAcceptor();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

void Server::Handle(const std::string& prefix, Handler handler) {
  impl_->Handle(prefix, std::move(handler));
}
int Server::port() const { return impl_->port(); }
const std::string& Server::address() const { return impl_->options().address; }
void Server::Stop() { impl_->Stop(); }

}  // namespace eventflow::http
