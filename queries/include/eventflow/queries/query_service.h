// QueryService: interactive queries over HTTP — the read-only routes under
// /stores that `eventflow run` serves on its metrics port (http::Server),
// over any streams::StoreQueries (a running KafkaStreams; a
// TopologyTestDriver in tests).
//
// ROUTES (GET only; JSON answers; path segments and parameters are
// percent-decoded; a key is parsed by the store's StoreCodec):
//
//   /stores                                      the stores: name, kind, partitions, window size
//   /stores/{store}/keys/{key}                   key-value store: the key's value
//   /stores/{store}/keys/{key}/windows?from=&to= window store: the key's windows with start in
//                                                [from, to]; session store: its sessions
//                                                overlapping [from, to]
//   /stores/{store}/range?from=&to=&limit=       key-value store: keys in [from, to) over
//                                                every instance, in key (byte) order
//   /stores/{store}/windows?from=&to=&limit=     window store: every key's windows with start
//                                                in [from, to] over every instance, by key
//                                                then start
//   /stores/{store}/metadata[?key=]              the instance running the key's partition, or
//                                                every instance with the store's partitions
//
// from/to times are epoch milliseconds or RFC 3339 UTC ("2025-11-30T11:15:00Z");
// from defaults to 0, to to the end of time; range from/to are keys (from
// default: the first key, to default: no bound). limit: default 100, at most
// max_limit. Window times are shown both ways ("start" RFC 3339, "start_ms").
// Every answer names the instance that read the data ("served_by").
//
// STATUS CODES: 200; 404 for an unknown store, or a key without value (the
// body's "error" says which); 400 for a key the store's codec refuses, a bad
// from/to/limit, or a route the store's kind does not serve; 503 with
// Retry-After while the key's partition is restoring, moving (its task
// closing, or assigned nowhere during a rebalance), or the instance running
// it does not answer within forward_timeout; 405 for other methods.
//
// ROUTING: a request about one key (value, windows, metadata) is answered
// here when this instance runs the key's partition; otherwise it is
// FORWARDED once to the instance that runs it, as the consumer group says
// (StoreQueries::QueryMetadataForKey): the same request with the header
// X-EventFlow-Forwarded-By: <this instance>, bounded by forward_timeout, and
// that instance's answer (status, body, Retry-After) is passed back. A
// request carrying the header is never forwarded again: an instance that
// does not run the partition answers 503 (the sender's metadata was stale; it
// marks it stale, and the client's retry goes to the new owner). A failed
// forward marks the metadata stale too. Scans (range, windows) read the local
// partitions here and ask every other instance once for its partitions
// (internal form: format=raw&partitions=1,2, rows of hex bytes, answered only
// from local partitions), then merge; any partition unreadable → 503.
//
// Lifecycle: construct, RegisterRoutes() on a server, Attach() the running
// application (nullptr detaches; it waits for the requests in progress, so
// the application may be destroyed after it returns).
// Thread-safety: requests are served concurrently; Attach() from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "eventflow/core/shared_mutex.h"
#include "eventflow/http/message.h"
#include "eventflow/http/server.h"
#include "eventflow/streams/store_codec.h"
#include "eventflow/streams/store_query.h"

namespace eventflow::queries {

//! The header that marks a forwarded request (its value: the sender).
inline constexpr std::string_view kForwardedHeader = "X-EventFlow-Forwarded-By";

struct QueryServiceOptions {
  //! Codec per store name; stores without one use StoreCodec::Default().
  std::map<std::string, streams::StoreCodec> codecs;
  //! Bound on one forwarded request (connect, send, answer).
  std::chrono::milliseconds forward_timeout{2000};
  //! Retry-After (seconds) of 503 answers.
  int retry_after_seconds = 1;
  //! Scans: entries when no limit is given, and the most a limit may ask for.
  size_t default_limit = 100;
  size_t max_limit = 10'000;
};

class QueryService {
 public:
  explicit QueryService(QueryServiceOptions options);
  QueryService(const QueryService&) = delete;
  QueryService& operator=(const QueryService&) = delete;

  //! Serves /stores and below on `server` (which must not outlive this object).
  void RegisterRoutes(http::Server& server);
  //! Queries `app` from now on; `self` is this instance's application_server
  //! (named in answers and in forwarded requests). nullptr detaches, waiting
  //! for the requests in progress; then every route answers 503.
  void Attach(const streams::StoreQueries* app, std::optional<streams::HostInfo> self);
  //! Answers one request (what the routes call; also used by tests).
  http::Response Handle(const http::Request& request);

 private:
  const QueryServiceOptions options_;
  mutable WriterPriorityMutex mu_;  // shared by requests, exclusive in Attach
  const streams::StoreQueries* app_ = nullptr;
  std::optional<streams::HostInfo> self_;
};

}  // namespace eventflow::queries
