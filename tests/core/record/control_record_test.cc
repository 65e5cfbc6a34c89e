#include "core/record/control_record.h"

#include <gtest/gtest.h>

#include "core/record/batch_builder.h"

namespace eddy::record {
namespace {

using protocol::error_code;
using bytes = std::vector<std::uint8_t>;

TEST(control_record, marker_batch_layout) {
  auto batch = build_marker_batch(
      {.producer_id = 4242, .producer_epoch = 7, .type = control_type::commit, .coordinator_epoch = 3, .timestamp = 99},
      50);
  ASSERT_TRUE(batch);
  auto r = batch_reader::open(*batch);
  ASSERT_TRUE(r) << r.error().reason;
  batch_header_view h = r->header();
  EXPECT_TRUE(h.is_control());
  EXPECT_TRUE(h.is_transactional());
  EXPECT_EQ(h.base_offset(), 50);
  EXPECT_EQ(h.producer_id(), 4242);
  EXPECT_EQ(h.producer_epoch(), 7);
  EXPECT_EQ(h.record_count(), 1);
  EXPECT_EQ(h.codec(), compression::none);
  const record& rec = *r->begin();
  EXPECT_EQ(rec.key, std::string_view("\0\0\0\1", 4));             // version 0, type commit
  EXPECT_EQ(rec.value, std::string_view("\0\0\0\0\0\3", 6));       // version 0, epoch 3
  EXPECT_EQ(rec.timestamp, 99);
}

TEST(control_record, build_then_read_round_trip) {
  for (control_type t : {control_type::abort, control_type::commit}) {
    marker in{.producer_id = 1, .producer_epoch = 2, .type = t, .coordinator_epoch = 123456, .timestamp = 1000};
    auto batch = build_marker_batch(in);
    ASSERT_TRUE(batch);
    auto out = read_marker_batch(*batch);
    ASSERT_TRUE(out) << out.error().reason;
    EXPECT_EQ(out->producer_id, 1);
    EXPECT_EQ(out->producer_epoch, 2);
    EXPECT_EQ(out->type, t);
    EXPECT_EQ(out->coordinator_epoch, 123456);
    EXPECT_EQ(out->timestamp, 1000);
  }
}

TEST(control_record, parse_key_and_value) {
  EXPECT_EQ(*parse_control_key(std::string_view("\0\0\0\0", 4)), control_type::abort);
  // A newer key version with extra trailing fields still parses.
  EXPECT_EQ(*parse_control_key(std::string_view("\0\1\0\1\x09", 5)), control_type::commit);
  EXPECT_EQ(parse_control_key(std::nullopt).error().code, error_code::invalid_record);
  EXPECT_EQ(parse_control_key(std::string_view("\0\0\0", 3)).error().code, error_code::invalid_record);
  EXPECT_EQ(*parse_marker_value(std::string_view("\0\0\xff\xff\xff\xfe", 6)), -2);
  EXPECT_EQ(parse_marker_value(std::string_view("\0\0\0", 3)).error().code, error_code::invalid_record);
  EXPECT_EQ(parse_marker_value(std::nullopt).error().code, error_code::invalid_record);
}

TEST(control_record, non_marker_batches_are_rejected) {
  batch_builder data;
  data.add(1, std::string_view("\0\0\0\1", 4), std::string_view("\0\0\0\0\0\0", 6));
  auto plain = data.build();
  ASSERT_TRUE(plain);
  EXPECT_EQ(read_marker_batch(*plain).error().code, error_code::invalid_record);

  batch_builder two({.transactional = true, .control = true});
  two.add(1, std::string_view("\0\0\0\1", 4), std::string_view("\0\0\0\0\0\0", 6));
  two.add(1, std::string_view("\0\0\0\1", 4), std::string_view("\0\0\0\0\0\0", 6));
  auto twice = two.build();
  ASSERT_TRUE(twice);
  EXPECT_EQ(read_marker_batch(*twice).error().code, error_code::invalid_record);

  batch_builder short_key({.transactional = true, .control = true});
  short_key.add(1, "x", std::string_view("\0\0\0\0\0\0", 6));
  auto bad = short_key.build();
  ASSERT_TRUE(bad);
  EXPECT_EQ(read_marker_batch(*bad).error().code, error_code::invalid_record);

  auto marker_bytes = build_marker_batch({.producer_id = 1, .producer_epoch = 0, .type = control_type::abort});
  ASSERT_TRUE(marker_bytes);
  (*marker_bytes)[marker_bytes->size() - 1] ^= 1;  // breaks the CRC
  EXPECT_EQ(read_marker_batch(*marker_bytes).error().code, error_code::corrupt_message);
}

}  // namespace
}  // namespace eddy::record
