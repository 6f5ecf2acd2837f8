#include "metrics_server.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <string_view>

#include "eventflow/core/log.h"

namespace eventflow::tools {
namespace {

using State = streams::KafkaStreams::State;
constexpr State kStates[] = {State::kCreated,         State::kRebalancing, State::kRunning,
                             State::kPendingShutdown, State::kNotRunning,  State::kError};

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, int port,
                                                            const std::string& application_id,
                                                            const std::string& instance) {
  http::ServerOptions options;
  options.address = address;
  options.port = port;
  auto server = http::Server::Start(options);
  if (!server.ok()) return server.status();
  std::unique_ptr<MetricsServer> metrics(new MetricsServer(application_id, instance));
  metrics->server_ = std::move(*server);
  MetricsServer* self = metrics.get();
  metrics->server_->Handle("/metrics", [self](const http::Request&) {
    http::Response response = http::Response::Text(200, self->ScrapeText());
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return response;
  });
  metrics->server_->Handle("/healthz", [self](const http::Request&) { return self->Health(false); });
  metrics->server_->Handle("/readyz", [self](const http::Request&) { return self->Health(true); });
  Log(LogLevel::kInfo, "http",
      "serving /metrics, /healthz, /readyz on " + address + ":" + std::to_string(self->port()));
  return metrics;
}

MetricsServer::MetricsServer(const std::string& application_id, const std::string& instance)
    : registry_(std::make_shared<prometheus::Registry>()) {
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
  if (server_) server_->Stop();  // no handler runs once this returns
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

http::Response MetricsServer::Health(bool readiness) {
  std::optional<State> state;
  int stalled = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (app_ != nullptr) {
      state = app_->state();
      stalled = app_->stalled_partitions();
    }
  }
  std::string name =
      state ? std::string(streams::KafkaStreams::StateName(*state)) : std::string("STARTING");
  bool ok = readiness ? state == State::kRunning : state != State::kError;
  if (readiness && stalled > 0) {
    ok = false;
    name += " (" + std::to_string(stalled) + " stalled partition(s))";
  }
  return http::Response::Text(ok ? 200 : 503, name + "\n");
}

}  // namespace eventflow::tools
