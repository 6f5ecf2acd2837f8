// Joiners: the one normalized function every join calls, made from the
// user's joiner. Not for user code.
//
// Every join (KTable-KTable, KStream-KTable, KStream-KStream) calls
// JoinFn(key, optional<left>, optional<right>), made by MakeJoiner from the
// user's joiner; a missing side is std::nullopt (only left/outer joins pass
// one). Results are forwarded as Record<K, VR> (stream joins) or
// Record<K, std::optional<VR>> (table joins, nullopt = tombstone).
//
// Thread-safety: a JoinFn is shared by every task and stream thread.
#pragma once

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace eventflow::streams::internal {

//! Which rows or records of a join produce a result.
enum class JoinKind {
  kInner,  //!< both sides present
  kLeft,   //!< the left side present (the right may be missing)
  kOuter,  //!< either side present
};

//! The normalized joiner: (key, left, right); a side is nullopt when missing.
template <typename K, typename V1, typename V2, typename VR>
using JoinFn =
    std::function<VR(const K& key, const std::optional<V1>& left, const std::optional<V2>& right)>;

//! The argument types the user's joiner takes for `kKind`: V1 and V2 for an
//! inner join, V1 and optional<V2> for a left join, optional of both for an
//! outer join.
template <JoinKind kKind, typename V1, typename V2>
struct JoinerArgs {
  using Left = std::conditional_t<kKind == JoinKind::kOuter, std::optional<V1>, V1>;
  using Right = std::conditional_t<kKind == JoinKind::kInner, V2, std::optional<V2>>;
};

template <JoinKind kKind, typename K, typename V1, typename V2, typename F>
auto JoinerResultProbe() {
  using A = typename JoinerArgs<kKind, V1, V2>::Left;
  using B = typename JoinerArgs<kKind, V1, V2>::Right;
  if constexpr (std::is_invocable_v<F&, const K&, const A&, const B&>) {
    return std::type_identity<
        std::decay_t<std::invoke_result_t<F&, const K&, const A&, const B&>>>{};
  } else if constexpr (std::is_invocable_v<F&, const A&, const B&>) {
    return std::type_identity<std::decay_t<std::invoke_result_t<F&, const A&, const B&>>>{};
  } else {
    return std::type_identity<void>{};
  }
}

//! What the user's joiner F returns for `kKind` (void when it cannot be called
//! with the arguments of JoinerArgs, with or without the key first).
template <JoinKind kKind, typename K, typename V1, typename V2, typename F>
using JoinerResult = typename decltype(JoinerResultProbe<kKind, K, V1, V2, F>())::type;

//! Wraps the user's joiner into the normalized JoinFn. The processors call it
//! only with the sides `kKind` guarantees present.
template <JoinKind kKind, typename K, typename V1, typename V2, typename VR, typename F>
JoinFn<K, V1, V2, VR> MakeJoiner(F f) {
  return [f = std::move(f)](const K& key, const std::optional<V1>& left,
                            const std::optional<V2>& right) mutable -> VR {
    const auto& a = [&]() -> decltype(auto) {
      if constexpr (kKind == JoinKind::kOuter) {
        return (left);
      } else {
        return (*left);
      }
    }();
    const auto& b = [&]() -> decltype(auto) {
      if constexpr (kKind == JoinKind::kInner) {
        return (*right);
      } else {
        return (right);
      }
    }();
    using A = typename JoinerArgs<kKind, V1, V2>::Left;
    using B = typename JoinerArgs<kKind, V1, V2>::Right;
    if constexpr (std::is_invocable_v<F&, const K&, const A&, const B&>) {
      return f(key, a, b);
    } else {
      return f(a, b);
    }
  };
}

//! Returns whether a table join of `kind` has a result for these sides.
inline bool TableJoinHasResult(JoinKind kind, bool has_left, bool has_right) {
  switch (kind) {
    case JoinKind::kInner:
      return has_left && has_right;
    case JoinKind::kLeft:
      return has_left;
    case JoinKind::kOuter:
      return has_left || has_right;
  }
  return false;
}

}  // namespace eventflow::streams::internal
