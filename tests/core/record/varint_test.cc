#include "core/record/varint.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace eddy::record::varint {
namespace {

using bytes = std::vector<std::uint8_t>;

TEST(varint, zigzag_maps_small_magnitudes_to_small_codes) {
  EXPECT_EQ(zigzag32(0), 0u);
  EXPECT_EQ(zigzag32(-1), 1u);
  EXPECT_EQ(zigzag32(1), 2u);
  EXPECT_EQ(zigzag32(-2), 3u);
  EXPECT_EQ(zigzag32(std::numeric_limits<std::int32_t>::max()), 0xFFFFFFFEu);
  EXPECT_EQ(zigzag32(std::numeric_limits<std::int32_t>::min()), 0xFFFFFFFFu);
  EXPECT_EQ(unzigzag64(zigzag64(std::numeric_limits<std::int64_t>::min())), std::numeric_limits<std::int64_t>::min());
}

TEST(varint, known_encodings) {
  bytes out;
  append_varint(out, 0);
  append_varint(out, -1);
  append_varint(out, 64);   // zigzag 128 -> two bytes
  append_varint(out, 300);  // zigzag 600 = 0x258
  EXPECT_EQ(out, (bytes{0x00, 0x01, 0x80, 0x01, 0xd8, 0x04}));
}

TEST(varint, round_trips_extremes) {
  const std::int32_t i32[] = {0, 1, -1, 63, -64, 64, 1 << 20, std::numeric_limits<std::int32_t>::max(),
                              std::numeric_limits<std::int32_t>::min()};
  for (std::int32_t v : i32) {
    bytes out;
    append_varint(out, v);
    EXPECT_EQ(out.size(), varint_size(v));
    const std::uint8_t* p = out.data();
    std::int32_t back;
    ASSERT_TRUE(read_varint(p, out.data() + out.size(), back));
    EXPECT_EQ(back, v);
    EXPECT_EQ(p, out.data() + out.size());
  }
  const std::int64_t i64[] = {0, -1, 1LL << 40, std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::int64_t>::min()};
  for (std::int64_t v : i64) {
    bytes out;
    append_varlong(out, v);
    EXPECT_EQ(out.size(), varlong_size(v));
    const std::uint8_t* p = out.data();
    std::int64_t back;
    ASSERT_TRUE(read_varlong(p, out.data() + out.size(), back));
    EXPECT_EQ(back, v);
  }
}

TEST(varint, rejects_truncated_long_and_overflowing_encodings) {
  std::int32_t v;
  std::int64_t l;
  bytes truncated = {0x80, 0x80};
  const std::uint8_t* p = truncated.data();
  EXPECT_FALSE(read_varint(p, truncated.data() + truncated.size(), v));
  EXPECT_EQ(p, truncated.data());  // cursor untouched on failure
  bytes six = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  p = six.data();
  EXPECT_FALSE(read_varint(p, six.data() + six.size(), v));
  bytes overflow32 = {0xff, 0xff, 0xff, 0xff, 0x1f};  // 35 bits
  p = overflow32.data();
  EXPECT_FALSE(read_varint(p, overflow32.data() + overflow32.size(), v));
  bytes eleven(10, 0xff);
  eleven.push_back(0x01);
  p = eleven.data();
  EXPECT_FALSE(read_varlong(p, eleven.data() + eleven.size(), l));
  bytes empty;
  p = empty.data();
  EXPECT_FALSE(read_varint(p, p, v));
}

}  // namespace
}  // namespace eddy::record::varint
