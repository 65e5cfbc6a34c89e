#include "core/record/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <random>
#include <string>
#include <vector>

namespace eddy::record {
namespace {

using protocol::error_code;
using bytes = std::vector<std::uint8_t>;

bytes text_payload(std::size_t n) {
  bytes b(n);
  const char* words = "kafka eddy stream record batch offset ";
  for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(words[i % 38]);
  return b;
}

bytes random_payload(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  bytes b(n);
  for (auto& x : b) x = std::uint8_t(rng());
  return b;
}

const compression all_codecs[] = {compression::none, compression::gzip, compression::snappy, compression::lz4,
                                  compression::zstd};

TEST(compression, round_trips_every_codec) {
  for (compression c : all_codecs) {
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(1000), std::size_t(300000)}) {
      for (const bytes& in : {text_payload(n), random_payload(n, unsigned(n))}) {
        bytes packed;
        ASSERT_TRUE(compress(c, in, packed)) << compression_name(c);
        bytes back = {0xAA};  // decompress appends after existing content
        auto st = decompress(c, packed, 1 << 20, back);
        ASSERT_TRUE(st) << compression_name(c) << " n=" << n << ": " << st.reason;
        ASSERT_EQ(back.size(), in.size() + 1);
        EXPECT_EQ(back[0], 0xAA);
        EXPECT_TRUE(std::equal(in.begin(), in.end(), back.begin() + 1)) << compression_name(c);
      }
    }
  }
}

TEST(compression, compressible_data_shrinks) {
  bytes in = text_payload(100000);
  for (compression c : {compression::gzip, compression::snappy, compression::lz4, compression::zstd}) {
    bytes packed;
    ASSERT_TRUE(compress(c, in, packed));
    EXPECT_LT(packed.size(), in.size() / 4) << compression_name(c);
  }
}

TEST(compression, gzip_output_has_gzip_magic) {
  bytes packed;
  ASSERT_TRUE(compress(compression::gzip, text_payload(100), packed));
  ASSERT_GE(packed.size(), 2u);
  EXPECT_EQ(packed[0], 0x1f);
  EXPECT_EQ(packed[1], 0x8b);
}

TEST(compression, lz4_output_is_a_frame) {
  bytes packed;
  ASSERT_TRUE(compress(compression::lz4, text_payload(100), packed));
  ASSERT_GE(packed.size(), 4u);
  // LZ4 frame magic 0x184D2204, little-endian.
  EXPECT_EQ(packed[0], 0x04);
  EXPECT_EQ(packed[1], 0x22);
  EXPECT_EQ(packed[2], 0x4d);
  EXPECT_EQ(packed[3], 0x18);
}

TEST(compression, concatenated_frames_decode_as_one_stream) {
  bytes a = text_payload(5000), b = random_payload(3000, 3);
  for (compression c : {compression::gzip, compression::lz4, compression::zstd}) {
    bytes packed;
    ASSERT_TRUE(compress(c, a, packed));
    ASSERT_TRUE(compress(c, b, packed));
    bytes back;
    ASSERT_TRUE(decompress(c, packed, 1 << 20, back)) << compression_name(c);
    bytes expect = a;
    expect.insert(expect.end(), b.begin(), b.end());
    EXPECT_EQ(back, expect) << compression_name(c);
  }
}

bytes xerial_frame(const std::vector<bytes>& chunks) {
  bytes out = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  for (const bytes& chunk : chunks) {
    std::string packed;
    snappy::Compress(reinterpret_cast<const char*>(chunk.data()), chunk.size(), &packed);
    std::uint32_t n = std::uint32_t(packed.size());
    out.push_back(std::uint8_t(n >> 24));
    out.push_back(std::uint8_t(n >> 16));
    out.push_back(std::uint8_t(n >> 8));
    out.push_back(std::uint8_t(n));
    out.insert(out.end(), packed.begin(), packed.end());
  }
  return out;
}

TEST(compression, snappy_xerial_framing_decodes) {
  bytes a = text_payload(32768), b = random_payload(1000, 9), c = text_payload(7);
  bytes framed = xerial_frame({a, b, c});
  bytes back;
  auto st = decompress(compression::snappy, framed, 1 << 20, back);
  ASSERT_TRUE(st) << st.reason;
  bytes expect = a;
  expect.insert(expect.end(), b.begin(), b.end());
  expect.insert(expect.end(), c.begin(), c.end());
  EXPECT_EQ(back, expect);

  bytes empty_frame = xerial_frame({});
  back.clear();
  ASSERT_TRUE(decompress(compression::snappy, empty_frame, 100, back));
  EXPECT_TRUE(back.empty());
}

TEST(compression, snappy_xerial_bad_framing_is_an_error) {
  bytes framed = xerial_frame({text_payload(1000)});
  bytes back;
  // Truncated in the middle of the chunk.
  bytes cut(framed.begin(), framed.end() - 3);
  EXPECT_EQ(decompress(compression::snappy, cut, 1 << 20, back).code, error_code::corrupt_message);
  // Chunk length larger than the input.
  bytes lying = framed;
  lying[16] = 0x7f;
  EXPECT_EQ(decompress(compression::snappy, lying, 1 << 20, back).code, error_code::corrupt_message);
  // Partial chunk length.
  bytes partial(framed.begin(), framed.begin() + 18);
  EXPECT_EQ(decompress(compression::snappy, partial, 1 << 20, back).code, error_code::corrupt_message);
  // Header shorter than 16 bytes.
  bytes header_only(framed.begin(), framed.begin() + 10);
  EXPECT_EQ(decompress(compression::snappy, header_only, 1 << 20, back).code, error_code::corrupt_message);
  EXPECT_TRUE(back.empty());
}

TEST(compression, decompression_bombs_are_refused) {
  bytes big(4 << 20, 0);  // 4 MiB of zeros compresses to almost nothing
  for (compression c : all_codecs) {
    bytes packed;
    ASSERT_TRUE(compress(c, big, packed));
    bytes back;
    auto st = decompress(c, packed, 1 << 20, back);
    EXPECT_EQ(st.code, error_code::message_too_large) << compression_name(c);
    EXPECT_TRUE(back.empty()) << compression_name(c);
    EXPECT_LE(back.capacity(), std::size_t(3) << 20) << compression_name(c);
    // Exactly at the limit is fine.
    ASSERT_TRUE(decompress(c, packed, big.size(), back)) << compression_name(c);
    EXPECT_EQ(back.size(), big.size());
  }
}

TEST(compression, snappy_lying_length_preamble_is_refused_before_allocating) {
  // Preamble claims ~4 GiB; the limit must reject it without trying.
  bytes lie = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  bytes back;
  EXPECT_EQ(decompress(compression::snappy, lie, 1 << 20, back).code, error_code::message_too_large);
}

TEST(compression, truncated_and_garbage_inputs_are_errors) {
  bytes in = random_payload(20000, 5);
  for (compression c : {compression::gzip, compression::snappy, compression::lz4, compression::zstd}) {
    bytes packed;
    ASSERT_TRUE(compress(c, in, packed));
    for (std::size_t cut : {std::size_t(0), std::size_t(1), packed.size() / 2, packed.size() - 1}) {
      bytes partial(packed.begin(), packed.begin() + cut);
      bytes back;
      auto st = decompress(c, partial, 1 << 20, back);
      EXPECT_FALSE(st) << compression_name(c) << " cut=" << cut;
      EXPECT_TRUE(back.empty());
    }
    bytes garbage = random_payload(500, 77);
    bytes back;
    EXPECT_FALSE(decompress(c, garbage, 1 << 20, back)) << compression_name(c);
  }
}

TEST(compression, random_bytes_never_crash) {
  std::mt19937 rng(1234);
  for (compression c : all_codecs) {
    for (int i = 0; i < 200; ++i) {
      bytes junk = random_payload(rng() % 300, rng());
      bytes back;
      (void)decompress(c, junk, 1 << 16, back);
      EXPECT_LE(back.size(), std::size_t(1) << 16);
    }
  }
}

TEST(compression, unknown_codec_is_unsupported) {
  bytes back;
  EXPECT_EQ(decompress(compression(5), bytes{1, 2, 3}, 100, back).code, error_code::unsupported_compression_type);
  EXPECT_EQ(compress(compression(7), bytes{1, 2, 3}, back).code, error_code::unsupported_compression_type);
  EXPECT_STREQ(compression_name(compression(6)), "unknown");
}

}  // namespace
}  // namespace eddy::record
