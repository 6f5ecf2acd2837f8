// KafkaProperties: the librdkafka settings of one client, as ordered
// key/value pairs, plus the rules for user pass-through and for secrets.
//
// Users reach every librdkafka property (TLS, SASL, tuning) through
// "kafka.<property>=<value>" settings, which are passed on unchanged. Values of
// secret properties (IsSecretProperty) never leave this class in readable form
// except towards librdkafka itself: ToRedactedString() is what logs and config
// dumps print.
//
// Thread-safety: a plain value; not synchronised.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"

namespace eventflow::kafka {

//! True for properties whose values are secrets: any key containing
//! "password" or "secret", "sasl.*" credentials, "ssl.key*", "ssl.keystore*",
//! "ssl_key" and "*.pem" contents. Values of these are never logged.
bool IsSecretProperty(std::string_view key);

class KafkaProperties {
 public:
  //! Sets `key` to `value`, replacing an earlier value of the same key.
  void Set(std::string_view key, std::string_view value);

  //! Sets `key` only when it has no value yet (for defaults under user settings).
  void SetDefault(std::string_view key, std::string_view value);

  //! Returns the value of `key`, or nullptr when it is unset.
  const std::string* Find(std::string_view key) const;

  //! Copies every entry of `other` over this one (other's values win).
  void Merge(const KafkaProperties& other);

  //! Parses one pass-through setting "kafka.<property>=<value>" (as given on a
  //! command line) and sets it. Returns InvalidArgument naming the setting when
  //! the prefix, the property name or the '=' is missing.
  Status SetPassThrough(std::string_view setting);

  //! Returns "key=value" lines, sorted by key, with secret values shown as "[redacted]".
  std::string ToRedactedString() const;

  //! Returns the entries in insertion order (for handing to librdkafka).
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

//! The prefix that marks a pass-through librdkafka setting.
inline constexpr std::string_view kPassThroughPrefix = "kafka.";

}  // namespace eventflow::kafka
