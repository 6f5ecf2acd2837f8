// eventflow: runs the EventFlow streaming application (topologies/). A thin
// main over tools/eventflow/eventflow_tool.h (`eventflow run|describe|topologies|state-lag`).
#include "eventflow/cli/command_line.h"
#include "eventflow_tool.h"

int main(int argc, char** argv) {
  return eventflow::tools::RunEventflowTool(eventflow::cli::Arguments(argc, argv));
}
