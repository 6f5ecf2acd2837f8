// eventflow-produce: the EventFlow event generator. A thin main over
// tools/produce/produce_tool.h (the traffic model: tools/generator/).
#include "eventflow/cli/command_line.h"
#include "produce_tool.h"

int main(int argc, char** argv) {
  return eventflow::tools::RunProduceTool(eventflow::cli::Arguments(argc, argv));
}
