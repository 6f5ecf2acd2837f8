// The Processor API: Processor, ProcessorContext, punctuation, and the
// processor nodes that a task instantiates from a Topology.
//
// A Topology is a template; each task (sub-topology × partition) builds its
// own node instances from it, so processors hold per-task state without
// locking. Records flow between nodes as typed Record<K, V> values through
// direct virtual calls (no serialisation inside a sub-topology). Node types
// are checked once when a task wires its nodes: a child whose input types
// differ from its parent's output types is a start-up error naming both nodes.
//
// Errors: user processors may throw (std::exception) from Process(); the task
// catches it at the source and hands it to the processing error handler
// (dead-letter queue by default). Lifecycle: Init() once per task, Process()
// per record, punctuators between records, Close() once. Thread-safety: a
// task's nodes are used by one stream thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/state/record_cache.h"
#include "eventflow/state/state_store.h"
#include "eventflow/streams/record.h"

namespace eventflow::streams {

//! Identifies a task: the sub-topology and the input partition number ("1_2").
struct TaskId {
  int subtopology = 0;
  int32_t partition = 0;
  std::string ToString() const {
    return std::to_string(subtopology) + "_" + std::to_string(partition);
  }
  friend auto operator<=>(const TaskId&, const TaskId&) = default;
};

//! When a punctuator fires: as stream time (event time) advances, or as the
//! wall clock does.
enum class PunctuationType { kStreamTime, kWallClockTime };

//! Called with the stream time or wall-clock time (epoch ms) that triggered it.
using Punctuator = std::function<void(int64_t timestamp)>;

//! Handle of a scheduled punctuator; Cancel() stops further calls.
class Cancellable {
 public:
  Cancellable() = default;
  explicit Cancellable(std::shared_ptr<bool> cancelled) : cancelled_(std::move(cancelled)) {}
  //! Stops the punctuator; safe to call more than once or from the punctuator itself.
  void Cancel() {
    if (cancelled_) *cancelled_ = true;
  }

 private:
  std::shared_ptr<bool> cancelled_;
};

namespace internal {

//! Returns the readable C++ name of `type` (demangled; std::string spelled so).
std::string TypeName(const std::type_info& type);

//! Returns "K, V" with readable type names, for type-mismatch messages.
std::string RecordTypes(const std::type_info& key, const std::type_info& value);

//! Returns "K, V" with readable type names, for type-mismatch messages.
template <typename K, typename V>
std::string RecordTypes() {
  return RecordTypes(typeid(K), typeid(V));
}

}  // namespace internal

class ProcessorNodeBase;

//! Where sink nodes send their serialized records (the task's producer, or the
//! test driver's output). A record the producer refuses at once (too large,
//! bad topic) is reported by Send(); failures known only later (delivery
//! reports) are remembered by the collector and reported at the next commit,
//! as Kafka Streams' RecordCollector does.
class RecordCollector {
 public:
  virtual ~RecordCollector() = default;
  //! Queues a record; nullopt key or value is a Kafka null. `partition` < 0
  //! lets the producer's partitioner (murmur2 of the key) decide. Returns the
  //! producer's reason when it refuses the record.
  virtual Status Send(std::string_view topic, int32_t partition,
                      std::optional<std::string_view> key, std::optional<std::string_view> value,
                      int64_t timestamp, const Headers& headers) = 0;
  //! Send() with one more header `extra_key`: `extra_value`, replacing any
  //! header of that name in `headers` (how a task stamps its watermark on
  //! records to repartition topics). The default copies the headers;
  //! collectors on the hot path override it to add the header without copying.
  virtual Status SendWithHeader(std::string_view topic, int32_t partition,
                                std::optional<std::string_view> key,
                                std::optional<std::string_view> value, int64_t timestamp,
                                const Headers& headers, std::string_view extra_key,
                                std::string_view extra_value) {
    Headers copy = headers;
    copy.Remove(extra_key);
    copy.Add(extra_key, extra_value);
    return Send(topic, partition, key, value, timestamp, copy);
  }
};

//! Thrown by a sink node when the collector refuses a record; the task hands
//! the input record to the production error policy (dead-letter by default).
class ProductionError : public std::runtime_error {
 public:
  explicit ProductionError(const Status& status)
      : std::runtime_error(status.message()), status_(status) {}
  //! The collector's refusal.
  const Status& status() const { return status_; }

 private:
  Status status_;
};

//! Returns true when `status`, returned by a RecordCollector, means the
//! producer refuses everything — its transaction failed and must be aborted
//! (Aborted), it was fenced, or it failed fatally — rather than that the
//! record is bad. Such a refusal never dead-letters the record: the task
//! fails and the thread aborts and rewinds, or recreates the producer.
inline bool IsTransactionFailure(const Status& status) {
  return status.code() == StatusCode::kAborted || status.code() == StatusCode::kFenced ||
         status.code() == StatusCode::kFatal;
}

//! Returns true when `status`, returned by a state store call, means the store
//! itself failed — the disk or file system (IOError: "No space left on
//! device", a read-only file system, RocksDB's background error) or damaged
//! data (Corruption) — rather than that the record or its bytes are bad.
inline bool IsStoreFailure(const Status& status) {
  return status.code() == StatusCode::kIOError || status.code() == StatusCode::kCorruption;
}

//! Thrown by a processor when a state store failed (IsStoreFailure; Kafka
//! Streams' ProcessorStateException). Not the record's fault, so never handed
//! to the processing error policy: the task fails, the stream thread stops
//! without committing, and the instance goes to ERROR. Its status names the
//! store, its path and the cause.
class StateStoreError : public std::runtime_error {
 public:
  explicit StateStoreError(Status status)
      : std::runtime_error(status.message()), status_(std::move(status)) {}
  //! The store's error.
  const Status& status() const { return status_; }

 private:
  Status status_;
};

//! What a task offers its nodes (implemented by the runtime's task and by the
//! test driver). Not for user code: processors use ProcessorContext.
class TaskContext {
 public:
  virtual ~TaskContext() = default;
  //! The application id (consumer group).
  virtual const std::string& application_id() const = 0;
  //! The task this node instance belongs to.
  virtual const TaskId& task_id() const = 0;
  //! The input record being processed, or nullptr inside a punctuator.
  virtual const RecordContext* record_context() const = 0;
  //! The task's stream time: the largest valid event time processed over all
  //! its input partitions (epoch ms; -1 before the first record).
  virtual int64_t stream_time() const = 0;
  //! The task's watermark (epoch ms; -1 while unknown): the minimum over its
  //! input partitions of their times — a source partition's time is its
  //! stream time, a repartition partition's the minimum of the watermarks of
  //! the upstream tasks writing it — counting the record being processed in
  //! its partition. Never decreases during the task's life. Windows close and
  //! stream-time punctuators fire by it. Default (contexts without
  //! partitions): the stream time.
  virtual int64_t watermark() const { return stream_time(); }
  //! The watermark the task resumed from: the minimum of the times restored
  //! from its committed offsets (-1: none, e.g. a new task or the test
  //! driver). Everything a stream-time punctuator did up to it was committed
  //! with those offsets — e.g. windows closed by it were already emitted.
  virtual int64_t restored_watermark() const { return -1; }
  //! The stream time of the input partition the record in process came from,
  //! counting the record: for a source partition the largest event time read
  //! from it so far; for a repartition record the same figure of its origin
  //! partition upstream, carried in its watermark stamp (the upstream
  //! watermark when it was sent from a punctuator or a cache flush). -1
  //! outside a record. What lateness is judged by (internal::LatenessClock).
  virtual int64_t record_partition_time() const { return -1; }
  //! The current wall-clock time (epoch ms; the test driver's mock clock).
  virtual int64_t wall_clock_ms() const = 0;
  //! Schedules a punctuator (see ProcessorContext::Schedule).
  virtual Cancellable Schedule(std::chrono::milliseconds interval, PunctuationType type,
                               Punctuator punctuator) = 0;
  //! Registers `fn` to run once when the task resumes from committed progress
  //! (see ProcessorContext::OnResume); a no-op where tasks do not resume.
  virtual void OnResume(Punctuator fn) { (void)fn; }
  //! Where sink nodes send records.
  virtual RecordCollector& collector() = 0;
  //! The task's instance of the state store `name`, or nullptr when the
  //! store is not connected to this task's processors.
  virtual state::StateStore* GetStateStore(std::string_view name) = 0;
  //! Counts a window update dropped because its window had closed
  //! (TaskCounters::dropped_late); a no-op where nothing counts.
  virtual void CountDroppedLate() {}
  //! The task's record cache (merges updates per key between commits; the
  //! runtime flushes it before every commit), or nullptr when caching is off.
  virtual state::RecordCache* record_cache() { return nullptr; }
};

template <typename K, typename V>
class InputNode;

//! A node instance in a task. Names are unique within a topology.
class ProcessorNodeBase {
 public:
  explicit ProcessorNodeBase(std::string name) : name_(std::move(name)) {}
  virtual ~ProcessorNodeBase() = default;
  ProcessorNodeBase(const ProcessorNodeBase&) = delete;
  ProcessorNodeBase& operator=(const ProcessorNodeBase&) = delete;

  //! The node's name.
  const std::string& name() const { return name_; }
  //! Called once before any record; `task` outlives the node.
  virtual void Init(TaskContext* task) { task_ = task; }
  //! Called once when the task closes.
  virtual void Close() {}
  //! Connects `child` downstream; InvalidArgument naming both nodes when the
  //! child's input types are not this node's output types, or this node has
  //! no output (a sink).
  virtual Status AddChild(ProcessorNodeBase* child) = 0;
  //! Returns a readable name of the record types this node accepts.
  virtual std::string InputTypes() const = 0;

 protected:
  TaskContext* task_ = nullptr;

 private:
  std::string name_;
};

//! A node that accepts Record<K, V>.
template <typename K, typename V>
class InputNode : public ProcessorNodeBase {
 public:
  using ProcessorNodeBase::ProcessorNodeBase;
  //! Processes one record (and forwards results downstream).
  virtual void Process(Record<K, V> record) = 0;
  std::string InputTypes() const override { return internal::RecordTypes<K, V>(); }
};

namespace internal {
//! Returns the InvalidArgument error for `child`, which does not accept the
//! records (key, value) that `parent` forwards.
Status ChildTypeMismatch(const ProcessorNodeBase& child, const std::string& parent,
                         const std::type_info& key, const std::type_info& value);
}  // namespace internal

//! The typed downstream edges of a node.
template <typename K, typename V>
class OutputPort {
 public:
  //! Adds `child`; fails when it does not accept Record<K, V>.
  Status Add(ProcessorNodeBase* child, const std::string& parent) {
    auto* typed = dynamic_cast<InputNode<K, V>*>(child);
    if (typed == nullptr) return internal::ChildTypeMismatch(*child, parent, typeid(K), typeid(V));
    children_.push_back(typed);
    return Status::OK();
  }
  //! Sends `record` to every child (copies for all but the last).
  void Forward(Record<K, V>&& record) {
    const size_t n = children_.size();
    if (n == 0) return;
    for (size_t i = 0; i + 1 < n; ++i) children_[i]->Process(record);
    children_[n - 1]->Process(std::move(record));
  }
  //! Sends `record` to the child named `child` only; returns false when there is none.
  bool ForwardTo(Record<K, V>&& record, std::string_view child) {
    for (InputNode<K, V>* c : children_) {
      if (c->name() == child) {
        c->Process(std::move(record));
        return true;
      }
    }
    return false;
  }
  //! The children, in the order they were connected.
  const std::vector<InputNode<K, V>*>& children() const { return children_; }

 private:
  std::vector<InputNode<K, V>*> children_;
};

//! What a processor sees of its task: forwarding, record metadata, time,
//! punctuation. Valid from Init() until Close().
template <typename KOut, typename VOut>
class ProcessorContext {
 public:
  ProcessorContext(TaskContext* task, OutputPort<KOut, VOut>* port, const std::string* node)
      : task_(task), port_(port), node_(node) {}

  //! Forwards `record` to every child node.
  void Forward(Record<KOut, VOut> record) { port_->Forward(std::move(record)); }
  //! Forwards `record` to the child node named `child` only.
  void Forward(Record<KOut, VOut> record, std::string_view child) {
    if (!port_->ForwardTo(std::move(record), child)) {
      throw std::invalid_argument("node \"" + *node_ + "\" has no child named \"" +
                                  std::string(child) + "\"");
    }
  }
  //! The application id.
  const std::string& application_id() const { return task_->application_id(); }
  //! The task's id.
  const TaskId& task_id() const { return task_->task_id(); }
  //! Topic, partition and offset of the input record, or nullptr in a punctuator.
  const RecordContext* record_context() const { return task_->record_context(); }
  //! The task's stream time (epoch ms): the largest event time processed over
  //! all its input partitions ("max seen", as Kafka Streams).
  int64_t stream_time() const { return task_->stream_time(); }
  //! The task's watermark (epoch ms; -1 while unknown): the minimum over the
  //! task's input partitions of their times (see TaskContext::watermark()),
  //! counting the record being processed. What windows close by.
  int64_t watermark() const { return task_->watermark(); }
  //! The watermark the task resumed from (see TaskContext::restored_watermark()).
  int64_t restored_watermark() const { return task_->restored_watermark(); }
  //! The stream time of the current record's own input partition (see
  //! TaskContext::record_partition_time()).
  int64_t record_partition_time() const { return task_->record_partition_time(); }
  //! Wall-clock time (epoch ms).
  int64_t wall_clock_ms() const { return task_->wall_clock_ms(); }
  //! This processor's node name.
  const std::string& node_name() const { return *node_; }
  //! The task's instance of the state store `name` as type S (e.g.
  //! state::KeyValueStore), or nullptr when it is not connected to this
  //! processor's sub-topology or is of another kind. Valid until Close().
  template <typename S>
  S* GetStateStore(std::string_view name) const {
    return dynamic_cast<S*>(task_->GetStateStore(name));
  }
  //! Counts a window update this processor dropped because its window had
  //! closed (the task's dropped_late counter; windowed aggregations).
  void CountDroppedLate() { task_->CountDroppedLate(); }
  //! The task's record cache, or nullptr when caching is off (see TaskContext).
  state::RecordCache* record_cache() const { return task_->record_cache(); }
  //! Calls `punctuator` every `interval` of stream time (first when the
  //! watermark reaches 0, then at multiples of the interval) or of wall-clock
  //! time (first one interval from now). Returns a handle that cancels it.
  //! PunctuationType::kStreamTime follows the task's *watermark*, not the
  //! "max seen" stream time: it fires as the watermark advances (after a
  //! record, a watermark record from an upstream task, or an idle partition
  //! stops holding it back) and gets the watermark as its argument — so
  //! windows emitted from it are final for every input partition.
  Cancellable Schedule(std::chrono::milliseconds interval, PunctuationType type,
                       Punctuator punctuator) {
    return task_->Schedule(interval, type, std::move(punctuator));
  }
  //! Runs `fn` once when the task resumes from committed progress: after its
  //! stores are restored and before it processes anything, with
  //! restored_watermark() as its argument; never for a task without one (-1).
  //! For what follows from the watermark alone and was done before the crash
  //! or the move, e.g. a window store's expiry horizon, which a restart with
  //! no new input would otherwise leave where the last store commit put it.
  //! Unlike a stream-time punctuator (which, as in Kafka Streams, fires on
  //! the first record after a restart) it must be idempotent: the work it
  //! repeats was committed already.
  void OnResume(Punctuator fn) { task_->OnResume(std::move(fn)); }

 private:
  TaskContext* task_;
  OutputPort<KOut, VOut>* port_;
  const std::string* node_;
};

//! A user processor: consumes Record<KIn, VIn>, forwards Record<KOut, VOut>.
template <typename KIn, typename VIn, typename KOut, typename VOut>
class Processor {
 public:
  virtual ~Processor() = default;
  //! Called once per task before any record; keep `context` to forward later.
  virtual void Init(ProcessorContext<KOut, VOut>& context) { (void)context; }
  //! Called for every input record.
  virtual void Process(Record<KIn, VIn> record) = 0;
  //! Called once when the task closes.
  virtual void Close() {}
};

//! Makes a fresh processor instance for each task.
template <typename KIn, typename VIn, typename KOut, typename VOut>
using ProcessorSupplier = std::function<std::unique_ptr<Processor<KIn, VIn, KOut, VOut>>()>;

//! The node that runs a user processor.
template <typename KIn, typename VIn, typename KOut, typename VOut>
class ProcessorNode final : public InputNode<KIn, VIn> {
 public:
  ProcessorNode(std::string name, std::unique_ptr<Processor<KIn, VIn, KOut, VOut>> processor)
      : InputNode<KIn, VIn>(std::move(name)), processor_(std::move(processor)) {}
  void Init(TaskContext* task) override {
    ProcessorNodeBase::Init(task);
    context_.emplace(task, &port_, &this->name());
    processor_->Init(*context_);
  }
  void Close() override { processor_->Close(); }
  void Process(Record<KIn, VIn> record) override { processor_->Process(std::move(record)); }
  Status AddChild(ProcessorNodeBase* child) override { return port_.Add(child, this->name()); }

 private:
  std::unique_ptr<Processor<KIn, VIn, KOut, VOut>> processor_;
  OutputPort<KOut, VOut> port_;
  std::optional<ProcessorContext<KOut, VOut>> context_;
};

}  // namespace eventflow::streams
