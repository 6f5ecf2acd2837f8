#include "eventflow/streams/kafka_streams.h"

#include <rocksdb/cache.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <set>
#include <thread>

#include "eventflow/core/log.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/kafka/partitioner.h"
#include "stream_thread.h"
#include "thread_shared.h"

namespace eventflow::streams {
namespace {

// Describes the application's consumer group through an admin client created
// on first use (interactive queries that need another instance's tasks,
// standby placement) and kept in *admin, shared by every function returned.
std::function<Result<kafka::GroupDescription>()> DescribeGroupFunction(
    std::shared_ptr<void>* admin_slot, KafkaClientSupplier* supplier, const StreamsConfig* config) {
  struct Admin {
    std::mutex mu;
    kafka::KafkaHandle handle;  // created on first use
  };
  if (!*admin_slot) *admin_slot = std::make_shared<Admin>();
  auto admin = std::static_pointer_cast<Admin>(*admin_slot);
  return [admin, supplier, config]() -> Result<kafka::GroupDescription> {
    std::lock_guard<std::mutex> lock(admin->mu);
    if (!admin->handle) {
      auto created = supplier->CreateAdmin(*config);
      if (!created.ok()) return created.status();
      admin->handle = std::move(*created);
    }
    return kafka::DescribeConsumerGroup(admin->handle.get(), config->application_id,
                                        std::chrono::seconds(5));
  };
}

}  // namespace

std::string_view KafkaStreams::StateName(State state) {
  switch (state) {
    case State::kCreated:
      return "CREATED";
    case State::kRebalancing:
      return "REBALANCING";
    case State::kRunning:
      return "RUNNING";
    case State::kPendingShutdown:
      return "PENDING_SHUTDOWN";
    case State::kNotRunning:
      return "NOT_RUNNING";
    case State::kError:
      return "ERROR";
  }
  return "?";
}

KafkaStreams::KafkaStreams(Topology topology, StreamsConfig config)
    : topology_(std::move(topology)), config_(std::move(config)) {}

KafkaStreams::~KafkaStreams() { Close(); }

void KafkaStreams::SetStateListener(StateListener listener) { listener_ = std::move(listener); }

void KafkaStreams::SetUncaughtErrorHandler(ErrorHandler handler) {
  error_handler_ = std::move(handler);
}

void KafkaStreams::SetTestHook(RuntimeTestHook hook) { test_hook_ = std::move(hook); }

KafkaStreams::State KafkaStreams::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

Status KafkaStreams::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

uint64_t KafkaStreams::processed() const {
  uint64_t n = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : threads_) n += t->processed();
  return n;
}

std::map<std::string, KafkaStreams::StoreRestoreMetrics> KafkaStreams::restore_metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!shared_) return {};
  return shared_->restore_progress->Snapshot();
}

StreamsMetrics KafkaStreams::metrics() const {
  StreamsMetrics m;
  const ThreadShared* shared = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shared = shared_.get();
  }
  // shared_ is set once by Start() and lives as long as this object.
  if (shared == nullptr) return m;
  for (const auto& probe : shared->thread_probes) m.threads.push_back(probe->Snapshot());
  m.restore = shared->restore_progress->Snapshot();
  if (const StandbyCoordinator* standby = shared->standby.get()) {
    m.warming_up = standby->warmup_state() != StandbyCoordinator::Warmup::kJoined;
    m.warmup_tasks = standby->warmup_tasks();
  }
  m.records_lost = shared->lost_records->Snapshot();
  if (const state::StateMemoryBudget* budget = shared->memory_budget.get()) {
    m.block_cache_capacity_bytes = budget->block_cache()->GetCapacity();
    m.block_cache_usage_bytes = budget->block_cache()->GetUsage();
    m.block_cache_pinned_bytes = budget->block_cache()->GetPinnedUsage();
    m.memtable_limit_bytes = budget->write_buffer_manager()->buffer_size();
    m.memtable_usage_bytes = budget->write_buffer_manager()->memory_usage();
    m.record_cache_limit_bytes = budget->record_cache_bytes();
  }
  return m;
}

bool KafkaStreams::ready() const {
  if (state() != State::kRunning || stalled_partitions() > 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (!shared_) return false;
  for (const auto& probe : shared_->thread_probes) {
    if (probe->restoring_tasks.load(std::memory_order_relaxed) > 0) return false;
  }
  return true;
}

std::map<std::string, uint64_t> KafkaStreams::records_lost() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!shared_) return {};
  return shared_->lost_records->Snapshot();
}

int KafkaStreams::stalled_partitions() const {
  int n = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : threads_) n += t->stalled_partitions();
  return n;
}

uint64_t KafkaStreams::partition_stalls_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stalls_of_replaced_threads_ + [&] {
    uint64_t n = 0;
    for (const auto& t : threads_) n += t->partition_stalls_total();
    return n;
  }();
}

uint64_t KafkaStreams::dropped_late() const {
  uint64_t n = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : threads_) n += t->dropped_late();
  return n;
}

void KafkaStreams::SetState(State state) {
  State old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = state_;
    if (old == state) return;
    // Terminal states stay.
    if (old == State::kNotRunning || (old == State::kError && state != State::kNotRunning)) return;
    state_ = state;
  }
  Log(LogLevel::kInfo, "kafka-streams",
      "state " + std::string(StateName(old)) + " -> " + std::string(StateName(state)));
  if (listener_) listener_(state, old);
}

void KafkaStreams::OnThreadState(int index, ThreadState state) {
  State next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    thread_states_[static_cast<size_t>(index)] = state;
    if (closing_ || state_ == State::kError) return;
    const bool all_running = std::all_of(thread_states_.begin(), thread_states_.end(),
                                         [](ThreadState s) { return s == ThreadState::kRunning; });
    next = all_running ? State::kRunning : State::kRebalancing;
  }
  if (state != ThreadState::kDead) SetState(next);
}

Status KafkaStreams::CreateInternalTopics() {
  auto admin = shared_->client_supplier->CreateAdmin(config_);
  if (!admin.ok()) return admin.status();
  const auto timeout = std::chrono::seconds(60);

  // Source topics must exist; those of one sub-topology must be co-partitioned.
  std::map<std::string, int> partitions;
  int max_partitions = 1;
  for (const Topology::SubTopology& sub : shared_->subtopologies) {
    std::string first;
    for (const std::string& topic : sub.source_topics) {
      if (topology_.IsInternalTopic(topic)) continue;
      auto count = kafka::PartitionCount(admin->get(), topic, timeout);
      // A topic another client has just created may not be in every
      // broker's metadata yet (a cluster propagates it asynchronously; seen
      // on 3 brokers when the instance created it a moment before): a
      // missing one is looked for again for a few seconds.
      const auto look_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (count.status().IsNotFound() && std::chrono::steady_clock::now() < look_until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        count = kafka::PartitionCount(admin->get(), topic, timeout);
      }
      if (!count.ok()) {
        return count.status().WithContext("source topic \"" + topic + "\" of sub-topology " +
                                          std::to_string(sub.id));
      }
      partitions[topic] = *count;
      max_partitions = std::max(max_partitions, *count);
      if (first.empty()) {
        first = topic;
      } else if (partitions[first] != *count) {
        return Status::InvalidArgument(
            "sub-topology " + std::to_string(sub.id) + " reads topics \"" + first + "\" (" +
            std::to_string(partitions[first]) + " partitions) and \"" + topic + "\" (" +
            std::to_string(*count) +
            " partitions): topics joined or merged in one sub-topology must be co-partitioned");
      }
    }
  }
  // Internal topics: as many partitions as the sub-topology that writes them
  // reads, unless the topology says otherwise.
  std::vector<kafka::NewTopic> topics;
  for (const InternalTopicSpec& spec : topology_.internal_topics()) {
    int n = spec.num_partitions;
    if (n <= 0) {
      n = 1;
      for (const Topology::SubTopology& sub : shared_->subtopologies) {
        if (std::find(sub.sink_topics.begin(), sub.sink_topics.end(), spec.name) ==
            sub.sink_topics.end()) {
          continue;
        }
        for (const std::string& t : sub.source_topics) {
          if (partitions.count(t)) n = std::max(n, partitions[t]);
        }
      }
    }
    // Repartition topics (the only internal topics a topology declares) keep
    // their records by time forever: records carry event times, which for a
    // replay of old data are months old, and time retention would delete
    // records nobody has read yet. The threads purge what they committed
    // (DeleteRecords, repartition_purge_interval); small segments let the
    // broker free the purged space soon (Kafka Streams' KIP-284 settings).
    std::vector<std::pair<std::string, std::string>> configs = {
        {"cleanup.policy", "delete"},
        {"retention.ms", "-1"},
        {"segment.bytes", "52428800"},
        {"segment.ms", "600000"},
    };
    for (const auto& entry : spec.configs) {
      // Named references: clang 14 (the fuzz build) cannot capture a binding.
      const auto& key = entry.first;
      const auto& value = entry.second;
      auto it = std::find_if(configs.begin(), configs.end(),
                             [&](const auto& kv) { return kv.first == key; });
      if (it != configs.end()) {
        it->second = value;
      } else {
        configs.emplace_back(key, value);
      }
    }
    topics.push_back(kafka::NewTopic{shared_->resolve(spec.name), n, config_.replication_factor,
                                     std::move(configs)});
  }
  // Changelog topics: one partition per task of the sub-topology using the store.
  std::map<std::string, int> internal_partitions;
  for (const kafka::NewTopic& t : topics) internal_partitions[t.name] = t.num_partitions;
  // Watermarks through repartition topics: who writes each one (every task of
  // the writing sub-topologies) and how many partitions it has.
  for (const auto& [name, count] : internal_partitions) {
    shared_->repartition_partitions[name] = count;
  }
  for (const Topology::SubTopology& sub : shared_->subtopologies) {
    int tasks = 1;
    for (const std::string& t : sub.source_topics) {
      if (partitions.count(t)) tasks = std::max(tasks, partitions[t]);
      auto it = internal_partitions.find(shared_->resolve(t));
      if (it != internal_partitions.end()) tasks = std::max(tasks, it->second);
    }
    shared_->subtopology_tasks[sub.id] = tasks;
    for (const std::string& t : sub.sink_topics) {
      if (!topology_.IsInternalTopic(t)) continue;
      std::vector<TaskId>& writers = shared_->upstream_tasks[shared_->resolve(t)];
      for (int p = 0; p < tasks; ++p) writers.push_back(TaskId{sub.id, p});
      std::sort(writers.begin(), writers.end());
    }
  }
  // Every partition the topology reads: what one instance may be assigned.
  int source_partitions = 0;
  for (const Topology::SubTopology& sub : shared_->subtopologies) {
    source_partitions +=
        shared_->subtopology_tasks[sub.id] * static_cast<int>(sub.source_topics.size());
  }
  shared_->client_memory.main_fetch_queue_bytes =
      shared_->memory_split.PrefetchBytesPerPartition(source_partitions);
  {
    const MemorySplit& m = shared_->memory_split;
    auto kib = [](size_t bytes) { return std::to_string(bytes >> 10) + " KiB"; };
    Log(LogLevel::kInfo, "kafka-streams",
        "memory: consumer prefetch " + kib(m.consumer_prefetch_bytes) + " (" +
            kib(shared_->client_memory.main_fetch_queue_bytes) + " for each of " +
            std::to_string(source_partitions) + " source partitions), restore prefetch " +
            kib(m.restore_prefetch_bytes) + ", producer buffers " +
            kib(m.producer_buffer_bytes) + ", state " + kib(m.state_bytes) +
            " (kafka.* settings win over the derived librdkafka values)");
  }
  for (const StoreSpec& store : topology_.stores()) {
    if (!store.logging) continue;
    int n = 1;
    for (const Topology::SubTopology& sub : shared_->subtopologies) {
      if (std::find(sub.stores.begin(), sub.stores.end(), store.name) == sub.stores.end()) continue;
      for (const std::string& t : sub.source_topics) {
        if (partitions.count(t)) n = std::max(n, partitions[t]);
        auto it = internal_partitions.find(shared_->resolve(t));
        if (it != internal_partitions.end()) n = std::max(n, it->second);
      }
    }
    std::vector<std::pair<std::string, std::string>> configs;
    if (store.kind == StoreSpec::Kind::kKeyValue) {
      configs = {{"cleanup.policy", "compact"}};
    } else {
      // Windows and sessions expire: compact, and delete after retention plus
      // windowstore_changelog_additional_retention (1 day). Changelog records
      // carry the wall-clock time they were written (TaskChangelogWriter), so
      // this counts from the write, whatever the event times.
      const auto retention = store.retention + config_.windowstore_changelog_additional_retention;
      configs = {{"cleanup.policy", "compact,delete"},
                 {"retention.ms", std::to_string(retention.count())}};
    }
    topics.push_back(kafka::NewTopic{ChangelogTopic(config_.application_id, store.name), n,
                                     config_.replication_factor, std::move(configs)});
  }
  // Dead letters carry the wall-clock time they were written: the broker's
  // default retention (7 days) counts from then.
  topics.push_back(kafka::NewTopic{DeadLetterTopic(config_.application_id),
                                   1,
                                   config_.replication_factor,
                                   {{"cleanup.policy", "delete"}}});
  (void)max_partitions;
  EVENTFLOW_RETURN_IF_ERROR(kafka::EnsureTopics(admin->get(), topics, timeout));
  // Topics left by an earlier version (or created by hand) keep their
  // configuration; say where it differs from what the runtime relies on.
  kafka::WarnAboutTopicConfigs(admin->get(), topics,
                               "repartition topics must keep records until the application purges "
                               "them, changelogs until their state expires (docs/architecture.md, "
                               "\"Topics and retention\")",
                               timeout);
  return Status::OK();
}

Status KafkaStreams::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kCreated) {
      return Status::InvalidArgument("KafkaStreams::Start() called in state " +
                                     std::string(StateName(state_)));
    }
  }
  EVENTFLOW_RETURN_IF_ERROR(config_.Validate());
  EVENTFLOW_RETURN_IF_ERROR(topology_.Validate());

  // Built aside and published under mu_: restore_metrics() may read shared_
  // from another thread (the metrics server attaches before Start()).
  auto shared = std::make_unique<ThreadShared>();
  shared->topology = &topology_;
  shared->subtopologies = topology_.SubTopologies();
  shared->config = &config_;
  shared->instance_id = config_.EffectiveInstanceId();
  shared->resolve = topology_.ResolverFor(config_.application_id);
  shared->client_supplier = NewDefaultClientSupplier(&shared->client_memory);
  shared->test_hook = test_hook_;
  for (const Topology::SubTopology& sub : shared->subtopologies) {
    for (const std::string& topic : sub.source_topics) {
      const std::string resolved = shared->resolve(topic);
      shared->subtopology_of_topic[resolved] = sub.id;
      shared->source_topics.push_back(resolved);
    }
  }
  auto split = SplitMemoryBudget(config_);
  if (!split.ok()) return split.status();
  shared->memory_split = *split;
  // The consumers' bound per partition follows once the partition counts are
  // known (CreateInternalTopics); restores and producers are per thread.
  shared->client_memory.restore_fetch_queue_bytes =
      split->RestorePrefetchBytesPerThread(config_.num_stream_threads);
  shared->client_memory.producer_queue_bytes =
      split->ProducerBufferBytesPerThread(config_.num_stream_threads);
  state::StateMemoryBudgetOptions budget;
  budget.total_bytes = split->state_bytes;
  budget.record_cache_ratio = config_.record_cache_ratio;
  auto created_budget = state::StateMemoryBudget::Create(budget);
  if (!created_budget.ok()) {
    return created_budget.status().WithContext("statestore.memory.bytes");
  }
  shared->memory_budget = std::move(*created_budget);
  if (config_.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2) {
    std::set<std::string> own_threads;
    for (int i = 0; i < config_.num_stream_threads; ++i) {
      own_threads.insert(shared->instance_id + "-" + std::to_string(i));
    }
    KafkaClientSupplier* supplier = shared->client_supplier.get();
    const StreamsConfig* config = &config_;
    shared->departed_members = std::make_unique<DepartedMemberFencer>(
        std::move(own_threads),
        [supplier, config]() -> Result<kafka::GroupDescription> {
          // A fresh admin client per description, dropped at once: in
          // librdkafka 2.0.2 a coordinator-targeted admin request left
          // waiting (e.g. one that timed out while the coordinator moved)
          // can abort the process when it is sent to a broker that just went
          // down (use-after-free, librdkafka PR #5397, not in any release).
          auto admin = supplier->CreateAdmin(*config);
          if (!admin.ok()) return admin.status();
          return kafka::DescribeConsumerGroup(admin->get(), config->application_id,
                                              std::chrono::seconds(5));
        },
        [supplier, config](const std::string& member, std::chrono::milliseconds timeout) {
          // The member's own transactional.id: "<application id>-<member>".
          auto producer = supplier->CreateProducer(*config, member);
          if (!producer.ok()) return producer.status();
          return (*producer)->InitTransactions(timeout);
        });
  }
  for (int i = 0; i < config_.num_stream_threads; ++i) {
    shared->thread_probes.push_back(std::make_shared<ThreadProbe>(
        shared->instance_id + "-" + std::to_string(i),
        config_.processing_guarantee == ProcessingGuarantee::kExactlyOnceV2));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    shared_ = std::move(shared);
  }
  EVENTFLOW_RETURN_IF_ERROR(CreateInternalTopics());
  PrepareInteractiveQueries();
  PrepareStandbys();

  SetState(State::kRebalancing);
  thread_states_.assign(static_cast<size_t>(config_.num_stream_threads), ThreadState::kCreated);
  for (int i = 0; i < config_.num_stream_threads; ++i) {
    auto thread = std::make_unique<StreamThread>(
        i, shared_.get(), [this](int index, ThreadState s) { OnThreadState(index, s); });
    Status s = thread->Start();
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads_.push_back(std::move(thread));
    }
    if (!s.ok()) {
      Close();
      return s.WithContext("starting stream thread " + std::to_string(i));
    }
  }
  supervisor_ = std::thread([this] { Supervise(); });
  return Status::OK();
}

void KafkaStreams::PrepareInteractiveQueries() {
  QueryableStores::Layout layout = QueryableStores::LayoutOf(
      topology_, shared_->subtopologies, shared_->subtopology_tasks, shared_->resolve);
  auto stores =
      std::make_unique<QueryableStores>(std::move(layout.infos), std::move(layout.subtopologies),
                                        kafka::KeyPartitioner::ForDataProducers(config_.kafka));
  std::optional<HostInfo> self;
  if (!config_.application_server.empty()) {
    // Validate() has parsed it already.
    auto endpoint = HostInfo::Parse(config_.application_server, "application.server");
    if (endpoint.ok()) self = *endpoint;
  }
  auto metadata = std::make_unique<StreamsMetadataState>(
      stores.get(), std::move(layout.source_topics), std::move(self),
      DescribeGroupFunction(&describe_admin_, shared_->client_supplier.get(), &config_));
  std::lock_guard<std::mutex> lock(mu_);
  shared_->queryable_stores = std::move(stores);
  shared_->metadata = std::move(metadata);
}

void KafkaStreams::PrepareStandbys() {
  if (config_.num_standby_replicas <= 0) return;
  TaskLayout layout;
  layout.subtopology_tasks = shared_->subtopology_tasks;
  layout.subtopology_of_topic = shared_->subtopology_of_topic;
  for (const Topology::SubTopology& sub : shared_->subtopologies) {
    for (const std::string& name : sub.stores) {
      const StoreSpec* spec = topology_.FindStore(name);
      if (spec != nullptr && spec->logging) layout.stateful.insert(sub.id);
    }
  }
  StandbyCoordinator::Options options;
  options.instance_id = shared_->instance_id;
  options.threads = config_.num_stream_threads;
  options.num_standby_replicas = config_.num_standby_replicas;
  options.acceptable_recovery_lag = config_.acceptable_recovery_lag;
  options.warmup_timeout = config_.warmup_timeout;
  auto coordinator = std::make_unique<StandbyCoordinator>(
      std::move(layout), std::move(options),
      DescribeGroupFunction(&describe_admin_, shared_->client_supplier.get(), &config_));
  coordinator->Start();
  std::lock_guard<std::mutex> lock(mu_);
  shared_->standby = std::move(coordinator);
}

Result<const QueryableStores*> KafkaStreams::Queryable() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!shared_ || !shared_->queryable_stores) {
    return Status::Unavailable("interactive queries: the application has not started");
  }
  return shared_->queryable_stores.get();
}

std::vector<QueryableStoreInfo> KafkaStreams::QueryableStoreInfos() const {
  auto stores = Queryable();
  return stores.ok() ? (*stores)->infos() : std::vector<QueryableStoreInfo>{};
}

Result<ReadOnlyStore> KafkaStreams::Store(const StoreQueryParameters& params) const {
  auto stores = Queryable();
  if (!stores.ok()) return stores.status();
  const QueryableStoreInfo* info = (*stores)->Find(params.store);
  if (info == nullptr) return Status::NotFound("no store named " + params.store);
  if (params.partition && (*params.partition < 0 || *params.partition >= info->partitions)) {
    return Status::InvalidArgument("store " + params.store + " has partitions 0.." +
                                   std::to_string(info->partitions - 1) + ", not " +
                                   std::to_string(*params.partition));
  }
  return (*stores)->Handle(*info, params.partition);
}

Result<KeyQueryMetadata> KafkaStreams::QueryMetadataForKey(std::string_view store,
                                                           std::string_view key) const {
  auto stores = Queryable();
  if (!stores.ok()) return stores.status();
  const QueryableStoreInfo* info = (*stores)->Find(store);
  if (info == nullptr) return Status::NotFound("no store named " + std::string(store));
  return shared_->metadata->ForKey(*info, key);
}

Result<std::vector<StreamsMetadata>> KafkaStreams::StreamsMetadataForStore(
    std::string_view store) const {
  auto stores = Queryable();
  if (!stores.ok()) return stores.status();
  const QueryableStoreInfo* info = (*stores)->Find(store);
  if (info == nullptr) return Status::NotFound("no store named " + std::string(store));
  return shared_->metadata->ForStore(*info);
}

void KafkaStreams::MarkMetadataStale() const {
  if (Queryable().ok()) shared_->metadata->MarkStale();
}

void KafkaStreams::Supervise() {
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::unique_ptr<StreamThread> dead;
    size_t index = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;
      for (size_t i = 0; i < threads_.size(); ++i) {
        if (threads_[i]->state() == ThreadState::kDead) {
          index = i;
          dead = std::move(threads_[i]);
          break;
        }
      }
    }
    if (!dead) continue;
    dead->Join();
    const Status cause = dead->error();
    const ErrorResponse response =
        error_handler_ ? error_handler_(cause) : ErrorResponse::kShutdownClient;
    // A thread fenced by its own consumer's rejoin is always replaced: the
    // error is librdkafka's (issue #3437), not the application's.
    if ((response == ErrorResponse::kReplaceThread || dead->self_fenced()) && !cause.ok()) {
      Log(LogLevel::kWarn, "kafka-streams",
          "replacing stream thread " + std::to_string(index) + " after: " + cause.ToString());
      auto thread =
          std::make_unique<StreamThread>(static_cast<int>(index), shared_.get(),
                                         [this](int i, ThreadState s) { OnThreadState(i, s); });
      Status s = thread->Start();
      std::lock_guard<std::mutex> lock(mu_);
      stalls_of_replaced_threads_ += dead->partition_stalls_total();
      threads_[index] = std::move(thread);
      if (s.ok()) continue;
      error_ = s;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      threads_[index] = std::move(dead);
      error_ = cause.ok() ? Status::Internal("stream thread stopped unexpectedly") : cause;
    }
    Log(LogLevel::kError, "kafka-streams", "shutting down after: " + error().ToString());
    SetState(State::kError);
    std::vector<StreamThread*> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& t : threads_) all.push_back(t.get());
    }
    for (StreamThread* t : all) t->RequestShutdown();
    return;
  }
}

bool KafkaStreams::Close(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kCreated || state_ == State::kNotRunning) {
      state_ = State::kNotRunning;
      return true;
    }
    closing_ = true;
  }
  if (state() != State::kError) SetState(State::kPendingShutdown);
  if (supervisor_.joinable()) supervisor_.join();
  std::vector<StreamThread*> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) threads.push_back(t.get());
  }
  for (StreamThread* t : threads) t->RequestShutdown();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool in_time = true;
  for (StreamThread* t : threads) {
    while (t->state() != ThreadState::kDead && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    in_time = in_time && t->state() == ThreadState::kDead;
  }
  if (in_time) {
    for (StreamThread* t : threads) t->Join();
  }
  if (shared_ && shared_->standby) shared_->standby->Stop();
  const bool failed = state() == State::kError;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = failed ? State::kError : State::kPendingShutdown;
  }
  if (!failed) SetState(State::kNotRunning);
  return in_time;
}

}  // namespace eventflow::streams
