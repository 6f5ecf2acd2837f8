// http::Request and http::Response: the values an http::Server hands to its
// handlers and sends back, and the small URI helpers both sides share
// (percent-decoding of paths and query parameters, encoding for building them).
//
// HTTP/1.1 only as far as this project needs it: one request per connection
// (every response says `Connection: close`), no chunked bodies, no TLS. Header
// names are kept lower-cased; lookups are case-insensitive.
//
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventflow::http {

//! A name/value pair of a header or a query parameter, in arrival order.
using Field = std::pair<std::string, std::string>;

//! One request as received: method, decoded path and query, headers, body.
struct Request {
  std::string method;           //!< "GET", "POST", ... as sent (case kept)
  std::string path;             //!< the decoded path, e.g. "/state/k v" for "/state/k%20v"
  std::string target;           //!< the request target as sent, e.g. "/state/k%20v?limit=5"
  std::vector<Field> query;     //!< decoded query parameters ("+" is a space), in order
  std::vector<Field> headers;   //!< header names lower-cased, values trimmed
  std::string body;             //!< the body (Content-Length bytes; empty without one)
  std::string remote_address;   //!< the peer's address, e.g. "127.0.0.1"

  //! Returns the first query parameter named `name`, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  //! Returns the first header named `name` (any case), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

//! A response to send (servers) or as received (http::Fetch).
struct Response {
  int status = 200;                                      //!< HTTP status code
  std::string content_type = "text/plain; charset=utf-8";  //!< the Content-Type header
  std::string body;                                      //!< the body
  std::vector<Field> headers;  //!< further headers, e.g. {"Retry-After", "1"}, {"Location", ...}

  //! Returns a response with `status`, Content-Type text/plain and `body`.
  static Response Text(int status, std::string body);
  //! Returns a response with `status`, Content-Type application/json and `body`.
  static Response Json(int status, std::string body);
  //! Adds a header; returns *this for chaining.
  Response& AddHeader(std::string name, std::string value);
  //! Returns the first header named `name` (any case; Content-Type included), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

//! Returns the reason phrase of `status` ("OK", "Not Found", ...; "Unknown" if not known).
std::string_view ReasonPhrase(int status);

//! Decodes %XX escapes (and "+" as a space when `plus_is_space`). Returns
//! nullopt for a malformed escape ("%4", "%zz").
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

//! Encodes every byte except unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX: safe
//! in a path segment and in a query parameter name or value.
std::string PercentEncode(std::string_view text);

}  // namespace eventflow::http
