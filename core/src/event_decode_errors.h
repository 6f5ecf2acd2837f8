// The decoder's error messages: how a rejected record is explained. Only built
// when a record is rejected; nothing here runs for a valid one. Messages name the
// field, the problem and the byte offset in the input, as event_codec.h shows.
// Private to eventflow::core.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "eventflow/core/event.h"
#include "eventflow/core/status.h"

namespace eventflow::codec_internal {

//! Appends `text` as a JSON string literal, cut at a UTF-8 boundary after 64 bytes
//! (then followed by "...").
void AppendQuoted(std::string_view text, std::string* out);

//! Returns `text` quoted as by AppendQuoted.
std::string Quoted(std::string_view text);

//! Returns InvalidArgument "field "<name>" at byte <offset>: <problem>".
Status FieldError(std::string_view name, size_t offset, std::string_view problem);

//! Returns InvalidArgument with `msg`, a problem of the record as a whole.
inline Status InputError(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

//! Returns the name messages use for a JSON type: "string", "number", "object", ...
std::string_view JsonTypeName(simdjson::ondemand::json_type type);

//! Returns the contract's names of `all`, comma-separated: "USD, EUR, GBP, JPY, INR".
template <typename Enum, size_t N>
std::string NameList(const std::array<Enum, N>& all) {
  std::string out;
  for (Enum e : all) {
    if (!out.empty()) out.append(", ");
    out.append(Name(e));
  }
  return out;
}

//! Returns why simdjson's first pass over the whole of `json` failed with `error`
//! (invalid UTF-8, an unescaped control character, an unclosed string, ...).
Status StageOneError(std::string_view json, simdjson::error_code error);

//! Returns why the top level of `json` is not one complete JSON object, after
//! simdjson's get_object() failed with `error`.
Status TopLevelError(std::string_view json, simdjson::error_code error);

}  // namespace eventflow::codec_internal
