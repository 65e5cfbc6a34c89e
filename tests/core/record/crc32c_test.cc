#include "core/record/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <ostream>
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

// ---- Every implementation against the software one ---------------------------------------
// Parameterised over the implementations (hardware crc32, pclmul and vpclmul folding, and the
// dispatching crc32c_extend); each is skipped only when the CPU lacks its instructions.

struct implementation {
  const char* name;
  std::uint32_t (*extend)(std::uint32_t, const void*, std::size_t);
  bool (*available)();
  const char* needs;
};

void PrintTo(const implementation& impl, std::ostream* os) { *os << impl.name; }

bool always() { return true; }

const implementation implementations[] = {
    {"hardware", detail::crc32c_extend_hardware, detail::crc32c_hardware_available, "SSE4.2"},
    {"pclmul", detail::crc32c_extend_pclmul, detail::crc32c_pclmul_available, "x86-64 PCLMULQDQ and SSE4.2"},
    {"vpclmul", detail::crc32c_extend_vpclmul, detail::crc32c_vpclmul_available,
     "x86-64 AVX-512F/VL, VPCLMULQDQ, PCLMULQDQ and SSE4.2"},
    {"dispatching", crc32c_extend, always, ""},
};

// `len` bytes copied to offset `align` of a 64-byte aligned allocation of exactly align + len
// bytes, so that under ASan any read past the end is reported.
class placed_buffer {
 public:
  placed_buffer(const std::uint8_t* src, std::size_t len, std::size_t align)
      : base_(static_cast<std::uint8_t*>(::operator new(align + len, std::align_val_t{64}))), len_(len) {
    data_ = base_ + align;
    if (len > 0) std::memcpy(data_, src, len);
  }
  ~placed_buffer() { ::operator delete(base_, std::align_val_t{64}); }
  placed_buffer(const placed_buffer&) = delete;
  placed_buffer& operator=(const placed_buffer&) = delete;
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return len_; }

 private:
  std::uint8_t* base_;
  std::uint8_t* data_;
  std::size_t len_;
};

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t r = rng();
    std::memcpy(v.data() + i, &r, std::min<std::size_t>(8, n - i));
  }
  return v;
}

class crc32c_impl : public ::testing::TestWithParam<implementation> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) GTEST_SKIP() << "this CPU lacks " << GetParam().needs;
  }
  std::uint32_t run(std::uint32_t crc, const void* data, std::size_t len) const {
    return GetParam().extend(crc, data, len);
  }
};

TEST_P(crc32c_impl, known_vectors) {
  EXPECT_EQ(run(0, "123456789", 9), 0xE3069283u);
  for (const auto& v : known_vectors()) EXPECT_EQ(run(0, v.input.data(), v.input.size()), v.crc) << v.input.size();
  auto asc = ascending32();
  EXPECT_EQ(run(0, asc.data(), asc.size()), 0x46DD794Eu);
  // Long enough for the folding paths: 4096 bytes, also as a prefix and an extension.
  std::string s;
  for (int i = 0; i < 4096; ++i) s.push_back(char('0' + i % 10));
  std::uint32_t want = detail::crc32c_extend_software(0, s.data(), s.size());
  EXPECT_EQ(run(0, s.data(), s.size()), want);
  EXPECT_EQ(run(run(0, "123456789", 9), s.data(), s.size()),
            detail::crc32c_extend_software(0xE3069283u, s.data(), s.size()));
}

// Every length from 0 to 2048 at every alignment 0..63 within a cache line, random initial CRCs.
TEST_P(crc32c_impl, matches_software_every_length_to_2048_every_alignment) {
  const auto pool = random_bytes(2048 + 64, 1);
  std::mt19937 rng(2);
  for (std::size_t len = 0; len <= 2048; ++len) {
    for (std::size_t align = 0; align < 64; ++align) {
      placed_buffer buf(pool.data() + (len + align) % 64, len, align);
      std::uint32_t seed = (align % 8 == 0) ? 0 : std::uint32_t(rng());
      std::uint32_t want = detail::crc32c_extend_software(seed, buf.data(), len);
      ASSERT_EQ(run(seed, buf.data(), len), want) << "len=" << len << " align=" << align << " seed=" << seed;
    }
  }
}

// Larger and odd lengths, up to and past 1 MB, at every alignment 0..63.
TEST_P(crc32c_impl, matches_software_large_lengths_every_alignment) {
  const std::size_t mb = std::size_t(1) << 20;
  const auto pool = random_bytes(mb + 4096, 3);
  std::vector<std::size_t> lens = {2049, 2111, 4095, 4096, 4097, 6143, 6144, 6145, 12289, 18431,
                                   65535, 65536, 65537, 999983, mb - 1, mb, mb + 1, mb + 63, mb + 255};
  std::mt19937 rng(4);
  for (int i = 0; i < 12; ++i) lens.push_back(2049 + rng() % 300000);
  for (std::size_t len : lens) {
    for (std::size_t align = 0; align < 64; ++align) {
      placed_buffer buf(pool.data() + rng() % 1024, len, align);
      std::uint32_t seed = std::uint32_t(rng());
      std::uint32_t want = detail::crc32c_extend_software(seed, buf.data(), len);
      ASSERT_EQ(run(seed, buf.data(), len), want) << "len=" << len << " align=" << align << " seed=" << seed;
    }
  }
}

// Incremental extend calls split at random points equal one shot; the pieces are placed at
// random alignments of their own allocations.
TEST_P(crc32c_impl, incremental_extend_at_random_split_points) {
  const std::size_t mb = std::size_t(1) << 20;
  const auto pool = random_bytes(mb + 1, 5);
  std::mt19937 rng(6);
  for (int iter = 0; iter < 300; ++iter) {
    std::size_t len;
    switch (iter % 4) {
      case 0: len = rng() % 600; break;
      case 1: len = rng() % 5000; break;
      case 2: len = rng() % 200000; break;
      default: len = mb - rng() % 64; break;
    }
    const std::uint8_t* src = pool.data() + rng() % (pool.size() - len + 1);
    std::uint32_t seed = (iter % 5 == 0) ? 0 : std::uint32_t(rng());
    std::uint32_t want = detail::crc32c_extend_software(seed, src, len);
    std::vector<std::size_t> cuts = {0, len};
    const int pieces = 1 + int(rng() % 8);
    for (int i = 1; i < pieces; ++i) {
      // Half the cuts near the ends or each other, where the short-buffer paths take over.
      std::size_t at = (rng() % 2) ? rng() % (len + 1) : std::min<std::size_t>(len, rng() % 300);
      cuts.push_back(at);
    }
    std::sort(cuts.begin(), cuts.end());
    std::uint32_t c = seed;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      placed_buffer piece(src + cuts[i], cuts[i + 1] - cuts[i], rng() % 64);
      c = run(c, piece.data(), piece.size());
    }
    ASSERT_EQ(c, want) << "iter=" << iter << " len=" << len << " pieces=" << pieces;
  }
}

// Zeros and ones exercise the folding's handling of an all-zero or all-ones state.
TEST_P(crc32c_impl, matches_software_on_uniform_buffers) {
  for (std::uint8_t fill : {std::uint8_t(0x00), std::uint8_t(0xff)}) {
    std::vector<std::uint8_t> v((std::size_t(1) << 20) + 7, fill);
    for (std::size_t len : {std::size_t(256), std::size_t(257), std::size_t(4096), v.size()}) {
      for (std::uint32_t seed : {0u, 0xffffffffu, 0x12345678u}) {
        ASSERT_EQ(run(seed, v.data(), len), detail::crc32c_extend_software(seed, v.data(), len))
            << "fill=" << int(fill) << " len=" << len << " seed=" << seed;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(all, crc32c_impl, ::testing::ValuesIn(implementations),
                         [](const ::testing::TestParamInfo<implementation>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace eddy::record
