// PrivateServices: a Kafka broker and a PostgreSQL cluster of one test's own,
// run by the project's scripts (scripts/kafka, scripts/postgres) in a run
// directory and on ports of the test's choosing, so that the test may restart,
// kill or reconfigure them (e.g. a broker that checks retention every second)
// without touching the shared test services.
//
// Lifecycle: Start() kills the services of an earlier run in the run
// directory and removes their data (other files there, such as a failed
// test's logs, stay), starts the broker (and PostgreSQL unless asked not to) afresh and
// points the test helpers at them (EVENTFLOW_TEST_KAFKA, EVENTFLOW_TEST_POSTGRES
// in this process's environment); the destructor stops both, and removes
// their data unless the test failed (kept for reading).
//
// Thread-safety: one test thread.
#pragma once

#include <string>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/testing/kafka_fixture.h"

namespace eventflow::testing {

class PrivateServices {
 public:
  //! Services in `run_dir`, Kafka on 127.0.0.1:`kafka_port` (controller port
  //! +100), PostgreSQL on `pg_port` (0: none; its scripts are never run).
  //! `extra_env` (NAME=value) is added to the scripts' environment, replacing
  //! what it names, e.g. "EVENTFLOW_KAFKA_PROPS=log.retention.check.interval.ms=1000"
  //! or "EVENTFLOW_KAFKA_CONTROLLER_PORT=29710".
  PrivateServices(std::string run_dir, int kafka_port, int pg_port,
                  std::vector<std::string> extra_env = {});
  ~PrivateServices();
  PrivateServices(const PrivateServices&) = delete;
  PrivateServices& operator=(const PrivateServices&) = delete;

  //! Starts the brokers (and PostgreSQL when `with_postgres`) afresh; returns
  //! Unavailable naming the script that failed and its error output.
  //! `brokers`: 1, or 3 (scripts/kafka start --brokers 3: node i listens on
  //! kafka_port + i - 1; replication factor 3 and min.insync.replicas 2 by
  //! default).
  Status Start(bool with_postgres = true, int brokers = 1);

  //! Returns the brokers' addresses, "127.0.0.1:<kafka_port>[,...]".
  std::string bootstrap() const;
  //! Returns the PostgreSQL URL (database analytics, user analytics).
  std::string postgres_url() const;
  //! Returns the run directory.
  const std::string& run_dir() const { return run_dir_; }

  //! Runs scripts/<name> with `args` in the services' environment and returns
  //! its exit code and output.
  ProcessResult Script(const std::string& name, std::vector<std::string> args) const;

 private:
  std::string run_dir_;
  int kafka_port_;
  int pg_port_;
  int brokers_ = 1;
  std::vector<std::string> env_;
};

}  // namespace eventflow::testing
