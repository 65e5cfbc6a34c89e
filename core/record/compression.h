// Compression codecs of record batch v2 (attributes bits 0-2): gzip, snappy, lz4, zstd,
// in the exact container formats Kafka clients produce:
//   gzip   - RFC 1952 gzip member(s) (zlib-wrapped streams are also accepted)
//   snappy - raw snappy block, or the xerial/Java framing some clients still emit:
//              "\x82SNAPPY\0" | int32 version | int32 min compatible version |
//              { int32 big-endian chunk length | raw snappy chunk }*
//            compress() writes raw snappy (what librdkafka and Java read).
//   lz4    - LZ4 *frame* format (KIP-57), possibly several concatenated frames
//   zstd   - zstd frame(s)
//
// Decompression is bounded by `max_output`: a payload that would inflate past it
// fails with message_too_large before allocating more than max_output bytes.
//
// Thread-safety: free functions without shared state; safe to call concurrently.
//
// Example:
//   std::vector<std::uint8_t> packed, back;
//   if (auto s = compress(compression::zstd, in, packed); !s) return s;
//   if (auto s = decompress(compression::zstd, packed, 1 << 20, back); !s) return s;
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/record/batch_header.h"
#include "core/record/record_error.h"

namespace eddy::record {

// Appends the compressed form of `in` to `out`. compression::none copies.
// unsupported_compression_type for a codec value outside 0..4.
status compress(compression codec, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);

// Appends the decompressed form of `in` to `out`, producing at most `max_output` bytes.
// Errors: unsupported_compression_type (unknown codec), corrupt_message (malformed or
// truncated input), message_too_large (output would exceed max_output).
status decompress(compression codec, std::span<const std::uint8_t> in, std::size_t max_output,
                  std::vector<std::uint8_t>& out);

// "none", "gzip", "snappy", "lz4", "zstd" or "unknown".
const char* compression_name(compression codec);

}  // namespace eddy::record
