#include "eventflow/streams/streams_builder.h"

#include <algorithm>

#include "eventflow/core/log.h"

namespace eventflow::streams {
namespace internal {
namespace {

// Kafka's limits for names and topic names (Named#validate, Topic#validate).
constexpr size_t kMaxNameLength = 249;

bool IsLegalNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::string InternalStreamsBuilder::NewProcessorName(std::string_view prefix) {
  const std::string digits = std::to_string(index_++);
  std::string name(prefix);
  name.append(digits.size() < 10 ? 10 - digits.size() : 0, '0');
  name += digits;
  return name;
}

std::string InternalStreamsBuilder::NodeName(std::string_view operation,
                                             const std::optional<std::string>& user_name,
                                             std::string_view prefix) {
  if (!user_name) {
    std::string name = NewProcessorName(prefix);
    ClaimName(operation, name);
    return name;
  }
  if (CheckName(operation, "name", *user_name)) ClaimName(operation, *user_name);
  return *user_name;
}

bool InternalStreamsBuilder::ClaimName(std::string_view operation, const std::string& name) {
  if (names_.insert(name).second) return true;
  RecordError(operation, "the name \"" + name +
                             "\" is already used by another node; node names must be unique");
  return false;
}

bool InternalStreamsBuilder::CheckName(std::string_view operation, std::string_view what,
                                       const std::string& name) {
  std::string problem;
  if (name.empty()) {
    problem = "the " + std::string(what) + " is empty";
  } else if (name == "." || name == "..") {
    problem = "the " + std::string(what) + " cannot be \"" + name + "\"";
  } else if (name.size() > kMaxNameLength) {
    problem = "the " + std::string(what) + " \"" + name + "\" is longer than " +
              std::to_string(kMaxNameLength) + " characters";
  } else if (!std::all_of(name.begin(), name.end(), IsLegalNameChar)) {
    problem = "the " + std::string(what) + " \"" + name +
              "\" contains a character other than ASCII letters, digits, '.', '_' and '-'";
  } else {
    return true;
  }
  RecordError(operation, problem);
  return false;
}

void InternalStreamsBuilder::RecordError(std::string_view operation, std::string_view message) {
  topology_.RecordError(
      Status::InvalidArgument(std::string(operation) + ": " + std::string(message)));
}

void InternalStreamsBuilder::WarnGeneratedRepartitionTopic(std::string_view operation,
                                                           const std::string& topic,
                                                           std::string_view how_to_name) {
  Log(LogLevel::kWarn, "streams",
      std::string(operation) + " without a name: the repartition topic gets the generated name \"" +
          topic +
          "\", which changes whenever an operation is added or removed before it; the "
          "upgraded application would then read a new, empty topic and leave the records "
          "of the old one unprocessed. Name it: " +
          std::string(how_to_name) +
          ", which makes the topic \"<application.id>-<name>-repartition\"");
}

}  // namespace internal

StreamsBuilder::StreamsBuilder()
    : internal_(std::make_unique<internal::InternalStreamsBuilder>()) {}
StreamsBuilder::~StreamsBuilder() = default;
StreamsBuilder::StreamsBuilder(StreamsBuilder&&) noexcept = default;
StreamsBuilder& StreamsBuilder::operator=(StreamsBuilder&&) noexcept = default;

Topology StreamsBuilder::Build() const { return internal_->topology(); }

}  // namespace eventflow::streams
