// exactly_once_services: the broker's consumer-group coordinator, producer state
// (idempotence) and transaction coordinator, composed in one place so handlers reach
// them through broker::eos(). Constructed after the logs are open (it replays its
// durable state from them); tick() runs the timers (session timeouts, transaction
// timeouts) from the broker's event loop.
//
// Durable state lives in <data dir>/eos/:
//   state.log            state_log records (see broker/txn/state_log.h), payload by type:
//                          1 transaction   see broker/txn/txn_metadata.h
//                          2 offset commit string group | string topic | int32 partition |
//                                          int64 offset | int32 leader epoch |
//                                          nullable string metadata | int64 commit ms
//                          3 group delete  string group
//                          4 producer ids  int64 reserved until (exclusive)
//                        replayed in order at open (last record per key wins), then
//                        rewritten compacted when it grows.
//   producers.snapshot   producer state per partition at a log offset:
//                          int32 version (1) | int32 partition count, then per partition:
//                          string topic | int32 partition | int64 log end offset |
//                          partition_producers encoding; then u32 CRC-32C of all before.
//                        Written on close and every 30 s; at open the log tail after the
//                        snapshot offset (or the whole log without one) is replayed, so a
//                        producer retrying across a kill -9 still gets deduplicated.
//
// Thread-safety: event-loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/error_code.h"
#include "core/record/batch_header.h"

namespace eddy::broker {

class broker;
namespace group {
class group_coordinator;
struct committed_offset;
}  // namespace group
namespace txn {
class txn_coordinator;
}

// The produce path asks before appending a batch that carries a producer id.
struct sequence_check {
  protocol::error_code error = protocol::error_code::none;
  // Set when the batch exactly repeats one of the producer's last 5 batches on this
  // partition: answer success with this base offset and append nothing.
  std::optional<std::int64_t> duplicate_base_offset;
};

struct offset_commit_entry {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct exactly_once_services {
  explicit exactly_once_services(broker& b);
  ~exactly_once_services();

  // Loads durable state (committed offsets, producer ids, transactions). Returns an error
  // message when the data directory holds state that cannot be read.
  std::optional<std::string> open();
  void tick(std::int64_t now_ms);
  void close();

  // Idempotence/transaction checks for one batch about to be appended to topic-partition.
  sequence_check check_produce(const std::string& topic, std::int32_t partition, record::batch_header_view batch,
                               const std::optional<std::string>& transactional_id);
  // Records the appended batch (sequence window, ongoing transaction bookkeeping).
  void on_appended(const std::string& topic, std::int32_t partition, record::batch_header_view batch,
                   std::int64_t base_offset);

  // A partition was reopened from disk after a failed write took it offline: rebuilds its
  // producer state from the snapshot and the log, as at a start.
  void partition_reopened(const std::string& topic, std::int32_t partition);

  // For the group and transaction handlers.
  group::group_coordinator& groups();
  txn::txn_coordinator& transactions();
  // Persists (synced) then applies committed offsets. False on a storage error.
  bool commit_offsets(const std::string& group_id, const std::vector<offset_commit_entry>& entries);
  // Persists the deletion of an empty group and its offsets, then forgets it.
  protocol::error_code delete_group(const std::string& group_id);

  broker& owner;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eddy::broker
