// Secrets kept in files (a mounted Kubernetes Secret, a Docker secret): the
// one reader the tools use for --postgres-password-file, $POSTGRES_PASSWORD_FILE
// and --kafka-file.
#pragma once

#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow {

//! Reads a secret kept in a file: the file's content without one trailing
//! line break ("\n" or "\r\n"). Returns InvalidArgument naming `setting` (the
//! flag or variable that named the file), the path and `what` ("password
//! file") when the file is missing, unreadable, empty or holds a NUL byte; the
//! content never appears in a message.
Result<std::string> ReadSecretFile(const std::string& path, std::string_view setting,
                                   std::string_view what = "secret file");

}  // namespace eventflow
