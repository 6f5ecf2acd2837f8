#include "eventflow/cli/command_line.h"

#include "eventflow/core/secret_file.h"

namespace eventflow::cli {

std::vector<std::string> Arguments(int argc, const char* const* argv, int skip) {
  std::vector<std::string> args;
  for (int i = skip; i < argc; ++i) args.emplace_back(argv[i]);
  return args;
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                     const po::options_description& desc,
                                     const ParseOptions& options) {
  CommandLine line;
  std::vector<std::string> unknown;
  try {
    po::parsed_options parsed =
        po::command_line_parser(args).options(desc).allow_unregistered().run();
    unknown = po::collect_unrecognized(parsed.options, po::include_positional);
    po::store(parsed, line.values);
    po::notify(line.values);
  } catch (const po::error& e) {
    return Status::InvalidArgument(std::string(e.what()) + " (see --help)");
  }
  for (size_t i = 0; i < unknown.size(); ++i) {
    const std::string& arg = unknown[i];
    if (options.kafka_passthrough) {
      // "--kafka.<property>=<value>", "--kafka=<property>=<value>",
      // "--kafka <property>=<value>".
      std::string setting;
      if (arg.starts_with("--kafka.")) {
        setting = arg.substr(2);
      } else if (arg.starts_with("--kafka=")) {
        setting = "kafka." + arg.substr(8);
      } else if (arg == "--kafka") {
        if (i + 1 == unknown.size() || unknown[i + 1].starts_with("-")) {
          return Status::InvalidArgument(
              "--kafka: expected <librdkafka property>=<value> after it (see --help)");
        }
        setting = "kafka." + unknown[++i];
      }
      // "--kafka-file <property>=<path>", "--kafka-file=<property>=<path>":
      // the value is the file's content (a mounted secret).
      std::string file_setting;
      if (arg.starts_with("--kafka-file=")) {
        file_setting = arg.substr(13);
      } else if (arg == "--kafka-file") {
        if (i + 1 == unknown.size() || unknown[i + 1].starts_with("-")) {
          return Status::InvalidArgument(
              "--kafka-file: expected <librdkafka property>=<path> after it (see --help)");
        }
        file_setting = unknown[++i];
      }
      if (!file_setting.empty()) {
        const size_t eq = file_setting.find('=');
        if (eq == 0 || eq == std::string::npos || eq + 1 == file_setting.size()) {
          return Status::InvalidArgument("--kafka-file: expected <librdkafka property>=<path>, got \"" +
                                         file_setting + "\" (see --help)");
        }
        const std::string property = file_setting.substr(0, eq);
        auto value = ReadSecretFile(file_setting.substr(eq + 1), "--kafka-file " + property);
        if (!value.ok()) return value.status();
        line.kafka.Set(property, *value);
        continue;
      }
      if (!setting.empty()) {
        if (Status s = line.kafka.SetPassThrough(setting); !s.ok()) {
          // Only the name: the value may be a secret.
          return Status::InvalidArgument("--" + setting.substr(0, setting.find('=')) + ": " +
                                         s.message());
        }
        continue;
      }
    }
    // Only the name: a mistyped option's value may be a secret.
    const std::string name = arg.substr(0, arg.find('='));
    if (!arg.starts_with("-")) {
      return Status::InvalidArgument("unexpected argument \"" + name + "\" (see --help)");
    }
    return Status::InvalidArgument("unknown option \"" + name + "\" (see --help)");
  }
  return line;
}

}  // namespace eventflow::cli
