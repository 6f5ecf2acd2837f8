// eventflow-analytics: the batch analytics of the EventFlow pipeline over the
// sink's PostgreSQL tables. A thin main over tools/analytics/analytics_tool.h.
#include "analytics_tool.h"
#include "eventflow/cli/command_line.h"

int main(int argc, char** argv) {
  return eventflow::tools::RunAnalyticsTool(eventflow::cli::Arguments(argc, argv));
}
