// Kafka's variable-length integers as used inside record batch v2: unsigned LEB128
// (7 bits per byte, low groups first, high bit = "more"), signed values zigzag-mapped
// first ((n << 1) ^ (n >> 63)) so small negatives stay short. A varint is at most 5
// bytes, a varlong at most 10; longer or overflowing encodings are rejected.
//
// Decoders take a cursor (`p` advanced on success) and an end pointer, and never read
// past `end`. They are inline: the produce path decodes several per record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eddy::record::varint {

inline constexpr std::size_t max_varint_bytes = 5;
inline constexpr std::size_t max_varlong_bytes = 10;

inline constexpr std::uint32_t zigzag32(std::int32_t v) {
  return (std::uint32_t(v) << 1) ^ std::uint32_t(v >> 31);
}
inline constexpr std::uint64_t zigzag64(std::int64_t v) {
  return (std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63);
}
inline constexpr std::int32_t unzigzag32(std::uint32_t v) { return std::int32_t((v >> 1) ^ (~(v & 1) + 1)); }
inline constexpr std::int64_t unzigzag64(std::uint64_t v) { return std::int64_t((v >> 1) ^ (~(v & 1) + 1)); }

// Unsigned decode of at most `max_bytes` bytes into `bits` bits. False on truncation,
// too many bytes, or bits beyond `bits` set in the last byte.
inline bool read_unsigned(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out,
                          std::size_t max_bytes, unsigned bits) {
  std::uint64_t v = 0;
  const std::uint8_t* q = p;
  for (std::size_t i = 0; i < max_bytes; ++i) {
    if (q == end) return false;
    std::uint8_t b = *q++;
    unsigned shift = unsigned(i) * 7;
    std::uint64_t group = b & 0x7f;
    if (shift + 7 > bits && (group >> (bits - shift)) != 0) return false;  // overflow
    v |= group << shift;
    if ((b & 0x80) == 0) {
      out = v;
      p = q;
      return true;
    }
  }
  return false;  // continuation bit set on the last allowed byte
}

// Encodings of one to three bytes (values below 2^21, which cannot overflow either type)
// without the general loop: lengths, deltas and sizes in records are nearly all this short.
// True when one was read.
inline bool read_short_unsigned(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out) {
  std::ptrdiff_t left = end - p;
  if (left >= 1 && p[0] < 0x80) {
    out = p[0];
    p += 1;
    return true;
  }
  if (left >= 2 && p[1] < 0x80) {
    out = std::uint64_t(p[0] & 0x7f) | (std::uint64_t(p[1]) << 7);
    p += 2;
    return true;
  }
  if (left >= 3 && p[1] >= 0x80 && p[2] < 0x80) {
    out = std::uint64_t(p[0] & 0x7f) | (std::uint64_t(p[1] & 0x7f) << 7) | (std::uint64_t(p[2]) << 14);
    p += 3;
    return true;
  }
  return false;
}

inline bool read_uvarint(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t& out) {
  std::uint64_t v;
  if (read_short_unsigned(p, end, v)) {
    out = std::uint32_t(v);
    return true;
  }
  if (!read_unsigned(p, end, v, max_varint_bytes, 32)) return false;
  out = std::uint32_t(v);
  return true;
}

inline bool read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::int32_t& out) {
  std::uint32_t u;
  if (!read_uvarint(p, end, u)) return false;
  out = unzigzag32(u);
  return true;
}

inline bool read_varlong(const std::uint8_t*& p, const std::uint8_t* end, std::int64_t& out) {
  std::uint64_t u;
  if (read_short_unsigned(p, end, u)) {
    out = unzigzag64(u);
    return true;
  }
  if (!read_unsigned(p, end, u, max_varlong_bytes, 64)) return false;
  out = unzigzag64(u);
  return true;
}

inline std::size_t uvarint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline std::size_t varint_size(std::int32_t v) { return uvarint_size(zigzag32(v)); }
inline std::size_t varlong_size(std::int64_t v) { return uvarint_size(zigzag64(v)); }

// Writes at `out` (room for uvarint_size(v) bytes) and returns the bytes written.
inline std::size_t write_unsigned(std::uint8_t* out, std::uint64_t v) {
  std::size_t n = 0;
  while (v >= 0x80) {
    out[n++] = std::uint8_t(v | 0x80);
    v >>= 7;
  }
  out[n++] = std::uint8_t(v);
  return n;
}

inline void append_unsigned(std::vector<std::uint8_t>& out, std::uint64_t v) {
  std::uint8_t tmp[max_varlong_bytes];
  std::size_t n = write_unsigned(tmp, v);
  out.insert(out.end(), tmp, tmp + n);
}
inline void append_varint(std::vector<std::uint8_t>& out, std::int32_t v) { append_unsigned(out, zigzag32(v)); }
inline void append_varlong(std::vector<std::uint8_t>& out, std::int64_t v) { append_unsigned(out, zigzag64(v)); }

}  // namespace eddy::record::varint
