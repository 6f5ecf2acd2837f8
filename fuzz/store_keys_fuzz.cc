// Window and session store keys (state/store_keys.h), the bytes restore
// decodes from a changelog.
//
// Properties, with the input read two ways:
//  - as an encoded key: each decoder either rejects it or returns fields that
//    encode back to exactly the input (the layout has one encoding per value),
//    and every accepted key starts with EncodeKeyPrefix of its user key;
//  - as fields [i64 a][i64 b][u32 seq][user key...]: encoding then decoding
//    gives the fields back, or is rejected exactly when the times are invalid
//    (negative, or session start > end).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "eventflow/state/store_keys.h"
#include "fuzz_check.h"

namespace {

namespace state = eventflow::state;

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void CheckPrefix(std::string_view encoded, std::string_view key) {
  std::string prefix;
  state::EncodeKeyPrefix(key, &prefix);
  FUZZ_CHECK(encoded.starts_with(prefix), "key prefix is not a prefix of the encoded key");
}

void DecodeThenEncode(std::string_view input) {
  std::string encoded;
  for (bool with_sequence : {false, true}) {
    state::WindowKeyView window;
    if (!state::DecodeWindowKey(input, with_sequence, &window).ok()) continue;
    FUZZ_CHECK(window.window_start >= 0, "accepted a negative window start");
    if (with_sequence) {
      state::EncodeWindowKey(window.key, window.window_start, window.sequence, &encoded);
    } else {
      FUZZ_CHECK(window.sequence == 0, "plain window key decoded with a sequence");
      state::EncodeWindowKey(window.key, window.window_start, &encoded);
    }
    FUZZ_CHECK(encoded == input, "window key does not re-encode to its input");
    FUZZ_CHECK(encoded.size() == state::WindowKeySize(window.key.size(), with_sequence),
               "WindowKeySize disagrees with the encoding");
    CheckPrefix(input, window.key);
  }
  state::SessionKeyView session;
  if (state::DecodeSessionKey(input, &session).ok()) {
    FUZZ_CHECK(0 <= session.start && session.start <= session.end, "accepted bad session times");
    state::EncodeSessionKey(session.key, session.start, session.end, &encoded);
    FUZZ_CHECK(encoded == input, "session key does not re-encode to its input");
    FUZZ_CHECK(encoded.size() == state::SessionKeySize(session.key.size()),
               "SessionKeySize disagrees with the encoding");
    CheckPrefix(input, session.key);
  }
}

void EncodeThenDecode(const uint8_t* data, size_t size) {
  constexpr size_t kFields = 8 + 8 + 4;
  if (size < kFields) return;
  const auto a = Load<int64_t>(data);
  const auto b = Load<int64_t>(data + 8);
  const auto sequence = Load<uint32_t>(data + 16);
  const std::string_view key(reinterpret_cast<const char*>(data) + kFields, size - kFields);
  std::string encoded;

  state::EncodeWindowKey(key, a, &encoded);
  state::WindowKeyView window;
  const bool window_ok = state::DecodeWindowKey(encoded, false, &window).ok();
  FUZZ_CHECK(window_ok == (a >= 0), "window key acceptance does not follow its start");
  if (window_ok) {
    FUZZ_CHECK(window.key == key && window.window_start == a && window.sequence == 0,
               "window key fields changed in the round trip");
  }

  state::EncodeWindowKey(key, a, sequence, &encoded);
  const bool sequenced_ok = state::DecodeWindowKey(encoded, true, &window).ok();
  FUZZ_CHECK(sequenced_ok == (a >= 0), "sequenced key acceptance does not follow its start");
  if (sequenced_ok) {
    FUZZ_CHECK(window.key == key && window.window_start == a && window.sequence == sequence,
               "sequenced window key fields changed in the round trip");
  }

  state::EncodeSessionKey(key, a, b, &encoded);
  state::SessionKeyView session;
  const bool session_ok = state::DecodeSessionKey(encoded, &session).ok();
  FUZZ_CHECK(session_ok == (0 <= a && a <= b), "session key acceptance does not follow times");
  if (session_ok) {
    FUZZ_CHECK(session.key == key && session.start == a && session.end == b,
               "session key fields changed in the round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeThenEncode(std::string_view(reinterpret_cast<const char*>(data), size));
  EncodeThenDecode(data, size);
  return 0;
}
