#include "eventflow/testing/private_services.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace eventflow::testing {

PrivateServices::PrivateServices(std::string run_dir, int kafka_port, int pg_port,
                                 std::vector<std::string> extra_env)
    : run_dir_(std::move(run_dir)), kafka_port_(kafka_port), pg_port_(pg_port) {
  env_ = {"EVENTFLOW_RUN_DIR=" + run_dir_,
          "EVENTFLOW_KAFKA_PORT=" + std::to_string(kafka_port_),
          "EVENTFLOW_KAFKA_CONTROLLER_PORT=" + std::to_string(kafka_port_ + 100),
          "EVENTFLOW_PG_PORT=" + std::to_string(pg_port_),
          "KAFKA_HEAP_OPTS=-Xms256m -Xmx768m"};
  for (std::string& extra : extra_env) {
    const std::string_view name = std::string_view(extra).substr(0, extra.find('=') + 1);
    std::erase_if(env_, [name](const std::string& e) { return e.starts_with(name); });
    env_.push_back(std::move(extra));
  }
}

Status PrivateServices::Start(bool with_postgres, int brokers) {
  brokers_ = brokers;
  Script("kafka", {"kill"});
  if (pg_port_ > 0) {
    Script("postgres", {"kill"});
    Script("postgres", {"clean"});
  }
  // Only the services' data: what tests keep under the run directory (e.g. a
  // failed test's logs) stays for reading.
  std::error_code ec;
  std::filesystem::remove_all(run_dir_ + "/kafka", ec);
  std::filesystem::remove_all(run_dir_ + "/postgres", ec);
  std::filesystem::create_directories(run_dir_);
  for (const char* name : {"kafka", "postgres"}) {
    if ((!with_postgres || pg_port_ <= 0) && std::string_view(name) == "postgres") continue;
    const bool kafka = std::string_view(name) == "kafka";
    const ProcessResult r =
        Script(name, kafka ? std::vector<std::string>{"start", "--brokers", std::to_string(brokers_)}
                           : std::vector<std::string>{"start"});
    if (r.exit_code != 0) {
      return Status::Unavailable(std::string("scripts/") + name + " start failed (exit " +
                                 std::to_string(r.exit_code) + "): " + r.err);
    }
  }
  // The test helpers (ReadAll, EndOffsets, ...) and ScopedSchema use these.
  ::setenv("EVENTFLOW_TEST_KAFKA", bootstrap().c_str(), 1);
  ::setenv("EVENTFLOW_TEST_POSTGRES", postgres_url().c_str(), 1);
  return Status::OK();
}

PrivateServices::~PrivateServices() {
  Script("kafka", {"stop"});
  if (pg_port_ > 0) Script("postgres", {"stop"});
  if (!::testing::Test::HasFailure()) {
    if (pg_port_ > 0) Script("postgres", {"clean"});
    std::error_code ec;
    std::filesystem::remove_all(run_dir_ + "/kafka", ec);
  }
}

std::string PrivateServices::bootstrap() const {
  std::string servers;
  for (int i = 0; i < brokers_; ++i) {
    if (i > 0) servers += ",";
    servers += "127.0.0.1:" + std::to_string(kafka_port_ + i);
  }
  return servers;
}

std::string PrivateServices::postgres_url() const {
  return "postgresql://analytics:secret@127.0.0.1:" + std::to_string(pg_port_) + "/analytics";
}

ProcessResult PrivateServices::Script(const std::string& name, std::vector<std::string> args) const {
  std::vector<std::string> argv = {std::string(EVENTFLOW_SOURCE_DIR) + "/scripts/" + name};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env_);
}

}  // namespace eventflow::testing
