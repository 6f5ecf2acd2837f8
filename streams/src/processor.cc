// The non-template parts of the Processor API's nodes
// (eventflow/streams/processor.h, eventflow/streams/source_sink.h): names of
// types and the error messages of wiring and of source and sink nodes,
// compiled once instead of in every node type.
#include "eventflow/streams/processor.h"

#include <cxxabi.h>

#include <cstdlib>
#include <string>

#include "eventflow/streams/source_sink.h"

namespace eventflow::streams::internal {

std::string TypeName(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  static constexpr std::string_view kLongString =
      "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
  for (size_t at = name.find(kLongString); at != std::string::npos;
       at = name.find(kLongString, at)) {
    name.replace(at, kLongString.size(), "std::string");
  }
  return name;
}

std::string RecordTypes(const std::type_info& key, const std::type_info& value) {
  return TypeName(key) + ", " + TypeName(value);
}

Status ChildTypeMismatch(const ProcessorNodeBase& child, const std::string& parent,
                         const std::type_info& key, const std::type_info& value) {
  return Status::InvalidArgument("node \"" + child.name() + "\" cannot follow node \"" + parent +
                                 "\": it accepts records of (" + child.InputTypes() + ") but \"" +
                                 parent + "\" forwards (" + RecordTypes(key, value) + ")");
}

Status SerdeFailure(const Status& failure, const char* what, std::string_view serde) {
  return failure.WithContext(std::string(what) + " (" + std::string(serde) + " serde)");
}

Status EventTimeOutOfRange(int64_t timestamp, int64_t max_timestamp) {
  if (timestamp < 0) {
    return Status::InvalidArgument("timestamp: negative event time " + std::to_string(timestamp));
  }
  return Status::InvalidArgument("timestamp: event time " + std::to_string(timestamp) +
                                 " is implausibly far in the future (limit " +
                                 std::to_string(max_timestamp) + ")");
}

void ThrowProductionError(const Status& sent) { throw ProductionError(sent); }

Status SinkChildError(const std::string& sink, const std::string& child) {
  return Status::InvalidArgument("sink \"" + sink + "\" cannot have a child (\"" + child + "\")");
}

}  // namespace eventflow::streams::internal
