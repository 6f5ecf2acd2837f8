// eventflow-analytics: the batch analytics of the EventFlow pipeline over the
// sink's PostgreSQL tables (tools/analytics/include/eventflow/analytics/reports.h).
// A thin main: flags and environment → AnalyticsOptions, RunReports(), print.
//
// Exit codes: 0 success, 2 a bad setting (named in the message), 1 a runtime
// failure (database unreachable, a table missing, a query failing).
#include <boost/program_options.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "eventflow/analytics/format.h"
#include "eventflow/analytics/reports.h"
#include "eventflow/core/time.h"
#include "eventflow/sinks/pg_connection.h"

namespace po = boost::program_options;
using eventflow::Status;

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "eventflow-analytics: %s\n", status.message().c_str());
  return status.IsInvalidArgument() ? 2 : 1;
}

std::string RatesHelp() {
  std::string help;
  for (const auto& rate : eventflow::analytics::UsdRates()) {
    help += (help.empty() ? "" : ", ") + std::string(rate.currency) + " " + std::string(rate.usd);
  }
  return help;
}

}  // namespace

int main(int argc, char** argv) {
  namespace analytics = eventflow::analytics;
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

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "eventflow-analytics: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }

  auto reports = analytics::ParseReports(vm["report"].as<std::string>(), "--report");
  if (!reports.ok()) return Fail(reports.status());
  auto format = analytics::ParseOutputFormat(vm["format"].as<std::string>(), "--format");
  if (!format.ok()) return Fail(format.status());
  analytics::AnalyticsOptions options;
  options.top = vm["top"].as<int64_t>();
  for (const char* flag : {"since", "until"}) {
    if (!vm.count(flag)) continue;
    auto ms = eventflow::ParseTimestampMillis(vm[flag].as<std::string>());
    if (!ms.ok()) return Fail(ms.status().WithContext("--" + std::string(flag)));
    (std::string_view(flag) == "since" ? options.since_ms : options.until_ms) = *ms;
  }
  if (Status s = options.Validate(); !s.ok()) return Fail(s);
  if (vm.count("schema") && vm["schema"].as<std::string>().empty()) {
    return Fail(Status::InvalidArgument("--schema: must not be empty"));
  }

  std::string url = "postgresql://analytics:secret@127.0.0.1:15432/analytics";
  if (vm.count("postgres-url")) {
    url = vm["postgres-url"].as<std::string>();
  } else if (const char* env = Env("POSTGRES_URL")) {
    url = env;
  }
  auto password = eventflow::sinks::PostgresPasswordSetting(
      vm.count("postgres-password-file") ? &vm["postgres-password-file"].as<std::string>()
                                         : nullptr);
  if (!password.ok()) return Fail(password.status());
  auto conn = eventflow::sinks::PgConnection::Connect(eventflow::sinks::WithCredentials(
      url, Env("POSTGRES_USER"), password->has_value() ? (*password)->c_str() : nullptr));
  if (!conn.ok()) return Fail(conn.status());
  if (vm.count("schema")) {
    if (Status s = analytics::UseSchema(*conn, vm["schema"].as<std::string>()); !s.ok()) {
      return Fail(s);
    }
  }
  auto report = analytics::RunReports(*conn, *reports, options);
  if (!report.ok()) return Fail(report.status());
  for (const std::string& note : report->notes) {
    std::fprintf(stderr, "eventflow-analytics: note: %s\n", note.c_str());
  }
  const std::string out = analytics::FormatReport(*report, *format);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "eventflow-analytics: cannot write to stdout\n");
    return 1;
  }
  return 0;
}
