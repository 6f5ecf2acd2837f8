// Compile-time check (built with the tests, never run): the headers a library
// user includes to build and run a topology do not pull in librdkafka's
// header. The runtime includes it in its own sources only; public headers that
// hold client handles use eventflow/kafka/handles.h.
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/streams/topology_test_driver.h"

#ifdef RD_KAFKA_VERSION
#error "a public streams header includes <librdkafka/rdkafka.h>; include eventflow/kafka/handles.h"
#endif
