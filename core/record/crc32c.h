// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka record
// batch v2 over bytes [attributes, end). Four implementations; crc32c() and crc32c_extend()
// use the fastest the CPU has (detected once at run time, functions compiled for their
// instruction set with target attributes, so the build flags stay generic):
//   - vpclmul: carry-less-multiply folding (Intel's "Fast CRC Computation for Generic
//     Polynomials Using PCLMULQDQ") with four 512-bit accumulators, 256 bytes per iteration,
//     reduced to one 128-bit remainder and finished with the crc32 instruction. Needs
//     AVX-512F/VL, VPCLMULQDQ, PCLMULQDQ and SSE4.2 (x86-64).
//   - pclmul: the same folding with four 128-bit accumulators, 64 bytes per iteration.
//     Needs PCLMULQDQ and SSE4.2 (x86-64).
//   - hardware: the SSE4.2 crc32 instruction, three interleaved streams joined by shift tables.
//   - software: a portable slicing-by-8 table loop.
// The folding paths hand buffers under 256 bytes to the hardware one. Folding constants
// (x^n mod P) are derived from the polynomial at compile time. Non-x86 builds use software.
//
// Thread-safety: all functions are pure and safe to call concurrently.
//
// Example:
//   std::uint32_t c = eddy::record::crc32c(buf, len);                // one shot
//   std::uint32_t d = eddy::record::crc32c_extend(0, part1, n1);     // incremental
//   d = eddy::record::crc32c_extend(d, part2, n2);                  // d == crc of part1+part2
#pragma once

#include <cstddef>
#include <cstdint>

namespace eddy::record {

// CRC-32C of [data, data + len). crc32c("123456789", 9) == 0xE3069283.
std::uint32_t crc32c(const void* data, std::size_t len);

// Continues a CRC: `crc` is the finished CRC of the bytes before (0 for none); the
// result is the finished CRC of those bytes followed by [data, data + len).
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t len);

namespace detail {
// Every implementation, exposed so tests and benchmarks can check them against each other.
std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t len);
// Only call when crc32c_hardware_available() is true.
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t len);
bool crc32c_hardware_available();
// Only call when crc32c_pclmul_available() is true.
std::uint32_t crc32c_extend_pclmul(std::uint32_t crc, const void* data, std::size_t len);
bool crc32c_pclmul_available();
// Only call when crc32c_vpclmul_available() is true.
std::uint32_t crc32c_extend_vpclmul(std::uint32_t crc, const void* data, std::size_t len);
bool crc32c_vpclmul_available();
}  // namespace detail

}  // namespace eddy::record
