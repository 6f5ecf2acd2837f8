// Tool: what every EventFlow command-line tool does the same way — its exit
// codes, and the one path by which its messages reach the user, with every
// secret it was given scrubbed out.
//
// Secrets: a tool learns the secret values it was given — from its command
// line (AddSecretsFromArgs: the value of any "<key>=<value>" argument whose
// key, without leading dashes and a "kafka." prefix, names a secret
// property, however misspelt the option is), from the environment
// (AddSecret(getenv("POSTGRES_PASSWORD"))) or from files it read — and
// Message()/Fail() replace each occurrence of one in any text with
// "[redacted]", whoever wrote that text (the tool, a library, Boost).
//
// Lifecycle: one per process, made first thing in main. Thread-safety: the
// secret list is written during start-up only; Message() may then be called
// from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/cli/command_line.h"
#include "eventflow/cli/exit_code.h"
#include "eventflow/core/status.h"

namespace eventflow::cli {

class Tool {
 public:
  //! `name` prefixes every message ("eventflow-sink").
  explicit Tool(std::string name) : name_(std::move(name)) {}

  //! Returns the tool's name.
  const std::string& name() const { return name_; }

  //! The start every tool makes: remembers the secrets among `args`, parses
  //! them against `desc` and applies the log level (--log-level, else
  //! $EVENTFLOW_LOG_LEVEL). Returns the command line; or, after printing
  //! `desc` to stdout for --help, nullopt with *exit_code = kExitOk; or, after
  //! printing the error, nullopt with *exit_code = kExitUsage.
  std::optional<CommandLine> Start(const std::vector<std::string>& args,
                                   const po::options_description& desc, const ParseOptions& options,
                                   int* exit_code);

  //! Remembers the secret values among `args` (see class comment).
  void AddSecretsFromArgs(const std::vector<std::string>& args);

  //! Remembers `value` as a secret; nullptr and "" are ignored.
  void AddSecret(const char* value);
  void AddSecret(std::string_view value);

  //! Returns `text` with every remembered secret replaced by "[redacted]".
  std::string Redact(std::string_view text) const;

  //! Writes "<name>: <text>" and a newline to stderr, redacted.
  void Message(std::string_view text) const;

  //! Writes the status's message and returns kExitUsage for InvalidArgument
  //! (a bad setting, input or credential), else kExitFailure.
  int Fail(const Status& status) const;

  //! Writes the status's message and returns kExitFailure whatever the code
  //! (for failures after work started).
  int FailRunning(const Status& status) const;

 private:
  std::string name_;
  std::vector<std::string> secrets_;  // longest first
};

}  // namespace eventflow::cli
