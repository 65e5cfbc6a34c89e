// CRC-32C implementations. The CRC is kept in reflected form; callers see the
// "finished" value (initial ~0, final xor ~0), so extend() un-finishes, runs, re-finishes.
#include "core/record/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define EDDY_CRC32C_X86 1
#endif
// The carry-less-multiply folding paths end with two 64-bit crc32 instructions: x86-64 only.
#if defined(__x86_64__)
#include <immintrin.h>
#define EDDY_CRC32C_CLMUL 1
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

#ifdef EDDY_CRC32C_CLMUL
// ---- Carry-less-multiply folding ----------------------------------------------------------
// The raw CRC (no pre/post inversion) of a message M of n bytes from register value c is
// (M(x) + c(x) x^(8n-32)) x^32 mod P: c is XORed into the first four bytes, and then the CRC is
// linear in the message. So any 128-bit value congruent to M mod P can stand in for M: its 16
// bytes fed to crc32 from 0 give the same CRC, and so do its 16 bytes followed by the rest.
//
// Layout (reflected): 16 bytes loaded little-endian into a 128-bit lane put the coefficient of
// x^(127-i) at bit i, so the low qword holds the high half H (x^127..x^64) and the high qword
// the low half L (x^63..x^0) of A = H x^64 + L. Moving A forward over d more bytes (D = 8d bits):
//   A x^D = H x^(D+64) + L x^D == H (x^(D+64) mod P) + L (x^D mod P)   (mod P),
// each product of a 64-bit and a 32-bit polynomial, < 96 bits. pclmulqdq multiplies reflected
// operands, and the 127-bit product of two reflected 64-bit lanes is the reflected 128-bit value
// of a*b*x; the constants absorb that x: for H x^(D+63) mod P, for L x^(D-1) mod P.
// Folding is then acc' = clmul(acc.lo, k.lo) ^ clmul(acc.hi, k.hi) ^ (the 16 bytes d bytes on),
// with k = {x^(D+63) mod P, x^(D-1) mod P} in the lane's {low, high} qwords.

// x^e mod P, reflected into a 64-bit lane: the coefficient of x^i (i < 32) at bit 63 - i.
constexpr std::uint64_t xpow_mod_lane(std::size_t e) {
  std::uint32_t r = 0x80000000u;  // x^0, reflected 32-bit form (x^i at bit 31 - i)
  for (std::size_t i = 0; i < e; ++i) r = (r >> 1) ^ ((r & 1) ? poly : 0);  // r *= x mod P
  return std::uint64_t(r) << 32;
}

// Constants folding a 128-bit lane forward over `bytes` bytes: {low qword, high qword}.
struct fold_k {
  std::uint64_t for_lo;  // multiplies the lane's low qword (H)
  std::uint64_t for_hi;  // multiplies the lane's high qword (L)
};

constexpr fold_k fold_constants(std::size_t bytes) {
  return {xpow_mod_lane(8 * bytes + 63), xpow_mod_lane(8 * bytes - 1)};
}

constexpr fold_k k16 = fold_constants(16);
constexpr fold_k k32 = fold_constants(32);
constexpr fold_k k48 = fold_constants(48);
constexpr fold_k k64 = fold_constants(64);
constexpr fold_k k128 = fold_constants(128);
constexpr fold_k k192 = fold_constants(192);
constexpr fold_k k256 = fold_constants(256);

// Sanity of the representation, checked at compile time: x^0 is the lane's top bit, and
// x^32 mod P is P without its x^32 term, i.e. the reflected polynomial constant.
static_assert(xpow_mod_lane(32) == std::uint64_t(poly) << 32);
static_assert(xpow_mod_lane(0) == std::uint64_t(1) << 63);

// Shorter buffers go to hw_raw: below these the reductions cost more than they save.
constexpr std::size_t pclmul_min_bytes = 256;
constexpr std::size_t vpclmul_min_bytes = 256;
// From this length the vpclmul path first aligns the data (up to 63 bytes through crc32).
constexpr std::size_t vpclmul_align_min_bytes = 2048;

// Two crc32 instructions turn the folded 128-bit remainder into the register value after it.
__attribute__((target("sse4.2"))) inline std::uint32_t crc_of_lane(std::uint64_t lo, std::uint64_t hi) {
  return std::uint32_t(_mm_crc32_u64(_mm_crc32_u64(0, lo), hi));
}

__attribute__((target("pclmul,sse4.2"))) inline __m128i k128_vec(fold_k k) {
  return _mm_set_epi64x(static_cast<long long>(k.for_hi), static_cast<long long>(k.for_lo));
}

// acc folded forward (by the distance k was made for), without the data.
__attribute__((target("pclmul,sse4.2"))) inline __m128i fold128(__m128i acc, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11));
}

__attribute__((target("pclmul,sse4.2"))) inline __m128i load128(const std::uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Common tail: fold 16-byte blocks into r while they last, then crc32 the remainder and the rest.
__attribute__((target("pclmul,sse4.2"))) inline std::uint32_t finish128(__m128i r, const std::uint8_t* p,
                                                                      std::size_t n) {
  const __m128i k = k128_vec(k16);
  while (n >= 16) {
    r = _mm_xor_si128(fold128(r, k), load128(p));
    p += 16;
    n -= 16;
  }
  std::uint32_t c = crc_of_lane(std::uint64_t(_mm_cvtsi128_si64(r)),
                                std::uint64_t(_mm_extract_epi64(r, 1)));
  return hw_serial(c, p, n);
}

// 128-bit PCLMULQDQ: four xmm accumulators, 64 bytes per iteration.
__attribute__((target("pclmul,sse4.2"))) std::uint32_t pclmul_raw(std::uint32_t c, const std::uint8_t* p,
                                                                std::size_t n) {
  if (n < pclmul_min_bytes) return hw_raw(c, p, n);
  __m128i a0 = _mm_xor_si128(load128(p), _mm_cvtsi32_si128(static_cast<int>(c)));
  __m128i a1 = load128(p + 16);
  __m128i a2 = load128(p + 32);
  __m128i a3 = load128(p + 48);
  p += 64;
  n -= 64;
  const __m128i kk64 = k128_vec(k64);
  while (n >= 64) {
    a0 = _mm_xor_si128(fold128(a0, kk64), load128(p));
    a1 = _mm_xor_si128(fold128(a1, kk64), load128(p + 16));
    a2 = _mm_xor_si128(fold128(a2, kk64), load128(p + 32));
    a3 = _mm_xor_si128(fold128(a3, kk64), load128(p + 48));
    p += 64;
    n -= 64;
  }
  __m128i r = _mm_xor_si128(_mm_xor_si128(fold128(a0, k128_vec(k48)), fold128(a1, k128_vec(k32))),
                            _mm_xor_si128(fold128(a2, k128_vec(k16)), a3));
  return finish128(r, p, n);
}

// 512-bit VPCLMULQDQ: four zmm accumulators (16 lanes), 256 bytes per iteration.
#define EDDY_CRC32C_AVX512_TARGET "avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2"

__attribute__((target(EDDY_CRC32C_AVX512_TARGET))) inline __m512i k512_vec(fold_k k) {
  const auto hi = static_cast<long long>(k.for_hi), lo = static_cast<long long>(k.for_lo);
  return _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo);
}

__attribute__((target(EDDY_CRC32C_AVX512_TARGET))) inline __m512i load512(const std::uint8_t* p) {
  return _mm512_loadu_si512(p);
}

// Each lane of acc folded forward and XORed with data: three-way XOR in one instruction.
__attribute__((target(EDDY_CRC32C_AVX512_TARGET))) inline __m512i fold512(__m512i acc, __m512i k, __m512i data) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                   _mm512_clmulepi64_epi128(acc, k, 0x11), data, 0x96);
}

__attribute__((target(EDDY_CRC32C_AVX512_TARGET))) std::uint32_t vpclmul_raw(std::uint32_t c,
                                                                          const std::uint8_t* p,
                                                                          std::size_t n) {
  if (n < vpclmul_min_bytes) return hw_raw(c, p, n);
  // Loads that split cache lines cost ~15% on long buffers: bring p to a 64-byte boundary first.
  if (n >= vpclmul_align_min_bytes) {
    const std::size_t head = (64 - (reinterpret_cast<std::uintptr_t>(p) & 63)) & 63;
    c = hw_serial(c, p, head);
    p += head;
    n -= head;
  }
  const __m512i init = _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(c)));
  __m512i a0 = _mm512_xor_si512(load512(p), init);
  __m512i a1 = load512(p + 64);
  __m512i a2 = load512(p + 128);
  __m512i a3 = load512(p + 192);
  p += 256;
  n -= 256;
  const __m512i kk256 = k512_vec(k256);
  while (n >= 256) {
    a0 = fold512(a0, kk256, load512(p));
    a1 = fold512(a1, kk256, load512(p + 64));
    a2 = fold512(a2, kk256, load512(p + 128));
    a3 = fold512(a3, kk256, load512(p + 192));
    p += 256;
    n -= 256;
  }
  // Four accumulators into one: a0 over 192 bytes, a1 over 128, a2 over 64.
  __m512i a = fold512(a0, k512_vec(k192),
                      fold512(a1, k512_vec(k128), fold512(a2, k512_vec(k64), a3)));
  const __m512i kk64 = k512_vec(k64);
  while (n >= 64) {
    a = fold512(a, kk64, load512(p));
    p += 64;
    n -= 64;
  }
  // Four lanes into one: lane 0 over 48 bytes, lane 1 over 32, lane 2 over 16, lane 3 as is.
  auto ll = [](std::uint64_t v) { return static_cast<long long>(v); };
  const __m512i klanes = _mm512_set_epi64(0, 0, ll(k16.for_hi), ll(k16.for_lo), ll(k32.for_hi),
                                          ll(k32.for_lo), ll(k48.for_hi), ll(k48.for_lo));
  __m512i m = fold512(a, klanes, _mm512_maskz_mov_epi64(0xC0, a));
  // (Zero-masking extracts, also for lane 0: GCC 12 warns about the unmasked ones' undefined source.)
  __m128i r = _mm_ternarylogic_epi64(_mm512_maskz_extracti32x4_epi32(0xF, m, 0),
                                     _mm512_maskz_extracti32x4_epi32(0xF, m, 1),
                                     _mm512_maskz_extracti32x4_epi32(0xF, m, 2), 0x96);
  r = _mm_xor_si128(r, _mm512_maskz_extracti32x4_epi32(0xF, m, 3));
  return finish128(r, p, n);
}
#undef EDDY_CRC32C_AVX512_TARGET
#endif  // EDDY_CRC32C_CLMUL

bool detect_hw() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#ifdef EDDY_CRC32C_CLMUL
bool detect_pclmul() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
}

// libgcc reports AVX-512 features only when the OS saves the zmm and mask state (XCR0).
bool detect_vpclmul() {
  __builtin_cpu_init();
  return detect_pclmul() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("vpclmulqdq");
}
#endif
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

using raw_fn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t);

// The fastest implementation this CPU runs, chosen once.
raw_fn best_raw() {
#ifdef EDDY_CRC32C_CLMUL
  if (detect_vpclmul()) return vpclmul_raw;
  if (detect_pclmul()) return pclmul_raw;
#endif
#ifdef EDDY_CRC32C_X86
  if (detect_hw()) return hw_raw;
#endif
  return sw_raw;
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

std::uint32_t crc32c_extend_pclmul(std::uint32_t crc, const void* data, std::size_t len) {
#ifdef EDDY_CRC32C_CLMUL
  return ~pclmul_raw(~crc, static_cast<const std::uint8_t*>(data), len);
#else
  return crc32c_extend_software(crc, data, len);
#endif
}

bool crc32c_pclmul_available() {
#ifdef EDDY_CRC32C_CLMUL
  static const bool available = detect_pclmul();
  return available;
#else
  return false;
#endif
}

std::uint32_t crc32c_extend_vpclmul(std::uint32_t crc, const void* data, std::size_t len) {
#ifdef EDDY_CRC32C_CLMUL
  return ~vpclmul_raw(~crc, static_cast<const std::uint8_t*>(data), len);
#else
  return crc32c_extend_software(crc, data, len);
#endif
}

bool crc32c_vpclmul_available() {
#ifdef EDDY_CRC32C_CLMUL
  static const bool available = detect_vpclmul();
  return available;
#else
  return false;
#endif
}

}  // namespace detail

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t len) {
  static const raw_fn raw = best_raw();
  return ~raw(~crc, static_cast<const std::uint8_t*>(data), len);
}

std::uint32_t crc32c(const void* data, std::size_t len) { return crc32c_extend(0, data, len); }

}  // namespace eddy::record
