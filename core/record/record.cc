// Record decoding shared by validation (once per record, single pass) and iteration.
#include "core/record/record.h"

#include "core/record/varint.h"

namespace eddy::record {
namespace {

using protocol::error_code;

// Reads a varint length and that many bytes; -1 means null when `nullable`.
inline bool read_bytes(const std::uint8_t*& p, const std::uint8_t* end, nullable_bytes& out, bool nullable) {
  std::int32_t len;
  if (!varint::read_varint(p, end, len)) return false;
  if (len < 0) {
    if (len != -1 || !nullable) return false;
    out.reset();
    return true;
  }
  if (std::size_t(end - p) < std::size_t(len)) return false;
  out.emplace(reinterpret_cast<const char*>(p), std::size_t(len));
  p += len;
  return true;
}

}  // namespace

status decode_record(const std::uint8_t*& p, const std::uint8_t* end, record& out) {
  const std::uint8_t* start = p;
  const std::uint8_t* q = p;
  std::int32_t length;
  if (!varint::read_varint(q, end, length)) return fail(error_code::invalid_record, "record: bad length varint");
  if (length < 0 || std::size_t(end - q) < std::size_t(length))
    return fail(error_code::invalid_record, "record: length exceeds the batch");
  const std::uint8_t* rec_end = q + length;
  if (q == rec_end) return fail(error_code::invalid_record, "record: missing attributes");
  out.attributes = std::int8_t(*q++);
  if (!varint::read_varlong(q, rec_end, out.timestamp_delta))
    return fail(error_code::invalid_record, "record: bad timestamp delta");
  if (!varint::read_varint(q, rec_end, out.offset_delta)) return fail(error_code::invalid_record, "record: bad offset delta");
  if (!read_bytes(q, rec_end, out.key, true)) return fail(error_code::invalid_record, "record: bad key");
  if (!read_bytes(q, rec_end, out.value, true)) return fail(error_code::invalid_record, "record: bad value");
  std::int32_t header_count;
  if (!varint::read_varint(q, rec_end, header_count) || header_count < 0)
    return fail(error_code::invalid_record, "record: bad header count");
  const std::uint8_t* headers_start = q;
  for (std::int32_t i = 0; i < header_count; ++i) {
    nullable_bytes k, v;
    if (!read_bytes(q, rec_end, k, false)) return fail(error_code::invalid_record, "record: bad header key");
    if (!read_bytes(q, rec_end, v, true)) return fail(error_code::invalid_record, "record: bad header value");
  }
  if (q != rec_end) return fail(error_code::invalid_record, "record: length does not match its fields");
  out.headers = header_range(headers_start, rec_end, header_count);
  out.encoded_size = std::size_t(rec_end - start);
  p = rec_end;
  return {};
}

header_range::iterator::iterator(const std::uint8_t* p, const std::uint8_t* end, std::int32_t remaining)
    : p_(p), end_(end), remaining_(remaining) {
  if (remaining_ > 0) load();
}

void header_range::iterator::load() {
  // Bytes were validated by decode_record; a failure here would be a bug, and then
  // we end the range rather than read out of bounds.
  nullable_bytes k;
  if (!read_bytes(p_, end_, k, false) || !read_bytes(p_, end_, current_.value, true)) {
    remaining_ = 0;
    return;
  }
  current_.key = *k;
}

header_range::iterator& header_range::iterator::operator++() {
  if (--remaining_ > 0) load();
  return *this;
}

}  // namespace eddy::record
