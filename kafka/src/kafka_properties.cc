#include "eventflow/kafka/kafka_properties.h"

#include <algorithm>

namespace eventflow::kafka {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

bool IsSecretProperty(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return Contains(lower, "password") || Contains(lower, "secret") ||
         lower.starts_with("sasl.username") || lower.starts_with("sasl.oauthbearer") ||
         lower.starts_with("sasl.kerberos.keytab") || lower.starts_with("ssl.key") ||
         lower.starts_with("ssl_key") || lower.starts_with("ssl.keystore") ||
         lower.ends_with(".pem") || Contains(lower, "token");
}

void KafkaProperties::Set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v.assign(value);
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::string(value));
}

void KafkaProperties::SetDefault(std::string_view key, std::string_view value) {
  if (Find(key) == nullptr) entries_.emplace_back(std::string(key), std::string(value));
}

const std::string* KafkaProperties::Find(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void KafkaProperties::Merge(const KafkaProperties& other) {
  for (const auto& [k, v] : other.entries_) Set(k, v);
}

Status KafkaProperties::SetPassThrough(std::string_view setting) {
  std::string_view s = setting;
  // Accept "--kafka.x=y" as written on a command line, too.
  while (s.starts_with("-")) s.remove_prefix(1);
  if (!s.starts_with(kPassThroughPrefix)) {
    return Status::InvalidArgument("librdkafka pass-through setting must start with \"kafka.\"");
  }
  s.remove_prefix(kPassThroughPrefix.size());
  const size_t eq = s.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("librdkafka pass-through setting \"kafka." +
                                   std::string(s) + "\" has no \"=<value>\"");
  }
  const std::string_view key = s.substr(0, eq);
  if (key.empty()) {
    return Status::InvalidArgument("librdkafka pass-through setting has an empty property name");
  }
  Set(key, s.substr(eq + 1));
  return Status::OK();
}

std::string KafkaProperties::ToRedactedString() const {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(entries_.size());
  for (const auto& e : entries_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::string out;
  for (const auto* e : sorted) {
    out.append(e->first).append("=");
    out.append(IsSecretProperty(e->first) ? "[redacted]" : e->second);
    out.append("\n");
  }
  return out;
}

}  // namespace eventflow::kafka
