// What every DSL processor shares: the base class that keeps the context,
// store lookup and store-error translation, and the once-per-task warning
// for skipped null keys or values. Not for user code.
//
// The non-template parts are compiled once (streams/src/processor_support.cc)
// instead of in every instantiation of every processor.
//
// Thread-safety: processor instances belong to one task.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "eventflow/core/status.h"
#include "eventflow/streams/processor.h"

namespace eventflow::state {
class KeyValueStore;
class SessionStore;
class WindowStore;
}  // namespace eventflow::state

namespace eventflow::streams::internal {

//! Base of the DSL processors: keeps the context to forward through.
template <typename KIn, typename VIn, typename KOut, typename VOut>
class DslProcessor : public Processor<KIn, VIn, KOut, VOut> {
 public:
  void Init(ProcessorContext<KOut, VOut>& context) override { context_ = &context; }

 protected:
  ProcessorContext<KOut, VOut>* context_ = nullptr;
};

//! A non-owning reference to a callable, for the byte-level halves of the
//! processors to call back into their typed halves without a std::function
//! (which could allocate per call). Valid while the referenced callable is.
template <typename Signature>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  //! References `f`, which must outlive the FunctionRef.
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>)
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor)
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(
              std::forward<Args>(args)...);
        }) {}
  //! Calls the referenced callable.
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

//! Throws when a call on store `store` failed; the message names the store
//! and what was being done. A failure of the store itself (IsStoreFailure:
//! disk full, I/O error, corruption) throws StateStoreError, which stops the
//! stream thread; anything else (e.g. stored bytes the serde rejects) throws
//! std::runtime_error, for the processing error policy.
inline void ThrowIfStoreError(const std::string& store, const Status& status, const char* doing);

//! Throws the error of ThrowIfStoreError for a failed `status` (cold path).
[[noreturn]] void ThrowStoreError(const std::string& store, const Status& status,
                                  const char* doing);

inline void ThrowIfStoreError(const std::string& store, const Status& status, const char* doing) {
  if (!status.ok()) ThrowStoreError(store, status, doing);
}

//! Throws std::logic_error: node `node` has no `kind` store `name`.
[[noreturn]] void ThrowMissingStore(const std::string& node, const char* kind,
                                    const std::string& name);

//! Returns the store `name` of type S connected to `context`'s node; throws
//! std::logic_error naming the node, the store and `kind` (e.g. "window")
//! when the node has none. For processors' Init.
template <typename S, typename KOut, typename VOut>
S* RequireStore(ProcessorContext<KOut, VOut>& context, const std::string& name, const char* kind) {
  S* store = context.template GetStateStore<S>(name);
  if (store == nullptr) ThrowMissingStore(context.node_name(), kind, name);
  return store;
}

//! Returns `store` as a key-value store; throws std::logic_error naming the
//! node `node` and the store `name` when it is missing or of another kind.
state::KeyValueStore* AsKeyValueStore(state::StateStore* store, const std::string& node,
                                      const std::string& name);
//! Returns `store` as a window store (see AsKeyValueStore).
state::WindowStore* AsWindowStore(state::StateStore* store, const std::string& node,
                                  const std::string& name);
//! Returns `store` as a session store (see AsKeyValueStore).
state::SessionStore* AsSessionStore(state::StateStore* store, const std::string& node,
                                    const std::string& name);

//! Returns the store `name` of `context`'s task (nullptr when none), untyped:
//! the processors' byte-level halves check its kind (AsKeyValueStore, ...).
template <typename KOut, typename VOut>
state::StateStore* FindStore(const ProcessorContext<KOut, VOut>& context, const std::string& name) {
  return context.template GetStateStore<state::StateStore>(name);
}

//! Logs that node `node` skips records with a null `what` (key or value),
//! naming the first one's position `at` (may be nullptr).
void LogSkippedNull(const std::string& node, const RecordContext* at, const char* what);

//! Logs, once per processor instance (*warned), that records with a null
//! `what` (key or value) are skipped, naming the first one's position.
template <typename KOut, typename VOut>
void WarnSkippedNullOnce(const ProcessorContext<KOut, VOut>& context, bool* warned,
                         const char* what) {
  if (*warned) return;
  *warned = true;
  LogSkippedNull(context.node_name(), context.record_context(), what);
}

}  // namespace eventflow::streams::internal
