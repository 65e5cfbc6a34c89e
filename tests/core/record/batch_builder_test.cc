#include "core/record/batch_builder.h"

#include <gtest/gtest.h>

#include "core/record/batch_reader.h"
#include "core/record/crc32c.h"

namespace eddy::record {
namespace {

TEST(batch_builder, writes_header_fields_and_valid_crc) {
  batch_builder b({.codec = compression::none,
                   .base_offset = 100,
                   .partition_leader_epoch = 5,
                   .producer_id = 42,
                   .producer_epoch = 3,
                   .base_sequence = 17,
                   .transactional = true});
  b.add(1000, "k1", "v1");
  b.add(990, "k2", "v2");  // earlier than the first: negative timestamp delta
  b.add(1005, std::nullopt, std::nullopt);
  auto bytes = b.build();
  ASSERT_TRUE(bytes);
  batch_header_view h{bytes->data()};
  EXPECT_EQ(h.base_offset(), 100);
  EXPECT_EQ(h.total_size(), std::int64_t(bytes->size()));
  EXPECT_EQ(h.partition_leader_epoch(), 5);
  EXPECT_EQ(h.magic(), 2);
  EXPECT_EQ(h.codec(), compression::none);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.last_offset_delta(), 2);
  EXPECT_EQ(h.base_timestamp(), 1000);
  EXPECT_EQ(h.max_timestamp(), 1005);
  EXPECT_EQ(h.producer_id(), 42);
  EXPECT_EQ(h.producer_epoch(), 3);
  EXPECT_EQ(h.base_sequence(), 17);
  EXPECT_EQ(h.record_count(), 3);
  EXPECT_EQ(h.crc(), crc32c(bytes->data() + batch_offsets::attributes, bytes->size() - batch_offsets::attributes));
  EXPECT_EQ(b.uncompressed_size(), bytes->size());
}

TEST(batch_builder, known_uncompressed_layout) {
  // One record, key "a", value null, no headers, timestamp = base.
  batch_builder b;
  b.add(5, "a", std::nullopt);
  auto bytes = b.build();
  ASSERT_TRUE(bytes);
  // length=7 -> zigzag 14; attributes 0; ts delta 0; offset delta 0; key len 1 -> 2, 'a';
  // value len -1 -> 1; header count 0.
  std::vector<std::uint8_t> expect_records = {14, 0, 0, 0, 2, 'a', 1, 0};
  ASSERT_EQ(bytes->size(), batch_header_size + expect_records.size());
  EXPECT_TRUE(std::equal(expect_records.begin(), expect_records.end(), bytes->begin() + batch_header_size));
}

TEST(batch_builder, empty_builder_gives_valid_empty_batch) {
  batch_builder b;
  auto bytes = b.build();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), batch_header_size);
  EXPECT_TRUE(validate_batch(*bytes));
  // But it is not acceptable as a produced batch.
  EXPECT_EQ(validate_batch(*bytes, {.produced = true}).code, protocol::error_code::invalid_record);
}

TEST(batch_builder, explicit_offset_deltas_leave_gaps) {
  batch_builder b;
  b.add_at(0, 1, "a", "1");
  b.add_at(5, 2, "b", "2");
  auto bytes = b.build();
  ASSERT_TRUE(bytes);
  batch_header_view h{bytes->data()};
  EXPECT_EQ(h.last_offset_delta(), 5);
  EXPECT_EQ(h.record_count(), 2);
  auto r = batch_reader::open(*bytes);
  ASSERT_TRUE(r) << r.error().reason;
  std::vector<std::int64_t> offsets;
  for (const record& rec : *r) offsets.push_back(rec.offset);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{0, 5}));
  EXPECT_EQ(validate_batch(*bytes, {.produced = true}).code, protocol::error_code::invalid_record);
}

TEST(batch_builder, reset_starts_over) {
  batch_builder b;
  b.add(1, "a", "b");
  b.reset();
  b.add(7, "c", "d");
  auto bytes = b.build();
  ASSERT_TRUE(bytes);
  auto r = batch_reader::open(*bytes, {.produced = true});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record_count(), 1);
  EXPECT_EQ(r->begin()->timestamp, 7);
  EXPECT_EQ(r->begin()->key, "c");
}

TEST(batch_builder, unknown_codec_fails) {
  batch_builder b({.codec = compression(6)});
  b.add(1, "a", "b");
  auto bytes = b.build();
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, protocol::error_code::unsupported_compression_type);
}

}  // namespace
}  // namespace eddy::record
