// Transaction markers: control batches (control + transactional attribute bits set)
// holding exactly one control record.
//
//   key   = int16 version (0) | int16 type (0 = abort, 1 = commit)      big-endian
//   value = int16 version (0) | int32 coordinator epoch                 big-endian
//
// Markers take an offset in the partition; consumers skip them. Readers accept key
// and value versions above 0 as long as the known fields are present (later versions
// may append fields), as Kafka does.
//
// Thread-safety: pure functions.
//
// Example:
//   auto bytes = build_marker_batch({.producer_id = 42, .producer_epoch = 3,
//                                    .type = control_type::commit, .coordinator_epoch = 7,
//                                    .timestamp = now_ms});
//   auto m = read_marker_batch(*bytes);   // m->type == control_type::commit
#pragma once

#include <cstdint>
#include <vector>

#include "core/record/batch_reader.h"
#include "core/record/record.h"
#include "core/record/record_error.h"

namespace eddy::record {

// Other values can appear on the wire (KRaft uses 2+); they are carried, not rejected.
enum class control_type : std::int16_t { abort = 0, commit = 1 };

struct marker {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  control_type type = control_type::abort;
  std::int32_t coordinator_epoch = 0;
  std::int64_t timestamp = -1;
};

// A marker batch at `base_offset` (the log rewrites it on append anyway).
result<std::vector<std::uint8_t>> build_marker_batch(const marker& m, std::int64_t base_offset = 0);

// The type of one control record from its key (invalid_record if too short or null).
result<control_type> parse_control_key(const nullable_bytes& key);

// Coordinator epoch from a marker's value (invalid_record if too short or null).
result<std::int32_t> parse_marker_value(const nullable_bytes& value);

// Validates a whole marker batch: a control batch with exactly one record whose key
// and value parse. invalid_record if the batch is not a control batch.
result<marker> read_marker(const batch_reader& batch);
result<marker> read_marker_batch(byte_span batch);

}  // namespace eddy::record
