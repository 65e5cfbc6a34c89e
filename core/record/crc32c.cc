// CRC-32C implementations. The CRC is kept in reflected form; callers see the
// "finished" value (initial ~0, final xor ~0), so extend() un-finishes, runs, re-finishes.
#include "core/record/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define EDDY_CRC32C_X86 1
#endif

namespace eddy::record {
namespace {

constexpr std::uint32_t poly = 0x82F63B78u;  // Castagnoli, bit-reflected

// tables[k][b] = CRC contribution of byte b followed by k zero bytes (slicing-by-8).
using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_tables make_tables() {
  crc_tables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? poly : 0);
    t[0][b] = c;
  }
  for (std::uint32_t b = 0; b < 256; ++b)
    for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}

constexpr crc_tables tables = make_tables();

inline std::uint32_t load_le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}

#ifdef EDDY_CRC32C_X86
__attribute__((target("sse4.2"))) std::uint32_t hw_serial(std::uint32_t c, const std::uint8_t* p,
                                                       std::size_t n) {
  // Align to 8 bytes so the 64-bit loads in the main loop are aligned.
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
#if defined(__x86_64__)
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = std::uint32_t(c64);
#endif
  while (n >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    c = _mm_crc32_u32(c, v);
    p += 4;
    n -= 4;
  }
  while (n > 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  return c;
}

#if defined(__x86_64__)
// Three interleaved streams: crc32 has a latency of 3 cycles but a throughput of one per
// cycle, so one dependency chain uses a third of the unit. Each stripe of 3 x stripe_bytes
// is run as three independent chains (the 2nd and 3rd from 0) and joined with
// raw(c, A|B) = shift(raw(c, A), |B|) ^ raw(0, B), shift being linear in the register:
// four table lookups built once from the shift of each register bit.
constexpr std::size_t stripe_bytes = 2048;

struct shift_tables {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  shift_tables() {
    std::array<std::uint32_t, 32> column{};
    for (int bit = 0; bit < 32; ++bit) {
      std::uint32_t c = 1u << bit;  // the register after stripe_bytes zero bytes
      for (std::size_t i = 0; i < stripe_bytes; ++i) c = (c >> 8) ^ tables[0][c & 0xff];
      column[std::size_t(bit)] = c;
    }
    for (int k = 0; k < 4; ++k)
      for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t v = 0;
        for (int bit = 0; bit < 8; ++bit)
          if (b & (1u << bit)) v ^= column[std::size_t(8 * k + bit)];
        t[std::size_t(k)][b] = v;
      }
  }
  std::uint32_t shift(std::uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};

__attribute__((target("sse4.2"))) std::uint32_t hw_raw(std::uint32_t c, const std::uint8_t* p, std::size_t n) {
  static const shift_tables shifter;
  while (n >= 3 * stripe_bytes) {
    std::uint64_t a = c, b = 0, d = 0;
    const std::uint8_t* pb = p + stripe_bytes;
    const std::uint8_t* pd = p + 2 * stripe_bytes;
    for (std::size_t i = 0; i < stripe_bytes; i += 8) {
      std::uint64_t va, vb, vd;
      std::memcpy(&va, p + i, 8);
      std::memcpy(&vb, pb + i, 8);
      std::memcpy(&vd, pd + i, 8);
      a = _mm_crc32_u64(a, va);
      b = _mm_crc32_u64(b, vb);
      d = _mm_crc32_u64(d, vd);
    }
    c = shifter.shift(shifter.shift(std::uint32_t(a)) ^ std::uint32_t(b)) ^ std::uint32_t(d);
    p += 3 * stripe_bytes;
    n -= 3 * stripe_bytes;
  }
  return hw_serial(c, p, n);
}
#else
inline std::uint32_t hw_raw(std::uint32_t c, const std::uint8_t* p, std::size_t n) { return hw_serial(c, p, n); }
#endif

bool detect_hw() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

std::uint32_t sw_raw(std::uint32_t c, const std::uint8_t* p, std::size_t n) {
  while (n >= 8) {
    // Little-endian assembly makes the table indexing independent of host order.
    std::uint32_t lo = load_le32(p) ^ c;
    std::uint32_t hi = load_le32(p + 4);
    c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
        tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
        tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xff];
    --n;
  }
  return c;
}

}  // namespace

namespace detail {

std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t len) {
  return ~sw_raw(~crc, static_cast<const std::uint8_t*>(data), len);
}

std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t len) {
#ifdef EDDY_CRC32C_X86
  return ~hw_raw(~crc, static_cast<const std::uint8_t*>(data), len);
#else
  return crc32c_extend_software(crc, data, len);
#endif
}

bool crc32c_hardware_available() {
#ifdef EDDY_CRC32C_X86
  static const bool available = detect_hw();
  return available;
#else
  return false;
#endif
}

}  // namespace detail

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t len) {
#ifdef EDDY_CRC32C_X86
  static const bool hw = detail::crc32c_hardware_available();
  if (hw) return ~hw_raw(~crc, static_cast<const std::uint8_t*>(data), len);
#endif
  return ~sw_raw(~crc, static_cast<const std::uint8_t*>(data), len);
}

std::uint32_t crc32c(const void* data, std::size_t len) { return crc32c_extend(0, data, len); }

}  // namespace eddy::record
