// eventflow-sink's command: flags and environment → sinks::PgSinkOptions, then
// PgSink::Run() until SIGTERM/SIGINT (sinks/include/eventflow/sinks/pg_sink.h).
//
// Exit codes (cli::ExitCode): 0 after a clean stop, 2 for a bad setting
// (named in the message) or credential, 1 for other failures.
#pragma once

#include <string>
#include <vector>

#include "eventflow/cli/tool.h"
#include "eventflow/sinks/pg_sink.h"

namespace eventflow::tools {

//! The options of eventflow-sink (its --help).
cli::po::options_description SinkOptionsDescription();

//! Builds the sink's settings from its parsed command line and the
//! environment (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_URL, POSTGRES_USER,
//! POSTGRES_PASSWORD, POSTGRES_PASSWORD_FILE; flags win). The passwords it
//! reads are handed to `tool` as secrets. Returns InvalidArgument naming the
//! first bad setting.
Result<sinks::PgSinkOptions> SinkOptionsFrom(const cli::CommandLine& line, cli::Tool* tool);

//! Where the sink serves /metrics, /healthz and /readyz (sink_metrics.h).
struct SinkHttpSettings {
  int port = 0;                      //!< --http-port; 0: no HTTP server
  std::string address = "127.0.0.1";  //!< --http-address
};

//! Reads --http-port (0-65535) and --http-address. Returns InvalidArgument
//! naming a bad one.
Result<SinkHttpSettings> SinkHttpFrom(const cli::CommandLine& line);

//! eventflow-sink's main: returns its exit code.
int RunSinkTool(const std::vector<std::string>& args);

}  // namespace eventflow::tools
