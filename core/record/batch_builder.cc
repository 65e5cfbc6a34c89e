// Batch encoding: records first (uncompressed), then header + payload, then the
// length and CRC patches (CRC last, since it covers everything from attributes on).
#include "core/record/batch_builder.h"

#include <algorithm>
#include <limits>

#include "core/record/compression.h"
#include "core/record/crc32c.h"
#include "core/record/varint.h"

namespace eddy::record {
namespace {

using protocol::error_code;

inline std::size_t bytes_size(const nullable_bytes& b) {
  return b ? varint::varint_size(std::int32_t(b->size())) + b->size() : varint::varint_size(-1);
}

inline void append_bytes(std::vector<std::uint8_t>& out, const nullable_bytes& b) {
  if (!b) {
    varint::append_varint(out, -1);
    return;
  }
  varint::append_varint(out, std::int32_t(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

void encode_record(std::vector<std::uint8_t>& out, std::int32_t offset_delta, std::int64_t timestamp_delta,
                   nullable_bytes key, nullable_bytes value, std::span<const record_header> headers) {
  // Body size first: the length prefix precedes the body.
  std::size_t body = 1 + varint::varlong_size(timestamp_delta) + varint::varint_size(offset_delta) +
                     bytes_size(key) + bytes_size(value) + varint::varint_size(std::int32_t(headers.size()));
  for (const record_header& h : headers) body += bytes_size(h.key) + bytes_size(h.value);
  // Grow geometrically: reserving the exact size on every record reallocates (and copies
  // everything before it) each time, quadratic in the batch's size.
  std::size_t need = out.size() + body + varint::max_varint_bytes;
  if (need > out.capacity()) out.reserve(std::max(need, out.capacity() * 2));
  varint::append_varint(out, std::int32_t(body));
  out.push_back(0);  // attributes: unused
  varint::append_varlong(out, timestamp_delta);
  varint::append_varint(out, offset_delta);
  append_bytes(out, key);
  append_bytes(out, value);
  varint::append_varint(out, std::int32_t(headers.size()));
  for (const record_header& h : headers) {
    append_bytes(out, h.key);
    append_bytes(out, h.value);
  }
}

void batch_builder::add(std::int64_t timestamp, nullable_bytes key, nullable_bytes value,
                        std::span<const record_header> headers) {
  add_at(last_delta_ + 1, timestamp, key, value, headers);
}

void batch_builder::add_at(std::int32_t offset_delta, std::int64_t timestamp, nullable_bytes key,
                           nullable_bytes value, std::span<const record_header> headers) {
  if (!has_ts_) {
    has_ts_ = true;
    base_ts_ = timestamp;
    max_ts_ = timestamp;
  }
  if (timestamp > max_ts_) max_ts_ = timestamp;
  // A non-increasing delta would make an invalid batch; clamp forward instead.
  if (offset_delta <= last_delta_) offset_delta = last_delta_ + 1;
  encode_record(records_, offset_delta, std::int64_t(std::uint64_t(timestamp) - std::uint64_t(base_ts_)), key, value,
                headers);
  last_delta_ = offset_delta;
  ++count_;
}

result<std::vector<std::uint8_t>> batch_builder::build() const {
  std::vector<std::uint8_t> out(batch_header_size);
  if (status s = compress(options_.codec, records_, out); !s) return s;
  if (out.size() - batch_log_overhead > std::size_t(std::numeric_limits<std::int32_t>::max()))
    return fail(error_code::record_list_too_large, "batch larger than 2 GiB");

  std::int16_t attributes = std::int16_t(std::uint8_t(options_.codec)) & attribute_bits::compression_mask;
  if (options_.log_append_time) attributes |= attribute_bits::timestamp_type;
  if (options_.transactional) attributes |= attribute_bits::transactional;
  if (options_.control) attributes |= attribute_bits::control;

  std::uint8_t* h = out.data();
  be::store64(h + batch_offsets::base_offset, std::uint64_t(options_.base_offset));
  be::store32(h + batch_offsets::batch_length, std::uint32_t(out.size() - batch_log_overhead));
  be::store32(h + batch_offsets::partition_leader_epoch, std::uint32_t(options_.partition_leader_epoch));
  h[batch_offsets::magic] = std::uint8_t(current_magic);
  be::store16(h + batch_offsets::attributes, std::uint16_t(attributes));
  // An empty batch keeps last_offset_delta 0 (Kafka's convention) and -1 timestamps.
  be::store32(h + batch_offsets::last_offset_delta, std::uint32_t(count_ ? last_delta_ : 0));
  be::store64(h + batch_offsets::base_timestamp, std::uint64_t(has_ts_ ? base_ts_ : -1));
  be::store64(h + batch_offsets::max_timestamp, std::uint64_t(has_ts_ ? max_ts_ : -1));
  be::store64(h + batch_offsets::producer_id, std::uint64_t(options_.producer_id));
  be::store16(h + batch_offsets::producer_epoch, std::uint16_t(options_.producer_epoch));
  be::store32(h + batch_offsets::base_sequence, std::uint32_t(options_.base_sequence));
  be::store32(h + batch_offsets::record_count, std::uint32_t(count_));
  be::store32(h + batch_offsets::crc,
              crc32c(h + batch_offsets::attributes, out.size() - batch_offsets::attributes));
  return out;
}

}  // namespace eddy::record
