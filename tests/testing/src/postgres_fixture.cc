#include "eventflow/testing/postgres_fixture.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace eventflow::testing {
namespace {

std::string SchemaName() {
  std::string name = UniqueName("t");
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// Adds the search_path option in the syntax of the base: URL query parameter
// ('=' percent-encoded) or key=value pair.
std::string WithSearchPath(const std::string& base_url, const std::string& schema) {
  const bool is_uri = base_url.starts_with("postgresql://") || base_url.starts_with("postgres://");
  if (is_uri) {
    const char separator = base_url.find('?') == std::string::npos ? '?' : '&';
    return base_url + separator + "options=-csearch_path%3D" + schema;
  }
  return base_url + " options='-csearch_path=" + schema + "'";
}

sinks::PgConnection ConnectOrThrow(const std::string& url) {
  Result<sinks::PgConnection> conn = sinks::PgConnection::Connect(url);
  if (!conn.ok()) throw std::runtime_error("ScopedSchema: " + conn.status().ToString());
  return std::move(conn).value();
}

}  // namespace

ScopedSchema::ScopedSchema(std::string base_url)
    : base_url_(std::move(base_url)),
      name_(SchemaName()),
      url_(WithSearchPath(base_url_, name_)),
      admin_(ConnectOrThrow(base_url_)) {
  Status created = admin_.Execute("CREATE SCHEMA \"" + name_ + "\"");
  if (!created.ok()) throw std::runtime_error("ScopedSchema: " + created.ToString());
}

ScopedSchema::~ScopedSchema() {
  const std::string drop = "DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE";
  Status dropped = admin_.Execute(drop);
  if (!dropped.ok()) {  // e.g. the server restarted under a chaos test: try once more
    Result<sinks::PgConnection> again = sinks::PgConnection::Connect(base_url_);
    dropped = again.ok() ? again->Execute(drop) : again.status();
  }
  if (!dropped.ok()) {
    std::fprintf(stderr, "ScopedSchema: leaving schema %s behind: %s\n", name_.c_str(),
                 dropped.ToString().c_str());
  }
}

}  // namespace eventflow::testing
