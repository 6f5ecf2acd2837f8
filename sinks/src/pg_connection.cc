#include "eventflow/sinks/pg_connection.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "eventflow/core/secret_file.h"

namespace eventflow::sinks {
namespace {

// ---------------------------------------------------------------------------
// Finding passwords in connection strings. The grammar follows libpq's
// conninfo_parse() and conninfo_uri_parse_options(), erring towards hiding more.

enum class Encoding { kPercent, kConnInfo, kRaw };

struct SecretSpan {
  size_t begin;
  size_t end;
  Encoding encoding;
};

bool IsSecretKey(std::string_view key) { return key == "password" || key == "sslpassword"; }

bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

size_t UriPrefixLength(std::string_view s) {
  for (std::string_view prefix : {"postgresql://", "postgres://"}) {
    if (s.starts_with(prefix)) return prefix.size();
  }
  return 0;
}

// libpq treats a string as a connection string (rather than a database name)
// when it is a URI or contains '='.
bool IsConnectionString(std::string_view s) {
  return UriPrefixLength(s) != 0 || s.find('=') != std::string_view::npos;
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string ConnInfoUnescape(std::string_view s) {
  if (!s.empty() && s.front() == '\'') {
    s.remove_prefix(1);
    if (!s.empty() && s.back() == '\'') s.remove_suffix(1);
  }
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

void FindUriSecrets(std::string_view s, size_t prefix_length, std::vector<SecretSpan>& spans) {
  // libpq ends the credentials at the first '@' or '/'; using the last '@'
  // also hides a password holding an unencoded '@', '/' or '?'.
  size_t query_from = prefix_length;
  const size_t at = s.rfind('@');
  if (at != std::string_view::npos && at >= prefix_length) {
    const size_t colon = s.find(':', prefix_length);
    if (colon < at) spans.push_back({colon + 1, at, Encoding::kPercent});
    query_from = at + 1;
  }
  size_t pos = s.find('?', query_from);
  if (pos == std::string_view::npos) return;
  ++pos;
  while (pos <= s.size()) {
    size_t end = s.find('&', pos);
    if (end == std::string_view::npos) end = s.size();
    const size_t eq = s.find('=', pos);
    if (eq < end && IsSecretKey(PercentDecode(s.substr(pos, eq - pos)))) {
      spans.push_back({eq + 1, end, Encoding::kPercent});
    }
    pos = end + 1;
  }
}

void FindConnInfoSecrets(std::string_view s, std::vector<SecretSpan>& spans) {
  size_t i = 0;
  const size_t n = s.size();
  auto skip_space = [&] {
    while (i < n && IsSpace(s[i])) ++i;
  };
  while (true) {
    skip_space();
    if (i == n) return;
    const size_t key_begin = i;
    while (i < n && s[i] != '=' && !IsSpace(s[i])) ++i;
    const std::string_view key = s.substr(key_begin, i - key_begin);
    skip_space();
    if (i == n || s[i] != '=') {  // malformed: hide everything from here on
      spans.push_back({key_begin, n, Encoding::kRaw});
      return;
    }
    ++i;
    skip_space();
    const size_t value_begin = i;
    if (i < n && s[i] == '\'') {
      bool closed = false;
      for (++i; i < n; ++i) {
        if (s[i] == '\\') {
          ++i;
        } else if (s[i] == '\'') {
          closed = true;
          ++i;
          break;
        }
      }
      if (!closed) {  // an open quote swallows the rest, whatever its key
        spans.push_back({value_begin, n, Encoding::kRaw});
        return;
      }
    } else {
      while (i < n && !IsSpace(s[i])) i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    }
    i = std::min(i, n);
    if (IsSecretKey(key)) spans.push_back({value_begin, i, Encoding::kConnInfo});
  }
}

std::vector<SecretSpan> FindSecrets(std::string_view s) {
  std::vector<SecretSpan> spans;
  if (const size_t prefix = UriPrefixLength(s); prefix != 0) {
    FindUriSecrets(s, prefix, spans);
  } else if (IsConnectionString(s)) {
    FindConnInfoSecrets(s, spans);
  }
  return spans;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// libpq echoes parts of a malformed connection string in its messages: hide the
// string itself and every form of its passwords.
std::string Scrub(std::string message, std::string_view conninfo) {
  if (!conninfo.empty()) ReplaceAll(message, conninfo, RedactConnInfo(conninfo));
  std::vector<std::string> secrets;
  for (const SecretSpan& span : FindSecrets(conninfo)) {
    const std::string_view raw = conninfo.substr(span.begin, span.end - span.begin);
    secrets.emplace_back(raw);
    if (span.encoding == Encoding::kPercent) secrets.push_back(PercentDecode(raw));
    if (span.encoding == Encoding::kConnInfo) secrets.push_back(ConnInfoUnescape(raw));
  }
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) ReplaceAll(message, secret, "***");
  return message;
}

// ---------------------------------------------------------------------------
// Error translation: the one place where libpq outcomes become Status codes.

StatusCode CodeFor(std::string_view sqlstate, bool connection_lost) {
  // A connection that is gone must be reopened, whatever the server said last.
  if (connection_lost) return StatusCode::kUnavailable;
  if (sqlstate.size() != 5) return StatusCode::kIOError;  // a client-side failure
  const std::string_view sql_class = sqlstate.substr(0, 2);
  if (sql_class == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate == "53300") {
    return StatusCode::kUnavailable;
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return StatusCode::kAborted;
  if (sql_class == "23" || sql_class == "22" || sql_class == "28" || sqlstate == "3D000") {
    return StatusCode::kInvalidArgument;
  }
  if (sqlstate == "57014") return StatusCode::kTimedOut;
  return StatusCode::kIOError;
}

// One line: line breaks and tabs become single spaces, no trailing space.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = IsSpace(c);
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The statement as it appears in messages: one line, at most 80 bytes.
std::string Snippet(std::string_view sql) {
  constexpr size_t kMax = 80;
  std::string line = OneLine(sql);
  if (line.size() <= kMax) return line;
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  line.resize(cut);
  return line + "...";
}

bool IsSqlStateChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

// Connection-time errors carry their SQLSTATE only in verbose text
// ("FATAL:  28P01: password authentication failed ..."). Returns the SQLSTATE
// and removes it (and LOCATION lines) from `message`.
std::string TakeSqlState(std::string& message) {
  std::string sqlstate;
  for (size_t pos = message.find(":  "); pos != std::string::npos;
       pos = message.find(":  ", pos + 1)) {
    const size_t code = pos + 3;
    if (code + 6 > message.size() || message[code + 5] != ':') continue;
    if (!std::all_of(message.begin() + code, message.begin() + code + 5, IsSqlStateChar)) continue;
    if (sqlstate.empty()) sqlstate = message.substr(code, 5);
    message.erase(code, 6 + (code + 6 < message.size() && message[code + 6] == ' ' ? 1 : 0));
  }
  std::string kept;
  size_t begin = 0;
  while (begin < message.size()) {
    size_t end = message.find('\n', begin);
    if (end == std::string::npos) end = message.size();
    const std::string_view line = std::string_view(message).substr(begin, end - begin);
    if (!line.starts_with("LOCATION:")) kept.append(line).push_back('\n');
    begin = end + 1;
  }
  message = std::move(kept);
  return sqlstate;
}

std::string OrEmpty(const char* s) { return s != nullptr ? s : ""; }

// libpq's client-side TLS failures that retrying cannot cure (libpq has no
// codes for them, only these messages of libpq 15): a certificate the root CA
// did not sign, one for another host, a missing root certificate file, or a
// server without TLS when sslmode requires it. (A TLS connection cut by a
// server restart, "SSL SYSCALL error", is not among them.)
bool IsTlsSetupFailure(std::string_view message) {
  for (std::string_view needle :
       {"certificate verify failed", "does not match host name", "root certificate file",
        "server does not support SSL", "could not read certificate file",
        "certificate present, but not private key file", "private key file"}) {
    if (message.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

Status ConnectError(PGconn* conn, std::string_view conninfo, const std::string& target) {
  std::string message = Scrub(OrEmpty(PQerrorMessage(conn)), conninfo);
  const std::string sqlstate = TakeSqlState(message);
  message = OneLine(message);
  const std::string where = OrEmpty(PQhost(conn)) + ":" + OrEmpty(PQport(conn));
  const std::string user = OrEmpty(PQuser(conn));
  if (PQconnectionNeedsPassword(conn)) {
    return Status::InvalidArgument("authentication failed for user \"" + user + "\" at " + where +
                                   ": the server asked for a password and none was given");
  }
  if (sqlstate.starts_with("28")) {
    return Status::InvalidArgument("authentication failed for user \"" + user + "\" at " + where +
                                   ": SQLSTATE " + sqlstate + ": " + message);
  }
  if (sqlstate.empty() && IsTlsSetupFailure(message)) {
    return Status::InvalidArgument("TLS to PostgreSQL at " + target +
                                   " failed (check sslmode, sslrootcert and that the server's "
                                   "certificate names the host): " + message);
  }
  const StatusCode code = sqlstate.empty() ? StatusCode::kUnavailable : CodeFor(sqlstate, false);
  std::string text = "cannot connect to PostgreSQL at " + target + ": ";
  if (!sqlstate.empty()) text += "SQLSTATE " + sqlstate + ": ";
  return Status(code, text + message);
}

Status ResultError(PGconn* conn, const PGresult* result, std::string_view sql) {
  const bool lost = PQstatus(conn) == CONNECTION_BAD;
  std::string text = "statement \"" + Snippet(sql) + "\" failed: ";
  if (result == nullptr) {
    return Status(CodeFor("", lost), text + OneLine(OrEmpty(PQerrorMessage(conn))));
  }
  const std::string sqlstate = OrEmpty(PQresultErrorField(result, PG_DIAG_SQLSTATE));
  std::string primary = OrEmpty(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  if (primary.empty()) primary = OrEmpty(PQresultErrorMessage(result));
  const std::string detail = OrEmpty(PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL));
  if (!sqlstate.empty()) text += "SQLSTATE " + sqlstate + ": ";
  text += OneLine(primary);
  if (!detail.empty()) text += " (" + OneLine(detail) + ")";
  return Status(CodeFor(sqlstate, lost), std::move(text));
}

// Returns OK when the socket is ready for reading (or writing), Unavailable at
// the deadline.
Status WaitForSocket(PGconn* conn, bool for_read, std::chrono::steady_clock::time_point deadline,
                     std::chrono::seconds timeout) {
  const int fd = PQsocket(conn);
  if (fd < 0) return Status::Unavailable("libpq has no socket");
  while (true) {
    const auto remaining =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      return Status::Unavailable("timed out after " + std::to_string(timeout.count()) + "s");
    }
    pollfd pfd{fd, static_cast<short>(for_read ? POLLIN : POLLOUT), 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(remaining.count()));
    if (rc > 0) return Status::OK();
    if (rc < 0 && errno != EINTR) return Status::IOError(std::string("poll: ") + strerror(errno));
  }
}

// A statement that started COPY would leave the connection unusable: end the
// copy, then drain the results.
void AbandonCopy(PGconn* conn, ExecStatusType status) {
  if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH) {
    PQputCopyEnd(conn, "COPY is not supported through PgConnection");
  }
  if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
    char* buffer = nullptr;
    while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
  }
  while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
}

bool IsCopy(ExecStatusType status) {
  return status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH;
}

// Notices (e.g. "drop cascades to ...") would go to stderr by default; the
// library has no logger to send them to yet.
void IgnoreNotice(void* /*arg*/, const PGresult* /*result*/) {}

}  // namespace

std::string RedactConnInfo(std::string_view url_or_conninfo) {
  std::string out;
  size_t copied = 0;
  for (const SecretSpan& span : FindSecrets(url_or_conninfo)) {
    out.append(url_or_conninfo.substr(copied, span.begin - copied)).append("***");
    copied = span.end;
  }
  out.append(url_or_conninfo.substr(copied));
  return out;
}

// --- PgResult ----------------------------------------------------------------

void PgResult::Deleter::operator()(pg_result* result) const { PQclear(result); }

int PgResult::rows() const { return PQntuples(result_.get()); }

int PgResult::columns() const { return PQnfields(result_.get()); }

bool PgResult::IsNull(int row, int column) const {
  assert(row >= 0 && row < rows() && column >= 0 && column < columns());
  return PQgetisnull(result_.get(), row, column) == 1;
}

std::string_view PgResult::Get(int row, int column) const {
  assert(row >= 0 && row < rows() && column >= 0 && column < columns());
  const char* value = PQgetvalue(result_.get(), row, column);
  if (value == nullptr) return {};
  return {value, static_cast<size_t>(PQgetlength(result_.get(), row, column))};
}

std::string_view PgResult::ColumnName(int column) const {
  assert(column >= 0 && column < columns());
  const char* name = PQfname(result_.get(), column);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

int64_t PgResult::AffectedRows() const {
  const char* text = PQcmdTuples(result_.get());  // "" when there is no count
  if (text == nullptr) return 0;
  const char* end = text + std::strlen(text);
  int64_t count = 0;
  std::from_chars(text, end, count);
  return count;
}

// --- PgConnection ------------------------------------------------------------

void PgConnection::Deleter::operator()(pg_conn* conn) const { PQfinish(conn); }

Result<PgConnection> PgConnection::Connect(const std::string& url_or_conninfo,
                                           std::chrono::seconds connect_timeout) {
  std::string target = RedactConnInfo(url_or_conninfo);
  if (IsConnectionString(url_or_conninfo)) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url_or_conninfo.c_str(), &error);
    if (options == nullptr) {
      std::string message = error != nullptr ? error : "out of memory";
      PQfreemem(error);
      return Status::InvalidArgument("invalid PostgreSQL connection string \"" + target +
                                     "\": " + OneLine(Scrub(message, url_or_conninfo)));
    }
    PQconninfoFree(options);
  }

  // Later keywords override what the string sets.
  const char* const keywords[] = {"dbname", "client_encoding", nullptr};
  const char* const values[] = {url_or_conninfo.c_str(), "UTF8", nullptr};
  std::unique_ptr<pg_conn, Deleter> conn(PQconnectStartParams(keywords, values, 1));
  if (conn == nullptr) return Status::Unavailable("libpq cannot allocate a connection");
  PGconn* raw = conn.get();
  // Verbose messages carry the SQLSTATE of connection-time errors (e.g. 28P01).
  PQsetErrorVerbosity(raw, PQERRORS_VERBOSE);

  const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
  PostgresPollingStatusType poll_status =
      PQstatus(raw) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (poll_status != PGRES_POLLING_OK) {
    if (poll_status == PGRES_POLLING_FAILED) return ConnectError(raw, url_or_conninfo, target);
    Status ready =
        WaitForSocket(raw, poll_status == PGRES_POLLING_READING, deadline, connect_timeout);
    if (!ready.ok()) return ready.WithContext("cannot connect to PostgreSQL at " + target);
    poll_status = PQconnectPoll(raw);
  }
  PQsetErrorVerbosity(raw, PQERRORS_DEFAULT);
  PQsetNoticeReceiver(raw, IgnoreNotice, nullptr);
  return PgConnection(conn.release(), std::move(target));
}

Status PgConnection::Execute(std::string_view sql) {
  if (conn_ == nullptr) return Status::Internal("PgConnection used after being moved from");
  const std::string statement(sql);
  PgResult result(PQexec(conn_.get(), statement.c_str()));
  const ExecStatusType status = PQresultStatus(result.result_.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return Status::OK();
  }
  if (IsCopy(status)) {
    AbandonCopy(conn_.get(), status);
    return Status::InvalidArgument("statement \"" + Snippet(sql) +
                                   "\" failed: COPY is not supported through PgConnection");
  }
  return ResultError(conn_.get(), result.result_.get(), sql);
}

Result<PgResult> PgConnection::Query(std::string_view sql,
                                     std::span<const std::optional<std::string_view>> params) {
  if (conn_ == nullptr) return Status::Internal("PgConnection used after being moved from");
  constexpr size_t kMaxParams = 65535;  // the protocol's limit
  if (params.size() > kMaxParams) {
    return Status::InvalidArgument("statement \"" + Snippet(sql) + "\" has " +
                                   std::to_string(params.size()) + " parameters; at most " +
                                   std::to_string(kMaxParams) + " are allowed");
  }
  // Text-format parameters travel as NUL-terminated strings.
  std::vector<std::string> storage;
  storage.reserve(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].has_value()) continue;
    if (params[i]->find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("parameter $" + std::to_string(i + 1) + " of statement \"" +
                                     Snippet(sql) +
                                     "\" contains a NUL byte, which PostgreSQL text cannot hold");
    }
    values[i] = storage.emplace_back(*params[i]).c_str();
  }
  const std::string statement(sql);
  PgResult result(PQexecParams(conn_.get(), statement.c_str(), static_cast<int>(params.size()),
                               /*paramTypes=*/nullptr, values.data(), /*paramLengths=*/nullptr,
                               /*paramFormats=*/nullptr, /*resultFormat=*/0));
  const ExecStatusType status = PQresultStatus(result.result_.get());
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return result;
  if (IsCopy(status)) {
    AbandonCopy(conn_.get(), status);
    return Status::InvalidArgument("statement \"" + Snippet(sql) +
                                   "\" failed: COPY is not supported through PgConnection");
  }
  return ResultError(conn_.get(), result.result_.get(), sql);
}

Result<std::string> ReadPasswordFile(const std::string& path, std::string_view setting) {
  return ReadSecretFile(path, setting, "password file");
}

Result<std::optional<std::string>> PostgresPasswordSetting(const std::string* password_file) {
  auto from_file = [](const std::string& path,
                      std::string_view setting) -> Result<std::optional<std::string>> {
    auto password = ReadPasswordFile(path, setting);
    if (!password.ok()) return password.status();
    return std::optional<std::string>(std::move(*password));
  };
  if (password_file != nullptr) return from_file(*password_file, "--postgres-password-file");
  const char* file = std::getenv("POSTGRES_PASSWORD_FILE");
  if (file != nullptr && *file != '\0') return from_file(file, "POSTGRES_PASSWORD_FILE");
  const char* password = std::getenv("POSTGRES_PASSWORD");
  if (password != nullptr && *password != '\0') return std::optional<std::string>(password);
  return std::optional<std::string>();
}

Result<PostgresSetting> PostgresUrlSetting(const std::string* url,
                                           const std::string* password_file) {
  PostgresSetting setting;
  const char* env_url = std::getenv("POSTGRES_URL");
  setting.url = url != nullptr                              ? *url
                : (env_url != nullptr && *env_url != '\0') ? std::string(env_url)
                                                           : std::string(kDefaultPostgresUrl);
  auto password = PostgresPasswordSetting(password_file);
  if (!password.ok()) return password.status();
  setting.password = std::move(*password);
  const char* user = std::getenv("POSTGRES_USER");
  setting.url = WithCredentials(std::move(setting.url),
                                (user != nullptr && *user != '\0') ? user : nullptr,
                                setting.password ? setting.password->c_str() : nullptr);
  return setting;
}

std::string WithCredentials(std::string url, const char* user, const char* password) {
  const bool is_uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
  auto add = [&](std::string_view key, const char* value) {
    if (value == nullptr) return;
    if (is_uri) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      url += (url.find('?') == std::string::npos ? '?' : '&');
      url += key;
      url += '=';
      for (unsigned char c : std::string_view(value)) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          url.push_back(static_cast<char>(c));
        } else {
          url += {'%', kHex[c >> 4], kHex[c & 15]};
        }
      }
    } else {
      url += ' ';
      url += key;
      url += "='";
      for (char c : std::string_view(value)) {
        if (c == '\'' || c == '\\') url.push_back('\\');
        url.push_back(c);
      }
      url += '\'';
    }
  };
  add("user", user);
  add("password", password);
  return url;
}

}  // namespace eventflow::sinks
