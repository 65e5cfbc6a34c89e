#include "broker/log/background_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <thread>

#include "broker/log/partition_log.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using testing::make_batch;
using testing::fake_loop;
using testing::temp_dir;

TEST(background_worker, runs_tasks_in_order_and_completes_them_on_the_loop) {
  fake_loop loop;
  std::vector<int> ran, completed;
  std::mutex mu;
  {
    background_worker r("test-worker", loop.post());
    for (int i = 0; i < 20; ++i)
      r.submit([&, i]() -> std::function<void()> {
        {
          std::lock_guard lk(mu);
          ran.push_back(i);
        }
        return [&, i] { completed.push_back(i); };
      });
    for (int tries = 0; loop.size() < 20 && tries < 2000; ++tries) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(std::size_t(loop.run()), 20u);
  }
  std::vector<int> expect(20);
  for (int i = 0; i < 20; ++i) expect[std::size_t(i)] = i;
  EXPECT_EQ(ran, expect);
  EXPECT_EQ(completed, expect);
}

TEST(background_worker, completions_after_destruction_do_not_run) {
  fake_loop loop;
  bool completed = false;
  {
    background_worker r("test-worker", loop.post());
    std::atomic<bool> done{false};
    r.submit([&]() -> std::function<void()> {
      done = true;
      return [&] { completed = true; };
    });
    while (!done) std::this_thread::yield();
  }
  std::size_t(loop.run());
  EXPECT_FALSE(completed) << "the reader (and what its completions use) is gone";
}

// What fetch does: plan on the loop, read on another thread, the same bytes as read();
// with defer_lookup, finding the first batch happens on that thread too.
void planned_reads_match_read(bool defer_lookup, std::int64_t index_interval_bytes = 4096) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 600000;
  cfg.index_interval_bytes = index_interval_bytes;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
  ASSERT_TRUE(created.ok());
  auto& log = **created;
  for (int i = 0; i < 30; ++i) {
    auto b = make_batch(2, 1000, std::string(i % 2 ? 90000 : 300, char('a' + i % 26)));
    ASSERT_TRUE(log.append(b, 1000).ok());
  }
  fake_loop loop;
  background_worker reader("test-reader", loop.post());
  const std::int64_t hw = log.high_watermark();  // reads stay below the first 30 batches
  int disk = 0, lookups = 0;
  for (std::int64_t off = 0; off < hw; off += 3) {
    auto plan = log.plan_read(off, 200000, hw, true, defer_lookup);
    ASSERT_TRUE(plan.ok());
    auto expect = log.read(off, 200000, hw);
    ASSERT_TRUE(expect.ok());
    if (!plan->needs_disk) continue;
    ++disk;
    lookups += plan->lookup;
    std::atomic<bool> done{false};
    std::vector<std::uint8_t> got;
    reader.submit([&]() -> std::function<void()> {
      auto r = partition_log::read_planned(*plan, true);
      EXPECT_TRUE(r.ok());
      if (r.ok()) {
        EXPECT_FALSE(r->not_in_segment);
        for (const auto& piece : r->pieces) got.insert(got.end(), piece.begin(), piece.end());
        EXPECT_EQ(r->first_offset, expect->first_offset);
        EXPECT_EQ(r->next_offset, expect->next_offset);
      }
      done = true;
      return [] {};
    });
    // The loop goes on appending (and rolling) while the reader reads.
    auto more = make_batch(1, 1000, std::string(70000, 'z'));
    ASSERT_TRUE(log.append(more, 1000).ok());
    while (!done) std::this_thread::yield();
    EXPECT_EQ(got, expect->records) << "offset " << off;
  }
  EXPECT_GT(disk, 5);
  if (defer_lookup) EXPECT_EQ(lookups, disk) << "every O_DIRECT read defers its lookup";
  else EXPECT_EQ(lookups, 0);
  std::size_t(loop.run());
}

TEST(background_worker, planned_reads_on_another_thread_match_read) { planned_reads_match_read(false); }

TEST(background_worker, planned_reads_with_deferred_lookups_match_read) { planned_reads_match_read(true); }

// A sparse offset index: the batch is often further from the index entry than the first
// read reaches, and is then found by walking the file.
TEST(background_worker, deferred_lookups_with_a_sparse_index_match_read) {
  planned_reads_match_read(true, 1 << 20);
}

// A deferred lookup that finds nothing in its segment says so (fetch then plans again
// without deferring): what a compaction gap at the end of a segment looks like.
TEST(background_worker, a_deferred_lookup_past_its_segment_says_so) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 300000;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
  ASSERT_TRUE(created.ok());
  auto& log = **created;
  for (int i = 0; i < 8; ++i) {
    auto b = make_batch(1, 1000, std::string(100000, 'q'));
    ASSERT_TRUE(log.append(b, 1000).ok());
  }
  ASSERT_GE(log.segment_count(), 2u);
  auto plan = log.plan_read(0, 200000, log.high_watermark(), true, true);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->lookup);
  // Point it past the batches of the first segment, as a gap there would.
  plan->offset = std::next(log.segments().begin())->first;
  auto r = partition_log::read_planned(*plan, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->not_in_segment);
  EXPECT_TRUE(r->pieces.empty());
}

// A small read (under 64 KiB) behind the page-cache window of buffered appends comes
// from the device too, and so may one of a segment an earlier run wrote: it is planned for
// the reader thread, finding its batch there, and returns the same bytes as read().
TEST(background_worker, small_reads_that_likely_wait_for_the_device_are_deferred) {
  temp_dir d;
  log_config cfg;
  cfg.pagecache_window_bytes = 1 << 20;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
  ASSERT_TRUE(created.ok());
  auto& log = **created;
  for (int i = 0; i < 1200; ++i) {  // about 8 MiB of 7 KB batches, appended through the page cache
    auto b = make_batch(1, 1000, std::string(7000, char('a' + i % 26)));
    ASSERT_TRUE(log.append(b, 1000).ok());
  }
  int deferred = 0;
  for (std::int64_t offset : {0, 1, 100, 555, 1000, 1199}) {
    auto plan = log.plan_read(offset, 16000, log.high_watermark(), true, true);
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE(plan->needs_disk);
    if (plan->lookup) {
      ++deferred;
      EXPECT_TRUE(plan->mode.evict_after) << "at offset " << offset;
    }
    auto r = partition_log::read_planned(*plan, true);
    ASSERT_TRUE(r.ok());
    std::vector<std::uint8_t> got;
    for (auto p : r->pieces) got.insert(got.end(), p.begin(), p.end());
    auto direct = log.read(offset, 16000, log.high_watermark());
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(got, direct->records) << "at offset " << offset;
    EXPECT_EQ(r->first_offset, direct->first_offset);
    EXPECT_EQ(r->next_offset, direct->next_offset);
  }
  EXPECT_GE(deferred, 4) << "the offsets well behind the 1 MiB window read the device";

  // After a restart no segment was appended to by this run: small reads anywhere are
  // deferred, the newest included.
  created->reset();
  auto reopened = partition_log::open(d.path() / "t-0", "t", 0, cfg, nullptr, true);
  ASSERT_TRUE(reopened.ok());
  auto& again = **reopened;
  for (std::int64_t offset : {0, 600, 1199}) {
    auto plan = again.plan_read(offset, 16000, again.high_watermark(), true, true);
    ASSERT_TRUE(plan.ok());
    EXPECT_TRUE(plan->needs_disk && plan->lookup && plan->mode.device) << "at offset " << offset;
    auto r = partition_log::read_planned(*plan, true);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first_offset, offset);
  }
}

// A log of one 16 MiB segment holding 24 batches of 3 records of 70 KB (offsets 0-71),
// whose large reads go around the page cache: what the read-ahead tests read.
result<std::unique_ptr<partition_log>> read_ahead_log(const temp_dir& d) {
  log_config cfg;
  cfg.segment_bytes = 16 << 20;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
  if (!created.ok()) return created;
  for (int i = 0; i < 24; ++i) {
    auto b = make_batch(3, 1000, std::string(70000, char('a' + i % 26)));
    if (auto r = (*created)->append(b, 1000); !r.ok()) return r.error();
  }
  return created;
}

// Read-ahead (what fetch does after a read that went to the device): the stretch after
// what a read returned is read into the partition's read_ahead; a consumer's next planned
// read, at the offset after, takes its bytes from there (the same bytes as read()), and so
// on to the end of the segment; a read elsewhere does not take them.
TEST(read_ahead, a_consumer_reading_on_takes_what_was_read_ahead) {
  temp_dir d;
  auto created = read_ahead_log(d);
  ASSERT_TRUE(created.ok());
  auto& log = **created;
  ASSERT_EQ(log.segment_count(), 1u);
  const std::int32_t max_bytes = 300000;
  auto flat = [](const read_result& r) {
    std::vector<std::uint8_t> out;
    for (auto p : r.pieces) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  std::int64_t offset = 0;
  int reads = 0, taken = 0;
  std::size_t held_before = read_ahead::held_bytes();
  while (offset < log.high_watermark()) {
    auto plan = log.plan_read(offset, max_bytes, log.high_watermark(), true, true);
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE(plan->needs_disk && plan->lookup && plan->ahead) << "a large read goes around the page cache";
    bool was_ahead = read_ahead::held_bytes() > held_before;
    auto r = partition_log::read_planned(*plan, true);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->pieces.empty());
    if (was_ahead) {
      EXPECT_EQ(read_ahead::held_bytes(), held_before) << "taken, not copied";
      ++taken;
    }
    auto direct = log.read(offset, max_bytes, log.high_watermark());
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(flat(*r), direct->records) << "at offset " << offset;
    EXPECT_EQ(r->first_offset, direct->first_offset);
    EXPECT_EQ(r->next_offset, direct->next_offset);
    EXPECT_TRUE(plan->mode.direct);
    if (auto task = partition_log::read_ahead_after(*plan, *r)) task();
    offset = r->next_offset;
    ++reads;
  }
  EXPECT_EQ(offset, 72);
  EXPECT_GE(reads, 5);
  EXPECT_EQ(taken, reads - 1) << "every read after the first came from the read-ahead";
  EXPECT_EQ(read_ahead::held_bytes(), held_before) << "nothing is read ahead past the written end";

  // A read of another offset leaves the read-ahead where it is, and reads the device.
  auto first = log.plan_read(0, max_bytes, log.high_watermark(), true, true);
  ASSERT_TRUE(first.ok());
  auto r0 = partition_log::read_planned(*first, true);
  ASSERT_TRUE(r0.ok());
  auto task = partition_log::read_ahead_after(*first, *r0);
  ASSERT_TRUE(task);
  task();
  EXPECT_GT(read_ahead::held_bytes(), held_before);
  auto elsewhere = log.plan_read(r0->next_offset + 30, max_bytes, log.high_watermark(), true, true);
  ASSERT_TRUE(elsewhere.ok());
  auto r1 = partition_log::read_planned(*elsewhere, true);
  ASSERT_TRUE(r1.ok());
  EXPECT_GT(read_ahead::held_bytes(), held_before) << "not taken by a read elsewhere";
  auto direct = log.read(r0->next_offset + 30, max_bytes, log.high_watermark());
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(flat(*r1), direct->records);
}

// Two consumers of one partition at different places (two consumer groups, say) keep
// their own read-ahead: alternating fetches, each read after a consumer's first is taken
// from what was read ahead after that consumer's last one.
TEST(read_ahead, two_consumers_at_different_places_keep_their_own) {
  temp_dir d;
  auto created = read_ahead_log(d);
  ASSERT_TRUE(created.ok());
  auto& log = **created;
  const std::int32_t max_bytes = 150000;
  std::int64_t at[2] = {0, 36};
  const std::int64_t stop[2] = {36, 72};
  int reads[2] = {0, 0}, taken[2] = {0, 0};
  for (int round = 0; at[0] < stop[0] || at[1] < stop[1]; ++round) {
    int c = round % 2;
    if (at[c] >= stop[c]) continue;
    auto plan = log.plan_read(at[c], max_bytes, log.high_watermark(), true, true);
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE(plan->needs_disk && plan->lookup && plan->ahead);
    std::size_t held = read_ahead::held_bytes();
    auto r = partition_log::read_planned(*plan, true);
    ASSERT_TRUE(r.ok());
    if (read_ahead::held_bytes() < held) ++taken[c];
    auto direct = log.read(at[c], max_bytes, log.high_watermark());
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(r->first_offset, direct->first_offset);
    EXPECT_EQ(r->next_offset, direct->next_offset);
    if (auto task = partition_log::read_ahead_after(*plan, *r)) task();
    at[c] = r->next_offset;
    ++reads[c];
  }
  for (int c = 0; c < 2; ++c) {
    EXPECT_GE(reads[c], 4) << "consumer " << c;
    EXPECT_EQ(taken[c], reads[c] - 1) << "consumer " << c << ": every read after the first was read ahead";
  }
}

}  // namespace
}  // namespace eddy::broker::log
