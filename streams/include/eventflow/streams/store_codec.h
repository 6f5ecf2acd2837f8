// StoreCodec: how interactive queries over HTTP (eventflow/queries) read a
// store's keys from text and show its keys and values as JSON. Stores hold
// serialized bytes (store_query.h reads bytes); the application registers a
// codec per store name with the same serdes it built the store with, so that
// "/stores/revenue-by-currency-store/keys/EUR/windows" finds the key "EUR"
// and shows {"total_revenue":"12.50",...} rather than 16 opaque bytes.
//
// Built-in formats cover the common cases (string or int64 keys; string,
// int64, double or JSON-text values); anything else is a pair of functions.
//
// Thread-safety: the functions must be safe to call concurrently (requests
// are served by several threads); the built-in ones are.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "eventflow/core/status.h"

namespace eventflow::streams {

struct StoreCodec {
  //! Turns the text of a key (a URL path segment or query parameter, already
  //! percent-decoded) into the serialized key. Returns InvalidArgument (HTTP
  //! 400) naming what is wrong when the text is not a key of the store.
  std::function<Status(std::string_view text, std::string* key)> parse_key;
  //! Appends the serialized key as one JSON value.
  std::function<void(std::string_view key, std::string* json)> render_key;
  //! Appends a serialized value as one JSON value.
  std::function<void(std::string_view value, std::string* json)> render_value;

  //! Key formats of the built-in serdes.
  enum class Key {
    kString,  //!< Serdes::String(): the text itself; JSON string
    kInt64,   //!< Serdes::Int64(): decimal text; JSON number
  };
  //! Value formats of the built-in serdes.
  enum class Value {
    kString,  //!< Serdes::String(): JSON string ({"hex":"…"} when not UTF-8)
    kInt64,   //!< Serdes::Int64(): JSON number
    kDouble,  //!< Serdes::Double(): JSON number (null for NaN and infinities)
    kJson,    //!< the value is JSON text already: copied as is
    kBytes,   //!< opaque: {"hex":"…"}
  };
  //! Returns the codec of a store with keys `key` and values `value`.
  static StoreCodec Of(Key key, Value value);
  //! The codec of a store no one registered one for: string keys, values as
  //! strings (kString: text that is not UTF-8 shows as hex).
  static StoreCodec Default() { return Of(Key::kString, Value::kString); }
};

//! Appends `bytes` as a JSON string when it is valid UTF-8, else as
//! {"hex":"<lower-case hex>"}.
void AppendJsonText(std::string_view bytes, std::string* json);

}  // namespace eventflow::streams
