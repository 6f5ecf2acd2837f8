#include "analytics_tool.h"

#include <cstdio>

#include "eventflow/cli/values.h"
#include "eventflow/core/time.h"
#include "eventflow/sinks/pg_connection.h"

namespace eventflow::tools {
namespace {

namespace po = cli::po;

std::string RatesHelp() {
  std::string help;
  for (const auto& rate : analytics::UsdRates()) {
    help += (help.empty() ? "" : ", ") + std::string(rate.currency) + " " + std::string(rate.usd);
  }
  return help;
}

}  // namespace

po::options_description AnalyticsOptionsDescription() {
  const std::string about =
      "eventflow-analytics: batch analytics over the EventFlow tables in PostgreSQL\n"
      "(orders_raw, conversion_funnel_5min), as written by eventflow-sink.\n\n"
      "Reports (--report):\n"
      "  revenue-by-currency  revenue, orders and average order value per currency\n"
      "                       (orders_raw; per currency, never converted), top N\n"
      "  conversion           orders / views overall and per user, top N users\n"
      "                       (conversion_funnel_5min: ratio of the summed counts;\n"
      "                       also the mean of the windows' conversion_rate)\n"
      "  revenue-by-hour      revenue and orders per UTC hour and currency (orders_raw)\n"
      "  segments             users by total spend: VIP > 1000, Premium > 500,\n"
      "                       Regular > 100, New otherwise, in US dollars converted\n"
      "                       exactly at fixed rates (" +
      RatesHelp() +
      "),\n"
      "                       plus the top N spenders\n"
      "  all                  every report (the default), from one snapshot\n\n"
      "--since/--until select orders by event_time and funnel windows by\n"
      "window_start, half-open: since <= t < until.\n\n"
      "Environment: POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_PASSWORD_FILE\n"
      "(user and password override the URL's; a password file wins over\n"
      "POSTGRES_PASSWORD). Flags override the environment. TLS: add\n"
      "sslmode=verify-full&sslrootcert=<CA file> to the URL.\n"
      "Exit codes: 0 ok, 2 bad setting, 1 runtime failure (e.g. a missing table).\n\n"
      "Options";
  po::options_description desc(about);
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("report", po::value<std::string>()->default_value("all"), "all, revenue-by-currency, conversion, revenue-by-hour or segments")
      ("top", po::value<int64_t>()->default_value(10), "rows of the ranked lists (top currencies, users, spenders)")
      ("format", po::value<std::string>()->default_value("table"), "table (aligned, for terminals), json or csv")
      ("postgres-url", po::value<std::string>(), "PostgreSQL URL or conninfo (default $POSTGRES_URL, else postgresql://analytics:secret@127.0.0.1:15432/analytics)")
      ("postgres-password-file", po::value<std::string>(), "read the PostgreSQL password from this file, without its trailing line break (default $POSTGRES_PASSWORD_FILE); overrides POSTGRES_PASSWORD and the URL's")
      ("schema", po::value<std::string>(), "read the tables from this schema (sets search_path)")
      ("since", po::value<std::string>(), "first instant included, RFC 3339 UTC (e.g. 2025-11-30T00:00:00Z)")
      ("until", po::value<std::string>(), "first instant excluded, RFC 3339 UTC");
  // clang-format on
  return desc;
}

Result<AnalyticsSettings> AnalyticsSettingsFrom(const cli::CommandLine& line, cli::Tool* tool) {
  const po::variables_map& vm = line.values;
  AnalyticsSettings s;
  auto reports = analytics::ParseReports(vm["report"].as<std::string>(), "--report");
  if (!reports.ok()) return reports.status();
  s.reports = std::move(*reports);
  auto format = analytics::ParseOutputFormat(vm["format"].as<std::string>(), "--format");
  if (!format.ok()) return format.status();
  s.format = *format;
  s.options.top = vm["top"].as<int64_t>();
  for (const char* flag : {"since", "until"}) {
    if (!vm.count(flag)) continue;
    auto ms = ParseTimestampMillis(vm[flag].as<std::string>());
    if (!ms.ok()) return ms.status().WithContext("--" + std::string(flag));
    (std::string_view(flag) == "since" ? s.options.since_ms : s.options.until_ms) = *ms;
  }
  EVENTFLOW_RETURN_IF_ERROR(s.options.Validate());
  if (vm.count("schema")) {
    s.schema = vm["schema"].as<std::string>();
    EVENTFLOW_RETURN_IF_ERROR(cli::CheckNotEmpty("--schema", *s.schema));
  }
  auto postgres = sinks::PostgresUrlSetting(cli::FlagIfGiven(vm, "postgres-url"),
                                            cli::FlagIfGiven(vm, "postgres-password-file"));
  if (!postgres.ok()) return postgres.status();
  if (postgres->password) tool->AddSecret(*postgres->password);
  s.postgres_url = std::move(postgres->url);
  return s;
}

int RunAnalyticsTool(const std::vector<std::string>& args) {
  cli::Tool tool("eventflow-analytics");
  int exit_code = cli::kExitOk;
  const po::options_description desc = AnalyticsOptionsDescription();
  auto line = tool.Start(args, desc, {}, &exit_code);
  if (!line) return exit_code;
  auto settings = AnalyticsSettingsFrom(*line, &tool);
  if (!settings.ok()) return tool.Fail(settings.status());

  auto conn = sinks::PgConnection::Connect(settings->postgres_url);
  if (!conn.ok()) return tool.Fail(conn.status());
  if (settings->schema) {
    if (Status s = analytics::UseSchema(*conn, *settings->schema); !s.ok()) return tool.Fail(s);
  }
  auto report = analytics::RunReports(*conn, settings->reports, settings->options);
  if (!report.ok()) return tool.Fail(report.status());
  for (const std::string& note : report->notes) tool.Message("note: " + note);
  const std::string out = analytics::FormatReport(*report, settings->format);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    return tool.FailRunning(Status::IOError("cannot write to stdout"));
  }
  return cli::kExitOk;
}

}  // namespace eventflow::tools
