// The librdkafka implementations of the client seam (client_supplier.h):
// RdKafkaConsumer (group or restore consumer) and RdKafkaProducer (the
// thread's RecordCollector and transactional producer). Created by the
// default client supplier from the properties it builds per role.
#pragma once

#include <memory>

#include "client_supplier.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::streams {

//! Creates a consumer from `props`. A `group_member` gets the rebalance
//! callback (forwarded to the listener given to Subscribe) and its main
//! queue redirected to the consumer queue; a restore consumer gets neither.
//! Returns InvalidArgument naming a bad property.
Result<std::unique_ptr<ConsumerClient>> NewRdKafkaConsumer(const kafka::KafkaProperties& props,
                                                           bool group_member);

//! Creates a producer from `props` (a transactional one when they set
//! transactional.id; InitTransactions is the caller's). Recreate() builds it
//! again from the same properties.
Result<std::unique_ptr<ProducerClient>> NewRdKafkaProducer(kafka::KafkaProperties props);

}  // namespace eventflow::streams
