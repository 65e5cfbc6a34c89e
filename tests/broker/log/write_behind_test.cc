// Write-behind: large appends are written by the write_behind thread. Completions are
// posted to a queue the test runs by hand (standing in for the event loop), so each test
// controls exactly when the log learns that a write finished.
#include "broker/log/write_behind.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "broker/log/partition_log.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using protocol::error_code;
using testing::make_batch;
using testing::make_marker;
using testing::read_values;
using testing::fake_loop;
using testing::temp_dir;

// Appends with the batch's memory handed over as keepalive (as the produce handler does
// with its request), so a deferred write borrows it.
result<append_result> append_kept(partition_log& log, const std::vector<std::uint8_t>& b) {
  auto owned = std::make_shared<std::vector<std::uint8_t>>(b);
  return log.append(*owned, 1000, owned);
}

struct write_behind_log : ::testing::Test {
  temp_dir d;
  fake_loop loop;
  std::unique_ptr<write_behind> writer = std::make_unique<write_behind>(loop.post());
  int woken = 0;

  std::unique_ptr<partition_log> make(const log_config& cfg = {}) {
    auto r = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
    EXPECT_TRUE(r.ok());
    auto log = std::move(r).value();
    log->set_write_behind(writer.get(), [this] { ++woken; });
    return log;
  }
  // Closes `log`, then reopens it after a clean and (as after kill -9) an unclean stop:
  // both must hold exactly `expect`.
  void close_and_check_reopened(std::unique_ptr<partition_log>& log, const std::vector<std::string>& expect) {
    ASSERT_TRUE(log->close().ok());
    log.reset();
    for (bool clean : {true, false}) {
      auto r = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, clean);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ((*r)->log_end_offset(), std::int64_t(expect.size()));
      EXPECT_TRUE(read_values(**r) == expect) << (clean ? "clean" : "unclean") << " reopen";
    }
  }
  // Delivers completions as the writer posts them until `n` have run.
  int deliver(int n) {
    int delivered = 0;
    for (int i = 0; i < 5000 && delivered < n; ++i) {
      delivered += loop.run();
      if (delivered < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return delivered;
  }
};

TEST_F(write_behind_log, large_batch_becomes_readable_when_its_write_completes) {
  auto log = make();
  std::string big(200000, 'b');
  auto batch = std::make_shared<std::vector<std::uint8_t>>(make_batch(2, 1000, big));
  auto r = log->append(*batch, 1000, batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(batch.use_count(), 2) << "the write reads the caller's bytes, which it keeps alive";
  EXPECT_EQ(r->base_offset, 0);
  EXPECT_EQ(log->log_end_offset(), 2);
  // Until the completion is delivered the log has not seen the write finish.
  EXPECT_EQ(log->high_watermark(), 0);
  EXPECT_EQ(log->last_stable_offset(), 0);
  EXPECT_TRUE(log->read(0, 1 << 20, log->high_watermark())->records.empty());
  std::vector<error_code> acks;
  log->when_written(1, [&](error_code e) { acks.push_back(e); });
  EXPECT_TRUE(acks.empty());
  // A small append behind a pending one is queued too (writes stay in order).
  auto small = make_batch(1, 1000, "s");
  ASSERT_TRUE(log->append(small, 1000).ok());  // no keepalive: copied
  log->when_written(2, [&](error_code e) { acks.push_back(e); });

  ASSERT_EQ(deliver(2), 2);
  EXPECT_EQ(log->high_watermark(), 3);
  EXPECT_EQ(batch.use_count(), 1) << "released once the completion ran";
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0], error_code::none);
  EXPECT_EQ(acks[1], error_code::none);
  EXPECT_GE(woken, 1);
  auto v = read_values(*log);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], big);
  EXPECT_EQ(v[2], "s");
  // Already written: answered at once.
  bool at_once = false;
  log->when_written(2, [&](error_code e) { at_once = e == error_code::none; });
  EXPECT_TRUE(at_once);
}

TEST_F(write_behind_log, drain_roll_close_and_reopen_keep_every_record_in_order) {
  log_config cfg;
  cfg.segment_bytes = 1 << 20;  // several rolls, each draining
  std::vector<std::string> expect;
  {
    auto log = make(cfg);
    for (int i = 0; i < 40; ++i) {
      expect.emplace_back(i % 4 == 0 ? std::size_t(10 + i) : std::size_t(70000 + i * 1000), char('a' + i % 26));
      auto b = make_batch(1, 1000, expect.back());
      ASSERT_TRUE(append_kept(*log, b).ok());
    }
    EXPECT_GT(log->segment_count(), 1u);
    ASSERT_TRUE(log->drain().ok());
    EXPECT_EQ(log->high_watermark(), 40);
    EXPECT_TRUE(read_values(*log) == expect);
    // Completions delivered after a drain change nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GT(loop.run(), 0);
    EXPECT_EQ(log->high_watermark(), 40);
    // Queue more, then close without delivering: close() drains.
    for (int i = 40; i < 45; ++i) {
      expect.emplace_back(100000, char('A' + i % 26));
      auto b = make_batch(1, 1000, expect.back());
      ASSERT_TRUE(append_kept(*log, b).ok());
    }
    ASSERT_TRUE(log->close().ok());
  }
  writer.reset();
  loop.run();  // late completions find no log
  auto r = partition_log::open(d.path() / "t-0", "t", 0, cfg, nullptr, true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(read_values(**r) == expect);
}

TEST_F(write_behind_log, transaction_markers_are_written_after_the_data_they_close) {
  auto log = make();
  testing::batch_spec spec;
  spec.records = 3;
  spec.value = std::string(100000, 't');
  spec.producer_id = 7;
  spec.producer_epoch = 0;
  spec.base_sequence = 0;
  spec.transactional = true;
  auto data = make_batch(spec);
  ASSERT_TRUE(append_kept(*log, data).ok());
  EXPECT_EQ(log->last_stable_offset(), 0);
  // What the transaction coordinator does before writing a marker.
  ASSERT_TRUE(log->drain().ok());
  EXPECT_EQ(log->high_watermark(), 3);
  EXPECT_EQ(log->last_stable_offset(), 0);  // still open
  auto marker = make_marker(7, true);
  ASSERT_TRUE(log->append(marker, 1000).ok());
  EXPECT_EQ(log->high_watermark(), 4) << "a marker with nothing queued is written at once";
  EXPECT_EQ(log->last_stable_offset(), 4);
}

// Holds the writer thread inside a job until release(), so that the test can queue
// writes behind it and know they are all waiting when the writer comes back.
struct writer_gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void hold(write_behind& w) {
    w.submit(1, [this]() -> result<void> {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return open; });
      return {};
    }, nullptr);
  }
  void release() {
    {
      std::lock_guard lk(mu);
      open = true;
    }
    cv.notify_all();
  }
};

// append(..., write_now): a large batch is written on the calling thread (readable and
// acknowledged at once, no completion to wait for) unless earlier writes of the partition
// are still queued; then it is queued behind them, so the bytes stay in order.
TEST_F(write_behind_log, write_now_writes_a_large_batch_at_once_unless_writes_are_queued) {
  auto log = make();
  std::string big(200000, 'n');
  const std::uint64_t before = large_appends_written_now();
  auto first = std::make_shared<std::vector<std::uint8_t>>(make_batch(2, 1000, big));
  ASSERT_TRUE(log->append(*first, 1000, first, /*write_now=*/true).ok());
  EXPECT_EQ(log->high_watermark(), 2) << "written before append returned";
  EXPECT_EQ(first.use_count(), 1) << "nothing holds the caller's bytes";
  EXPECT_EQ(large_appends_written_now() - before, 1u);
  bool at_once = false;
  log->when_written(1, [&](error_code e) { at_once = e == error_code::none; });
  EXPECT_TRUE(at_once);

  // With a queued write ahead (held on the writer thread), write_now queues too.
  writer_gate gate;
  gate.hold(*writer);
  auto queued = std::make_shared<std::vector<std::uint8_t>>(make_batch(1, 1000, std::string(100000, 'q')));
  ASSERT_TRUE(log->append(*queued, 1000, queued).ok());
  auto behind = std::make_shared<std::vector<std::uint8_t>>(make_batch(1, 1000, std::string(100000, 'w')));
  ASSERT_TRUE(log->append(*behind, 1000, behind, /*write_now=*/true).ok());
  EXPECT_EQ(large_appends_written_now() - before, 1u) << "the second write_now was queued";
  EXPECT_EQ(log->high_watermark(), 2);
  gate.release();
  for (int i = 0; i < 5000 && log->high_watermark() < 4; ++i) {  // one post, or two if not merged
    loop.run();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(log->high_watermark(), 4);
  close_and_check_reopened(log, {big, big, std::string(100000, 'q'), std::string(100000, 'w')});
}

// Large appends queued while the device is busy go out as one merged write (their
// completions arrive together, in one post), and the bytes on disk are exactly the batches
// back to back: each merged direct write starts inside the previous one's last block.
// A small (buffered) append between them is not merged across, and order is kept.
TEST_F(write_behind_log, queued_appends_are_merged_into_one_write_and_read_back_exactly) {
  auto log = make();
  writer_gate gate;
  gate.hold(*writer);
  std::vector<std::string> expect;
  auto add = [&](std::size_t size, char c) {
    expect.emplace_back(size, c);
    auto b = make_batch(1, 1000, expect.back());
    ASSERT_TRUE(append_kept(*log, b).ok());
  };
  for (int i = 0; i < 6; ++i) add(std::size_t(70001 + 977 * i), char('a' + i));  // 6 direct writes
  add(10, 's');                                                                       // buffered
  for (int i = 0; i < 3; ++i) add(std::size_t(90003 + 13 * i), char('A' + i));     // 3 direct writes
  std::vector<error_code> acks;
  for (std::int64_t offset = 0; offset < 10; ++offset)
    log->when_written(offset, [&](error_code e) { acks.push_back(e); });
  gate.release();
  int posts = 0;
  for (int i = 0; i < 5000 && acks.size() < 10; ++i) {
    posts += loop.run();
    if (acks.size() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(log->high_watermark(), 10);
  ASSERT_EQ(acks.size(), 10u);
  for (auto e : acks) EXPECT_EQ(e, error_code::none);
  // One post per merged group (the gate's job has no completion): (6 direct) (small) (3 direct).
  EXPECT_EQ(posts, 3) << "the queued writes were not merged";
  EXPECT_TRUE(read_values(*log) == expect);
  close_and_check_reopened(log, expect);
}

// Zero-copy direct writes: a batch whose address is congruent to its file position
// (modulo 512, as the connection places produce requests) is written by O_DIRECT straight
// from the caller's memory, only the bytes around its aligned middle being staged. Mixed
// with batches that are not so placed, single and merged, the file holds exactly the
// batches back to back (an unclean reopen validates every CRC).
TEST_F(write_behind_log, batches_placed_for_zero_copy_are_written_exactly) {
  auto log = make();
  writer_gate gate;
  std::vector<std::string> expect;
  std::vector<std::shared_ptr<std::vector<std::uint8_t>>> arenas;
  auto add = [&](std::size_t size, char c, bool placed) {
    expect.emplace_back(size, c);
    auto b = make_batch(1, 1000, expect.back());
    // An arena with room to put the batch at any address modulo 512.
    auto arena = std::make_shared<std::vector<std::uint8_t>>(b.size() + 1024);
    std::uintptr_t base = reinterpret_cast<std::uintptr_t>(arena->data());
    std::size_t want = std::size_t(log->next_append_position() % 512);
    std::size_t off = (want + 512 - base % 512) % 512;
    if (!placed) off = (off + 7) % 512;  // deliberately not congruent
    std::memcpy(arena->data() + off, b.data(), b.size());
    arenas.push_back(arena);
    ASSERT_TRUE(log->append(std::span<std::uint8_t>(arena->data() + off, b.size()), 1000, arena).ok());
  };
  std::uint64_t zero_copy_before = zero_copy_bytes_written();
  // One at a time (each written alone) ...
  for (int i = 0; i < 4; ++i) {
    add(std::size_t(70001 + 4093 * i), char('a' + i), i != 2);
    ASSERT_TRUE(log->drain().ok());
  }
  // ... and queued behind a held writer (merged into one write).
  gate.hold(*writer);
  for (int i = 0; i < 6; ++i) add(std::size_t(90011 + 1031 * i), char('A' + i), i % 3 != 1);
  gate.release();
  ASSERT_TRUE(log->drain().ok());
  // Seven placed batches of 70-96 KB: most of their bytes went without a copy.
  EXPECT_GT(zero_copy_bytes_written() - zero_copy_before, 7u * 60000u);
  EXPECT_TRUE(read_values(*log) == expect);
  close_and_check_reopened(log, expect);
}

// Merging stops at max_merge_bytes; a body that declines (the default) is never merged.
TEST(write_behind, merges_adjacent_bodies_up_to_the_limit) {
  struct piece final : write_body {
    std::vector<int>* written;
    std::vector<int> ids;
    explicit piece(std::vector<int>* w, int id) : written(w), ids{id} {}
    result<void> write() override {
      for (int id : ids) written->push_back(id);
      return {};
    }
    bool absorb(write_body& next) override {
      auto* n = dynamic_cast<piece*>(&next);
      if (n == nullptr) return false;
      ids.insert(ids.end(), n->ids.begin(), n->ids.end());
      return true;
    }
  };
  fake_loop loop;
  std::vector<int> written;  // writer thread only, read after wait()
  std::vector<std::uint64_t> done;
  write_behind w(loop.post(), 1 << 20, 250);  // merges up to 250 bytes
  writer_gate gate;
  gate.hold(w);
  std::uint64_t last = 0;
  for (int i = 0; i < 7; ++i)
    last = w.submit(100, std::make_unique<piece>(&written, i), [&](std::uint64_t t, const result<void>& r) {
      EXPECT_TRUE(r.ok());
      done.push_back(t);
    });
  bool plain_ran = false;
  last = w.submit(100, [&]() -> result<void> {
    plain_ran = true;
    return {};
  }, [&](std::uint64_t t, const result<void>&) { done.push_back(t); });
  gate.release();
  w.wait(last);
  EXPECT_EQ(written, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(plain_ran);
  // {0,1}, {2,3}, {4,5}, {6}, plain: five posts (the gate has no completion), eight
  // completions in ticket order.
  int posts = 0;
  for (int i = 0; i < 1000 && done.size() < 8; ++i) {
    posts += loop.run();
    if (done.size() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(posts, 5);
  ASSERT_EQ(done.size(), 8u);
  for (std::size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i], i + 2);
}

// A failed write (here: the file size limit, standing in for a full disk) takes the
// partition offline: waiting producers get KAFKA_STORAGE_ERROR, later appends are refused,
// what was written stays readable, and an unclean reopen recovers exactly that.
TEST_F(write_behind_log, failed_write_takes_the_partition_offline_and_loses_nothing_written) {
  auto log = make();
  auto first = make_batch(1, 1000, std::string(100000, 'f'));
  ASSERT_TRUE(append_kept(*log, first).ok());
  ASSERT_TRUE(log->drain().ok());
  auto file = d.path() / "t-0" / "00000000000000000000.log";
  std::uint64_t written = log->segments().begin()->second->size();

  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = testing::file_size(file) + 8192;  // the next large write cannot fit
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  auto big = make_batch(1, 1000, std::string(600000, 'x'));
  ASSERT_TRUE(append_kept(*log, big).ok());
  auto behind = make_batch(1, 1000, "behind");
  ASSERT_TRUE(append_kept(*log, behind).ok());
  std::vector<error_code> acks;
  log->when_written(1, [&](error_code e) { acks.push_back(e); });
  log->when_written(2, [&](error_code e) { acks.push_back(e); });
  for (int i = 0; i < 5000 && acks.size() < 2; ++i) {
    loop.run();
    if (acks.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0], error_code::kafka_storage_error);
  EXPECT_EQ(acks[1], error_code::kafka_storage_error);
  EXPECT_FALSE(log->offline_reason().empty());
  EXPECT_EQ(log->high_watermark(), 1);
  auto more = make_batch(1, 1000, "refused");
  EXPECT_EQ(log->append(more, 1000).error().code, error_code::kafka_storage_error);
  auto v = read_values(*log);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], std::string(100000, 'f'));
  EXPECT_FALSE(log->close().ok()) << "no clean close for an offline partition";
  log.reset();
  EXPECT_EQ(testing::file_size(file), written);

  auto r = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, false);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->log_end_offset(), 1);
  EXPECT_EQ(read_values(**r), v);
}

TEST(write_behind, runs_jobs_and_posts_completions_in_order_under_back_pressure) {
  fake_loop loop;
  std::vector<int> order;
  std::mutex mu;
  std::vector<std::uint64_t> tickets;
  {
    write_behind w(loop.post(), 100);  // at most one 60-byte job queued at a time
    std::uint64_t last = 0;
    for (int i = 0; i < 50; ++i)
      last = w.submit(
          60,
          [&, i]() -> result<void> {
            std::lock_guard lk(mu);
            order.push_back(i);
            return {};
          },
          [&](std::uint64_t t, const result<void>& r) {
            EXPECT_TRUE(r.ok());
            tickets.push_back(t);
          });
    w.wait(last);
    EXPECT_EQ(w.completed(), last);
    EXPECT_EQ(last, 50u);
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[std::size_t(i)], i);
  EXPECT_EQ(loop.run(), 50);
  ASSERT_EQ(tickets.size(), 50u);
  for (std::size_t i = 0; i < tickets.size(); ++i) EXPECT_EQ(tickets[i], i + 1);
}

}  // namespace
}  // namespace eddy::broker::log
