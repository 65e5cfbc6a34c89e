#include "broker/log/offset_index.h"

#include <gtest/gtest.h>

#include "broker/log/time_index.h"
#include "broker/log/transaction_index.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using testing::temp_dir;

TEST(offset_index, lookup_finds_last_entry_at_or_below) {
  temp_dir d;
  auto idx = offset_index::open(d.path() / "x.index", 1000, 0, false);
  ASSERT_TRUE(idx.ok());
  ASSERT_TRUE(idx->append(1010, 100).ok());
  ASSERT_TRUE(idx->append(1020, 200).ok());
  ASSERT_TRUE(idx->append(1020, 300).ok());  // not increasing: ignored
  ASSERT_TRUE(idx->append(1050, 500).ok());
  EXPECT_EQ(idx->lookup(999), 0u);
  EXPECT_EQ(idx->lookup(1005), 0u);
  EXPECT_EQ(idx->lookup(1010), 100u);
  EXPECT_EQ(idx->lookup(1049), 200u);
  EXPECT_EQ(idx->lookup(1050), 500u);
  EXPECT_EQ(idx->lookup(1 << 30), 500u);
  EXPECT_EQ(testing::file_size(d.path() / "x.index"), 24u);
  auto again = offset_index::open(d.path() / "x.index", 1000, 1000, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries().size(), 3u);
  EXPECT_EQ(again->lookup(1049), 200u);
  // Positions beyond the .log are inconsistent.
  EXPECT_FALSE(offset_index::open(d.path() / "x.index", 1000, 400, true).ok());
  EXPECT_TRUE(idx->full(24));
  EXPECT_FALSE(idx->full(32));
}

TEST(time_index, entries_and_lookup) {
  temp_dir d;
  auto idx = time_index::open(d.path() / "x.timeindex", 0, false);
  ASSERT_TRUE(idx.ok());
  ASSERT_TRUE(idx->maybe_append(100, 0).ok());
  ASSERT_TRUE(idx->maybe_append(100, 5).ok());  // same timestamp: skipped
  ASSERT_TRUE(idx->maybe_append(200, 10).ok());
  ASSERT_TRUE(idx->maybe_append(300, 20).ok());
  EXPECT_EQ(idx->entries().size(), 3u);
  EXPECT_EQ(idx->max_timestamp(), 300);
  EXPECT_FALSE(idx->last_offset_before(100).has_value());
  EXPECT_EQ(idx->last_offset_before(101), 0);
  EXPECT_EQ(idx->last_offset_before(300), 10);
  EXPECT_EQ(idx->last_offset_before(1000), 20);
  auto again = time_index::open(d.path() / "x.timeindex", 0, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries().size(), 3u);
  testing::append_bytes(d.path() / "x.timeindex", "abc");
  EXPECT_FALSE(time_index::open(d.path() / "x.timeindex", 0, true).ok());
}

TEST(transaction_index, round_trip_and_validation) {
  temp_dir d;
  auto idx = transaction_index::open(d.path() / "x.txnindex", false);
  ASSERT_TRUE(idx.ok());
  ASSERT_TRUE(idx->append({7, 10, 20, 21}).ok());
  ASSERT_TRUE(idx->append({8, 15, 30, 31}).ok());
  auto again = transaction_index::open(d.path() / "x.txnindex", true);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->entries().size(), 2u);
  EXPECT_EQ(again->entries()[1], (aborted_txn{8, 15, 30, 31}));
  std::filesystem::resize_file(d.path() / "x.txnindex", 40);
  EXPECT_FALSE(transaction_index::open(d.path() / "x.txnindex", true).ok());
}

}  // namespace
}  // namespace eddy::broker::log
