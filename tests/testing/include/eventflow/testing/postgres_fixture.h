// ScopedSchema: a private, throw-away PostgreSQL schema for one test.
//
// Tests share the one test database (PostgresUrl()); each keeps its tables in a
// schema of its own so that tests never see each other's rows and can run in any
// order or in parallel.
#pragma once

#include <string>

#include "eventflow/sinks/pg_connection.h"
#include "eventflow/testing/test_env.h"

namespace eventflow::testing {

//! Creates a uniquely named schema on construction and drops it (CASCADE, with
//! everything in it) on destruction.
//!
//! Connections opened with url() use the schema by default (search_path), so
//! unqualified table names land in it. The constructor throws std::runtime_error
//! naming the cause when the schema cannot be created, which fails the test that
//! owns it. The destructor never throws: if the schema cannot be dropped (e.g.
//! the server was killed by a chaos test) it reconnects once, then reports the
//! leftover schema on stderr.
//!
//! Holds one open connection for its lifetime. Not copyable or movable; use from
//! one thread.
class ScopedSchema {
 public:
  //! Creates the schema in the database `base_url` points to.
  explicit ScopedSchema(std::string base_url = PostgresUrl());
  ~ScopedSchema();

  ScopedSchema(const ScopedSchema&) = delete;
  ScopedSchema& operator=(const ScopedSchema&) = delete;

  //! The schema's name: "t_<pid>_<counter>_<random>", a valid unquoted identifier.
  const std::string& name() const { return name_; }

  //! `base_url` with `options=-csearch_path=<name>` added, so that its
  //! connections use the schema by default (it replaces any `options` the base
  //! URL had).
  const std::string& url() const { return url_; }

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
  sinks::PgConnection admin_;
};

}  // namespace eventflow::testing
