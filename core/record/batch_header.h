// Record batch v2 ("magic 2") header: field offsets as named constants and a small
// view over the fixed 61-byte header. The log stores batches unparsed; this is all it
// needs to index them, and all the produce path needs to validate them cheaply.
//
// Byte layout (big-endian), offsets from the start of the batch:
//    0  base_offset            int64   rewritten by the broker; outside the CRC
//    8  batch_length           int32   bytes after this field (total size - 12)
//   12  partition_leader_epoch int32   not validated (clients send 0 or -1)
//   16  magic                  int8    2
//   17  crc                    uint32  CRC-32C of bytes [21, end)
//   21  attributes             int16   bits 0-2 codec, 3 timestamp type,
//                                      4 transactional, 5 control, 6 delete horizon
//   23  last_offset_delta      int32
//   27  base_timestamp         int64
//   35  max_timestamp          int64
//   43  producer_id            int64   -1 when not idempotent
//   51  producer_epoch         int16
//   53  base_sequence          int32
//   57  record_count           int32
//   61  records...
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace eddy::record {

namespace batch_offsets {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t last_offset_delta = 23;
inline constexpr std::size_t base_timestamp = 27;
inline constexpr std::size_t max_timestamp = 35;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t record_count = 57;
inline constexpr std::size_t records = 61;
}  // namespace batch_offsets

inline constexpr std::size_t batch_header_size = 61;
// Bytes before batch_length's payload starts: base_offset + batch_length.
inline constexpr std::size_t batch_log_overhead = 12;
inline constexpr std::int8_t current_magic = 2;

enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

namespace attribute_bits {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t timestamp_type = 0x08;  // 1 = log append time
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
inline constexpr std::int16_t delete_horizon = 0x40;
}  // namespace attribute_bits

namespace be {
inline std::uint16_t load16(const std::uint8_t* p) { return std::uint16_t(p[0]) << 8 | p[1]; }
inline std::uint32_t load32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline std::uint64_t load64(const std::uint8_t* p) { return std::uint64_t(load32(p)) << 32 | load32(p + 4); }
inline void store16(std::uint8_t* p, std::uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
inline void store32(std::uint8_t* p, std::uint32_t v) {
  p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}
inline void store64(std::uint8_t* p, std::uint64_t v) { store32(p, std::uint32_t(v >> 32)); store32(p + 4, std::uint32_t(v)); }
}  // namespace be

// A read-only view of a batch header. The caller guarantees at least batch_header_size
// readable bytes at `data`.
struct batch_header_view {
  const std::uint8_t* data;

  std::int64_t base_offset() const { return std::int64_t(be::load64(data + batch_offsets::base_offset)); }
  std::int32_t batch_length() const { return std::int32_t(be::load32(data + batch_offsets::batch_length)); }
  // Whole batch size on disk / on the wire.
  std::int64_t total_size() const { return std::int64_t(batch_length()) + std::int64_t(batch_log_overhead); }
  std::int32_t partition_leader_epoch() const { return std::int32_t(be::load32(data + batch_offsets::partition_leader_epoch)); }
  std::int8_t magic() const { return std::int8_t(data[batch_offsets::magic]); }
  std::uint32_t crc() const { return be::load32(data + batch_offsets::crc); }
  std::int16_t attributes() const { return std::int16_t(be::load16(data + batch_offsets::attributes)); }
  std::int32_t last_offset_delta() const { return std::int32_t(be::load32(data + batch_offsets::last_offset_delta)); }
  std::int64_t last_offset() const { return base_offset() + last_offset_delta(); }
  std::int64_t base_timestamp() const { return std::int64_t(be::load64(data + batch_offsets::base_timestamp)); }
  std::int64_t max_timestamp() const { return std::int64_t(be::load64(data + batch_offsets::max_timestamp)); }
  std::int64_t producer_id() const { return std::int64_t(be::load64(data + batch_offsets::producer_id)); }
  std::int16_t producer_epoch() const { return std::int16_t(be::load16(data + batch_offsets::producer_epoch)); }
  std::int32_t base_sequence() const { return std::int32_t(be::load32(data + batch_offsets::base_sequence)); }
  std::int32_t record_count() const { return std::int32_t(be::load32(data + batch_offsets::record_count)); }

  compression codec() const { return compression(attributes() & attribute_bits::compression_mask); }
  bool is_transactional() const { return attributes() & attribute_bits::transactional; }
  bool is_control() const { return attributes() & attribute_bits::control; }
  bool log_append_time() const { return attributes() & attribute_bits::timestamp_type; }
};

// Rewrites base_offset in place (outside the CRC, so the CRC stays valid).
inline void set_base_offset(std::uint8_t* batch, std::int64_t offset) {
  be::store64(batch + batch_offsets::base_offset, std::uint64_t(offset));
}

}  // namespace eddy::record
