// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka record
// batch v2 over bytes [attributes, end). Uses the SSE4.2 `crc32` instruction when the
// CPU has it (detected once at run time), else a portable slicing-by-8 table loop.
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
// Both implementations, exposed so tests can check them against each other.
std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t len);
// Only call when crc32c_hardware_available() is true.
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t len);
bool crc32c_hardware_available();
}  // namespace detail

}  // namespace eddy::record
