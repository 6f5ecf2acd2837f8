// http::Server: the small HTTP/1.1 server the tools serve /metrics, /healthz,
// /readyz (and interactive queries) with.
//
//   auto server = http::Server::Start({.address = "127.0.0.1", .port = 8080});
//   (*server)->Handle("/metrics", [&](const http::Request&) {
//     return http::Response::Text(200, Scrape());
//   });
//
// Routing: Handle(prefix, handler) registers `prefix`; a request goes to the
// longest registered prefix that equals its path or is followed in it by "/"
// ("/state" serves "/state" and "/state/orders/k1", not "/statex"); a prefix
// ending in "/" matches everything under it. Unmatched paths get 404 naming
// the registered prefixes. A handler that throws gets 500 (and a WARN log).
//
// Concurrency: one acceptor thread hands connections to a pool of worker
// threads that grows on demand up to `max_concurrent_requests`: a new
// connection arriving while every worker is busy starts another worker, so one
// slow handler (an interactive query forwarded to another instance) never
// delays /metrics or /healthz. With all `max_concurrent_requests` busy,
// connections wait in a queue of the same length; beyond it they are answered
// 503 with Retry-After at once. Workers stay until the server stops.
//
// Bounds: the request head is at most `max_header_bytes` (else 431), a body at
// most `max_body_bytes` with a Content-Length (else 413; chunked bodies: 501),
// and the whole request must arrive within `request_timeout` (else 408). A
// response is written within `request_timeout` too, else the connection is
// dropped. One request per connection: every response closes it.
//
// Lifecycle: Start() binds, listens and starts the acceptor; handlers may be
// registered before or after; the destructor (or Stop()) stops accepting,
// closes queued connections, waits for the requests being handled to finish
// and joins every thread.
// Thread-safety: Handle(), port() and Stop() may be called from any thread;
// handlers run on worker threads, several at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "eventflow/core/status.h"
#include "eventflow/http/message.h"

namespace eventflow::http {

//! Answers one request; runs on a worker thread.
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  //! IPv4 or IPv6 literal to bind ("0.0.0.0" or "::" for every interface).
  std::string address = "127.0.0.1";
  //! Port to bind; 0 picks a free one (Server::port() tells which).
  int port = 0;
  //! Most requests handled at once (worker threads); as many more may queue.
  int max_concurrent_requests = 16;
  //! Longest request head (request line and headers) accepted.
  size_t max_header_bytes = 16 * 1024;
  //! Longest request body accepted.
  size_t max_body_bytes = 64 * 1024;
  //! Time a client has to send its whole request, and the server to write its response.
  std::chrono::milliseconds request_timeout{5000};
  //! The settings named in errors about `address` and `port` (the tools' flags).
  std::string address_setting = "--http-address";
  std::string port_setting = "--http-port";
};

class Server {
 public:
  //! Binds and listens on options.address:options.port and starts serving.
  //! Returns InvalidArgument naming options.address_setting for an address that
  //! is not an IP literal, and naming options.port_setting (with the address
  //! and the system's reason) when the port cannot be bound.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  //! Serves requests whose path is `prefix` or below it with `handler`
  //! (replacing an earlier handler of the same prefix).
  void Handle(const std::string& prefix, Handler handler);
  //! Returns the bound port.
  int port() const;
  //! Returns the bound address as given in the options.
  const std::string& address() const;
  //! Stops accepting and waits for the requests in progress; idempotent.
  void Stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventflow::http
