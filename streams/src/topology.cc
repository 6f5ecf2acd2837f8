#include "eventflow/streams/topology.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace eventflow::streams {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

void Topology::AddNode(NodeSpec spec) {
  if (!error_.ok()) return;
  if (spec.name.empty()) {
    error_ = Status::InvalidArgument("a topology node has an empty name");
    return;
  }
  if (index_.count(spec.name) != 0) {
    error_ = Status::InvalidArgument("node name \"" + spec.name + "\" is used twice");
    return;
  }
  if (spec.kind != NodeKind::kSource && spec.parents.empty()) {
    error_ = Status::InvalidArgument("node \"" + spec.name + "\" has no parent");
    return;
  }
  if (spec.kind == NodeKind::kSource) {
    if (spec.topics.empty()) {
      error_ = Status::InvalidArgument("source \"" + spec.name + "\" reads no topic");
      return;
    }
    for (const NodeSpec& other : nodes_) {
      if (other.kind != NodeKind::kSource) continue;
      for (const std::string& t : spec.topics) {
        if (std::find(other.topics.begin(), other.topics.end(), t) != other.topics.end()) {
          error_ = Status::InvalidArgument("topic \"" + t + "\" is read by two sources, \"" +
                                           other.name + "\" and \"" + spec.name + "\"");
          return;
        }
      }
    }
  }
  for (const std::string& parent : spec.parents) {
    auto it = index_.find(parent);
    if (it == index_.end()) {
      error_ = Status::InvalidArgument("node \"" + spec.name + "\" names unknown parent \"" +
                                       parent + "\"");
      return;
    }
    if (nodes_[it->second].kind == NodeKind::kSink) {
      error_ = Status::InvalidArgument("node \"" + spec.name + "\" cannot follow sink \"" +
                                       parent + "\"");
      return;
    }
  }
  // Only once every parent is known, so a rejected node leaves no edge behind.
  for (const std::string& parent : spec.parents) {
    nodes_[index_.find(parent)->second].children.push_back(spec.name);
  }
  index_.emplace(spec.name, nodes_.size());
  nodes_.push_back(std::move(spec));
}

Topology& Topology::AddSourceNode(std::string name, std::vector<std::string> topics,
                                  TypedNodeFactory factory) {
  NodeFactory make = [name, factory = std::move(factory)](const TopicResolver& resolve) {
    return factory(name, resolve);
  };
  AddNode(NodeSpec{std::move(name), NodeKind::kSource, {}, {}, std::move(topics), std::move(make),
                   {}});
  return *this;
}

Topology& Topology::AddProcessorNode(std::string name, TypedNodeFactory factory,
                                     std::vector<std::string> parents) {
  if (!factory) {
    RecordError(Status::InvalidArgument("processor \"" + name + "\" has no processor supplier"));
    return *this;
  }
  NodeFactory make = [name, factory = std::move(factory)](const TopicResolver& resolve) {
    return factory(name, resolve);
  };
  AddNode(NodeSpec{std::move(name), NodeKind::kProcessor, std::move(parents), {}, {},
                   std::move(make), {}});
  return *this;
}

Topology& Topology::AddSinkNode(std::string name, std::string topic, bool dynamic,
                                TypedSinkFactory factory, std::vector<std::string> parents) {
  NodeFactory make = [name, topic, dynamic,
                      factory = std::move(factory)](const TopicResolver& resolve) {
    return factory(name, dynamic ? std::string() : resolve(topic));
  };
  std::vector<std::string> topics;
  if (!dynamic) topics.push_back(std::move(topic));
  AddNode(NodeSpec{std::move(name), NodeKind::kSink, std::move(parents), {}, std::move(topics),
                   std::move(make), {}});
  return *this;
}

Topology& Topology::AddInternalTopic(InternalTopicSpec spec) {
  for (const InternalTopicSpec& t : internal_topics_) {
    if (t.name == spec.name) {
      if (error_.ok()) {
        error_ = Status::InvalidArgument("internal topic \"" + spec.name + "\" declared twice");
      }
      return *this;
    }
  }
  internal_topics_.push_back(std::move(spec));
  return *this;
}

Topology& Topology::RecordError(Status error) {
  if (error_.ok() && !error.ok()) error_ = std::move(error);
  return *this;
}

bool Topology::IsInternalTopic(const std::string& topic) const {
  return std::any_of(internal_topics_.begin(), internal_topics_.end(),
                     [&](const InternalTopicSpec& t) { return t.name == topic; });
}

TopicResolver Topology::ResolverFor(const std::string& application_id) const {
  std::set<std::string> internal;
  for (const InternalTopicSpec& t : internal_topics_) internal.insert(t.name);
  return [internal = std::move(internal), application_id](const std::string& topic) {
    return internal.count(topic) != 0 ? application_id + "-" + topic : topic;
  };
}

Topology& Topology::AddStateStore(StoreSpec spec, std::vector<std::string> processors) {
  if (!error_.ok()) return *this;
  if (spec.name.empty() || spec.name.find('/') != std::string::npos || spec.name == "." ||
      spec.name == "..") {
    return RecordError(Status::InvalidArgument("state store name \"" + spec.name +
                                               "\" is not a valid directory name"));
  }
  if (FindStore(spec.name) != nullptr) {
    return RecordError(Status::InvalidArgument("state store \"" + spec.name +
                                               "\" is declared twice"));
  }
  for (const std::string& processor : processors) {
    auto it = index_.find(processor);
    if (it == index_.end() || nodes_[it->second].kind != NodeKind::kProcessor) {
      return RecordError(Status::InvalidArgument("state store \"" + spec.name +
                                                 "\" names unknown processor \"" + processor +
                                                 "\""));
    }
    nodes_[it->second].stores.push_back(spec.name);
  }
  stores_.push_back(std::move(spec));
  return *this;
}

const StoreSpec* Topology::FindStore(std::string_view name) const {
  for (const StoreSpec& s : stores_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<Topology::SubTopology> Topology::SubTopologies() const {
  // Union-find over parent edges; a component's id is the rank of its first node.
  std::vector<size_t> root(nodes_.size());
  std::iota(root.begin(), root.end(), 0);
  auto find = [&](size_t x) {
    while (root[x] != x) x = root[x] = root[root[x]];
    return x;
  };
  auto unite = [&](size_t x, size_t y) {
    const size_t a = find(x), b = find(y);
    root[std::max(a, b)] = std::min(a, b);
  };
  std::map<std::string, size_t, std::less<>> first_user_of_store;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (const std::string& parent : nodes_[i].parents) unite(i, index_.find(parent)->second);
    // Processors sharing a store must run in the same task.
    for (const std::string& store : nodes_[i].stores) {
      auto [it, inserted] = first_user_of_store.emplace(store, i);
      if (!inserted) unite(i, it->second);
    }
  }
  std::vector<SubTopology> out;
  std::map<size_t, size_t> by_root;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const size_t r = find(i);
    auto [it, inserted] = by_root.emplace(r, out.size());
    if (inserted) {
      out.emplace_back();
      out.back().id = static_cast<int>(out.size() - 1);
    }
    SubTopology& sub = out[it->second];
    sub.nodes.push_back(i);
    const NodeSpec& node = nodes_[i];
    auto& topics = node.kind == NodeKind::kSource ? sub.source_topics : sub.sink_topics;
    if (node.kind != NodeKind::kProcessor) {
      topics.insert(topics.end(), node.topics.begin(), node.topics.end());
    }
    for (const std::string& store : node.stores) {
      if (std::find(sub.stores.begin(), sub.stores.end(), store) == sub.stores.end()) {
        sub.stores.push_back(store);
      }
    }
  }
  return out;
}

Result<Topology::Instance> Topology::Instantiate(const SubTopology& subtopology,
                                                 const TopicResolver& resolve) const {
  Instance instance;
  std::map<std::string, ProcessorNodeBase*, std::less<>> by_name;
  for (size_t i : subtopology.nodes) {
    const NodeSpec& spec = nodes_[i];
    std::unique_ptr<ProcessorNodeBase> node = spec.factory(resolve);
    if (node == nullptr) {
      return Status::InvalidArgument("the processor supplier of node \"" + spec.name +
                                     "\" returned no processor");
    }
    by_name.emplace(spec.name, node.get());
    if (spec.kind == NodeKind::kSource) {
      auto* source = static_cast<SourceNodeBase*>(node.get());
      for (const std::string& topic : spec.topics) instance.source_by_topic[resolve(topic)] = source;
    }
    instance.nodes.push_back(std::move(node));
  }
  // Nodes are added after their parents, so insertion order is topological.
  for (size_t i : subtopology.nodes) {
    const NodeSpec& spec = nodes_[i];
    for (const std::string& parent : spec.parents) {
      EVENTFLOW_RETURN_IF_ERROR(by_name.find(parent)->second->AddChild(by_name[spec.name]));
    }
  }
  return instance;
}

Status Topology::Validate() const {
  EVENTFLOW_RETURN_IF_ERROR(error_);
  if (nodes_.empty()) return Status::InvalidArgument("the topology has no nodes");
  const TopicResolver identity = [](const std::string& t) { return t; };
  for (const SubTopology& sub : SubTopologies()) {
    if (sub.source_topics.empty()) {
      return Status::InvalidArgument("sub-topology " + std::to_string(sub.id) + " (node \"" +
                                     nodes_[sub.nodes.front()].name + "\") has no source");
    }
    auto instance = Instantiate(sub, identity);
    if (!instance.ok()) return instance.status();
  }
  return Status::OK();
}

std::string Topology::Describe() const {
  // Kafka Streams' TopologyDescription ordering: a node's "size" is 1 plus the
  // sizes of its children (so it counts paths, as Kafka's updateSize() does);
  // larger first, ties by name.
  std::vector<int64_t> size(nodes_.size(), 0);
  for (size_t i = nodes_.size(); i-- > 0;) {  // children come after their parents
    size[i] = 1;
    for (const std::string& child : nodes_[i].children) size[i] += size[index_.find(child)->second];
  }
  auto before = [&](size_t a, size_t b) {
    if (size[a] != size[b]) return size[a] > size[b];
    return nodes_[a].name < nodes_[b].name;
  };
  auto names = [&](const std::vector<std::string>& list) {
    if (list.empty()) return std::string("none");
    std::vector<size_t> ids;
    for (const std::string& name : list) ids.push_back(index_.find(name)->second);
    std::sort(ids.begin(), ids.end(), before);
    std::string out;
    for (size_t id : ids) out += (out.empty() ? "" : ", ") + nodes_[id].name;
    return out;
  };

  std::string out = "Topologies:\n ";
  for (const SubTopology& sub : SubTopologies()) {
    out += "  Sub-topology: " + std::to_string(sub.id) + "\n";
    std::vector<size_t> ordered = sub.nodes;
    std::sort(ordered.begin(), ordered.end(), before);
    for (size_t i : ordered) {
      const NodeSpec& n = nodes_[i];
      switch (n.kind) {
        case NodeKind::kSource:
          out += "    Source: " + n.name + " (topics: [" + JoinNames(n.topics) + "])\n" +
                 "      --> " + names(n.children) + "\n";
          break;
        case NodeKind::kProcessor:
          out += "    Processor: " + n.name + " (stores: [" + JoinNames(n.stores) + "])\n" +
                 "      --> " + names(n.children) +
                 "\n" + "      <-- " + names(n.parents) + "\n";
          break;
        case NodeKind::kSink:
          out += "    Sink: " + n.name +
                 (n.topics.empty() ? std::string(" (extractor class: TopicNameExtractor)")
                                   : " (topic: " + n.topics.front() + ")") +
                 "\n" + "      <-- " + names(n.parents) + "\n";
          break;
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace eventflow::streams
