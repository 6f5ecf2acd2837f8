#include "eventflow/streams/streams_builder.h"

#include <algorithm>

#include "eventflow/core/log.h"
#include "eventflow/streams/internal/suppress_processor.h"
#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/suppressed.h"

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

void InternalStreamsBuilder::RecordMissingSerde(std::string_view operation, std::string_view what,
                                                const std::type_info& type) {
  RecordError(operation, "no " + std::string(what) + " serde for type " + TypeName(type) +
                             ": give one in the operation's options");
}

RepartitionNodes InternalStreamsBuilder::DeclareRepartition(std::string_view operation,
                                                            const std::string& stem,
                                                            bool generated_names,
                                                            int num_partitions,
                                                            bool null_key_filter) {
  RepartitionNodes nodes;
  nodes.topic =
      stem.ends_with(kRepartitionTopicSuffix) ? stem : stem + std::string(kRepartitionTopicSuffix);
  // Kafka Streams always draws these three generated names; drawing them too
  // keeps every generated name equal to the same program's in Kafka Streams.
  nodes.sink = NewProcessorName(kSinkName);
  nodes.filter = NewProcessorName(kFilterName);
  nodes.source = NewProcessorName(kSourceName);
  if (!generated_names) {
    nodes.sink = nodes.topic + "-sink";
    nodes.filter = nodes.topic + "-filter";
    nodes.source = nodes.topic + "-source";
  }
  ClaimName(operation, nodes.sink);
  if (null_key_filter) ClaimName(operation, nodes.filter);
  ClaimName(operation, nodes.source);
  topology_.AddInternalTopic(
      InternalTopicSpec{nodes.topic, num_partitions, {{"cleanup.policy", "delete"}}});
  return nodes;
}

AggregateNames InternalStreamsBuilder::DrawAggregateNames(
    std::string_view operation, std::string_view prefix,
    const std::optional<std::string>& store_name, const std::optional<std::string>& node_name) {
  AggregateNames names;
  // Kafka Streams' order of generated names: store, processor, repartition.
  names.store_named = store_name.has_value();
  if (names.store_named) CheckName(operation, "store name", *store_name);
  names.store = names.store_named
                    ? *store_name
                    : NewProcessorName(std::string(prefix) + std::string(kStateStoreName));
  names.name = NodeName(operation, node_name, prefix);
  return names;
}

StreamJoinNames InternalStreamsBuilder::DrawStreamJoinNames(
    std::string_view operation, const std::optional<std::string>& name,
    const std::optional<std::string>& store_name, bool left_outer, bool right_outer) {
  StreamJoinNames names;
  auto node_name = [&](const char* suffix, std::string_view prefix) {
    if (!name) return NodeName(operation, std::nullopt, prefix);
    std::string n = *name + suffix;
    ClaimName(operation, n);
    return n;
  };
  names.this_windowed = node_name("-this-windowed", kWindowedName);
  names.other_windowed = node_name("-other-windowed", kWindowedName);
  const std::string_view this_prefix = right_outer ? kOuterThisName : kJoinThisName;
  const std::string this_generated = NewProcessorName(this_prefix);
  const std::string other_generated =
      NewProcessorName(left_outer ? kOuterOtherName : kJoinOtherName);
  const std::string this_suffix = right_outer ? "-outer-this-join" : "-this-join";
  const std::string other_suffix = left_outer ? "-outer-other-join" : "-other-join";
  names.join_this = name ? *name + this_suffix : this_generated;
  names.join_other = name ? *name + other_suffix : other_generated;
  ClaimName(operation, names.join_this);
  ClaimName(operation, names.join_other);
  names.merge = node_name("-merge", kMergeName);

  const std::optional<std::string>& base = store_name;
  names.this_store = (base ? *base + this_suffix : this_generated) + "-store";
  names.other_store = (base ? *base + other_suffix : other_generated) + "-store";
  if (left_outer) {
    names.outer_store = (base ? *base + (right_outer ? "-outer-shared-join" : "-left-shared-join")
                              : std::string(kOuterSharedName) +
                                    this_generated.substr(this_prefix.size())) +
                        "-store";
  }
  return names;
}

void InternalStreamsBuilder::AddStreamJoinStores(const StreamJoinNames& names, int64_t retention_ms,
                                                 bool in_memory, bool logging,
                                                 std::string_view key_serde,
                                                 std::string_view this_value_serde,
                                                 std::string_view other_value_serde) {
  auto store_spec = [&](const std::string& store_name, bool duplicates) {
    StoreSpec s;
    s.name = store_name;
    s.kind = StoreSpec::Kind::kWindow;
    s.in_memory = in_memory;
    s.logging = logging;
    s.retention = std::chrono::milliseconds(std::max<int64_t>(1, retention_ms));
    s.retain_duplicates = duplicates;
    return s;
  };
  StoreSpec this_store = store_spec(names.this_store, true);
  this_store.key_serde = key_serde;
  this_store.value_serde = this_value_serde;
  StoreSpec other_store = store_spec(names.other_store, true);
  other_store.key_serde = key_serde;
  other_store.value_serde = other_value_serde;
  topology_.AddStateStore(std::move(this_store), {names.this_windowed, names.join_other});
  topology_.AddStateStore(std::move(other_store), {names.other_windowed, names.join_this});
  if (names.outer_store) {
    // Its keys and values are the join's own layout (side tag, times), not a serde's.
    topology_.AddStateStore(store_spec(*names.outer_store, false),
                            {names.join_this, names.join_other});
  }
}

TableJoinNames InternalStreamsBuilder::DrawTableJoinNames(std::string_view operation,
                                                          const std::optional<std::string>& name) {
  TableJoinNames names;
  names.merge = NodeName(operation, name, kTableMergeName);
  auto side_name = [&](std::string_view suffix, std::string_view prefix) {
    if (!name) return NodeName(operation, std::nullopt, prefix);
    std::string n = *name + std::string(suffix);
    ClaimName(operation, n);
    return n;
  };
  names.join_this = side_name("-join-this", kTableJoinThisName);
  names.join_other = side_name("-join-other", kTableJoinOtherName);
  return names;
}

SuppressNames InternalStreamsBuilder::DrawSuppressNames(std::string_view operation,
                                                        const std::optional<std::string>& name) {
  SuppressNames names;
  names.name = NodeName(operation, name, kSuppressName);
  names.store = name ? *name + "-store"
                     : NewProcessorName(std::string(kSuppressName) + std::string(kStateStoreName));
  return names;
}

bool InternalStreamsBuilder::ResolveSuppress(std::string_view operation,
                                             const Suppressed& suppressed, bool windowed_key,
                                             const WindowedTableInfo* windowed,
                                             SuppressSpec* spec) {
  const BufferConfig& buffer = suppressed.buffer;
  spec->until = suppressed.until;
  spec->wait_ms = suppressed.wait.count();
  spec->buffer = buffer;
  if ((buffer.max_records && *buffer.max_records <= 0) ||
      (buffer.max_bytes && *buffer.max_bytes <= 0)) {
    RecordError(operation, "the buffer's bounds must be positive, got " +
                               (buffer.max_records ? std::to_string(*buffer.max_records) : "-") +
                               " records and " +
                               (buffer.max_bytes ? std::to_string(*buffer.max_bytes) : "-") +
                               " bytes");
    return false;
  }
  if (suppressed.until == Suppressed::Until::kTimeLimit) {
    if (spec->wait_ms < 0) {
      RecordError(operation, "the time limit must not be negative, got " +
                                 std::to_string(spec->wait_ms) + " ms");
      return false;
    }
    return true;
  }
  if (!windowed_key) {
    RecordError(operation,
                "Suppressed::UntilWindowCloses needs a windowed table, KTable<Windowed<K>, V>");
    return false;
  }
  if (windowed == nullptr) {
    RecordError(operation,
                "Suppressed::UntilWindowCloses needs a table that comes from windowed "
                "aggregations (directly, or through Filter, MapValues or a join of two such "
                "tables): only they tell when a window closes");
    return false;
  }
  if (!buffer.strict()) {
    RecordError(operation,
                "Suppressed::UntilWindowCloses needs a strict buffer (BufferConfig::Unbounded() "
                "or ShutDownWhenFull()): emitting early would forward a result that is not final");
    return false;
  }
  spec->close_after_end_ms = windowed->close_after_end_ms;
  for (const auto& cache : windowed->caches) cache->enabled = true;
  return true;
}

void InternalStreamsBuilder::RecordUnreadableTable(std::string_view operation,
                                                   const std::string& table) {
  RecordError(operation, "table \"" + table +
                             "\" cannot be read by a join: it is neither materialized nor "
                             "derived from a table that is");
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
