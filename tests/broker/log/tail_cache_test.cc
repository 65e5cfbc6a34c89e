#include "broker/log/tail_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "broker/log/cleaner.h"
#include "broker/log/partition_log.h"
#include "core/record/batch_reader.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using testing::make_batch;
using testing::make_keyed_batch;
using testing::make_marker;
using testing::make_txn_batch;
using testing::read_values;
using testing::temp_dir;

// A batch's bytes with a recognisable fill, owned by a shared vector (as a request frame
// owns the batches it carries).
std::shared_ptr<std::vector<std::uint8_t>> bytes_of(std::size_t n, std::uint8_t fill) {
  return std::make_shared<std::vector<std::uint8_t>>(n, fill);
}

std::span<const std::uint8_t> span_of(const std::shared_ptr<std::vector<std::uint8_t>>& v) { return {v->data(), v->size()}; }

// Batches [base, base + records) of `size` bytes each, one per add.
void add_run(tail_cache& c, std::int64_t base, int count, std::size_t size, int records = 1) {
  for (int i = 0; i < count; ++i) {
    auto b = bytes_of(size, std::uint8_t(base + i * records));
    c.add(base + i * records, base + i * records + records - 1, span_of(b), b);
  }
}

TEST(tail_cache, reads_whole_batches_with_the_segment_read_rules) {
  tail_cache_budget budget(1 << 20);
  tail_cache c(&budget);
  add_run(c, 100, 5, 1000, 10);  // batches at 100, 110, ..., 140 of 1000 bytes
  ASSERT_EQ(c.first_offset(), 100);
  ASSERT_EQ(c.end_offset(), 150);
  read_result r;
  // From an offset inside a batch: that batch first.
  ASSERT_TRUE(c.read(115, 2500, 1000, r));
  EXPECT_EQ(r.first_offset, 110);
  EXPECT_EQ(r.next_offset, 130);  // two whole batches fit in 2500 bytes
  ASSERT_EQ(r.records.size(), 2000u);
  EXPECT_EQ(r.records[0], 110);
  EXPECT_EQ(r.records[1000], 120);
  // The first batch is returned whole even when larger than max_bytes.
  ASSERT_TRUE(c.read(100, 1, 1000, r));
  EXPECT_EQ(r.records.size(), 1000u);
  EXPECT_EQ(r.next_offset, 110);
  // Nothing at or above the upper bound.
  ASSERT_TRUE(c.read(100, 1 << 20, 130, r));
  EXPECT_EQ(r.next_offset, 130);
  EXPECT_EQ(r.records.size(), 3000u);  // batches 100, 110 and 120
  ASSERT_TRUE(c.read(130, 1 << 20, 130, r));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.first_offset, -1);
  // Outside the cached range: the caller reads the segments.
  EXPECT_FALSE(c.read(99, 1 << 20, 1000, r));
  EXPECT_FALSE(c.read(150, 1 << 20, 1000, r));
}

TEST(tail_cache, copies_batches_without_an_owner_and_keeps_owned_ones_in_place) {
  tail_cache_budget budget(1 << 20);
  tail_cache c(&budget);
  auto owned = bytes_of(100, 7);
  c.add(0, 0, span_of(owned), owned);
  EXPECT_EQ(owned.use_count(), 2) << "the cache keeps the owner, not a copy";
  std::vector<std::uint8_t> loose(100, 8);
  c.add(1, 1, loose, nullptr);
  std::fill(loose.begin(), loose.end(), 9);  // the caller's buffer changes or goes away
  read_result r;
  ASSERT_TRUE(c.read(1, 1 << 20, 10, r));
  ASSERT_EQ(r.records.size(), 100u);
  EXPECT_EQ(r.records[0], 8);
  c.clear();
  EXPECT_EQ(owned.use_count(), 1);
  EXPECT_EQ(budget.used_bytes(), 0u);
}

TEST(tail_cache, a_batch_that_does_not_follow_on_restarts_the_cache) {
  tail_cache_budget budget(1 << 20);
  tail_cache c(&budget);
  add_run(c, 0, 3, 100);
  add_run(c, 10, 1, 100);  // offsets 3..9 never reached the cache
  EXPECT_EQ(c.first_offset(), 10);
  EXPECT_EQ(c.batch_count(), 1u);
  read_result r;
  EXPECT_FALSE(c.read(2, 1 << 20, 100, r));
}

TEST(tail_cache, drop_below_forgets_batches_that_end_below_the_offset) {
  tail_cache_budget budget(1 << 20);
  tail_cache c(&budget);
  add_run(c, 0, 4, 100, 5);  // 0-4, 5-9, 10-14, 15-19
  c.drop_below(7);
  EXPECT_EQ(c.first_offset(), 5);
  c.drop_below(15);
  EXPECT_EQ(c.first_offset(), 15);
  EXPECT_EQ(budget.used_bytes(), 100 + tail_cache_budget::per_batch_overhead);
  c.drop_below(100);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(budget.used_bytes(), 0u);
}

TEST(tail_cache, the_budget_evicts_the_oldest_batches_of_all_partitions) {
  const std::size_t batch = 1000, cost = batch + tail_cache_budget::per_batch_overhead;
  tail_cache_budget budget(10 * cost);
  tail_cache a(&budget), b(&budget);
  add_run(a, 0, 4, batch);  // a: 0..3 (oldest)
  add_run(b, 0, 6, batch);  // b: 0..5, the budget is full
  EXPECT_EQ(budget.used_bytes(), 10 * cost);
  add_run(b, 6, 3, batch);  // evicts a's 0, 1, 2
  EXPECT_EQ(a.first_offset(), 3);
  EXPECT_EQ(b.first_offset(), 0);
  add_run(a, 4, 2, batch);  // evicts a's 3, then b's 0
  EXPECT_EQ(a.first_offset(), 4);
  EXPECT_EQ(a.end_offset(), 6);
  EXPECT_EQ(b.first_offset(), 1);
  EXPECT_LE(budget.used_bytes(), budget.max_bytes());
  // A batch larger than the whole budget is not cached, and what was cached before it no
  // longer leads up to the log end, so that goes too.
  auto huge = bytes_of(20 * cost, 1);
  a.add(6, 6, span_of(huge), huge);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.batch_count(), 8u);
  // A cache that goes away gives its bytes back.
  {
    tail_cache c(&budget);
    add_run(c, 0, 2, batch);
  }
  EXPECT_EQ(budget.used_bytes(), b.batch_count() * cost);
}

TEST(tail_cache, batches_dropped_by_their_partition_do_not_pile_up_in_the_budget) {
  tail_cache_budget budget(64 << 20);
  tail_cache quiet(&budget), busy(&budget);
  add_run(quiet, 0, 1, 100);  // stays, never evicted: the budget is never reached
  for (int i = 0; i < 100000; ++i) {
    add_run(busy, i, 1, 100);
    busy.drop_below(i);  // e.g. DeleteRecords after every commit
  }
  EXPECT_EQ(busy.batch_count(), 1u);
  EXPECT_LE(budget.queued_slots(), 2 * 2 + 1024 + 1);
  EXPECT_EQ(quiet.first_offset(), 0);
}

TEST(tail_cache, without_a_budget_nothing_is_cached) {
  tail_cache c(nullptr);
  add_run(c, 0, 3, 100);
  EXPECT_TRUE(c.empty());
  read_result r;
  EXPECT_FALSE(c.read(0, 100, 10, r));
}

// --- partition_log with a tail cache ---

std::unique_ptr<partition_log> make_log(const std::filesystem::path& dir, const log_config& cfg = {}) {
  auto r = partition_log::create(dir, "t", 0, cfg, nullptr);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return std::move(r).value();
}

void append_to(partition_log& log, std::vector<std::uint8_t> b, std::int64_t now) {
  auto owner = std::make_shared<std::vector<std::uint8_t>>(std::move(b));
  auto r = log.append(*owner, now, owner);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(partition_log_tail_cache, caches_only_while_the_partition_is_read) {
  temp_dir d;
  tail_cache_budget budget(64 << 20);
  auto log = make_log(d.path() / "t-0");
  log->set_tail_cache(&budget);
  append_to(*log, make_batch(3), 1000);
  EXPECT_TRUE(log->cached_tail()->empty()) << "nobody reads the partition yet";
  // The broker's own lookups (ListOffsets by timestamp) are not consumers.
  auto looked = log->offset_for_timestamp(0);
  ASSERT_TRUE(looked.ok());
  ASSERT_TRUE(looked->has_value());
  EXPECT_EQ((*looked)->offset, 0);
  append_to(*log, make_batch(1), 1500);
  EXPECT_TRUE(log->cached_tail()->empty()) << "a lookup turned caching on";
  ASSERT_TRUE(log->read(0, 1 << 20, log->high_watermark()).ok());
  append_to(*log, make_batch(2), 2000);
  EXPECT_EQ(log->cached_tail()->first_offset(), 4);
  EXPECT_EQ(log->cached_tail()->end_offset(), 6);
  // 30 s without a read: appends are no longer cached.
  append_to(*log, make_batch(1), 2000 + 31000);
  EXPECT_EQ(log->cached_tail()->end_offset(), 6);
  // A read turns caching on again, from the next append.
  ASSERT_TRUE(log->read(6, 1 << 20, log->high_watermark()).ok());
  append_to(*log, make_batch(1), 40000);
  EXPECT_EQ(log->cached_tail()->first_offset(), 7);
  EXPECT_EQ(log->cached_tail()->end_offset(), 8);
}

// The same appends to a log with a tail cache and one without: every read gives the same
// bytes and offsets, for every start offset, size limit and upper bound.
TEST(partition_log_tail_cache, reads_from_the_cache_match_reads_from_the_segments) {
  temp_dir d;
  tail_cache_budget budget(64 << 20);
  log_config cfg;
  cfg.segment_bytes = 300000;  // some rolls, so cached batches span segments
  auto cached = make_log(d.path() / "a-0", cfg);
  auto plain = make_log(d.path() / "b-0", cfg);
  cached->set_tail_cache(&budget);
  ASSERT_TRUE(cached->read(0, 1, 0).ok());  // a reader: cache from the first append
  std::mt19937 rng(7);
  std::int64_t now = 1000;
  for (int i = 0; i < 80; ++i) {
    int records = 1 + int(rng() % 5);
    std::size_t value = rng() % 4 == 0 ? 70000 + rng() % 30000 : 10 + rng() % 2000;
    std::vector<std::uint8_t> b;
    if (i % 17 == 5) b = make_txn_batch(42, records);
    else if (i % 17 == 6) b = make_marker(42, false);
    else b = make_batch(records, now, std::string(value, char('a' + i % 26)));
    append_to(*cached, b, now);
    append_to(*plain, b, now);
    ++now;
  }
  ASSERT_EQ(cached->cached_tail()->first_offset(), 0);
  ASSERT_EQ(cached->cached_tail()->end_offset(), cached->log_end_offset());
  ASSERT_GT(cached->segment_count(), 2u);
  std::int64_t hw = plain->high_watermark();
  ASSERT_EQ(cached->high_watermark(), hw);
  for (std::int64_t off = 0; off <= hw; ++off)
    for (std::int32_t max : {1, 3000, 100000, 1 << 20})
      for (std::int64_t upper : {hw, hw / 2, off}) {
        auto a = cached->read(off, max, upper);
        auto b = plain->read(off, max, upper);
        ASSERT_TRUE(a.ok() && b.ok());
        // Segment reads stop at a segment's end; the cache goes on. Compare what both
        // returned: the cache's answer starts with the segments' answer.
        EXPECT_EQ(a->first_offset, b->first_offset) << off << " " << max << " " << upper;
        ASSERT_GE(a->records.size(), b->records.size());
        EXPECT_TRUE(std::equal(b->records.begin(), b->records.end(), a->records.begin())) << off;
        if (a->records.size() > b->records.size()) {
          EXPECT_GT(a->next_offset, b->next_offset);
        } else {
          EXPECT_EQ(a->next_offset, b->next_offset);
        }
      }
  EXPECT_TRUE(read_values(*cached) == read_values(*plain));
}

TEST(partition_log_tail_cache, compaction_and_log_start_moves_drop_what_they_replace) {
  temp_dir d;
  tail_cache_budget budget(64 << 20);
  log_config cfg;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.segment_bytes = 300;
  cfg.delete_retention_ms = 1000;
  auto log = make_log(d.path() / "t-0", cfg);
  log->set_tail_cache(&budget);
  ASSERT_TRUE(log->read(0, 1, 0).ok());
  for (int round = 0; round < 10; ++round)
    append_to(*log, make_keyed_batch({{"a", "a" + std::to_string(round)}, {"b", "x"}}), 2000);
  ASSERT_EQ(log->cached_tail()->first_offset(), 0);
  auto st = clean_partition(*log, 2000, 1 << 30);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_GT(st->segments_rewritten, 0u);
  // The rewritten range is read from disk now: the reads show the compacted records.
  EXPECT_GT(log->cached_tail()->first_offset(), 0);
  std::int64_t active_base = log->segments().rbegin()->first;
  EXPECT_GE(log->cached_tail()->first_offset(), std::prev(log->segments().end(), 2)->first);
  EXPECT_LE(log->cached_tail()->first_offset(), active_base);
  auto r = log->read(0, 1 << 20, log->high_watermark());
  ASSERT_TRUE(r.ok());
  std::size_t a_values = 0;
  record::batch_splitter s(r->records);
  record::byte_span b;
  while (s.next(b)) {
    auto rd = record::batch_reader::open(b, {});
    ASSERT_TRUE(rd.ok());
    for (const auto& rec : *rd) a_values += rec.key && *rec.key == "a";
  }
  EXPECT_LT(a_values, 10u) << "superseded values of a are gone from the compacted range";
  // DeleteRecords: the cache lets go of what fell below the log start offset.
  std::int64_t hw = log->high_watermark();
  ASSERT_TRUE(log->delete_records(hw - 1).ok());
  EXPECT_GE(log->cached_tail()->end_offset(), hw);
  EXPECT_GE(log->cached_tail()->first_offset(), hw - 2);
}

// --- O_DIRECT reads of segments ---

TEST(segment_direct_read, large_reads_at_any_position_match_the_file) {
  temp_dir d;
  log_config cfg;  // direct writes, the default
  std::vector<std::vector<std::uint8_t>> written;
  {
    auto log = make_log(d.path() / "t-0", cfg);
    for (int i = 0; i < 12; ++i) {
      auto b = make_batch(1 + i % 3, 1000, std::string(65536 + std::size_t(i) * 4099, char('a' + i)));
      written.push_back(b);
      append_to(*log, b, 1000);
    }
    ASSERT_TRUE(log->close().ok());
  }
  std::vector<std::uint8_t> file_bytes;
  {
    std::string all = testing::read_file(d.path() / "t-0" / "00000000000000000000.log");
    file_bytes.assign(all.begin(), all.end());
  }
  auto r = partition_log::open(d.path() / "t-0", "t", 0, cfg, nullptr, true);
  ASSERT_TRUE(r.ok());
  const segment& s = *(*r)->segments().begin()->second;
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    std::uint64_t pos = rng() % file_bytes.size();
    std::size_t len = direct_min_bytes + rng() % (300 * 1024);
    auto got = s.read_bytes(pos, len);
    ASSERT_TRUE(got.ok());
    std::size_t expect = std::min<std::size_t>(len, file_bytes.size() - pos);
    ASSERT_EQ(got->size(), expect) << pos << " " << len;
    EXPECT_TRUE(std::equal(got->begin(), got->end(), file_bytes.begin() + std::ptrdiff_t(pos))) << pos << " " << len;
  }
  // Reads larger than the kept buffer, and reads of the whole file.
  auto whole = s.read_bytes(0, 16u << 20);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(*whole == file_bytes);
}

}  // namespace
}  // namespace eddy::broker::log
