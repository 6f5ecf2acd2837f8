// PgConnection and PgResult: the project's only door to libpq.
//
// Everything that talks to PostgreSQL goes through these two classes, and every
// libpq failure is translated into a Status in one place (pg_connection.cc):
//
//   connection refused, unreachable, timed out, lost; SQLSTATE class 08;
//   57P01..57P03 (server shutting down or starting); 53300 (too many connections)
//                                                    -> Unavailable
//   authentication failed (SQLSTATE class 28), database does not exist (3D000),
//   malformed connection string, TLS set-up failures (certificate not signed
//   by sslrootcert, or for another host; no root certificate file; server
//   without TLS under sslmode=require or stricter)   -> InvalidArgument
//   40001 serialization failure, 40P01 deadlock      -> Aborted (retry the transaction)
//   class 23 integrity violation, class 22 data exception -> InvalidArgument
//   57014 statement timeout or cancel                -> TimedOut
//   anything else                                    -> IOError
//
// Messages carry the SQLSTATE and the server's primary message (and its detail,
// if any). A connection's password never appears in a message: the target is
// always described through RedactConnInfo(), and libpq's own connection-time
// messages are scrubbed of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/core/status.h"

// libpq's handle types (PGconn, PGresult), declared here so that only
// pg_connection.cc includes libpq-fe.h.
struct pg_conn;
struct pg_result;

namespace eventflow::sinks {

//! Returns `url_or_conninfo` with every password replaced by "***": the
//! `user:password@` part of a `postgresql://` or `postgres://` URL, its
//! `password=` / `sslpassword=` query parameters, and the `password` and
//! `sslpassword` values of a `key=value` connection string (quoted or not).
//! Text that cannot be parsed from some point on is replaced by "***" from that
//! point, so a malformed string cannot leak a password. Anything else (e.g. a
//! plain database name) is returned unchanged.
std::string RedactConnInfo(std::string_view url_or_conninfo);

//! Returns `url_or_conninfo` with `user` and `password` appended when not
//! nullptr (the original EventFlow's POSTGRES_USER / POSTGRES_PASSWORD): as
//! percent-encoded query parameters of a `postgresql://` / `postgres://` URL,
//! else as quoted `key='value'` pairs. libpq lets a later setting win, so they
//! override the string's own user and password.
std::string WithCredentials(std::string url_or_conninfo, const char* user, const char* password);

//! Reads a password kept in a file (e.g. a mounted secret): the file's content
//! without one trailing line break ("\n" or "\r\n"). Returns InvalidArgument
//! naming `setting` (the flag or variable that named the file) and the path when
//! the file is missing, unreadable, empty or holds a NUL byte; the content never
//! appears in a message.
Result<std::string> ReadPasswordFile(const std::string& path, std::string_view setting);

//! The PostgreSQL password the tools use, by precedence: the file
//! `password_file` (their --postgres-password-file flag; nullptr when not
//! given), the file named by $POSTGRES_PASSWORD_FILE, $POSTGRES_PASSWORD.
//! Returns nullopt when none is set (a password in the URL then applies), or
//! ReadPasswordFile's error naming the flag or variable.
Result<std::optional<std::string>> PostgresPasswordSetting(const std::string* password_file);

//! The tools' PostgreSQL URL when neither --postgres-url nor $POSTGRES_URL is
//! given: the local cluster of scripts/postgres.
inline constexpr std::string_view kDefaultPostgresUrl =
    "postgresql://analytics:secret@127.0.0.1:15432/analytics";

//! What the tools connect to PostgreSQL with.
struct PostgresSetting {
  std::string url;                      //!< with $POSTGRES_USER and the password applied
  std::optional<std::string> password;  //!< the password applied, if any (for redaction)
};

//! The tools' PostgreSQL setting: `url` (their --postgres-url; nullptr when
//! not given), else $POSTGRES_URL, else kDefaultPostgresUrl, with
//! $POSTGRES_USER and PostgresPasswordSetting(`password_file`) applied
//! (WithCredentials). Returns PostgresPasswordSetting's error.
Result<PostgresSetting> PostgresUrlSetting(const std::string* url,
                                           const std::string* password_file);

//! The outcome of one statement: its rows, in libpq's text format.
//!
//! Owns its PGresult and frees it on destruction; movable, not copyable. Values
//! returned by Get() and ColumnName() point into the result and stay valid as
//! long as it lives. Immutable, so reading from several threads is safe.
class PgResult {
 public:
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;
  ~PgResult() = default;

  //! Number of rows returned (0 for statements that return none).
  int rows() const;
  //! Number of columns returned.
  int columns() const;
  //! True when the value at (row, column) is SQL NULL.
  bool IsNull(int row, int column) const;
  //! The value at (row, column) in text format; empty for NULL (use IsNull()).
  std::string_view Get(int row, int column) const;
  //! The name of the column, as the query labelled it.
  std::string_view ColumnName(int column) const;
  //! Rows affected by INSERT, UPDATE, DELETE, MERGE, COPY or returned by
  //! SELECT; 0 for other commands.
  int64_t AffectedRows() const;

 private:
  friend class PgConnection;
  struct Deleter {
    void operator()(pg_result* result) const;
  };
  explicit PgResult(pg_result* result) : result_(result) {}

  std::unique_ptr<pg_result, Deleter> result_;
};

//! One open connection to a PostgreSQL server.
//!
//! Lifecycle: Connect() opens it; the destructor closes it. A connection whose
//! server went away is not reopened: its calls return Unavailable, and the owner
//! connects again. Movable, not copyable.
//!
//! Thread-safety: none; use one connection per thread.
class PgConnection {
 public:
  //! Opens a connection. `url_or_conninfo` is anything libpq accepts
  //! (`postgresql://user:pw@host:port/db?...`, `host=... user=...`, or a database
  //! name). `connect_timeout` bounds the whole attempt (it replaces any
  //! connect_timeout in the string). The client encoding is always UTF8.
  //! Returns Unavailable when the server cannot be reached in time,
  //! InvalidArgument when the string is malformed, authentication or TLS set-up fails or the
  //! database does not exist.
  static Result<PgConnection> Connect(
      const std::string& url_or_conninfo,
      std::chrono::seconds connect_timeout = std::chrono::seconds(10));

  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;
  ~PgConnection() = default;

  //! Runs `sql`, which takes no parameters (DDL, BEGIN, COMMIT, SET; several
  //! statements separated by ';' run as one implicit transaction). Any rows are
  //! discarded. Returns OK or the translated error.
  Status Execute(std::string_view sql);

  //! Runs one parameterised statement: `$1`, `$2`, ... in `sql` take `params[0]`,
  //! `params[1]`, ... in text format; std::nullopt is SQL NULL. Values are never
  //! spliced into the SQL text. Returns the rows, or the translated error
  //! (InvalidArgument when a parameter holds a NUL byte, which PostgreSQL text
  //! cannot hold).
  Result<PgResult> Query(std::string_view sql,
                         std::span<const std::optional<std::string_view>> params);

  //! The connection target with its password redacted, for messages.
  const std::string& target() const { return target_; }

 private:
  struct Deleter {
    void operator()(pg_conn* conn) const;
  };
  PgConnection(pg_conn* conn, std::string target) : conn_(conn), target_(std::move(target)) {}

  std::unique_ptr<pg_conn, Deleter> conn_;
  std::string target_;
};

}  // namespace eventflow::sinks
