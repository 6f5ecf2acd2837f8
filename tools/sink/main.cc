// eventflow-sink: the exactly-once PostgreSQL sink of the EventFlow pipeline.
// A thin main over tools/sink/sink_tool.h.
#include "eventflow/cli/command_line.h"
#include "sink_tool.h"

int main(int argc, char** argv) {
  return eventflow::tools::RunSinkTool(eventflow::cli::Arguments(argc, argv));
}
