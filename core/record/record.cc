// Record decoding shared by validation (once per record, single pass) and iteration.
#include "core/record/record.h"

#include "core/record/varint.h"

namespace eddy::record {
namespace {

using protocol::error_code;

// Reads a varint length and that many bytes; -1 means null when `nullable`. Without
// `out` (checking only) the bytes are just skipped.
[[gnu::always_inline]] inline bool read_bytes(const std::uint8_t*& p, const std::uint8_t* end, nullable_bytes* out,
                                              bool nullable) {
  std::int32_t len;
  if (!varint::read_varint(p, end, len)) return false;
  if (len < 0) {
    if (len != -1 || !nullable) return false;
    if (out) out->reset();
    return true;
  }
  if (std::size_t(end - p) < std::size_t(len)) return false;
  if (out) out->emplace(reinterpret_cast<const char*>(p), std::size_t(len));
  p += len;
  return true;
}

inline bool read_bytes(const std::uint8_t*& p, const std::uint8_t* end, nullable_bytes& out, bool nullable) {
  return read_bytes(p, end, &out, nullable);
}

// One record's walk, shared by decode_record (Fill: every field into `out`) and
// check_record (the checks alone, for the produce path, which looks at no field but the
// deltas). Both give the same verdict on every input.
template <bool Fill>
[[gnu::always_inline]] inline status walk_record(const std::uint8_t*& p, const std::uint8_t* end, record& out) {
  const std::uint8_t* start = p;
  const std::uint8_t* q = p;
  std::int32_t length;
  if (!varint::read_varint(q, end, length)) return fail(error_code::invalid_record, "record: bad length varint");
  if (length < 0 || std::size_t(end - q) < std::size_t(length))
    return fail(error_code::invalid_record, "record: length exceeds the batch");
  const std::uint8_t* rec_end = q + length;
  if (q == rec_end) return fail(error_code::invalid_record, "record: missing attributes");
  if constexpr (Fill) out.attributes = std::int8_t(*q);
  ++q;
  if (!varint::read_varlong(q, rec_end, out.timestamp_delta))
    return fail(error_code::invalid_record, "record: bad timestamp delta");
  if (!varint::read_varint(q, rec_end, out.offset_delta)) return fail(error_code::invalid_record, "record: bad offset delta");
  if (!read_bytes(q, rec_end, Fill ? &out.key : nullptr, true)) return fail(error_code::invalid_record, "record: bad key");
  if (!read_bytes(q, rec_end, Fill ? &out.value : nullptr, true))
    return fail(error_code::invalid_record, "record: bad value");
  std::int32_t header_count;
  if (!varint::read_varint(q, rec_end, header_count) || header_count < 0)
    return fail(error_code::invalid_record, "record: bad header count");
  const std::uint8_t* headers_start = q;
  for (std::int32_t i = 0; i < header_count; ++i) {
    if (!read_bytes(q, rec_end, nullptr, false)) return fail(error_code::invalid_record, "record: bad header key");
    if (!read_bytes(q, rec_end, nullptr, true)) return fail(error_code::invalid_record, "record: bad header value");
  }
  if (q != rec_end) return fail(error_code::invalid_record, "record: length does not match its fields");
  if constexpr (Fill) {
    out.headers = header_range(headers_start, rec_end, header_count);
    out.encoded_size = std::size_t(rec_end - start);
  } else {
    (void)start;
    (void)headers_start;
  }
  p = rec_end;
  return {};
}

}  // namespace

status decode_record(const std::uint8_t*& p, const std::uint8_t* end, record& out) {
  return walk_record<true>(p, end, out);
}

status check_record(const std::uint8_t*& p, const std::uint8_t* end, std::int32_t& offset_delta,
                    std::int64_t& timestamp_delta) {
  record r;
  status s = walk_record<false>(p, end, r);
  offset_delta = r.offset_delta;
  timestamp_delta = r.timestamp_delta;
  return s;
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
