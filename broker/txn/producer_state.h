// producer_state: idempotence bookkeeping for one partition: per producer id, its epoch
// and the sequence ranges of its last 5 appended batches (what a client may retry, since
// it keeps at most 5 requests in flight per partition).
//
// Rules (CLIENT_COMPAT.md "Record batches and idempotence"):
//   - unknown producer: any first sequence is accepted
//   - older epoch: INVALID_PRODUCER_EPOCH
//   - exact repeat of a cached batch (same epoch, first and last sequence): duplicate,
//     answered with the original base offset, nothing appended
//   - newer epoch, or same epoch right after a marker bumped it: sequence must start at 0
//   - otherwise first sequence must follow the last one (wrapping after INT32_MAX),
//     else OUT_OF_ORDER_SEQUENCE_NUMBER
// A transaction marker with a newer epoch bumps the entry's epoch and forgets its batches.
//
// Snapshot byte layout (protocol::writer encoding, big-endian):
//   int32 entry count, then per entry:
//     int64 producer id | int16 epoch | int8 batch count |
//     per batch: int32 first seq | int32 last seq | int64 first offset | int64 last offset
//
// Thread-safety: not thread-safe (event-loop thread).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "core/protocol/error_code.h"
#include "core/protocol/wire.h"
#include "broker/log/batch_scanner.h"
#include "core/record/batch_header.h"

namespace eddy::broker::txn {

struct cached_batch {
  std::int32_t first_seq = 0;
  std::int32_t last_seq = 0;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  bool operator==(const cached_batch&) const = default;
};

struct producer_entry {
  std::int16_t epoch = -1;
  std::deque<cached_batch> batches;  // oldest first, at most max_cached_batches
  bool operator==(const producer_entry&) const = default;
};

struct sequence_verdict {
  protocol::error_code error = protocol::error_code::none;
  std::optional<std::int64_t> duplicate_base_offset;
};

inline constexpr std::size_t max_cached_batches = 5;

// The batch's last sequence (base sequence + last offset delta, wrapping after INT32_MAX).
std::int32_t last_sequence(std::int32_t base_sequence, std::int32_t last_offset_delta);

class partition_producers {
 public:
  sequence_verdict check(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq,
                         std::int32_t last_seq) const;
  sequence_verdict check(record::batch_header_view b) const;
  // Records an appended data batch (after check() accepted it).
  void on_append(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq, std::int32_t last_seq,
                 std::int64_t first_offset, std::int64_t last_offset);
  // Records a transaction marker written for the producer.
  void on_marker(std::int64_t producer_id, std::int16_t epoch);
  // Replays one stored batch (data or control) at its stored base offset.
  void replay(const log::batch_info& b);

  const std::map<std::int64_t, producer_entry>& entries() const { return entries_; }
  void encode(protocol::writer& w) const;
  // Throws protocol::decode_error on malformed input.
  void decode(protocol::reader& r);

 private:
  std::map<std::int64_t, producer_entry> entries_;
};

}  // namespace eddy::broker::txn
