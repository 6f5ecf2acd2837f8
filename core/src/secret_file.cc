#include "eventflow/core/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace eventflow {

Result<std::string> ReadSecretFile(const std::string& path, std::string_view setting,
                                   std::string_view what) {
  const std::string where = std::string(what) + " " + std::string(setting) + ": \"" + path + "\"";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read the " + where + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("cannot read the " + where);
  std::string secret = std::move(content).str();
  if (secret.ends_with('\n')) secret.pop_back();
  if (secret.ends_with('\r')) secret.pop_back();
  if (secret.empty()) return Status::InvalidArgument("the " + where + " is empty");
  if (secret.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the " + where + " holds a NUL byte");
  }
  return secret;
}

}  // namespace eventflow
