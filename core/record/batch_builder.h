// Building record batches (magic v2): records are encoded as they are added, then
// build() compresses them, writes the 61-byte header and patches batch_length and the
// CRC-32C. Used by tests, the broker's internal topics and transaction markers.
//
// Thread-safety: one builder per thread; build() leaves the builder reusable only
// after reset().
//
// Example:
//   batch_builder b({.codec = compression::lz4, .producer_id = 7, .producer_epoch = 0,
//                    .base_sequence = 0});
//   b.add(1700000000000, "key", "value");
//   b.add(1700000000001, std::nullopt, "v2", {{"h", "x"}});
//   result<std::vector<std::uint8_t>> bytes = b.build();
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "core/record/batch_header.h"
#include "core/record/record.h"
#include "core/record/record_error.h"

namespace eddy::record {

struct batch_builder_options {
  compression codec = compression::none;
  std::int64_t base_offset = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int64_t producer_id = -1;  // -1: not idempotent
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
  bool log_append_time = false;
};

class batch_builder {
 public:
  explicit batch_builder(batch_builder_options options = {}) : options_(options) {}

  // Adds a record with the next offset delta (previous + 1, starting at 0).
  void add(std::int64_t timestamp, nullable_bytes key, nullable_bytes value,
           std::span<const record_header> headers = {});
  void add(std::int64_t timestamp, nullable_bytes key, nullable_bytes value,
           std::initializer_list<record_header> headers) {
    add(timestamp, key, value, std::span<const record_header>(headers.begin(), headers.size()));
  }
  // Adds a record at an explicit offset delta (must exceed the previous one), e.g. to
  // rewrite a compacted batch with gaps. last_offset_delta follows the last record.
  void add_at(std::int32_t offset_delta, std::int64_t timestamp, nullable_bytes key, nullable_bytes value,
              std::span<const record_header> headers = {});

  std::int32_t record_count() const { return count_; }
  // Uncompressed size of the batch built so far (header + encoded records).
  std::size_t uncompressed_size() const { return batch_header_size + records_.size(); }

  // Encodes the batch. Fails only if the codec is unknown or compression fails.
  // An empty builder yields a valid batch with record_count 0 (log-only use).
  result<std::vector<std::uint8_t>> build() const;

  void reset() {
    records_.clear();
    count_ = 0;
    last_delta_ = -1;
    has_ts_ = false;
  }

 private:
  batch_builder_options options_;
  std::vector<std::uint8_t> records_;  // encoded, uncompressed
  std::int32_t count_ = 0;
  std::int32_t last_delta_ = -1;
  bool has_ts_ = false;
  std::int64_t base_ts_ = -1;  // first record's timestamp
  std::int64_t max_ts_ = -1;
  // Records are encoded eagerly with timestamp deltas from the first record's
  // timestamp (zigzag varlongs, so earlier timestamps give exact negative deltas).
};

// Encodes one record (length prefix included) onto `out`.
void encode_record(std::vector<std::uint8_t>& out, std::int32_t offset_delta, std::int64_t timestamp_delta,
                   nullable_bytes key, nullable_bytes value, std::span<const record_header> headers);

}  // namespace eddy::record
