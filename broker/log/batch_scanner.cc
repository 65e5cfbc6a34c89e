#include "broker/log/batch_scanner.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/record/batch_header.h"
#include "core/record/crc32c.h"

namespace eddy::broker::log {

namespace {
constexpr std::size_t buffer_size = 64 * 1024;
// Smallest legal batch_length: the header after the length field, no records.
constexpr std::int32_t min_batch_length = std::int32_t(record::batch_header_size - record::batch_log_overhead);

// Zig-zag varint as used inside records. Returns false on overrun.
bool read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::int64_t& out) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    std::uint8_t b = *p++;
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      out = std::int64_t(v >> 1) ^ -std::int64_t(v & 1);
      return true;
    }
  }
  return false;
}
}  // namespace

std::int8_t control_marker_type(const std::uint8_t* batch, std::size_t size) {
  if (size < record::batch_header_size) return -1;
  record::batch_header_view h{batch};
  if (!h.is_control() || h.codec() != record::compression::none || h.record_count() < 1) return -1;
  const std::uint8_t* p = batch + record::batch_header_size;
  const std::uint8_t* end = batch + size;
  std::int64_t len, ts_delta, off_delta, key_len;
  if (!read_varint(p, end, len)) return -1;
  if (p >= end) return -1;
  ++p;  // record attributes
  if (!read_varint(p, end, ts_delta) || !read_varint(p, end, off_delta) || !read_varint(p, end, key_len)) return -1;
  if (key_len < 4 || end - p < 4) return -1;
  std::int16_t type = std::int16_t(record::be::load16(p + 2));
  if (type != 0 && type != 1) return -1;
  return std::int8_t(type);
}

result<const std::uint8_t*> batch_scanner::view(std::uint64_t pos, std::size_t n) {
  if (!buf_.empty() && pos >= buf_pos_ && pos + n <= buf_pos_ + buf_.size()) return &buf_[pos - buf_pos_];
  std::size_t want = std::size_t(std::min<std::uint64_t>(std::max<std::size_t>(buffer_size, n), end_ - pos));
  buf_.resize(want);
  auto got = f_.pread(buf_, pos);
  if (!got) return got.error();
  buf_.resize(*got);
  buf_pos_ = pos;
  if (*got < n) return make_error(protocol::error_code::kafka_storage_error, "short read");
  return buf_.data();
}

result<batch_scanner::step> batch_scanner::next(bool verify, std::int64_t min_offset) {
  step s;
  if (pos_ >= end_) return s;  // clean end
  auto corrupt = [&](std::string why) {
    s.st = status::corrupt;
    s.reason = fmt::format("at byte {}: {}", pos_, why);
    return s;
  };
  if (end_ - pos_ < record::batch_header_size) return corrupt("partial batch header");
  auto hv = view(pos_, record::batch_header_size);
  if (!hv) return corrupt("unreadable header");
  record::batch_header_view h{*hv};
  if (h.batch_length() < min_batch_length) return corrupt(fmt::format("batch length {} too small", h.batch_length()));
  std::uint64_t total = std::uint64_t(h.total_size());
  if (total > end_ - pos_) return corrupt(fmt::format("batch of {} bytes runs past the end of the file", total));
  if (h.magic() != record::current_magic) return corrupt(fmt::format("magic {} is not 2", int(h.magic())));
  if (h.last_offset_delta() < 0) return corrupt("negative last offset delta");
  batch_info& b = s.info;
  b.position = pos_;
  b.size = std::uint32_t(total);
  b.base_offset = h.base_offset();
  b.last_offset = h.last_offset();
  b.max_timestamp = h.max_timestamp();
  b.producer_id = h.producer_id();
  b.producer_epoch = h.producer_epoch();
  b.base_sequence = h.base_sequence();
  b.attributes = h.attributes();
  std::uint32_t stored_crc = h.crc();
  if (verify) {
    if (b.base_offset < min_offset)
      return corrupt(fmt::format("base offset {} is below the expected {}", b.base_offset, min_offset));
    std::uint32_t crc = 0;
    std::uint64_t p = pos_ + record::batch_offsets::attributes;
    std::uint64_t stop = pos_ + total;
    while (p < stop) {
      std::size_t n = std::size_t(std::min<std::uint64_t>(buffer_size, stop - p));
      auto chunk = view(p, n);
      if (!chunk) return corrupt("unreadable batch");
      crc = record::crc32c_extend(crc, *chunk, n);
      p += n;
    }
    if (crc != stored_crc) return corrupt(fmt::format("CRC mismatch (stored {:08x}, computed {:08x})", stored_crc, crc));
  }
  if (b.is_control() && total <= 4096) {
    auto whole = view(pos_, std::size_t(total));
    if (whole) b.control_type = control_marker_type(*whole, std::size_t(total));
  }
  s.st = status::batch;
  pos_ += total;
  return s;
}

}  // namespace eddy::broker::log
