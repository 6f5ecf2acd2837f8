// Big-endian integer bytes: the one encoding of integers in keys and metadata
// (big-endian so that non-negative values sort numerically as bytes).
#pragma once

#include <cstdint>
#include <string>

namespace eventflow::state::internal {

//! Appends the low `n` bytes of `v`, most significant first.
inline void AppendBigEndian(uint64_t v, int n, std::string* out) {
  char bytes[8];
  for (int i = 0; i < n; ++i) bytes[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
  out->append(bytes, static_cast<size_t>(n));
}

//! Reads `n` bytes at `p`, most significant first.
inline uint64_t ReadBigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace eventflow::state::internal
