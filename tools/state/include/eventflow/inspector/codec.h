// Codec: how eventflow-state shows the bytes of one serde, and turns a key
// typed on its command line back into those bytes.
//
// A store records the names of its key and value serdes (Serde::Name(),
// state::StoreDescription); these are understood:
//
//   name                  bytes                         JSON form
//   string                UTF-8 text                    a string
//   int64, long           8 bytes big-endian            a number
//   double                8 bytes IEEE 754 big-endian   a number; "NaN", "Infinity" as strings
//   void                  none                          null
//   json, *-json, *_json  JSON text                     the JSON value, minified
//   windowed<S>           S's bytes, i64 BE start       {"key":S,"start":ms,"end":ms|null}
//   session-windowed<S>   S's bytes, i64 BE end, start  {"key":S,"start":ms,"end":ms}
//   bytes, "", any other  any                           a string of the escaped bytes
//
// ESCAPED bytes: printable ASCII (0x20-0x7e) as itself except the backslash,
// which is doubled, and every other byte as \xNN (lowercase hex). Unescape()
// reverses it, so what a scan shows of an unknown key is what `get` takes.
//
// Bytes that do not fit their serde (invalid UTF-8, a wrong length, bad JSON)
// are not guessed at: AppendJson fails with the reason and the caller shows
// them escaped.
//
// Thread-safety: a Codec is immutable; JSON checks use a per-thread parser.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::inspector {

class Codec {
 public:
  //! What the bytes are.
  enum class Kind { kBytes, kString, kInt64, kDouble, kVoid, kJson, kWindowed, kSessionWindowed };

  //! Returns the codec of serde `name` (file comment); `window_size_ms` gives
  //! windowed<S> keys their end (0: unknown).
  static Codec ForSerde(std::string_view name, int64_t window_size_ms = 0);

  //! Returns the serde name as recorded ("bytes" when none was).
  const std::string& name() const { return name_; }
  //! Returns what the bytes are decoded as.
  Kind kind() const { return kind_; }
  //! Returns false when the name is not one of the table's (shown as bytes).
  bool known() const { return known_; }

  //! Appends `bytes` as a JSON value. Returns false, appending nothing, when
  //! they do not fit the serde; *error then says why.
  bool AppendJson(std::string_view bytes, std::string* out, std::string* error) const;

  //! Appends `bytes` as text for a table cell: strings as they are (escaped
  //! when not UTF-8 or holding control characters), numbers in decimal, JSON
  //! minified, windowed keys as "key [start, end)" with RFC 3339 times, other
  //! bytes escaped; bytes that do not fit: escaped, followed by the reason.
  void AppendText(std::string_view bytes, std::string* out) const;

  //! Returns the serde's bytes of `text` typed on a command line: a string as
  //! is, an int64 or double parsed, JSON checked, bytes unescaped. Returns
  //! InvalidArgument naming the serde when the text does not fit or the serde
  //! has no text form (void, windowed keys).
  Result<std::string> Encode(std::string_view text) const;

 private:
  Codec(Kind kind, std::string name, bool known, int64_t window_size_ms,
        std::shared_ptr<const Codec> inner);

  bool AppendWindowedJson(std::string_view bytes, std::string* out, std::string* error) const;

  Kind kind_;
  std::string name_;
  bool known_;
  int64_t window_size_ms_;
  std::shared_ptr<const Codec> inner_;  // windowed keys: the inner key's codec
};

//! Appends `bytes` escaped (file comment).
void AppendEscaped(std::string_view bytes, std::string* out);

//! Returns the bytes of escaped text, or InvalidArgument for a malformed
//! escape ("\x" not followed by two hex digits, a lone backslash at the end).
Result<std::string> Unescape(std::string_view text);

//! Appends `epoch_ms` as RFC 3339 when it is a valid event time, else in decimal.
void AppendTime(int64_t epoch_ms, std::string* out);

}  // namespace eventflow::inspector
