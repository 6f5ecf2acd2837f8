// The default client supplier: creates the runtime's Kafka clients
// (librdkafka, rdkafka_clients.h), each configured by its role in
// kafka::BuildClientConfig (eventflow/kafka/client_config.h).
#include "client_supplier.h"

#include "eventflow/kafka/client_config.h"
#include "rdkafka_clients.h"
#include "streams_metadata_state.h"

namespace eventflow::streams {
namespace {

class DefaultClientSupplier final : public KafkaClientSupplier {
 public:
  explicit DefaultClientSupplier(const ClientMemory* memory)
      : memory_(memory != nullptr ? memory : &kNoBounds) {}

  Result<std::unique_ptr<ConsumerClient>> CreateMainConsumer(const StreamsConfig& config,
                                                             const std::string& thread) override {
    auto props = kafka::BuildClientConfig(
        kafka::ClientRole::kMainConsumer,
        {.bootstrap_servers = config.bootstrap_servers,
         .client_id = config.application_id + "-" + thread + "-consumer",
         .group_id = config.application_id,
         .group_instance_id = config.instance_id.empty() ? std::string() : thread,
         .session_timeout = config.session_timeout,
         .exactly_once = config.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2,
         .fetch_queue_bytes = memory_->main_fetch_queue_bytes},
        config.kafka);
    if (!props.ok()) return props.status();
    if (!config.application_server.empty()) {
      // How other instances find this one (streams_metadata_state.h): the
      // endpoint rides in the client id DescribeConsumerGroups reports,
      // appended to whichever client id applies (the user's kafka.client.id too).
      auto endpoint = HostInfo::Parse(config.application_server, "application.server");
      if (!endpoint.ok()) return endpoint.status();
      const std::string* client_id = props->Find("client.id");
      props->Set("client.id", StreamsMetadataState::ClientIdWithEndpoint(
                                  client_id != nullptr ? *client_id : "", *endpoint));
    }
    return NewRdKafkaConsumer(*props, /*group_member=*/true);
  }

  Result<std::unique_ptr<ConsumerClient>> CreateRestoreConsumer(
      const StreamsConfig& config, const std::string& thread) override {
    auto props = kafka::BuildClientConfig(
        kafka::ClientRole::kRestoreConsumer,
        {.bootstrap_servers = config.bootstrap_servers,
         .client_id = config.application_id + "-" + thread + "-restore",
         .group_id = config.application_id + "-restore",  // never joins or commits
         .fetch_queue_bytes = memory_->restore_fetch_queue_bytes},
        config.kafka);
    if (!props.ok()) return props.status().WithContext("restore consumer");
    auto consumer = NewRdKafkaConsumer(*props, /*group_member=*/false);
    if (!consumer.ok()) return consumer.status().WithContext("restore consumer");
    return consumer;
  }

  Result<std::unique_ptr<ProducerClient>> CreateProducer(const StreamsConfig& config,
                                                         const std::string& thread) override {
    const bool eos = config.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2;
    auto props = kafka::BuildClientConfig(
        eos ? kafka::ClientRole::kTransactionalProducer : kafka::ClientRole::kAtLeastOnceProducer,
        {.bootstrap_servers = config.bootstrap_servers,
         .client_id = config.application_id + "-" + thread + "-producer",
         .transactional_id = config.application_id + "-" + thread,
         .producer_queue_bytes = memory_->producer_queue_bytes},
        config.kafka);
    if (!props.ok()) return props.status();
    return NewRdKafkaProducer(std::move(*props));
  }

  Result<kafka::KafkaHandle> CreateAdmin(const StreamsConfig& config) override {
    auto props = kafka::BuildClientConfig(kafka::ClientRole::kAdmin,
                                          {.bootstrap_servers = config.bootstrap_servers,
                                           .client_id = config.application_id + "-admin"},
                                          config.kafka);
    if (!props.ok()) return props.status();
    return kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, *props);
  }

 private:
  static constexpr ClientMemory kNoBounds{};
  const ClientMemory* memory_;
};

}  // namespace

std::unique_ptr<KafkaClientSupplier> NewDefaultClientSupplier(const ClientMemory* memory) {
  return std::make_unique<DefaultClientSupplier>(memory);
}

}  // namespace eventflow::streams
