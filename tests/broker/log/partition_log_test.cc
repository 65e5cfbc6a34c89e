#include "broker/log/partition_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/record/batch_reader.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using testing::make_batch;
using testing::make_marker;
using testing::make_txn_batch;
using testing::read_values;
using testing::temp_dir;

std::unique_ptr<partition_log> make_log(const std::filesystem::path& dir, const log_config& cfg = {}) {
  auto r = partition_log::create(dir, "t", 0, cfg, nullptr);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return std::move(r).value();
}

std::unique_ptr<partition_log> reopen(const std::filesystem::path& dir, bool clean, const log_config& cfg = {}) {
  auto r = partition_log::open(dir, "t", 0, cfg, nullptr, clean);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return std::move(r).value();
}

append_result append(partition_log& log, std::vector<std::uint8_t> b, std::int64_t now = 1000) {
  auto r = log.append(b, now);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : append_result{};
}

// Offsets of every batch in a read result (checks each batch's CRC too).
std::vector<std::int64_t> batch_offsets(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::int64_t> out;
  record::batch_splitter s(bytes);
  record::byte_span b;
  while (s.next(b)) {
    EXPECT_TRUE(record::check_batch(b).ok());
    out.push_back(record::batch_header_view{b.data()}.base_offset());
  }
  EXPECT_EQ(s.trailing_bytes(), 0u);
  return out;
}

TEST(partition_log, assigns_offsets_and_reads_back) {
  temp_dir d;
  auto log = make_log(d.path() / "t-0");
  EXPECT_EQ(append(*log, make_batch(3)).base_offset, 0);
  auto r = append(*log, make_batch(2));
  EXPECT_EQ(r.base_offset, 3);
  EXPECT_EQ(r.last_offset, 4);
  EXPECT_EQ(r.log_append_time, -1);
  EXPECT_EQ(log->high_watermark(), 5);
  EXPECT_EQ(log->last_stable_offset(), 5);

  auto all = log->read(0, 1 << 20, log->high_watermark());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(batch_offsets(all->records), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(all->next_offset, 5);
  // An offset inside a batch returns the whole batch containing it.
  auto mid = log->read(4, 1 << 20, 5);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(batch_offsets(mid->records), (std::vector<std::int64_t>{3}));
  // At the end: empty. Past it or before the start: out of range.
  auto end = log->read(5, 1 << 20, 5);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->records.empty());
  EXPECT_EQ(log->read(6, 1 << 20, 5).error().code, protocol::error_code::offset_out_of_range);
  EXPECT_EQ(log->read(-1, 1 << 20, 5).error().code, protocol::error_code::offset_out_of_range);
}

TEST(partition_log, read_respects_max_bytes_min_one_batch_and_upper_bound) {
  temp_dir d;
  auto log = make_log(d.path() / "t-0");
  std::size_t one = make_batch(1, 1000, std::string(500, 'x')).size();
  for (int i = 0; i < 5; ++i) append(*log, make_batch(1, 1000, std::string(500, 'x')));
  auto small = log->read(0, 10, 5);  // smaller than one batch: still the first batch whole
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(batch_offsets(small->records), (std::vector<std::int64_t>{0}));
  auto two = log->read(1, std::int32_t(2 * one + 1), 5);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(batch_offsets(two->records), (std::vector<std::int64_t>{1, 2}));
  auto bounded = log->read(0, 1 << 20, 3);  // e.g. LSO = 3
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(batch_offsets(bounded->records), (std::vector<std::int64_t>{0, 1, 2}));
  auto at_bound = log->read(3, 1 << 20, 3);
  ASSERT_TRUE(at_bound.ok());
  EXPECT_TRUE(at_bound->records.empty());
}

// With a small page-cache window the tail is written back and evicted behind the writer;
// every byte must still read back exactly (from disk), across the evicted and cached parts.
TEST(partition_log, reads_back_everything_with_a_small_page_cache_window) {
  temp_dir d;
  log_config cfg;
  cfg.pagecache_window_bytes = 1 << 20;  // 1 MiB window, 1 MiB writeback steps
  auto log = make_log(d.path() / "t-0", cfg);
  constexpr int n = 1200;                // about 8 MiB of 7 KB batches
  std::vector<std::string> expect;
  for (int i = 0; i < n; ++i) {
    expect.emplace_back(7000, char('a' + i % 26));
    append(*log, make_batch(1, 1000, expect.back()));
  }
  EXPECT_TRUE(read_values(*log) == expect);
  // And after a clean reopen.
  log.reset();
  auto again = reopen(d.path() / "t-0", true, cfg);
  EXPECT_EQ(again->log_end_offset(), n);
}

// Large batches are written with O_DIRECT (whole blocks, the last one zero-padded), small
// ones through the page cache. Interleaved, every record must read back exactly; a clean
// close cuts the padding off, and an unclean reopen (the padding still there, as after
// kill -9) truncates it without losing a record.
TEST(partition_log, direct_and_buffered_appends_interleave_and_survive_reopen) {
  temp_dir d;
  log_config cfg;  // write_direct is the default
  ASSERT_TRUE(cfg.write_direct);
  std::vector<std::string> expect;
  for (int i = 0; i < 60; ++i)
    expect.emplace_back(i % 3 == 0 ? 100000 + std::size_t(i) * 37 : std::size_t(10 + i * 13), char('a' + i % 26));
  std::uint64_t logical = 0;
  {
    auto log = make_log(d.path() / "t-0", cfg);
    for (auto& v : expect) {
      auto batch = make_batch(1, 1000, v);
      logical += batch.size();
      append(*log, batch);
    }
    EXPECT_TRUE(log->segments().begin()->second->writes_direct());
    EXPECT_TRUE(read_values(*log) == expect);
    EXPECT_EQ(log->segments().begin()->second->size(), logical);
    // No close(): the file keeps its zero padding, as after kill -9.
  }
  auto file = d.path() / "t-0" / "00000000000000000000.log";
  EXPECT_GE(testing::file_size(file), logical);
  EXPECT_LT(testing::file_size(file), logical + 4096);
  {
    auto log = reopen(d.path() / "t-0", false, cfg);
    EXPECT_EQ(testing::file_size(file), logical);
    EXPECT_TRUE(read_values(*log) == expect);
    // Appends continue after the recovered end, direct and buffered.
    expect.emplace_back(200000, 'x');
    append(*log, make_batch(1, 1000, expect.back()));
    expect.emplace_back(5, 'y');
    append(*log, make_batch(1, 1000, expect.back()));
    EXPECT_TRUE(read_values(*log) == expect);
    ASSERT_TRUE(log->close().ok());
  }
  auto log = reopen(d.path() / "t-0", true, cfg);
  EXPECT_TRUE(read_values(*log) == expect);
}

TEST(partition_log, rejects_malformed_and_oversized_batches) {
  temp_dir d;
  log_config cfg;
  cfg.max_message_bytes = 200;
  auto log = make_log(d.path() / "t-0", cfg);
  std::vector<std::uint8_t> tiny(20, 0);
  EXPECT_EQ(log->append(tiny, 0).error().code, protocol::error_code::corrupt_message);
  auto b = make_batch(1);
  b.push_back(0);  // length field no longer matches
  EXPECT_EQ(log->append(b, 0).error().code, protocol::error_code::corrupt_message);
  auto big = make_batch(1, 1000, std::string(300, 'x'));
  EXPECT_EQ(log->append(big, 0).error().code, protocol::error_code::message_too_large);
  EXPECT_EQ(log->high_watermark(), 0);
}

TEST(partition_log, rolls_by_size_and_reads_across_segments) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 1000;
  cfg.index_interval_bytes = 100;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 50; ++i) append(*log, make_batch(2, 1000 + i, std::string(100, char('a' + i % 26))));
  EXPECT_GT(log->segment_count(), 5u);
  EXPECT_EQ(log->high_watermark(), 100);
  // Every offset reads back as the batch that contains it, across segment boundaries.
  for (std::int64_t o = 0; o < 100; ++o) {
    auto r = log->read(o, 1, 100);
    ASSERT_TRUE(r.ok());
    auto offs = batch_offsets(r->records);
    ASSERT_EQ(offs.size(), 1u);
    EXPECT_EQ(offs[0], o - o % 2);
  }
  // Consuming the whole log batch by batch with a cursor sees every offset once.
  std::int64_t cursor = 0, batches = 0;
  while (cursor < log->high_watermark()) {
    auto r = log->read(cursor, 4096, log->high_watermark());
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->records.empty());
    batches += std::int64_t(batch_offsets(r->records).size());
    cursor = r->next_offset;
  }
  EXPECT_EQ(batches, 50);
  // The segment files carry Kafka's names.
  EXPECT_TRUE(std::filesystem::exists(d.path() / "t-0" / "00000000000000000000.log"));
  EXPECT_TRUE(std::filesystem::exists(d.path() / "t-0" / "00000000000000000000.index"));
}

TEST(partition_log, rolls_by_time) {
  temp_dir d;
  log_config cfg;
  cfg.segment_ms = 1000;
  auto log = make_log(d.path() / "t-0", cfg);
  append(*log, make_batch(1), 10'000);
  append(*log, make_batch(1), 10'500);
  EXPECT_EQ(log->segment_count(), 1u);
  append(*log, make_batch(1), 11'000);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segments().rbegin()->first, 2);
}

TEST(partition_log, offset_for_timestamp) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 600;
  cfg.index_interval_bytes = 1;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 30; ++i) append(*log, make_batch(1, 1000 + 10 * i));
  auto at = [&](std::int64_t ts) { return log->offset_for_timestamp(ts); };
  EXPECT_EQ(at(0)->value().offset, 0);
  EXPECT_EQ(at(1000)->value().offset, 0);
  EXPECT_EQ(at(1001)->value().offset, 1);
  EXPECT_EQ(at(1150)->value().offset, 15);
  EXPECT_EQ(at(1155)->value().timestamp, 1160);
  EXPECT_EQ(at(1290)->value().offset, 29);
  EXPECT_FALSE(at(1291)->has_value());
}

// By timestamp the answer is a record, not a batch: the first record at or after the log
// start whose timestamp is >= t, also when the log start is inside a batch and when a
// batch that ends below the log start matches first; planned on one thread and walked on
// another, as the broker does.
TEST(partition_log, offset_for_timestamp_finds_the_record) {
  temp_dir d;
  log_config cfg;
  cfg.index_interval_bytes = 1;
  auto log = make_log(d.path() / "t-0", cfg);
  append(*log, make_batch(10, 1000));  // offsets 0-9, timestamps 1000-1009
  append(*log, make_batch(10, 2000));  // offsets 10-19, timestamps 2000-2009
  append(*log, make_batch(10, 1000));  // offsets 20-29, timestamps 1000-1009 again
  auto at = [&](std::int64_t ts) {
    auto plan = log->plan_offset_for_timestamp(ts);
    std::optional<timestamp_lookup> out;
    std::thread([&] {
      auto r = partition_log::offset_for_timestamp_planned(plan);
      ASSERT_TRUE(r.ok());
      out = *r;
    }).join();
    return out;
  };
  EXPECT_EQ(at(1004)->offset, 4);
  EXPECT_EQ(at(1004)->timestamp, 1004);
  EXPECT_EQ(at(1500)->offset, 10);
  EXPECT_EQ(at(2005)->offset, 15);
  EXPECT_FALSE(at(2010).has_value());
  ASSERT_TRUE(log->delete_records(6).ok());
  EXPECT_EQ(at(1004)->offset, 6) << "the log start is inside the first batch";
  EXPECT_EQ(at(1004)->timestamp, 1006);
  ASSERT_TRUE(log->delete_records(12).ok());
  EXPECT_EQ(at(1004)->offset, 12) << "the batches below the log start are skipped, in the same segment too";
  ASSERT_TRUE(log->delete_records(20).ok());
  EXPECT_EQ(at(1004)->offset, 24);
  EXPECT_EQ(at(1004)->timestamp, 1004);
  EXPECT_EQ(log->offset_for_timestamp(1004)->value().offset, 24);
}

TEST(partition_log, retention_by_bytes_and_time) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 500;
  cfg.retention_bytes = 1500;
  cfg.retention_ms = -1;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 40; ++i) append(*log, make_batch(1, 1000 + i, std::string(100, 'x')));
  std::uint64_t before = log->size_bytes();
  ASSERT_TRUE(log->apply_retention(5000).ok());
  EXPECT_LT(log->size_bytes(), before);
  EXPECT_GE(log->size_bytes() + 500, 1500u);
  EXPECT_LE(log->size_bytes(), 1500u + 500u);
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_start_offset(), log->segments().begin()->first);
  EXPECT_EQ(log->read(0, 100, 40).error().code, protocol::error_code::offset_out_of_range);
  EXPECT_TRUE(log->read(log->log_start_offset(), 100, 40).ok());

  // Time: everything older than now - retention.ms goes, including the active segment.
  log_config tcfg = cfg;
  tcfg.retention_bytes = -1;
  tcfg.retention_ms = 100;
  log->set_config(tcfg);
  ASSERT_TRUE(log->apply_retention(1000 + 20 + 100).ok());  // batches with ts < 1020 expire
  EXPECT_GT(log->log_start_offset(), 0);
  ASSERT_TRUE(log->apply_retention(10'000'000).ok());
  EXPECT_EQ(log->log_start_offset(), 40);
  EXPECT_EQ(log->high_watermark(), 40);
  EXPECT_EQ(log->size_bytes(), 0u);
  EXPECT_EQ(append(*log, make_batch(1)).base_offset, 40);

  // Reopen: the start offset survives via the segment names.
  log.reset();
  auto again = reopen(d.path() / "t-0", false, cfg);
  EXPECT_EQ(again->log_start_offset(), 40);
  EXPECT_EQ(again->high_watermark(), 41);
}

TEST(partition_log, delete_records_moves_log_start_and_persists) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 300;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 20; ++i) append(*log, make_batch(1, 1000, std::string(100, 'x')));
  EXPECT_EQ(log->delete_records(21).error().code, protocol::error_code::offset_out_of_range);
  auto r = log->delete_records(7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(log->log_start_offset(), 7);
  EXPECT_LE(log->segments().begin()->first, 7);
  EXPECT_EQ(log->read(6, 100, 20).error().code, protocol::error_code::offset_out_of_range);
  auto rd = log->read(7, 1, 20);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(batch_offsets(rd->records), (std::vector<std::int64_t>{7}));
  log.reset();
  EXPECT_EQ(reopen(d.path() / "t-0", false, cfg)->log_start_offset(), 7);
}

class recovery : public ::testing::Test {
 protected:
  void fill(int batches) {
    log_config cfg;
    cfg.index_interval_bytes = 200;
    auto log = make_log(dir(), cfg);
    for (int i = 0; i < batches; ++i) {
      auto r = append(*log, make_batch(2, 1000 + i, std::string(150, 'v')));
      sizes_.push_back(r.base_offset);
    }
    log_file_ = dir() / "00000000000000000000.log";
    batch_size_ = make_batch(2, 1000, std::string(150, 'v')).size();
  }
  std::filesystem::path dir() const { return d_.path() / "t-0"; }
  temp_dir d_;
  std::vector<std::int64_t> sizes_;
  std::filesystem::path log_file_;
  std::size_t batch_size_ = 0;
};

TEST_F(recovery, torn_tail_is_truncated_at_last_valid_batch) {
  fill(10);
  std::filesystem::resize_file(log_file_, 7 * batch_size_ + 30);  // mid-batch
  auto log = reopen(dir(), false);
  EXPECT_EQ(log->high_watermark(), 14);
  EXPECT_EQ(testing::file_size(log_file_), 7 * batch_size_);
  EXPECT_EQ(append(*log, make_batch(1)).base_offset, 14);
  auto all = log->read(0, 1 << 20, log->high_watermark());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(batch_offsets(all->records).size(), 8u);
}

TEST_F(recovery, garbage_tail_is_truncated) {
  fill(5);
  testing::append_bytes(log_file_, std::string(1000, '\x07'));
  auto log = reopen(dir(), false);
  EXPECT_EQ(log->high_watermark(), 10);
  EXPECT_EQ(testing::file_size(log_file_), 5 * batch_size_);
}

TEST_F(recovery, lying_length_is_truncated_without_a_huge_allocation) {
  fill(5);
  // A header claiming ~2 GiB.
  std::string fake(61, '\0');
  fake[8] = '\x7f';
  fake[9] = fake[10] = fake[11] = '\xff';
  fake[16] = 2;
  testing::append_bytes(log_file_, fake);
  auto log = reopen(dir(), false);
  EXPECT_EQ(log->high_watermark(), 10);
  EXPECT_EQ(testing::file_size(log_file_), 5 * batch_size_);
}

TEST_F(recovery, crc_mismatch_truncates_from_the_bad_batch) {
  fill(6);
  testing::flip_byte(log_file_, 3 * batch_size_ + 100);  // inside batch 3's records
  auto log = reopen(dir(), false);
  EXPECT_EQ(log->high_watermark(), 6);
  EXPECT_EQ(testing::file_size(log_file_), 3 * batch_size_);
}

TEST_F(recovery, clean_open_with_missing_or_bad_index_rebuilds) {
  fill(20);
  {
    auto log = reopen(dir(), false);
    ASSERT_TRUE(log->close().ok());
  }
  std::filesystem::remove(dir() / "00000000000000000000.index");
  {
    auto log = reopen(dir(), true);
    EXPECT_EQ(log->high_watermark(), 40);
    EXPECT_TRUE(std::filesystem::exists(dir() / "00000000000000000000.index"));
    EXPECT_GT(testing::file_size(dir() / "00000000000000000000.index"), 0u);
    for (std::int64_t o = 0; o < 40; o += 3) {
      auto r = log->read(o, 1, 40);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(batch_offsets(r->records).at(0), o - o % 2);
    }
    ASSERT_TRUE(log->close().ok());
  }
  // An index pointing at the wrong place: garbage entries.
  testing::append_bytes(dir() / "00000000000000000000.index", std::string("\x00\x00\x00\x01\x00\x00\x00\x02", 8));
  auto log = reopen(dir(), true);
  EXPECT_EQ(log->high_watermark(), 40);
  auto r = log->read(33, 1, 40);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(batch_offsets(r->records).at(0), 32);
}

// The recovery point: every roll fsyncs the segment that stopped being active and then
// records where the next one starts (with the transactions open there). After an unclean
// shutdown only the segments from that point on are validated batch by batch; the older
// ones are opened like after a clean shutdown, so a large log restarts in the time its
// last segment takes, as in Kafka. A point that does not match the segments on disk is
// ignored and everything is validated.
class recovery_point : public ::testing::Test {
 protected:
  // 60 batches of 2 records in segments of about 2 KB; returns the segment bases.
  std::vector<std::int64_t> fill() {
    auto log = make_log(dir(), cfg());
    for (int i = 0; i < 60; ++i) append(*log, make_batch(2, 1000 + i, std::string(150, 'p')));
    std::vector<std::int64_t> bases;
    for (auto& [b, s] : log->segments()) bases.push_back(b);
    return bases;  // destroyed without close(): no clean-shutdown state
  }
  static log_config cfg() {
    log_config c;
    c.segment_bytes = 2000;
    c.index_interval_bytes = 200;
    return c;
  }
  std::filesystem::path dir() const { return d_.path() / "t-0"; }
  std::filesystem::path log_of(std::int64_t base) const { return segment::file_path(dir(), base, ".log"); }
  std::string point_file() const { return testing::read_file(dir() / "recovery-point"); }
  temp_dir d_;
};

TEST_F(recovery_point, unclean_start_validates_only_the_segments_after_it) {
  auto bases = fill();
  ASSERT_GT(bases.size(), 4u);
  EXPECT_EQ(point_file(), fmt::format("eddy-recovery-point 1\n{}\nend\n", bases.back()));
  // A flipped byte in a flushed segment goes unnoticed at start (it is not re-read) ...
  testing::flip_byte(log_of(bases[1]), 100);
  // ... while the unflushed tail is validated: a torn last batch is cut.
  auto tail = log_of(bases.back());
  std::filesystem::resize_file(tail, testing::file_size(tail) - 20);
  auto log = reopen(dir(), false, cfg());
  EXPECT_EQ(log->log_end_offset(), 118);
  EXPECT_EQ(log->segment_count(), bases.size());
  EXPECT_EQ(append(*log, make_batch(1)).base_offset, 118);
}

TEST_F(recovery_point, a_point_that_does_not_match_the_segments_means_full_recovery) {
  auto bases = fill();
  testing::flip_byte(log_of(bases[1]), 100);
  for (std::string bad : {fmt::format("eddy-recovery-point 1\n{}\nend\n", bases[1] + 1),  // no segment starts there
                          fmt::format("eddy-recovery-point 1\n{}\n", bases.back()),        // torn
                          std::string("garbage")}) {
    auto copy = d_.path() / "copy";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(dir(), copy);
    ASSERT_TRUE(write_file_atomic(copy / "recovery-point", bad).ok());
    auto r = partition_log::open(copy, "t", 0, cfg(), nullptr, false);
    ASSERT_TRUE(r.ok()) << r.error().message;
    // Full validation finds the flipped byte: the log now ends inside the second segment.
    EXPECT_GE((*r)->log_end_offset(), bases[1]) << bad;
    EXPECT_LT((*r)->log_end_offset(), bases[2]) << bad;
  }
}

TEST_F(recovery_point, a_transaction_open_across_the_point_keeps_the_lso_and_its_abort) {
  std::int64_t first = -1;
  {
    auto log = make_log(dir(), cfg());
    append(*log, make_batch(1));
    first = append(*log, make_txn_batch(42, 2)).base_offset;  // opens in the first segment
    for (int i = 0; i < 40; ++i) append(*log, make_batch(1, 1000 + i, std::string(150, 'x')));
    ASSERT_GT(log->segment_count(), 3u);
    EXPECT_EQ(log->last_stable_offset(), first);
  }
  EXPECT_NE(point_file().find(fmt::format("\n42 {}\n", first)), std::string::npos) << point_file();
  auto log = reopen(dir(), false, cfg());
  EXPECT_EQ(log->last_stable_offset(), first) << "the open transaction was forgotten";
  ASSERT_EQ(log->ongoing_transactions().size(), 1u);
  auto marker = append(*log, make_marker(42, false));
  auto ab = log->aborted_transactions(0, marker.last_offset + 1);
  ASSERT_EQ(ab.size(), 1u);
  EXPECT_EQ(ab[0].first_offset, first);
  EXPECT_EQ(log->last_stable_offset(), log->high_watermark());
}

TEST(partition_log, clean_reopen_keeps_everything) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 2000;
  cfg.index_interval_bytes = 100;
  {
    auto log = make_log(d.path() / "t-0", cfg);
    for (int i = 0; i < 60; ++i) append(*log, make_batch(1, 1000 + i, std::string(80, 'q')));
    ASSERT_TRUE(log->close().ok());
  }
  auto log = reopen(d.path() / "t-0", true, cfg);
  EXPECT_EQ(log->high_watermark(), 60);
  EXPECT_EQ(log->offset_for_timestamp(1030)->value().offset, 30);
  EXPECT_EQ(append(*log, make_batch(1)).base_offset, 60);
}

TEST(partition_log, transactions_lso_and_aborted_list) {
  temp_dir d;
  auto log = make_log(d.path() / "t-0");
  append(*log, make_batch(2));                   // 0-1 plain
  append(*log, make_txn_batch(100, 2));          // 2-3 txn A
  append(*log, make_txn_batch(200, 1));          // 4 txn B
  EXPECT_EQ(log->last_stable_offset(), 2);
  EXPECT_EQ(log->high_watermark(), 5);
  append(*log, make_txn_batch(100, 1));          // 5 txn A again: first offset stays 2
  append(*log, make_marker(100, false));         // 6 abort A
  EXPECT_EQ(log->last_stable_offset(), 4);
  append(*log, make_marker(200, true));          // 7 commit B
  EXPECT_EQ(log->last_stable_offset(), 8);
  EXPECT_EQ(log->last_stable_offset(), log->high_watermark());

  auto ab = log->aborted_transactions(0, 8);
  ASSERT_EQ(ab.size(), 1u);
  EXPECT_EQ(ab[0].producer_id, 100);
  EXPECT_EQ(ab[0].first_offset, 2);
  EXPECT_EQ(ab[0].last_offset, 6);
  EXPECT_TRUE(log->aborted_transactions(7, 8).empty());  // after the marker
  EXPECT_TRUE(log->aborted_transactions(0, 2).empty());  // before the data
  EXPECT_EQ(log->aborted_transactions(3, 4).size(), 1u);

  // read_committed fetch stops at the LSO while a transaction is open.
  append(*log, make_txn_batch(300, 1));  // 8 open
  append(*log, make_batch(1));           // 9
  auto r = log->read(0, 1 << 20, log->last_stable_offset());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next_offset, 8);

  // Both an unclean (scan) and a clean (snapshot) reopen rebuild the same state.
  log.reset();
  for (bool clean : {false, true}) {
    auto again = reopen(d.path() / "t-0", clean);
    EXPECT_EQ(again->last_stable_offset(), 8) << clean;
    ASSERT_EQ(again->ongoing_transactions().size(), 1u);
    EXPECT_EQ(again->ongoing_transactions().at(300), 8);
    auto ab2 = again->aborted_transactions(0, 10);
    ASSERT_EQ(ab2.size(), 1u) << clean;
    EXPECT_EQ(ab2[0], ab[0]);
    ASSERT_TRUE(again->close().ok());
  }
}

TEST(partition_log, aborted_transactions_across_segments) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 300;
  auto log = make_log(d.path() / "t-0", cfg);
  append(*log, make_txn_batch(1, 1));  // 0
  for (int i = 0; i < 10; ++i) append(*log, make_batch(1, 1000, std::string(100, 'x')));  // 1-10
  append(*log, make_marker(1, false));  // 11, in a later segment
  ASSERT_GT(log->segment_count(), 2u);
  auto ab = log->aborted_transactions(0, 1);
  ASSERT_EQ(ab.size(), 1u);
  EXPECT_EQ(ab[0].first_offset, 0);
  log.reset();
  auto again = reopen(d.path() / "t-0", false, cfg);
  EXPECT_EQ(again->aborted_transactions(0, 5).size(), 1u);
}

TEST(partition_log, batch_iterator_replays_from_an_offset) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 400;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 12; ++i) {
    testing::batch_spec s;
    s.records = 2;
    s.producer_id = 9;
    s.producer_epoch = 1;
    s.base_sequence = 2 * i;
    s.value = std::string(60, 'p');
    append(*log, testing::make_batch(s));
  }
  auto it = log->batches_from(5);
  std::vector<std::int64_t> seen;
  while (true) {
    auto b = it.next();
    ASSERT_TRUE(b.ok());
    if (!b->has_value()) break;
    EXPECT_EQ((*b)->header().producer_id(), 9);
    EXPECT_EQ((*b)->header().base_sequence(), (*b)->info.base_offset);
    EXPECT_TRUE(record::check_batch((*b)->bytes).ok());
    seen.push_back((*b)->info.base_offset);
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{4, 6, 8, 10, 12, 14, 16, 18, 20, 22}));
}

TEST(partition_log, batch_headers_from_an_offset_match_the_iterator) {
  temp_dir d;
  log_config cfg;
  cfg.segment_bytes = 600;
  auto log = make_log(d.path() / "t-0", cfg);
  for (int i = 0; i < 30; ++i) append(*log, i % 3 ? make_batch(2, 1000 + i, std::string(90, 'h')) : make_txn_batch(5, 1));
  ASSERT_GT(log->segment_count(), 3u);
  for (std::int64_t from : {0, 1, 17, 48}) {
    std::vector<std::pair<std::int64_t, std::int64_t>> headers, batches;
    ASSERT_TRUE(log->for_each_batch_header(from, [&](const batch_info& b) {
                     headers.emplace_back(b.base_offset, b.producer_id);
                   }).ok());
    auto it = log->batches_from(from);
    while (auto n = it.next()) {
      ASSERT_TRUE(n.ok());
      if (!n.value()) break;
      batches.emplace_back(n.value()->info.base_offset, n.value()->info.producer_id);
    }
    EXPECT_EQ(headers, batches) << "from " << from;
    EXPECT_FALSE(headers.empty());
  }
}

TEST(partition_log, log_append_time_rewrites_timestamp_and_crc) {
  temp_dir d;
  log_config cfg;
  cfg.log_append_time = true;
  auto log = make_log(d.path() / "t-0", cfg);
  auto r = append(*log, make_batch(2, 5), 777'000);
  EXPECT_EQ(r.log_append_time, 777'000);
  auto rd = log->read(0, 1 << 20, 2);
  ASSERT_TRUE(rd.ok());
  record::batch_header_view h{rd->records.data()};
  EXPECT_TRUE(h.log_append_time());
  EXPECT_EQ(h.max_timestamp(), 777'000);
  EXPECT_TRUE(record::check_batch(rd->records).ok());
}

TEST(partition_log, strict_sync_calls_back_after_fsync_with_group_commit) {
  temp_dir d;
  flusher f;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, {}, &f);
  ASSERT_TRUE(created.ok());
  auto& log = *created.value();
  std::atomic<int> done{0};
  std::atomic<bool> failed{false};
  for (int i = 0; i < 50; ++i) {
    auto b = make_batch(1);
    auto r = log.append(b, 0);
    ASSERT_TRUE(r.ok());
    log.sync(r->last_offset, [&](protocol::error_code ec) {
      if (ec != protocol::error_code::none) failed = true;
      ++done;
    });
  }
  for (int i = 0; i < 500 && done < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(done, 50);
  EXPECT_FALSE(failed);
  EXPECT_LE(f.rounds(), 50u);
}

TEST(partition_log, periodic_flush_by_flush_messages) {
  temp_dir d;
  flusher f;
  log_config cfg;
  cfg.flush_messages = 3;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, &f);
  ASSERT_TRUE(created.ok());
  auto& log = *created.value();
  for (int i = 0; i < 2; ++i) append(log, make_batch(1));
  ASSERT_TRUE(log.tick(0).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(f.rounds(), 0u);
  append(log, make_batch(1));
  ASSERT_TRUE(log.tick(0).ok());
  for (int i = 0; i < 200 && f.rounds() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(f.rounds(), 1u);
}

}  // namespace
}  // namespace eddy::broker::log
