#include "eventflow/testing/test_env.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace eventflow::testing {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

}  // namespace

std::string KafkaBootstrap() { return EnvOr("EVENTFLOW_TEST_KAFKA", "127.0.0.1:19092"); }

std::string PostgresUrl() {
  return EnvOr("EVENTFLOW_TEST_POSTGRES",
               "postgresql://analytics:secret@127.0.0.1:15432/analytics");
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() & 0xffffffu;
  std::string out;
  for (char c : prefix) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(keep || (c >= 'a' && c <= 'z') ? c : '-');
  }
  out += "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         std::to_string(salt);
  return out;
}

std::string ToolDir() { return EnvOr("EVENTFLOW_TOOL_DIR", EVENTFLOW_DEFAULT_TOOL_DIR); }

}  // namespace eventflow::testing
