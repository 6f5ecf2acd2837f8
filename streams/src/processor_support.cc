// The non-template halves of the DSL processors' shared helpers
// (eventflow/streams/internal/processor_support.h).
#include "eventflow/streams/internal/processor_support.h"

#include <stdexcept>
#include <string>

#include "eventflow/core/log.h"
#include "eventflow/state/key_value_store.h"
#include "eventflow/state/session_store.h"
#include "eventflow/state/window_store.h"

namespace eventflow::streams::internal {

void ThrowStoreError(const std::string& store, const Status& status, const char* doing) {
  if (IsStoreFailure(status)) {
    throw StateStoreError(status.WithContext("store \"" + store + "\": " + doing));
  }
  throw std::runtime_error("store \"" + store + "\": " + doing + ": " + status.ToString());
}

void ThrowMissingStore(const std::string& node, const char* kind, const std::string& name) {
  throw std::logic_error("node \"" + node + "\" has no " + kind + " store \"" + name + "\"");
}

namespace {

template <typename S>
S* As(state::StateStore* store, const std::string& node, const std::string& name,
      const char* kind) {
  S* typed = dynamic_cast<S*>(store);
  if (typed == nullptr) ThrowMissingStore(node, kind, name);
  return typed;
}

}  // namespace

state::KeyValueStore* AsKeyValueStore(state::StateStore* store, const std::string& node,
                                      const std::string& name) {
  return As<state::KeyValueStore>(store, node, name, "key-value");
}

state::WindowStore* AsWindowStore(state::StateStore* store, const std::string& node,
                                  const std::string& name) {
  return As<state::WindowStore>(store, node, name, "window");
}

state::SessionStore* AsSessionStore(state::StateStore* store, const std::string& node,
                                    const std::string& name) {
  return As<state::SessionStore>(store, node, name, "session");
}

void LogSkippedNull(const std::string& node, const RecordContext* at, const char* what) {
  Log(LogLevel::kWarn, "streams",
      "node \"" + node + "\" skips records with a null " + what +
          (at != nullptr
               ? " (first at " + std::string(at->topic) + "-" + std::to_string(at->partition) +
                     "@" + std::to_string(at->offset) + ")"
               : std::string()) +
          "; further ones in this task are skipped without a message");
}

}  // namespace eventflow::streams::internal
