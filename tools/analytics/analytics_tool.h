// eventflow-analytics' command: flags and environment → the reports to run and
// their options (tools/analytics/include/eventflow/analytics/reports.h), then
// RunReports() on PostgreSQL and the report printed as a table, JSON or CSV.
//
// Exit codes (cli::ExitCode): 0 success, 2 a bad setting (named in the
// message), 1 a runtime failure (database unreachable, a table missing, a
// query failing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eventflow/analytics/format.h"
#include "eventflow/analytics/reports.h"
#include "eventflow/cli/tool.h"

namespace eventflow::tools {

//! What eventflow-analytics does, from its command line and environment.
struct AnalyticsSettings {
  std::vector<analytics::ReportKind> reports;  //!< --report
  analytics::AnalyticsOptions options;         //!< --top, --since, --until
  analytics::OutputFormat format = analytics::OutputFormat::kTable;  //!< --format
  std::string postgres_url;                    //!< with POSTGRES_USER/password applied
  std::optional<std::string> schema;           //!< --schema
};

//! The options of eventflow-analytics (its --help).
cli::po::options_description AnalyticsOptionsDescription();

//! Builds the settings from the parsed command line and the environment
//! (POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_PASSWORD_FILE;
//! flags win). The passwords it reads are handed to `tool` as secrets.
//! Returns InvalidArgument naming the first bad setting.
Result<AnalyticsSettings> AnalyticsSettingsFrom(const cli::CommandLine& line, cli::Tool* tool);

//! eventflow-analytics' main: returns its exit code.
int RunAnalyticsTool(const std::vector<std::string>& args);

}  // namespace eventflow::tools
