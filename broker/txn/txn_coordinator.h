// txn_coordinator: producer-id allocation and the transaction state machine per
// transactional id (Empty -> Ongoing -> PrepareCommit/PrepareAbort ->
// CompleteCommit/CompleteAbort), with fencing by epoch.
//
// Durability: every state change is handed to txn_environment::persist() before it is
// acknowledged; the PrepareCommit/PrepareAbort record is synced before the first marker
// is written. complete() (markers, then offsets on commit, then Complete*) is idempotent,
// so after a crash recover() simply runs it again for every transaction found in a
// Prepare* state; an Ongoing one is aborted by tick() once its timeout expires.
// Producer ids are reserved in blocks whose upper bound is persisted (synced) before any
// id of the block is handed out, so no id is ever reused after a restart.
//
// Errors are wire codes. PRODUCER_FENCED is returned as such; handlers downgrade it to
// INVALID_PRODUCER_EPOCH for the request versions that predate it.
//
// Thread-safety: not thread-safe (event-loop thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/txn/txn_metadata.h"
#include "core/protocol/error_code.h"
#include "core/record/control_record.h"

namespace eddy::broker::txn {

// What the coordinator needs from the rest of the broker (logs, groups, the state log).
struct txn_environment {
  virtual ~txn_environment() = default;
  // Durably records `m` (synced when `sync`). False on a storage error.
  virtual bool persist(const txn_metadata& m, bool sync) = 0;
  // Durably records that producer ids below `reserved_until` may have been handed out.
  virtual bool persist_producer_id_block(std::int64_t reserved_until) = 0;
  virtual bool partition_exists(const topic_partition& tp) = 0;
  // Writes a marker into the partition unless the producer has no open transaction there
  // (already written, or nothing was produced): the call must be idempotent.
  virtual protocol::error_code write_marker(const topic_partition& tp, const record::marker& m) = 0;
  // Moves committed transactional offsets into the group's committed offsets (durably).
  virtual bool commit_offsets(const std::string& group, const group_offsets& offsets) = 0;
};

struct init_producer_result {
  protocol::error_code error = protocol::error_code::none;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
};

struct txn_coordinator_config {
  std::int64_t max_timeout_ms = 900000;  // transaction.max.timeout.ms
  std::int64_t producer_id_block = 1000;
};

class txn_coordinator {
 public:
  txn_coordinator(txn_environment& env, txn_coordinator_config config) : env_(env), config_(config) {}

  // Replay, in state-log order.
  void load(txn_metadata m);
  void load_producer_id_block(std::int64_t reserved_until);
  // After replay: finishes every transaction left in PrepareCommit/PrepareAbort.
  void recover(std::int64_t now_ms);

  init_producer_result init_producer_id(const std::optional<std::string>& transactional_id, std::int32_t timeout_ms,
                                        std::int64_t producer_id, std::int16_t producer_epoch, std::int64_t now_ms);
  // Per-partition errors, in the request's order.
  std::map<topic_partition, protocol::error_code> add_partitions(const std::string& transactional_id,
                                                                 std::int64_t producer_id, std::int16_t epoch,
                                                                 const std::vector<topic_partition>& partitions,
                                                                 std::int64_t now_ms);
  protocol::error_code add_offsets(const std::string& transactional_id, std::int64_t producer_id, std::int16_t epoch,
                                   const std::string& group_id, std::int64_t now_ms);
  // Validates the producer for TxnOffsetCommit (the group checks come from the caller).
  protocol::error_code check_offset_commit(const std::string& transactional_id, std::int64_t producer_id,
                                           std::int16_t epoch, const std::string& group_id) const;
  // Stages offsets (after check_offset_commit and the group checks passed).
  protocol::error_code stage_offsets(const std::string& transactional_id, const std::string& group_id,
                                     const group_offsets& offsets);
  protocol::error_code end_txn(const std::string& transactional_id, std::int64_t producer_id, std::int16_t epoch,
                               bool commit, std::int64_t now_ms);

  // For the produce path: a transactional batch of producer (id, epoch) for `tp`.
  protocol::error_code check_transactional_write(const std::optional<std::string>& transactional_id,
                                                 std::int64_t producer_id, std::int16_t epoch,
                                                 const topic_partition& tp) const;
  // Partitions of `group` with offsets staged by an open transaction (require_stable).
  std::set<topic_partition> pending_offsets(const std::string& group) const;

  // Aborts expired Ongoing transactions and retries completions that failed.
  void tick(std::int64_t now_ms);

  const txn_metadata* find(const std::string& transactional_id) const;
  const std::map<std::string, txn_metadata>& transactions() const { return txns_; }
  std::int64_t producer_id_reserved_until() const { return reserved_until_; }

 private:
  std::optional<std::int64_t> allocate_producer_id();
  protocol::error_code validate(const txn_metadata* m, std::int64_t producer_id, std::int16_t epoch) const;
  // Moves to Prepare* (synced), then completes. Returns the error of the prepare step.
  protocol::error_code begin_end(txn_metadata& m, bool commit, std::int64_t now_ms);
  // Markers, offsets (commit), then Complete*. False if a step failed (retried by tick()).
  bool complete(txn_metadata& m, std::int64_t now_ms);
  bool bump_epoch(txn_metadata& m);
  bool persist(const txn_metadata& m, bool sync);

  txn_environment& env_;
  txn_coordinator_config config_;
  std::map<std::string, txn_metadata> txns_;
  std::int64_t next_producer_id_ = 0;
  std::int64_t reserved_until_ = 0;
};

}  // namespace eddy::broker::txn
