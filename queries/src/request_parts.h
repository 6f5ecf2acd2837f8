// The pieces of a query request and answer that are not routing: the path's
// segments, times and limits from parameters, JSON building, and the raw
// rows instances exchange when a scan is scattered (format=raw).
//
// Raw rows (internal, between instances of one application, which share
// their codecs): one entry per line, fields separated by tabs, bytes as
// lower-case hex — key-value: "<key>\t<value>"; window or session:
// "<key>\t<start ms>\t<end ms>\t<value>".
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/http/message.h"
#include "eventflow/streams/store_query.h"

namespace eventflow::queries::internal {

//! The decoded segments of a request target's path ("/stores/a%2Fb/keys/k"
//! → {"stores", "a/b", "keys", "k"}): decoded after splitting, so a key may
//! hold "/". nullopt for a malformed escape.
std::optional<std::vector<std::string>> PathSegments(std::string_view target);

//! Parses a time parameter: epoch milliseconds or RFC 3339 UTC. Returns
//! `fallback` when absent; InvalidArgument naming `name` when bad.
Result<int64_t> TimeParameter(const http::Request& request, std::string_view name,
                              int64_t fallback);

//! Parses `limit`: absent → `fallback`; 1..`max` else InvalidArgument.
Result<size_t> LimitParameter(const http::Request& request, size_t fallback, size_t max);

//! Parses "1,3,4" into partition numbers; nullopt when malformed.
std::optional<std::vector<int>> ParsePartitionList(std::string_view text);

//! Appends the time as RFC 3339 in quotes (clamped to the representable range).
void AppendJsonTime(int64_t epoch_ms, std::string* json);
//! Appends a JSON string.
void AppendJsonStringValue(std::string_view text, std::string* json);
//! Appends ,"name": (or "name": first in an object when `first`).
void AppendJsonField(std::string_view name, std::string* json, bool first = false);

//! Raw rows (see the file comment).
void AppendRawRow(const streams::KeyValueEntry& entry, std::string* out);
void AppendRawRow(std::string_view key, int64_t start, int64_t end, std::string_view value,
                  std::string* out);
//! Parses raw key-value rows; Corruption when malformed.
Status ParseRawRows(std::string_view body, std::vector<streams::KeyValueEntry>* out);
//! Parses raw window rows; Corruption when malformed.
Status ParseRawRows(std::string_view body, std::vector<streams::WindowEntry>* out);

}  // namespace eventflow::queries::internal
