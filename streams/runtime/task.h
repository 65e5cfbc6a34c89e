// task: one partition group of one sub-topology: its operator instances, its stores, the
// buffered input records of its partitions, and its stream time.
//
// The task is broker-agnostic: records come in through enqueue() and leave through a
// record_sink (the Kafka runtime's producer, or the test driver's in-memory topics). Records
// are processed in timestamp order across the task's partitions (smallest buffered head
// first). Stream time = the largest timestamp processed so far; stream-time punctuators fire
// when it passes their next due time.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eddy/streams/detail/graph.h"
#include "eddy/streams/streams_config.h"
#include "streams/runtime/physical_topology.h"
#include "streams/state/store_stack.h"

namespace eddy::streams::runtime {

class record_sink {
 public:
  virtual ~record_sink() = default;
  // partition < 0: the sink picks one from the key (murmur2, like Kafka).
  virtual void send(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
                    const std::optional<std::string>& value, int64_t timestamp, const headers& hdrs) = 0;
  // Partition count of a topic, or -1 if unknown (then the sink decides).
  virtual int32_t partitions_of(const std::string& topic) = 0;
};

struct task_env {
  const physical_topology* topo = nullptr;
  const streams_config* config = nullptr;
  record_sink* sink = nullptr;
  // Opens the committed layer of a store for a task (RocksDB or memory).
  std::function<std::unique_ptr<state::committed_store>(const detail::store_spec&, task_id, std::string& error)> open_store;
  std::function<int64_t()> wall_clock;
};

class task {
 public:
  task(task_id id, task_env env);
  ~task();

  task_id id() const { return id_; }
  // Opens the stores (before restore); returns an error message or empty.
  std::string open_stores();
  std::vector<state::store_stack*> stores();
  state::store_stack* store(const std::string& name);
  // Instantiates and initialises the operators (after restore).
  void init_processors();
  bool initialized() const { return initialized_; }

  void enqueue(const std::string& topic, int32_t partition, int64_t offset, std::optional<std::string> key,
               std::optional<std::string> value, int64_t timestamp, headers hdrs);
  size_t buffered() const { return buffered_; }
  // Processes the buffered record with the smallest timestamp. Returns false when nothing is
  // buffered; sets error (and returns false) on a fatal error.
  bool process_next(std::string& error);
  void punctuate_wall_clock();

  // Next offsets to commit per input partition (processed offset + 1).
  const std::map<std::pair<std::string, int32_t>, int64_t>& consumed() const { return consumed_; }
  // When a commit starts: the stores set the transaction's writes aside (later writes belong
  // to the next transaction).
  void seal_stores();
  // After a successful commit: the stores commit the sealed writes with their changelog offsets.
  void commit_stores(const std::function<int64_t(const std::string& topic, int32_t partition)>& last_changelog_offset);
  // Stores apply the committed writes they still hold in memory to their committed layer.
  void flush_stores();
  // After an aborted commit: staged (open and sealed) writes and buffered records are dropped.
  void abort();
  // Closes the processors and flushes the stores' committed writes.
  void close();
  // After an aborted transaction: drops staged writes, buffers, consumed offsets, schedules,
  // and re-creates the operators over the (committed) stores.
  void reset();
  int64_t stream_time() const { return stream_time_; }

 private:
  struct node_ctx;
  struct buffered_record {
    int64_t offset;
    std::optional<std::string> key, value;
    int64_t timestamp;
    headers hdrs;
  };
  struct schedule {
    int64_t interval;
    punctuation_type type;
    std::function<void(int64_t)> fn;
    int64_t next;
  };
  friend struct node_ctx;

  task_id id_;
  task_env env_;
  std::vector<std::unique_ptr<state::store_stack>> stores_;
  std::map<int, std::unique_ptr<detail::node>> nodes_;
  std::map<int, std::unique_ptr<node_ctx>> ctxs_;
  std::map<std::pair<std::string, int32_t>, std::deque<buffered_record>> queues_;
  std::map<std::pair<std::string, int32_t>, int64_t> consumed_;
  std::map<std::pair<std::string, int32_t>, int64_t> partition_time_;
  std::vector<schedule> schedules_;
  size_t buffered_ = 0;
  int64_t stream_time_ = -1;
  detail::record_origin origin_;
  const detail::any_record* current_ = nullptr;
  bool initialized_ = false;
  deserialization_handler on_deser_error_;
};

}  // namespace eddy::streams::runtime
