// eventflow-state: reads the state stores of an EventFlow application without
// disturbing it. A thin main over tools/state/state_tool.h.
#include <iostream>
#include <string>
#include <vector>

#include "state_tool.h"

int main(int argc, char** argv) {
  return eventflow::tools::RunStateTool(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                        std::cerr);
}
