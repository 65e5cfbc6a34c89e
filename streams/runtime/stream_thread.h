// stream_thread: one processing thread of a streams_app. It owns a consumer (group member,
// group.id = application.id; read_committed under exactly-once), one producer
// (transactional under exactly_once_v2, transactional.id = <application.id>-<process id>-<index>),
// a restore consumer, and the tasks of the partitions assigned to it.
//
// Loop: poll -> route records to tasks -> process in timestamp order -> punctuate -> every
// commit.interval.ms commit:
//   exactly_once_v2: send_offsets_to_transaction(consumed offsets, group metadata) +
//     commit_transaction, on a committer thread while this thread goes on processing: the
//     stores seal the transaction's writes and stage later ones separately, and records sent
//     meanwhile are held and produced in the next transaction once the commit completed (no
//     records may be produced between commit_transaction and begin_transaction). Only after
//     the commit succeeded do the stores commit their sealed writes (with the changelog
//     offsets the transaction wrote). An abortable error aborts the transaction (and drops the
//     held records), drops staged writes and rewinds to the committed offsets; a fatal one
//     (fenced) rebuilds the clients and rejoins. Nothing of an aborted transaction is visible
//     to read_committed readers. Rebalances and shutdown wait for a commit in flight.
//   at_least_once: flush the producer, apply staged writes, commit offsets synchronously.
// Rebalances (eager, range assignor for co-partitioning): commit before partitions are
// revoked; assigned tasks restore their stores from the changelog tail before processing.
// The consumer is a static group member (group.instance.id = <application.id>-<process id>-
// <index>): an instance restarted on the same state dir after a crash resumes its old member's
// assignment without a rebalance; a graceful shutdown still leaves the group.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "eddy/streams/streams_config.h"
#include "streams/runtime/physical_topology.h"

namespace eddy::streams::runtime {

struct app_context {
  physical_topology topo;
  streams_config config;
  std::string process_id;
  std::map<std::string, int32_t> partitions;  // partition counts of known topics
  std::atomic<int64_t> processed{0};
  std::atomic<int64_t> commits{0};
  std::atomic<int> rebalancing{0};
  std::function<void(const std::string& error)> on_fatal;
  // A thread got its assignment and restored its tasks (true), or is rebalancing (false).
  std::function<void(int thread_index, bool running)> on_thread_state;
};

class stream_thread {
 public:
  stream_thread(app_context& ctx, int index);
  ~stream_thread();
  void start();
  // Asks the loop to commit, leave the group and exit; join() waits for it.
  void request_stop() { stop_ = true; }
  void join();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace eddy::streams::runtime
