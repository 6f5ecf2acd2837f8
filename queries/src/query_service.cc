#include "eventflow/queries/query_service.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "eventflow/http/client.h"
#include "request_parts.h"

namespace eventflow::queries {
namespace {

using internal::AppendJsonField;
using internal::AppendJsonStringValue;
using internal::AppendJsonTime;
using streams::HostInfo;
using streams::KeyValueEntry;
using streams::QueryableStoreInfo;
using streams::StoreSpec;
using streams::WindowEntry;

constexpr int64_t kEndOfTime = std::numeric_limits<int64_t>::max();

std::string_view KindName(StoreSpec::Kind kind) {
  switch (kind) {
    case StoreSpec::Kind::kKeyValue:
      return "key-value";
    case StoreSpec::Kind::kWindow:
      return "window";
    case StoreSpec::Kind::kSession:
      return "session";
  }
  return "?";
}

// {"error":"<message>"} with `status`; 503 answers say when to retry.
http::Response Error(int status, std::string_view message, int retry_after) {
  std::string body = "{";
  AppendJsonField("error", &body, true);
  AppendJsonStringValue(message, &body);
  body += "}\n";
  http::Response response = http::Response::Json(status, std::move(body));
  if (status == 503) response.AddHeader("Retry-After", std::to_string(retry_after));
  return response;
}

// The answer for a failed call into the application.
http::Response FromStatus(const Status& s, int retry_after) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return Error(404, s.message(), retry_after);
    case StatusCode::kInvalidArgument:
      return Error(400, s.message(), retry_after);
    case StatusCode::kUnavailable:
    case StatusCode::kTimedOut:
      return Error(503, s.message(), retry_after);
    default:
      return Error(500, s.ToString(), retry_after);
  }
}

void AppendHost(const std::optional<HostInfo>& host, std::string* json) {
  if (host) {
    AppendJsonStringValue(host->ToString(), json);
  } else {
    json->append("null");
  }
}

void AppendStoreInfo(const QueryableStoreInfo& info, std::string* json) {
  json->push_back('{');
  AppendJsonField("name", json, true);
  AppendJsonStringValue(info.name, json);
  AppendJsonField("kind", json);
  AppendJsonStringValue(KindName(info.kind), json);
  AppendJsonField("partitions", json);
  json->append(std::to_string(info.partitions));
  if (info.kind == StoreSpec::Kind::kWindow) {
    AppendJsonField("window_size_ms", json);
    json->append(std::to_string(info.window_size.count()));
  }
  json->push_back('}');
}

// One request being answered: the application (held attached for the
// call), the store and its codec.
struct Call {
  const streams::StoreQueries& app;
  const QueryServiceOptions& options;
  const std::optional<HostInfo>& self;
  const http::Request& request;
  const QueryableStoreInfo& info;
  const streams::StoreCodec& codec;

  http::Response Fail(int status, std::string_view message) const {
    return Error(status, message, options.retry_after_seconds);
  }
  http::Response Fail(const Status& s) const { return FromStatus(s, options.retry_after_seconds); }
  bool forwarded() const { return request.Header(kForwardedHeader).has_value(); }

  // Fetches `target` from `host` as a forwarded request (one hop).
  Result<http::Response> Ask(const HostInfo& host, const std::string& target) const {
    http::FetchOptions fetch;
    fetch.timeout = options.forward_timeout;
    fetch.headers.emplace_back(std::string(kForwardedHeader),
                               self ? self->ToString() : std::string("unknown"));
    return http::Fetch(host.host, host.port, target, fetch);
  }

  void AppendWindow(const WindowEntry& w, bool with_key, std::string* json) const {
    json->push_back('{');
    bool first = true;
    if (with_key) {
      AppendJsonField("key", json, true);
      codec.render_key(w.key, json);
      first = false;
    }
    AppendJsonField("start", json, first);
    AppendJsonTime(w.start, json);
    AppendJsonField("end", json);
    AppendJsonTime(w.end, json);
    AppendJsonField("start_ms", json);
    json->append(std::to_string(w.start));
    AppendJsonField("end_ms", json);
    json->append(std::to_string(w.end));
    AppendJsonField("value", json);
    codec.render_value(w.value, json);
    json->push_back('}');
  }

  // {"store":…,"key":…,"partition":…,"served_by":…  (the object stays open)
  std::string KeyAnswerHead(std::string_view key, int partition) const {
    std::string json = "{";
    AppendJsonField("store", &json, true);
    AppendJsonStringValue(info.name, &json);
    AppendJsonField("key", &json);
    codec.render_key(key, &json);
    AppendJsonField("partition", &json);
    json += std::to_string(partition);
    AppendJsonField("served_by", &json);
    AppendHost(self, &json);
    return json;
  }
};

// ---------------------------------------------------------------------------
// One key: its value, windows or sessions.

enum class KeyRoute { kValue, kWindows };

http::Response ReadKeyHere(const Call& c, KeyRoute route, const std::string& key, int partition,
                           int64_t from, int64_t to) {
  auto store = c.app.Store({c.info.name, partition});
  if (!store.ok()) return c.Fail(store.status());
  // Unavailable here: restoring, or it moved on since the metadata was read.
  auto unavailable = [&](const Status& s) {
    if (s.code() == StatusCode::kUnavailable) c.app.MarkMetadataStale();
    return c.Fail(s);
  };
  std::string json = c.KeyAnswerHead(key, partition);
  if (route == KeyRoute::kValue) {
    std::string value;
    const Status got = store->Get(key, &value);
    if (got.IsNotFound()) {
      std::string body = "{";
      AppendJsonField("error", &body, true);
      AppendJsonStringValue("key not found", &body);
      AppendJsonField("store", &body);
      AppendJsonStringValue(c.info.name, &body);
      AppendJsonField("key", &body);
      c.codec.render_key(key, &body);
      body += "}\n";
      return http::Response::Json(404, std::move(body));
    }
    if (!got.ok()) return unavailable(got);
    AppendJsonField("value", &json);
    c.codec.render_value(value, &json);
  } else if (c.info.kind == StoreSpec::Kind::kWindow) {
    std::vector<WindowEntry> windows;
    const Status read = store->FetchWindows(key, from, to, &windows);
    if (!read.ok()) return unavailable(read);
    AppendJsonField("windows", &json);
    json.push_back('[');
    for (size_t i = 0; i < windows.size(); ++i) {
      if (i > 0) json.push_back(',');
      c.AppendWindow(windows[i], /*with_key=*/false, &json);
    }
    json.push_back(']');
  } else {
    std::vector<streams::SessionEntry> sessions;
    const Status read = store->FetchSessions(key, from, to, &sessions);
    if (!read.ok()) return unavailable(read);
    AppendJsonField("sessions", &json);
    json.push_back('[');
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (i > 0) json.push_back(',');
      c.AppendWindow(
          WindowEntry{sessions[i].key, sessions[i].start, sessions[i].end, sessions[i].value},
          /*with_key=*/false, &json);
    }
    json.push_back(']');
  }
  json += "}\n";
  return http::Response::Json(200, std::move(json));
}

http::Response Forward(const Call& c, const HostInfo& owner, int partition) {
  auto answer = c.Ask(owner, c.request.target);
  if (!answer.ok()) {
    c.app.MarkMetadataStale();
    return c.Fail(503, "partition " + std::to_string(partition) + " of store " + c.info.name +
                           " runs on " + owner.ToString() +
                           ", which did not answer: " + answer.status().message());
  }
  // Its 503 may mean it no longer runs the partition: learn again.
  if (answer->status == 503) c.app.MarkMetadataStale();
  http::Response out;
  out.status = answer->status;
  out.content_type = answer->content_type;
  out.body = std::move(answer->body);
  if (auto retry = answer->Header("Retry-After")) out.AddHeader("Retry-After", std::string(*retry));
  return out;
}

http::Response KeyRequest(const Call& c, KeyRoute route, std::string_view key_text) {
  const bool windowed = c.info.kind != StoreSpec::Kind::kKeyValue;
  if (route == KeyRoute::kValue && windowed) {
    return c.Fail(400, "store " + c.info.name + " is a " + std::string(KindName(c.info.kind)) +
                           " store: ask /stores/" + c.info.name + "/keys/{key}/windows");
  }
  if (route == KeyRoute::kWindows && !windowed) {
    return c.Fail(400, "store " + c.info.name + " is a key-value store: ask /stores/" +
                           c.info.name + "/keys/{key}");
  }
  std::string key;
  if (Status parsed = c.codec.parse_key(key_text, &key); !parsed.ok()) {
    return c.Fail(400, "store " + c.info.name + ": bad key: " + parsed.message());
  }
  auto from = internal::TimeParameter(c.request, "from", 0);
  if (!from.ok()) return c.Fail(from.status());
  auto to = internal::TimeParameter(c.request, "to", kEndOfTime);
  if (!to.ok()) return c.Fail(to.status());
  auto metadata = c.app.QueryMetadataForKey(c.info.name, key);
  if (!metadata.ok()) return c.Fail(metadata.status());
  if (metadata->local) return ReadKeyHere(c, route, key, metadata->partition, *from, *to);
  const std::string what =
      "partition " + std::to_string(metadata->partition) + " of store " + c.info.name;
  if (c.forwarded()) {
    // One hop only: the sender's metadata named this instance, which does not
    // run the partition (any more).
    return c.Fail(503, what + " is not running on this instance; retry");
  }
  if (!metadata->active_host) {
    c.app.MarkMetadataStale();
    return c.Fail(503, what +
                           " is not assigned to an instance that serves queries right now "
                           "(a rebalance, or its instance has no application server); retry");
  }
  return Forward(c, *metadata->active_host, metadata->partition);
}

http::Response MetadataRequest(const Call& c) {
  std::string json = "{";
  AppendJsonField("store", &json, true);
  AppendJsonStringValue(c.info.name, &json);
  if (auto key_text = c.request.Query("key")) {
    std::string key;
    if (Status parsed = c.codec.parse_key(*key_text, &key); !parsed.ok()) {
      return c.Fail(400, "store " + c.info.name + ": bad key: " + parsed.message());
    }
    auto metadata = c.app.QueryMetadataForKey(c.info.name, key);
    if (!metadata.ok()) return c.Fail(metadata.status());
    AppendJsonField("key", &json);
    c.codec.render_key(key, &json);
    AppendJsonField("partition", &json);
    json += std::to_string(metadata->partition);
    AppendJsonField("host", &json);
    AppendHost(metadata->active_host, &json);
    AppendJsonField("local", &json);
    json += metadata->local ? "true" : "false";
  } else {
    auto instances = c.app.StreamsMetadataForStore(c.info.name);
    if (!instances.ok()) return c.Fail(instances.status());
    AppendJsonField("partitions", &json);
    json += std::to_string(c.info.partitions);
    AppendJsonField("instances", &json);
    json.push_back('[');
    for (size_t i = 0; i < instances->size(); ++i) {
      const streams::StreamsMetadata& m = (*instances)[i];
      if (i > 0) json.push_back(',');
      json.push_back('{');
      AppendJsonField("host", &json, true);
      AppendHost(m.host, &json);
      AppendJsonField("local", &json);
      json += m.local ? "true" : "false";
      AppendJsonField("partitions", &json);
      json.push_back('[');
      for (size_t p = 0; p < m.partitions.size(); ++p) {
        if (p > 0) json.push_back(',');
        json += std::to_string(m.partitions[p]);
      }
      json += "]}";
    }
    json.push_back(']');
  }
  json += "}\n";
  return http::Response::Json(200, std::move(json));
}

// ---------------------------------------------------------------------------
// Scans: range (key-value) and windows (window stores), over every instance.

enum class ScanRoute { kRange, kWindows };

struct ScanRequest {
  ScanRoute route;
  std::string from_key, to_key;       // range
  int64_t from = 0, to = kEndOfTime;  // windows
  size_t limit = 0;
};

// Reads `partitions` here, appending the entries (Unavailable when one is not
// readable here).
Status ScanHere(const Call& c, const ScanRequest& scan, const std::vector<int>& partitions,
                std::vector<KeyValueEntry>* entries, std::vector<WindowEntry>* windows) {
  for (int p : partitions) {
    auto store = c.app.Store({c.info.name, p});
    if (!store.ok()) return store.status();
    EVENTFLOW_RETURN_IF_ERROR(
        scan.route == ScanRoute::kRange
            ? store->Range(scan.from_key, scan.to_key, scan.limit, entries)
            : store->FetchAllWindows(scan.from, scan.to, scan.limit, windows));
  }
  return Status::OK();
}

// The target asking another instance for its partitions in raw rows.
std::string RawTarget(const Call& c, ScanRoute route, const std::vector<int>& partitions) {
  std::string target = "/stores/" + http::PercentEncode(c.info.name) +
                       (route == ScanRoute::kRange ? "/range" : "/windows") +
                       "?format=raw&partitions=";
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (i > 0) target += ',';
    target += std::to_string(partitions[i]);
  }
  for (const char* name : {"from", "to", "limit"}) {
    if (auto value = c.request.Query(name)) {
      target += std::string("&") + name + "=" + http::PercentEncode(*value);
    }
  }
  return target;
}

http::Response RenderScan(const Call& c, const ScanRequest& scan,
                          std::vector<KeyValueEntry> entries, std::vector<WindowEntry> windows,
                          const std::vector<std::string>& sources, bool raw) {
  std::sort(entries.begin(), entries.end(),
            [](const KeyValueEntry& a, const KeyValueEntry& b) { return a.key < b.key; });
  std::sort(windows.begin(), windows.end(), [](const WindowEntry& a, const WindowEntry& b) {
    return std::tie(a.key, a.start) < std::tie(b.key, b.start);
  });
  if (entries.size() > scan.limit) entries.resize(scan.limit);
  if (windows.size() > scan.limit) windows.resize(scan.limit);
  if (raw) {
    std::string body;
    for (const KeyValueEntry& e : entries) internal::AppendRawRow(e, &body);
    for (const WindowEntry& w : windows) {
      internal::AppendRawRow(w.key, w.start, w.end, w.value, &body);
    }
    http::Response response = http::Response::Text(200, std::move(body));
    response.content_type = "text/tab-separated-values";
    return response;
  }
  std::string json = "{";
  AppendJsonField("store", &json, true);
  AppendJsonStringValue(c.info.name, &json);
  AppendJsonField("limit", &json);
  json += std::to_string(scan.limit);
  AppendJsonField("served_by", &json);
  json.push_back('[');
  for (size_t i = 0; i < sources.size(); ++i) {
    if (i > 0) json.push_back(',');
    if (sources[i].empty()) {
      json += "null";
    } else {
      AppendJsonStringValue(sources[i], &json);
    }
  }
  json.push_back(']');
  if (scan.route == ScanRoute::kRange) {
    AppendJsonField("entries", &json);
    json.push_back('[');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) json.push_back(',');
      json.push_back('{');
      AppendJsonField("key", &json, true);
      c.codec.render_key(entries[i].key, &json);
      AppendJsonField("value", &json);
      c.codec.render_value(entries[i].value, &json);
      json.push_back('}');
    }
  } else {
    AppendJsonField("windows", &json);
    json.push_back('[');
    for (size_t i = 0; i < windows.size(); ++i) {
      if (i > 0) json.push_back(',');
      c.AppendWindow(windows[i], /*with_key=*/true, &json);
    }
  }
  json += "]}\n";
  return http::Response::Json(200, std::move(json));
}

http::Response ScanRequestOf(const Call& c, ScanRoute route) {
  if (route == ScanRoute::kRange && c.info.kind != StoreSpec::Kind::kKeyValue) {
    return c.Fail(400, "store " + c.info.name + " is a " + std::string(KindName(c.info.kind)) +
                           " store: range scans read key-value stores (ask /stores/" + c.info.name +
                           "/windows for every key's windows)");
  }
  if (route == ScanRoute::kWindows && c.info.kind != StoreSpec::Kind::kWindow) {
    return c.Fail(400, "store " + c.info.name + " is a " + std::string(KindName(c.info.kind)) +
                           " store: /windows scans read window stores");
  }
  ScanRequest scan;
  scan.route = route;
  auto limit = internal::LimitParameter(c.request, c.options.default_limit, c.options.max_limit);
  if (!limit.ok()) return c.Fail(limit.status());
  scan.limit = *limit;
  if (route == ScanRoute::kRange) {
    for (auto [name, out] : {std::pair{"from", &scan.from_key}, std::pair{"to", &scan.to_key}}) {
      auto text = c.request.Query(name);
      if (!text || text->empty()) continue;
      if (Status parsed = c.codec.parse_key(*text, out); !parsed.ok()) {
        return c.Fail(400, std::string(name) + ": bad key: " + parsed.message());
      }
    }
  } else {
    auto from = internal::TimeParameter(c.request, "from", 0);
    if (!from.ok()) return c.Fail(from.status());
    auto to = internal::TimeParameter(c.request, "to", kEndOfTime);
    if (!to.ok()) return c.Fail(to.status());
    scan.from = *from;
    scan.to = *to;
  }
  const std::string self = c.self ? c.self->ToString() : std::string();
  std::vector<KeyValueEntry> entries;
  std::vector<WindowEntry> windows;
  const bool raw = c.request.Query("format") == "raw";
  if (auto named = c.request.Query("partitions")) {
    // Another instance asks for the partitions it found here.
    auto partitions = internal::ParsePartitionList(*named);
    if (!partitions) return c.Fail(400, "partitions: expected numbers separated by commas");
    const Status read = ScanHere(c, scan, *partitions, &entries, &windows);
    if (!read.ok()) return c.Fail(read);
    return RenderScan(c, scan, std::move(entries), std::move(windows), {self}, raw);
  }
  if (c.forwarded()) return c.Fail(400, "a forwarded scan must name its partitions");
  auto instances = c.app.StreamsMetadataForStore(c.info.name);
  if (!instances.ok()) return c.Fail(instances.status());
  std::set<int> covered;
  for (const streams::StreamsMetadata& m : *instances) {
    covered.insert(m.partitions.begin(), m.partitions.end());
  }
  std::string missing;
  for (int p = 0; p < c.info.partitions; ++p) {
    if (!covered.count(p)) missing += (missing.empty() ? "" : ",") + std::to_string(p);
  }
  if (!missing.empty()) {
    c.app.MarkMetadataStale();
    return c.Fail(503, "partition(s) " + missing + " of store " + c.info.name +
                           " are not assigned to any instance right now (a rebalance); retry");
  }
  std::vector<std::string> sources;
  for (const streams::StreamsMetadata& m : *instances) {
    if (m.local) {
      const Status read = ScanHere(c, scan, m.partitions, &entries, &windows);
      if (!read.ok()) return c.Fail(read);
      sources.push_back(self);
      continue;
    }
    if (!m.host) {
      return c.Fail(503, "partitions of store " + c.info.name +
                             " run on an instance without an application server");
    }
    auto answer = c.Ask(*m.host, RawTarget(c, route, m.partitions));
    if (!answer.ok() || answer->status != 200) {
      c.app.MarkMetadataStale();
      const std::string why = !answer.ok() ? answer.status().message()
                                           : "HTTP " + std::to_string(answer->status) + ": " +
                                                 answer->body.substr(0, 200);
      return c.Fail(503, "instance " + m.host->ToString() + " running partitions of store " +
                             c.info.name + " did not answer: " + why);
    }
    const Status parsed = route == ScanRoute::kRange
                              ? internal::ParseRawRows(answer->body, &entries)
                              : internal::ParseRawRows(answer->body, &windows);
    if (!parsed.ok()) return c.Fail(500, parsed.message());
    sources.push_back(m.host->ToString());
  }
  return RenderScan(c, scan, std::move(entries), std::move(windows), sources, raw);
}

}  // namespace

QueryService::QueryService(QueryServiceOptions options) : options_(std::move(options)) {}

void QueryService::RegisterRoutes(http::Server& server) {
  server.Handle("/stores", [this](const http::Request& request) { return Handle(request); });
}

void QueryService::Attach(const streams::StoreQueries* app, std::optional<streams::HostInfo> self) {
  std::unique_lock<WriterPriorityMutex> lock(mu_);  // waits for requests in progress
  app_ = app;
  self_ = std::move(self);
}

http::Response QueryService::Handle(const http::Request& request) {
  const int retry = options_.retry_after_seconds;
  if (request.method != "GET") return Error(405, "interactive queries are GET requests", retry);
  auto segments = internal::PathSegments(request.target);
  if (!segments || segments->empty() || (*segments)[0] != "stores") {
    return Error(400, "bad path " + request.path, retry);
  }
  std::shared_lock<WriterPriorityMutex> lock(mu_);
  if (app_ == nullptr) return Error(503, "the application is not running (yet)", retry);
  const std::vector<QueryableStoreInfo> infos = app_->QueryableStoreInfos();
  if (segments->size() == 1) {
    std::string json = "{";
    AppendJsonField("served_by", &json, true);
    AppendHost(self_, &json);
    AppendJsonField("stores", &json);
    json.push_back('[');
    for (size_t i = 0; i < infos.size(); ++i) {
      if (i > 0) json.push_back(',');
      AppendStoreInfo(infos[i], &json);
    }
    json += "]}\n";
    return http::Response::Json(200, std::move(json));
  }
  const std::string& name = (*segments)[1];
  auto info = std::find_if(infos.begin(), infos.end(),
                           [&](const QueryableStoreInfo& i) { return i.name == name; });
  if (info == infos.end()) {
    return Error(404, "no store named \"" + name + "\" (GET /stores lists them)", retry);
  }
  static const streams::StoreCodec kDefault = streams::StoreCodec::Default();
  auto codec = options_.codecs.find(name);
  const Call call{*app_,   options_, self_,
                  request, *info,    codec != options_.codecs.end() ? codec->second : kDefault};
  const std::vector<std::string>& s = *segments;
  if (s.size() == 2) {
    std::string json;
    AppendStoreInfo(*info, &json);
    json.push_back('\n');
    return http::Response::Json(200, std::move(json));
  }
  if (s[2] == "keys" && s.size() == 4) return KeyRequest(call, KeyRoute::kValue, s[3]);
  if (s[2] == "keys" && s.size() == 5 && s[4] == "windows") {
    return KeyRequest(call, KeyRoute::kWindows, s[3]);
  }
  if (s.size() == 3 && s[2] == "range") return ScanRequestOf(call, ScanRoute::kRange);
  if (s.size() == 3 && s[2] == "windows") return ScanRequestOf(call, ScanRoute::kWindows);
  if (s.size() == 3 && s[2] == "metadata") return MetadataRequest(call);
  return Error(404,
               "no route " + request.path +
                   " (routes: /stores/{store}/keys/{key}[/windows], /range, /windows, /metadata)",
               retry);
}

}  // namespace eventflow::queries
