// ExitCode: the exit statuses every EventFlow tool uses (part of
// eventflow::cli_base, so that tools without Kafka share them too).
#pragma once

namespace eventflow::cli {

//! Exit statuses of every tool.
enum ExitCode : int {
  kExitOk = 0,       //!< success, or --help
  kExitFailure = 1,  //!< a failure while working (broker, database, I/O)
  kExitUsage = 2,    //!< a bad command line, setting or input, found before work started
};

}  // namespace eventflow::cli
