// ParseCommandLine: Boost.Program_options with the project's rules on top.
//
// - An option the tool does not declare is an error naming the option only,
//   never its value (a mistyped "--sasl.password=..." must not print the
//   password).
// - With ParseOptions::kafka_passthrough, "--kafka.<property>=<value>",
//   "--kafka=<property>=<value>" and "--kafka <property>=<value>" are librdkafka
//   settings, passed on unchanged (kafka::KafkaProperties::SetPassThrough); a
//   malformed one is an error naming it. "--kafka-file <property>=<path>" (or
//   "--kafka-file=<property>=<path>") sets the property to the content of the
//   file without its trailing line break (ReadSecretFile: a mounted secret,
//   e.g. sasl.password), so secrets need not be on the command line or in the
//   environment; a missing, empty or unreadable file is an error naming the
//   property and the path, never the content.
// - Boost's own complaints (a missing or malformed value) become
//   InvalidArgument with " (see --help)" appended.
//
// Thread-safety: a pure function.
#pragma once

#include <boost/program_options.hpp>

#include "eventflow/core/status.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::cli {

namespace po = boost::program_options;

//! What a tool accepts besides its declared options.
struct ParseOptions {
  //! Accept librdkafka pass-through settings (see file comment).
  bool kafka_passthrough = false;
};

//! A parsed command line.
struct CommandLine {
  po::variables_map values;      //!< the declared options, defaults applied
  kafka::KafkaProperties kafka;  //!< the pass-through settings, in command-line order
  //! True when --help (or -h) was given; the caller prints its description
  //! and exits 0.
  bool help() const { return values.count("help") > 0; }
};

//! Parses `args` (without the program name or subcommand) against `desc`.
//! Returns InvalidArgument naming the first bad option (see file comment).
Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                     const po::options_description& desc,
                                     const ParseOptions& options = {});

//! Convenience: the arguments after the first `skip` of argv (1: the program
//! name; 2: also a subcommand).
std::vector<std::string> Arguments(int argc, const char* const* argv, int skip = 1);

}  // namespace eventflow::cli
