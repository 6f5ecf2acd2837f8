#include "metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "eventflow/core/log.h"

namespace eventflow::tools {
namespace {

using State = streams::KafkaStreams::State;
constexpr State kStates[] = {State::kCreated,         State::kRebalancing, State::kRunning,
                             State::kPendingShutdown, State::kNotRunning,  State::kError};

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void Respond(int fd, int code, std::string_view content_type, std::string_view body) {
  const char* reason = code == 200 ? "OK" : code == 404 ? "Not Found" : "Service Unavailable";
  std::string head = "HTTP/1.1 " + std::to_string(code) + " " + reason +
                     "\r\nContent-Type: " + std::string(content_type) +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n";
  SendAll(fd, head);
  SendAll(fd, body);
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, int port,
                                                            const std::string& application_id,
                                                            const std::string& instance) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument("--http-address: \"" + address +
                                   "\" is not an IPv4 address");
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("HTTP server socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return Status::InvalidArgument("--http-port: cannot listen on " + address + ":" +
                                   std::to_string(port) + ": " + reason);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(fd, ntohs(addr.sin_port), application_id, instance));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  Log(LogLevel::kInfo, "http",
      "serving /metrics, /healthz, /readyz on " + address + ":" + std::to_string(server->port_));
  return server;
}

MetricsServer::MetricsServer(int fd, int port, const std::string& application_id,
                             const std::string& instance)
    : fd_(fd), port_(port), registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels labels{{"application_id", application_id}, {"instance", instance}};
  processed_ = &prometheus::BuildCounter()
                    .Name("eventflow_records_processed_total")
                    .Help("Records handed to the topology by this instance's stream threads")
                    .Labels(labels)
                    .Register(*registry_)
                    .Add({});
  dropped_late_ = &prometheus::BuildCounter()
                       .Name("eventflow_records_dropped_total")
                       .Help("Records (window updates) dropped, by reason; late: their window "
                             "had closed on the watermark (counted at commit)")
                       .Labels(labels)
                       .Register(*registry_)
                       .Add({{"reason", "late"}});
  restored_ = &prometheus::BuildCounter()
                   .Name("eventflow_restored_records_total")
                   .Help("Changelog records restored into state stores, per store")
                   .Labels(labels)
                   .Register(*registry_);
  remaining_ = &prometheus::BuildGauge()
                    .Name("eventflow_restore_remaining_records")
                    .Help("Changelog records still to restore, per store (0: none running)")
                    .Labels(labels)
                    .Register(*registry_);
  state_ = &prometheus::BuildGauge()
                .Name("eventflow_application_state")
                .Help("1 for the application's current state, 0 for the others")
                .Labels(labels)
                .Register(*registry_);
  for (State s : kStates) {
    const std::string name(streams::KafkaStreams::StateName(s));
    state_gauges_[name] = &state_->Add({{"state", name}});
  }
  lost_ = &prometheus::BuildCounter()
               .Name("eventflow_records_lost_total")
               .Help("Records skipped because the broker no longer had them (deleted by "
                     "retention or DeleteRecords before they were read), per topic; 0 unless "
                     "--on-data-loss=skip")
               .Labels(labels)
               .Register(*registry_);
  stalls_ = &prometheus::BuildCounter()
                 .Name("eventflow_partition_stalls_total")
                 .Help("Input partitions found stalled: records to read and none taken for "
                       "--partition-stall-timeout-ms")
                 .Labels(labels)
                 .Register(*registry_)
                 .Add({});
  stalled_ = &prometheus::BuildGauge()
                  .Name("eventflow_stalled_partitions")
                  .Help("Input partitions stalled now (non-zero: /readyz answers 503)")
                  .Labels(labels)
                  .Register(*registry_)
                  .Add({});
  up_ = &prometheus::BuildGauge()
             .Name("eventflow_up")
             .Help("1 while a streams application is attached to this endpoint")
             .Labels(labels)
             .Register(*registry_)
             .Add({});
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void MetricsServer::Attach(const streams::KafkaStreams* app) {
  std::lock_guard<std::mutex> lock(mu_);
  app_ = app;
}

std::string MetricsServer::ScrapeText() {
  std::lock_guard<std::mutex> lock(mu_);
  up_->Set(app_ != nullptr ? 1 : 0);
  if (app_ != nullptr) {
    const uint64_t processed = app_->processed();
    if (processed > last_processed_) processed_->Increment(double(processed - last_processed_));
    last_processed_ = std::max(last_processed_, processed);
    const uint64_t dropped = app_->dropped_late();
    if (dropped > last_dropped_late_) {
      dropped_late_->Increment(double(dropped - last_dropped_late_));
    }
    last_dropped_late_ = std::max(last_dropped_late_, dropped);
    for (const auto& [store, m] : app_->restore_metrics()) {
      uint64_t& last = last_restored_[store];
      prometheus::Counter& counter = restored_->Add({{"store", store}});
      if (m.restored_records_total > last) {
        counter.Increment(double(m.restored_records_total - last));
        last = m.restored_records_total;
      }
      remaining_->Add({{"store", store}}).Set(double(m.remaining_records));
    }
    for (const auto& [topic, n] : app_->records_lost()) {
      uint64_t& last = last_lost_[topic];
      prometheus::Counter& counter = lost_->Add({{"topic", topic}});
      if (n > last) {
        counter.Increment(double(n - last));
        last = n;
      }
    }
    const uint64_t stalls = app_->partition_stalls_total();
    if (stalls > last_stalls_) stalls_->Increment(double(stalls - last_stalls_));
    last_stalls_ = std::max(last_stalls_, stalls);
    stalled_->Set(double(app_->stalled_partitions()));
    const std::string current(streams::KafkaStreams::StateName(app_->state()));
    for (auto& [name, gauge] : state_gauges_) gauge->Set(name == current ? 1 : 0);
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void MetricsServer::Serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Handle(client);
    ::close(client);
  }
}

void MetricsServer::Handle(int client) {
  // Read up to the end of the request head (requests have no body here).
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  // "GET /path HTTP/1.1"
  const size_t sp1 = request.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : request.find(' ', sp1 + 1);
  std::string path = sp2 == std::string::npos ? "" : request.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const size_t q = path.find('?'); q != std::string::npos) path.resize(q);
  if (path == "/metrics") {
    Respond(client, 200, "text/plain; version=0.0.4; charset=utf-8", ScrapeText());
    return;
  }
  if (path == "/healthz" || path == "/readyz") {
    std::optional<State> state;
    int stalled = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (app_ != nullptr) {
        state = app_->state();
        stalled = app_->stalled_partitions();
      }
    }
    std::string name = state ? std::string(streams::KafkaStreams::StateName(*state))
                             : std::string("STARTING");
    bool ok = path == "/healthz" ? state != State::kError : state == State::kRunning;
    if (path == "/readyz" && stalled > 0) {
      ok = false;
      name += " (" + std::to_string(stalled) + " stalled partition(s))";
    }
    Respond(client, ok ? 200 : 503, "text/plain", name + "\n");
    return;
  }
  Respond(client, 404, "text/plain", "not found: /metrics, /healthz, /readyz\n");
}

}  // namespace eventflow::tools
