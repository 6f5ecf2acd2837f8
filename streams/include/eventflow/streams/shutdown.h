// Graceful shutdown of an application process on SIGTERM/SIGINT.
#pragma once

#include <chrono>

#include "eventflow/streams/kafka_streams.h"

namespace eventflow::streams {

//! Runs until SIGTERM or SIGINT arrives or the instance enters ERROR, then
//! closes it gracefully (finish the batch, commit, close, leave the group
//! unless static membership). A second signal exits the process at once with
//! status 130. Installs the signal handlers; call from the main thread after
//! Start(). Returns the process exit status: 0 after a clean close, 1 when the
//! instance failed or did not close within `close_timeout`.
int RunUntilSignalled(KafkaStreams& streams,
                      std::chrono::milliseconds close_timeout = std::chrono::minutes(1));

}  // namespace eventflow::streams
