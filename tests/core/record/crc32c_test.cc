#include "core/record/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace eddy::record {
namespace {

struct vector_case {
  std::string input;
  std::uint32_t crc;
};

// Published CRC-32C check values (RFC 3720 appendix B.4 and the common "check" string).
std::vector<vector_case> known_vectors() {
  return {
      {"", 0x00000000u},
      {"a", 0xC1D04330u},
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xff'), 0x62A8AB43u},
  };
}

std::string ascending32() {
  std::string s(32, '\0');
  for (int i = 0; i < 32; ++i) s[i] = char(i);
  return s;
}

TEST(crc32c, known_vectors_dispatching) {
  for (const auto& v : known_vectors()) EXPECT_EQ(crc32c(v.input.data(), v.input.size()), v.crc) << v.input.size();
  auto asc = ascending32();
  EXPECT_EQ(crc32c(asc.data(), asc.size()), 0x46DD794Eu);
}

TEST(crc32c, known_vectors_software) {
  for (const auto& v : known_vectors())
    EXPECT_EQ(detail::crc32c_extend_software(0, v.input.data(), v.input.size()), v.crc);
  auto asc = ascending32();
  EXPECT_EQ(detail::crc32c_extend_software(0, asc.data(), asc.size()), 0x46DD794Eu);
}

TEST(crc32c, known_vectors_hardware) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (const auto& v : known_vectors())
    EXPECT_EQ(detail::crc32c_extend_hardware(0, v.input.data(), v.input.size()), v.crc);
  auto asc = ascending32();
  EXPECT_EQ(detail::crc32c_extend_hardware(0, asc.data(), asc.size()), 0x46DD794Eu);
}

TEST(crc32c, hardware_matches_software_on_random_buffers) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(42);
  std::vector<std::uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = std::uint8_t(rng());
  // Vary both start alignment and length to exercise head/tail handling.
  for (int i = 0; i < 500; ++i) {
    std::size_t off = rng() % 16;
    std::size_t len = rng() % 4096;
    std::uint32_t seed = (i % 3 == 0) ? 0 : std::uint32_t(rng());
    ASSERT_EQ(detail::crc32c_extend_hardware(seed, buf.data() + off, len),
              detail::crc32c_extend_software(seed, buf.data() + off, len))
        << "off=" << off << " len=" << len;
  }
}

// Long buffers take the three-stream path (stripes of 3 x 2048 bytes joined by shifts).
TEST(crc32c, hardware_matches_software_on_long_buffers) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf((1 << 20) + 16);
  for (auto& b : buf) b = std::uint8_t(rng());
  std::vector<std::size_t> lens = {6143, 6144, 6145, 12288, 12289, 18431, 65536, 1 << 20};
  for (int i = 0; i < 40; ++i) lens.push_back(6144 + rng() % 200000);
  for (std::size_t len : lens) {
    std::size_t off = rng() % 16;
    std::uint32_t seed = std::uint32_t(rng());
    ASSERT_EQ(detail::crc32c_extend_hardware(seed, buf.data() + off, len),
              detail::crc32c_extend_software(seed, buf.data() + off, len))
        << "off=" << off << " len=" << len;
  }
}

TEST(crc32c, extend_equals_one_shot) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf(1000);
  for (auto& b : buf) b = std::uint8_t(rng());
  std::uint32_t whole = crc32c(buf.data(), buf.size());
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    std::uint32_t c = crc32c_extend(0, buf.data(), split);
    c = crc32c_extend(c, buf.data() + split, buf.size() - split);
    EXPECT_EQ(c, whole) << split;
    std::uint32_t s = detail::crc32c_extend_software(0, buf.data(), split);
    s = detail::crc32c_extend_software(s, buf.data() + split, buf.size() - split);
    EXPECT_EQ(s, whole) << split;
  }
}

TEST(crc32c, detects_single_bit_flip) {
  std::string s = "the quick brown fox jumps over the lazy dog";
  std::uint32_t a = crc32c(s.data(), s.size());
  s[10] ^= 0x01;
  EXPECT_NE(a, crc32c(s.data(), s.size()));
}

}  // namespace
}  // namespace eddy::record
