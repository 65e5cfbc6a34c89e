// txn_metadata: the durable state of one transactional id, and its record encoding in
// the coordinators' state log (see state_log.h). Every change writes the whole record;
// on replay the last record for a transactional id wins.
//
// Record byte layout (protocol::writer encoding, big-endian; strings int16-length):
//   int8   record type (1 = transaction)
//   string transactional id
//   int64  producer id        | int16 producer epoch
//   int64  last producer id   | int16 last producer epoch   (KIP-360 retries)
//   int32  timeout ms         | int8 state                  | int64 start ms
//   int32  partition count, then per partition: string topic | int32 partition
//   int32  group count, then per group: string group id |
//          int32 offset count, then per offset: string topic | int32 partition |
//          int64 offset | int32 leader epoch | nullable string metadata
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/protocol/wire.h"

namespace eddy::broker::txn {

using topic_partition = std::pair<std::string, std::int32_t>;

enum class txn_state : std::int8_t {
  empty = 0,
  ongoing = 1,
  prepare_commit = 2,
  prepare_abort = 3,
  complete_commit = 4,
  complete_abort = 5,
};
std::string_view state_name(txn_state s);

struct pending_offset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  bool operator==(const pending_offset&) const = default;
};
using group_offsets = std::map<topic_partition, pending_offset>;

struct txn_metadata {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int64_t last_producer_id = -1;
  std::int16_t last_producer_epoch = -1;
  std::int32_t timeout_ms = 60000;
  txn_state state = txn_state::empty;
  std::int64_t start_ms = -1;  // when the open transaction began (Ongoing)
  std::set<topic_partition> partitions;
  // Groups added by AddOffsetsToTxn, with the offsets TxnOffsetCommit staged for them.
  std::map<std::string, group_offsets> offsets;
  bool operator==(const txn_metadata&) const = default;
};

inline constexpr std::int8_t record_type_transaction = 1;

void encode(protocol::writer& w, const txn_metadata& m);
// Reads the fields after the record type byte. Throws protocol::decode_error.
txn_metadata decode_txn_metadata(protocol::reader& r);

}  // namespace eddy::broker::txn
