// Where the tests find the real services, and names that keep tests apart.
//
// The test command (scripts/test) starts a local Kafka broker and PostgreSQL
// cluster and exports their addresses; a developer running one test binary by
// hand gets the same defaults the scripts use. Every test builds its topic,
// group and schema names with UniqueName(), so tests never see each other's
// data and can run in any order or in parallel.
#pragma once

#include <string>
#include <string_view>

namespace eventflow::testing {

//! Bootstrap servers of the test broker: $EVENTFLOW_TEST_KAFKA, default "127.0.0.1:19092".
std::string KafkaBootstrap();

//! libpq connection URL of the test database: $EVENTFLOW_TEST_POSTGRES, default
//! "postgresql://analytics:secret@127.0.0.1:15432/analytics".
std::string PostgresUrl();

//! Returns "<prefix>-<pid>-<counter>-<random>": unique across processes and runs.
//! Only [a-z0-9_-] characters, so it is a valid topic, group and (with '-'
//! replaced) schema name.
std::string UniqueName(std::string_view prefix);

//! Directory of the built tool binaries (e.g. eventflow-produce), set at build time.
std::string ToolDir();

}  // namespace eventflow::testing
