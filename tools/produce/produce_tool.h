// eventflow-produce's command: flags and environment → the generator's
// options (tools/generator/include/eventflow/generator/), then Pump() from the
// traffic model or a replayed file into Kafka or stdout.
//
// Exit codes (cli::ExitCode): 0 done, 2 a bad setting or input found before
// producing started (named in the message), 1 a failure while producing
// (delivery, broker, I/O).
#pragma once

#include <string>
#include <vector>

#include "eventflow/cli/tool.h"
#include "eventflow/generator/producer.h"
#include "eventflow/generator/traffic.h"

namespace eventflow::tools {

//! What eventflow-produce does, from its command line and environment.
struct ProduceSettings {
  generator::KafkaSinkOptions kafka;  //!< where events go (unless dry_run)
  generator::TrafficOptions traffic;  //!< the traffic model (unless from_file)
  generator::PumpOptions pump;        //!< pace, length, progress line
  uint64_t count = 0;                 //!< events to generate (0: no limit)
  std::string from_file;              //!< replay this JSON-lines file (empty: generate)
  bool dry_run = false;               //!< JSON lines to stdout instead of Kafka
  std::string summary_json;           //!< also write the summary as JSON here (empty: no)
};

//! The options of eventflow-produce (its --help).
cli::po::options_description ProduceOptionsDescription();

//! Builds the settings from the parsed command line and the environment
//! (KAFKA_BOOTSTRAP_SERVERS, EVENT_DELAY_MS; flags win). Returns
//! InvalidArgument naming the first bad setting.
Result<ProduceSettings> ProduceSettingsFrom(const cli::CommandLine& line);

//! eventflow-produce's main: returns its exit code.
int RunProduceTool(const std::vector<std::string>& args);

}  // namespace eventflow::tools
