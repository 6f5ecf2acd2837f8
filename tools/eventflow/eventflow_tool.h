// The eventflow binary's commands:
//
//   eventflow run [options]          run a registered topology (default: all four
//                                    pipeline topologies) until SIGTERM/SIGINT
//   eventflow describe [--topology]  print Topology::Describe()
//   eventflow topologies             list the registered topologies
//   eventflow state-lag [options]    how far behind its changelog each local
//                                    state store is (tools/state/state_lag.h)
//   eventflow reset [options]        delete the internal topics and the consumer
//                                    group (application_reset.h)
//
// `run` turns flags and environment into PipelineOptions + StreamsConfig, then
// KafkaStreams::Start() and RunUntilSignalled(). Instances started with the
// same --application-id form one consumer group and split the tasks (give each
// a distinct --instance-id). With --http-port, the port also serves
// interactive queries of the pipeline's stores (/stores, eventflow/queries);
// each instance advertises --application-server to the others.
//
// Exit codes (cli::ExitCode): 0 after a clean shutdown, 2 for a bad setting
// (the message names it), 1 for any other failure.
#pragma once

#include <string>
#include <vector>

#include "eventflow/cli/tool.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/topologies/registry.h"

namespace eventflow::tools {

//! What `eventflow run` does, from its command line and environment.
struct RunSettings {
  const topologies::NamedTopology* topology = nullptr;  //!< --topology
  topologies::PipelineOptions pipeline;                 //!< --topic-prefix, --emit
  streams::StreamsConfig config;                        //!< validated
  int partitions = 3;            //!< of input and output topics created when missing
  int64_t topic_retention_ms = -1;  //!< retention.ms of those topics
  int http_port = 0;                //!< /metrics, /healthz, /readyz, /stores (0: off)
  std::string http_address;      //!< address the HTTP server binds
  // config.application_server: --application-server, else --http-address:--http-port
  // (the host name when the address is 0.0.0.0 or ::); empty without --http-port.
};

//! Adds --help, --topology, --topic-prefix and --emit (the commands that
//! build a pipeline topology share them).
void AddPipelineOptions(cli::po::options_description* desc);

//! Resolves --topology, --topic-prefix and --emit; InvalidArgument naming the
//! bad one.
Status PipelineSettings(const cli::po::variables_map& vm, const topologies::NamedTopology** entry,
                        topologies::PipelineOptions* options);

//! The options of `eventflow run` (its --help).
cli::po::options_description RunOptionsDescription();

//! Builds the settings of `eventflow run` from its parsed command line and
//! the environment (KAFKA_BOOTSTRAP_SERVERS; flags win). Returns
//! InvalidArgument naming the first bad setting.
Result<RunSettings> RunSettingsFrom(const cli::CommandLine& line);

//! The eventflow binary's main: `args` are argv without the program name
//! (the command first). Returns its exit code.
int RunEventflowTool(const std::vector<std::string>& args);

}  // namespace eventflow::tools
