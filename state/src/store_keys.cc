#include "eventflow/state/store_keys.h"

#include "big_endian.h"

namespace eventflow::state {
namespace {

using internal::AppendBigEndian;
using internal::ReadBigEndian;

// Reads the [u32 len][key] prefix and checks that exactly `suffix` bytes follow.
bool ReadPrefix(std::string_view encoded, size_t suffix, std::string_view* key) {
  if (encoded.size() < 4 + suffix) return false;
  const uint64_t len = ReadBigEndian(encoded.data(), 4);
  if (len != encoded.size() - 4 - suffix) return false;
  *key = encoded.substr(4, len);
  return true;
}

}  // namespace

void EncodeKeyPrefix(std::string_view key, std::string* out) {
  out->clear();
  AppendBigEndian(key.size(), 4, out);
  out->append(key);
}

void EncodeWindowKey(std::string_view key, int64_t window_start, std::string* out) {
  EncodeKeyPrefix(key, out);
  AppendBigEndian(static_cast<uint64_t>(window_start), 8, out);
}

void EncodeWindowKey(std::string_view key, int64_t window_start, uint32_t sequence,
                     std::string* out) {
  EncodeWindowKey(key, window_start, out);
  AppendBigEndian(sequence, 4, out);
}

void EncodeSessionKey(std::string_view key, int64_t start, int64_t end, std::string* out) {
  EncodeKeyPrefix(key, out);
  AppendBigEndian(static_cast<uint64_t>(end), 8, out);
  AppendBigEndian(static_cast<uint64_t>(start), 8, out);
}

Status DecodeWindowKey(std::string_view encoded, bool with_sequence, WindowKeyView* out) {
  const size_t suffix = with_sequence ? 12 : 8;
  std::string_view key;
  if (!ReadPrefix(encoded, suffix, &key)) {
    return Status::Corruption("window key of " + std::to_string(encoded.size()) +
                              " bytes does not match its length prefix");
  }
  const char* tail = encoded.data() + encoded.size() - suffix;
  const auto start = static_cast<int64_t>(ReadBigEndian(tail, 8));
  if (start < 0) return Status::Corruption("window key has a negative window start");
  out->key = key;
  out->window_start = start;
  out->sequence = with_sequence ? static_cast<uint32_t>(ReadBigEndian(tail + 8, 4)) : 0;
  return Status::OK();
}

Status DecodeSessionKey(std::string_view encoded, SessionKeyView* out) {
  std::string_view key;
  if (!ReadPrefix(encoded, 16, &key)) {
    return Status::Corruption("session key of " + std::to_string(encoded.size()) +
                              " bytes does not match its length prefix");
  }
  const char* tail = encoded.data() + encoded.size() - 16;
  const auto end = static_cast<int64_t>(ReadBigEndian(tail, 8));
  const auto start = static_cast<int64_t>(ReadBigEndian(tail + 8, 8));
  if (start < 0 || end < 0 || start > end) {
    return Status::Corruption("session key has bad times start=" + std::to_string(start) +
                              " end=" + std::to_string(end));
  }
  out->key = key;
  out->start = start;
  out->end = end;
  return Status::OK();
}

}  // namespace eventflow::state
