#include "broker/txn/producer_state.h"

#include <gtest/gtest.h>

namespace eddy::broker::txn {
namespace {

using protocol::error_code;

TEST(producer_state, unknown_producer_may_start_anywhere) {
  partition_producers pp;
  auto v = pp.check(7, 0, 42, 44);
  EXPECT_EQ(v.error, error_code::none);
  EXPECT_FALSE(v.duplicate_base_offset);
}

TEST(producer_state, in_order_duplicate_gap_and_old_epoch) {
  partition_producers pp;
  pp.on_append(7, 1, 0, 4, 100, 104);
  pp.on_append(7, 1, 5, 9, 105, 109);
  EXPECT_EQ(pp.check(7, 1, 10, 12).error, error_code::none);
  auto dup = pp.check(7, 1, 0, 4);
  EXPECT_EQ(dup.error, error_code::none);
  ASSERT_TRUE(dup.duplicate_base_offset);
  EXPECT_EQ(*dup.duplicate_base_offset, 100);
  EXPECT_EQ(*pp.check(7, 1, 5, 9).duplicate_base_offset, 105);
  EXPECT_EQ(pp.check(7, 1, 11, 12).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(pp.check(7, 0, 10, 12).error, error_code::invalid_producer_epoch);
  // A newer epoch must restart at 0.
  EXPECT_EQ(pp.check(7, 2, 10, 12).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(pp.check(7, 2, 0, 3).error, error_code::none);
}

TEST(producer_state, keeps_only_last_five_batches) {
  partition_producers pp;
  for (int i = 0; i < 7; ++i) pp.on_append(1, 0, i, i, 10 + i, 10 + i);
  EXPECT_EQ(pp.entries().at(1).batches.size(), max_cached_batches);
  EXPECT_FALSE(pp.check(1, 0, 1, 1).duplicate_base_offset);  // evicted: no longer a known repeat
  EXPECT_EQ(pp.check(1, 0, 1, 1).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(*pp.check(1, 0, 2, 2).duplicate_base_offset, 12);
}

TEST(producer_state, sequence_wraps_after_int32_max) {
  EXPECT_EQ(last_sequence(2147483647, 0), 2147483647);
  EXPECT_EQ(last_sequence(2147483646, 2), 0);
  partition_producers pp;
  pp.on_append(1, 0, 2147483640, 2147483647, 0, 7);
  EXPECT_EQ(pp.check(1, 0, 0, 3).error, error_code::none);
}

TEST(producer_state, marker_with_newer_epoch_resets_window) {
  partition_producers pp;
  pp.on_append(3, 0, 0, 4, 0, 4);
  pp.on_marker(3, 1);
  EXPECT_EQ(pp.check(3, 0, 5, 6).error, error_code::invalid_producer_epoch);
  EXPECT_EQ(pp.check(3, 1, 5, 6).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(pp.check(3, 1, 0, 6).error, error_code::none);
}

TEST(producer_state, snapshot_round_trip) {
  partition_producers pp;
  pp.on_append(1, 0, 0, 4, 0, 4);
  pp.on_append(2, 5, 9, 9, 5, 5);
  protocol::bytes b;
  protocol::writer w(b);
  pp.encode(w);
  protocol::reader r(b.data(), b.size());
  partition_producers back;
  back.decode(r);
  EXPECT_EQ(back.entries(), pp.entries());
  protocol::reader torn(b.data(), b.size() - 3);
  partition_producers bad;
  EXPECT_THROW(bad.decode(torn), protocol::decode_error);
}

}  // namespace
}  // namespace eddy::broker::txn
