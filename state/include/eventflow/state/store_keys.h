// Composite keys of window and session stores: the bytes stored inside a
// segment column family AND the changelog key (restore decodes them).
//
// WINDOW KEY (WindowStore):
//
//   [u32 BE key length][key bytes][i64 BE window start]              plain
//   [u32 BE key length][key bytes][i64 BE window start][u32 BE seq]  retain_duplicates
//
// SESSION KEY (SessionStore):
//
//   [u32 BE key length][key bytes][i64 BE session end][i64 BE session start]
//
// Times are non-negative milliseconds, so big-endian bytes sort numerically.
//
// Why the length prefix: with a bare [key][time] layout a key that is a prefix
// of another ("a" and "a\x00...") interleaves with it, so a scan of one key's
// windows would have to skip the other key's entries. With the length first,
// every encoded key of a given user key starts with the same unique prefix
// [len][key] and is exactly 8 (or 12, 16) bytes longer, so one key's entries
// are contiguous and ordered by time: Fetch(key, from, to) and
// FindSessions(key, ...) are a single bounded scan per segment. The price:
// across keys the order is (key length, key bytes), not plain byte order, which
// only FetchAll sees. The choice optimises the per-record path (fetch one
// key's windows, merge one key's sessions) over whole-store scans. Sessions put
// the end first because segments, retention and FindSessions' lower bound are
// all by end time.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::state {

//! Encoded size of a window key for a user key of `key_size` bytes.
constexpr size_t WindowKeySize(size_t key_size, bool with_sequence) {
  return 4 + key_size + 8 + (with_sequence ? 4 : 0);
}
//! Encoded size of a session key for a user key of `key_size` bytes.
constexpr size_t SessionKeySize(size_t key_size) { return 4 + key_size + 16; }

//! Replaces *out with the window key of (key, window_start) (no sequence).
void EncodeWindowKey(std::string_view key, int64_t window_start, std::string* out);
//! Replaces *out with the window key of (key, window_start, sequence).
void EncodeWindowKey(std::string_view key, int64_t window_start, uint32_t sequence,
                     std::string* out);
//! Replaces *out with the session key of (key, start, end).
void EncodeSessionKey(std::string_view key, int64_t start, int64_t end, std::string* out);
//! Replaces *out with [u32 BE len][key], the prefix shared by all of key's entries.
void EncodeKeyPrefix(std::string_view key, std::string* out);

//! A decoded window key; `key` views the encoded bytes.
struct WindowKeyView {
  std::string_view key;  //!< the user key
  int64_t window_start;  //!< ms
  uint32_t sequence;     //!< 0 unless decoded with_sequence
};

//! A decoded session key; `key` views the encoded bytes.
struct SessionKeyView {
  std::string_view key;  //!< the user key
  int64_t start;         //!< ms, inclusive
  int64_t end;           //!< ms, inclusive
};

//! Decodes a window key. Returns Corruption when the length does not match or
//! the window start is negative.
Status DecodeWindowKey(std::string_view encoded, bool with_sequence, WindowKeyView* out);
//! Decodes a session key. Returns Corruption when the length does not match or
//! the times are negative or start > end.
Status DecodeSessionKey(std::string_view encoded, SessionKeyView* out);

}  // namespace eventflow::state
