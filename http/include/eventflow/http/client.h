// http::Fetch: a blocking HTTP/1.1 client for one request per connection — what
// tests use to scrape endpoints, and what an instance uses to ask another one
// (interactive queries) or a Prometheus server (its HTTP API).
//
// Thread-safety: Fetch is reentrant; every call has its own connection.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/http/message.h"

namespace eventflow::http {

struct FetchOptions {
  std::string method = "GET";  //!< request method
  std::string body{};          //!< request body (sent with Content-Length when not empty)
  std::string content_type{};  //!< Content-Type of the body (none when empty)
  std::vector<Field> headers{};  //!< further request headers, e.g. {"X-Forwarded-For", "..."}
  //! Bound on the whole exchange: connect, send, and read the response.
  std::chrono::milliseconds timeout{5000};
  //! Largest response accepted (head and body).
  size_t max_response_bytes = 64 * 1024 * 1024;
};

//! Sends `options.method` `target` (e.g. "/metrics" or "/api/v1/query?query=up")
//! to host:port (a name or an IP literal) and returns the response (any status).
//! Returns Unavailable when the connection is refused or cannot be made,
//! TimedOut when the exchange does not finish within options.timeout, and
//! Corruption for a response that is not HTTP or is too large.
Result<Response> Fetch(std::string_view host, int port, std::string_view target,
                       const FetchOptions& options = {});

}  // namespace eventflow::http
