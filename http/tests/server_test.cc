// http::Server and http::Fetch over real loopback sockets: routing by prefix,
// decoded paths and query parameters, bodies and extra headers, concurrency (a
// blocked handler does not delay other routes; overload is answered 503), the
// bounds on request size and time, handler failures, bind errors naming the
// settings, and the client's chunked decoding. Every wait is bounded by a
// request time-out or a future's wait_for.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include "eventflow/http/client.h"
#include "eventflow/http/server.h"

namespace eventflow::http {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Server> StartServer(ServerOptions options = {}) {
  auto server = Server::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

// Sends `raw` on a new connection and returns everything the server answers
// until it closes (bounded by 5 s).
std::string RawExchange(int port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  if (!raw.empty()) ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

TEST(HttpServerTest, RoutesByLongestPrefixOnSegmentBoundaries) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  server->Handle("/state", [](const Request& r) { return Response::Text(200, "state " + r.path); });
  server->Handle("/state/meta", [](const Request& r) { return Response::Text(200, "meta " + r.path); });
  server->Handle("/files/", [](const Request& r) { return Response::Text(200, "files " + r.path); });
  const int port = server->port();
  auto body = [&](const std::string& target) {
    auto r = Fetch("127.0.0.1", port, target);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString();
  };
  EXPECT_EQ(body("/state"), "200 state /state");
  EXPECT_EQ(body("/state/orders/k1"), "200 state /state/orders/k1");
  EXPECT_EQ(body("/state/meta"), "200 meta /state/meta");
  EXPECT_EQ(body("/state/meta/x"), "200 meta /state/meta/x");
  EXPECT_EQ(body("/state/metadata"), "200 state /state/metadata");
  EXPECT_EQ(body("/files/a/b"), "200 files /files/a/b");
  EXPECT_EQ(body("/statex"), "404 not found: /statex (served: /files/ /state /state/meta)\n");
  // Re-registering a prefix replaces its handler.
  server->Handle("/state", [](const Request&) { return Response::Text(200, "new"); });
  EXPECT_EQ(body("/state/x"), "200 new");
}

TEST(HttpServerTest, DecodesPathQueryHeadersAndBodyAndSendsExtraHeaders) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  std::promise<Request> seen;
  server->Handle("/q", [&](const Request& r) {
    seen.set_value(r);
    Response response = Response::Json(503, "{\"error\":\"restoring\"}");
    response.AddHeader("Retry-After", "3").AddHeader("Location", "http://other:1/q");
    return response;
  });
  FetchOptions options;
  options.method = "POST";
  options.body = "payload \r\n\r\n with a blank line";
  options.content_type = "application/octet-stream";
  auto r = Fetch("127.0.0.1", server->port(),
                 "/q/k%20" + PercentEncode("ü/€") + "?limit=5&from=a+b&to=%26x&flag&limit=6",
                 options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{\"error\":\"restoring\"}");
  EXPECT_EQ(r->Header("Retry-After"), "3");
  EXPECT_EQ(r->Header("location"), "http://other:1/q");
  EXPECT_EQ(r->Header("connection"), "close");

  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  const Request request = future.get();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/q/k ü/€");
  EXPECT_EQ(request.Query("limit"), "5");
  EXPECT_EQ(request.Query("from"), "a b");
  EXPECT_EQ(request.Query("to"), "&x");
  EXPECT_EQ(request.Query("flag"), "");
  EXPECT_EQ(request.query.size(), 5u);
  EXPECT_EQ(request.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(request.Header("HOST"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(request.body, options.body);
  EXPECT_EQ(request.remote_address, "127.0.0.1");
}

TEST(HttpServerTest, ABlockedHandlerDoesNotDelayOtherRequests) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server->Handle("/slow", [&](const Request&) {
    entered.set_value();
    released.wait_for(30s);
    return Response::Text(200, "slow done");
  });
  server->Handle("/healthz", [](const Request&) { return Response::Text(200, "ok"); });
  auto slow = std::async(std::launch::async, [&] {
    FetchOptions options;
    options.timeout = 30s;
    return Fetch("127.0.0.1", server->port(), "/slow", options);
  });
  ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready);
  // The slow handler holds one worker; these are answered meanwhile.
  for (int i = 0; i < 20; ++i) {
    FetchOptions options;
    options.timeout = 2s;
    auto r = Fetch("127.0.0.1", server->port(), "/healthz", options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);  // still blocked
  release.set_value();
  ASSERT_EQ(slow.wait_for(10s), std::future_status::ready);
  auto r = slow.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "slow done");
}

TEST(HttpServerTest, BeyondTheConcurrencyBoundConnectionsQueueThenGet503) {
  ServerOptions options;
  options.max_concurrent_requests = 1;
  auto server = StartServer(options);
  ASSERT_TRUE(server);
  std::atomic<int> calls{0};
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server->Handle("/", [&](const Request&) {
    if (calls.fetch_add(1) == 0) {
      entered.set_value();
      released.wait_for(30s);
    }
    return Response::Text(200, "done");
  });
  FetchOptions slow_options;
  slow_options.timeout = 30s;
  auto first = std::async(std::launch::async,
                          [&] { return Fetch("127.0.0.1", server->port(), "/a", slow_options); });
  ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready);
  // The one worker is busy: the second connection waits in the queue (of 1),
  // so a third is refused at once. The second connects (into the listen
  // backlog) before the third does, and the acceptor takes them in order.
  const int second_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(second_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string second_request = "GET /b HTTP/1.1\r\n\r\n";
  ::send(second_fd, second_request.data(), second_request.size(), MSG_NOSIGNAL);
  auto third = Fetch("127.0.0.1", server->port(), "/c");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->status, 503);
  EXPECT_EQ(third->Header("retry-after"), "1");
  release.set_value();
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  auto a = first.get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
  // The queued second request is served once the worker is free.
  std::string b;
  char buf[1024];
  for (;;) {
    pollfd p{second_fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(second_fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    b.append(buf, static_cast<size_t>(n));
  }
  ::close(second_fd);
  EXPECT_EQ(b.rfind("HTTP/1.1 200 OK", 0), 0u) << b;
}

TEST(HttpServerTest, BoundsRequestSizeAndTime) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 100;
  options.request_timeout = 300ms;
  auto server = StartServer(options);
  ASSERT_TRUE(server);
  server->Handle("/", [](const Request& r) { return Response::Text(200, "body=" + r.body); });
  const int port = server->port();

  const std::string big_head =
      "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(RawExchange(port, big_head).rfind("HTTP/1.1 431 ", 0), 0u);

  const std::string big_body = "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b');
  EXPECT_EQ(RawExchange(port, big_body).rfind("HTTP/1.1 413 ", 0), 0u);

  const std::string fits = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz";
  const std::string ok = RawExchange(port, fits);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 ", 0), 0u) << ok;
  EXPECT_NE(ok.find("\r\n\r\nbody=xyz"), std::string::npos) << ok;

  // A client that stops half-way through its head or its body gets 408.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n").rfind("HTTP/1.1 408 ", 0), 0u);
  EXPECT_EQ(RawExchange(port, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab").rfind(
                "HTTP/1.1 408 ", 0),
            0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);

  EXPECT_EQ(RawExchange(port, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .rfind("HTTP/1.1 501 ", 0),
            0u);
  EXPECT_EQ(RawExchange(port, "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(RawExchange(port, "GET /%zz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(RawExchange(port, "GET / HTTP/1.1\r\nno colon\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(RawExchange(port, "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").rfind(
                "HTTP/1.1 400 ", 0),
            0u);
}

TEST(HttpServerTest, AThrowingHandlerGets500AndTheServerGoesOn) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  server->Handle("/boom", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  server->Handle("/fine", [](const Request&) { return Response::Text(200, "fine"); });
  auto boom = Fetch("127.0.0.1", server->port(), "/boom");
  ASSERT_TRUE(boom.ok());
  EXPECT_EQ(boom->status, 500);
  auto fine = Fetch("127.0.0.1", server->port(), "/fine");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->status, 200);
}

TEST(HttpServerTest, BindErrorsNameTheSettings) {
  ServerOptions bad;
  bad.address = "not-an-ip";
  auto r = Server::Start(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--http-address"), std::string::npos);

  auto first = StartServer();
  ASSERT_TRUE(first);
  ServerOptions taken;
  taken.port = first->port();
  taken.port_setting = "--sink-http-port";
  r = Server::Start(taken);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--sink-http-port"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos);

  ServerOptions out_of_range;
  out_of_range.port = 70000;
  r = Server::Start(out_of_range);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--http-port"), std::string::npos);
}

TEST(HttpServerTest, ServesIpv6LoopbackAndStopsCleanly) {
  ServerOptions options;
  options.address = "::1";
  auto started = Server::Start(options);
  if (!started.ok()) {
    // No IPv6 on this host: only the error text can be checked.
    EXPECT_NE(started.status().message().find("--http-port"), std::string::npos);
    return;
  }
  auto& server = *started;
  server->Handle("/x", [](const Request& r) { return Response::Text(200, r.remote_address); });
  auto r = Fetch("::1", server->port(), "/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "::1");
  const int port = server->port();
  server->Stop();
  server->Stop();  // idempotent
  auto after = Fetch("::1", port, "/x");
  EXPECT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable) << after.status().ToString();
}

// A one-shot server writing a canned response, for the client's parsing.
class CannedServer {
 public:
  explicit CannedServer(std::string response) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, response = std::move(response)] {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      const int client = ::accept(fd_, nullptr, nullptr);
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd c{client, POLLIN, 0};
        if (::poll(&c, 1, 5000) <= 0) break;
        const ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
    });
  }
  ~CannedServer() {
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
  std::thread thread_;
};

TEST(HttpClientTest, ReadsChunkedAndCloseDelimitedBodies) {
  {
    CannedServer canned(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n{\"a\":\r\nA;ext=1\r\n1234567890\r\n1\r\n}\r\n0\r\n\r\n");
    auto r = Fetch("127.0.0.1", canned.port(), "/api/v1/query?query=up");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "{\"a\":1234567890}");
    EXPECT_EQ(r->content_type, "application/json");
  }
  {
    CannedServer canned("HTTP/1.0 404 Not Found\r\n\r\nuntil close");
    auto r = Fetch("localhost", canned.port(), "/");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "until close");
  }
  {
    CannedServer canned("not http at all\r\n\r\n");
    auto r = Fetch("127.0.0.1", canned.port(), "/");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  {
    CannedServer canned("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    auto r = Fetch("127.0.0.1", canned.port(), "/");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  }
}

TEST(HttpClientTest, TimesOutOnASilentServer) {
  // A listener that never accepts: the connection completes in the backlog and
  // the request is never answered.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  FetchOptions options;
  options.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = Fetch("127.0.0.1", ntohs(addr.sin_port), "/", options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimedOut) << r.status().ToString();
  ::close(fd);
}

}  // namespace
}  // namespace eventflow::http
