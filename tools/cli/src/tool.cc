#include "eventflow/cli/tool.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "eventflow/cli/values.h"
#include "eventflow/kafka/kafka_properties.h"

namespace eventflow::cli {

std::optional<CommandLine> Tool::Start(const std::vector<std::string>& args,
                                       const po::options_description& desc,
                                       const ParseOptions& options, int* exit_code) {
  AddSecretsFromArgs(args);
  auto line = ParseCommandLine(args, desc, options);
  if (!line.ok()) {
    *exit_code = Fail(line.status());
    return std::nullopt;
  }
  // Secret values read from files (--kafka-file) are redacted like those given inline.
  for (const auto& [key, value] : line->kafka.entries()) {
    if (kafka::IsSecretProperty(key)) AddSecret(value);
  }
  if (line->help()) {
    std::ostringstream help;
    help << desc << "\n";
    std::fwrite(help.str().data(), 1, help.str().size(), stdout);
    *exit_code = kExitOk;
    return std::nullopt;
  }
  if (Status s = ApplyLogLevel(line->values); !s.ok()) {
    *exit_code = Fail(s);
    return std::nullopt;
  }
  return std::move(*line);
}

void Tool::AddSecretsFromArgs(const std::vector<std::string>& args) {
  for (const std::string& full : args) {
    std::string_view arg = full;
    const size_t eq = arg.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = arg.substr(0, eq);
    while (key.starts_with("-")) key.remove_prefix(1);
    if (key.starts_with(kafka::kPassThroughPrefix)) {
      key.remove_prefix(kafka::kPassThroughPrefix.size());
    }
    // "--kafka sasl.password=x" and "--kafka=sasl.password=x" name the
    // property after "kafka" / "kafka=".
    if (key == "kafka") {
      const std::string_view rest = arg.substr(eq + 1);
      const size_t eq2 = rest.find('=');
      if (eq2 == std::string_view::npos) continue;
      key = rest.substr(0, eq2);
      arg = rest;
    }
    if (kafka::IsSecretProperty(key)) AddSecret(arg.substr(arg.find('=') + 1));
  }
}

void Tool::AddSecret(const char* value) {
  if (value != nullptr) AddSecret(std::string_view(value));
}

void Tool::AddSecret(std::string_view value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.emplace_back(value);
  // Longest first, so that a secret containing another is replaced whole.
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Tool::Redact(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) {
    for (size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + sizeof("[redacted]") - 1)) {
      out.replace(at, secret.size(), "[redacted]");
    }
  }
  return out;
}

void Tool::Message(std::string_view text) const {
  std::string line = name_ + ": " + Redact(text) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

int Tool::Fail(const Status& status) const {
  Message(status.message());
  return status.IsInvalidArgument() ? kExitUsage : kExitFailure;
}

int Tool::FailRunning(const Status& status) const {
  Message(status.message());
  return kExitFailure;
}

}  // namespace eventflow::cli
