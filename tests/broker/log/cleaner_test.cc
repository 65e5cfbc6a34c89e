#include "broker/log/cleaner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker/log/log_manager.h"
#include "core/record/batch_reader.h"
#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using testing::make_keyed_batch;
using testing::make_marker;
using testing::temp_dir;

struct rec {
  std::int64_t offset;
  std::string key;
  std::optional<std::string> value;
  bool control;
  bool operator==(const rec&) const = default;
};

std::vector<rec> all_records(const partition_log& log) {
  std::vector<rec> out;
  auto it = log.batches_from(log.log_start_offset());
  while (true) {
    auto b = it.next();
    EXPECT_TRUE(b.ok());
    if (!b.ok() || !b->has_value()) break;
    auto reader = record::batch_reader::open((*b)->bytes);
    EXPECT_TRUE(reader.ok()) << reader.error().reason;
    if (!reader) break;
    for (const record::record& r : *reader)
      out.push_back({r.offset, r.key ? std::string(*r.key) : std::string(),
                     r.value ? std::optional<std::string>(std::string(*r.value)) : std::nullopt,
                     reader->header().is_control()});
  }
  return out;
}

std::unique_ptr<partition_log> compacted_log(const std::filesystem::path& dir, std::int64_t segment_bytes = 300) {
  log_config cfg;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.segment_bytes = segment_bytes;
  cfg.delete_retention_ms = 1000;
  auto r = partition_log::create(dir, "t", 0, cfg, nullptr);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

void put(partition_log& log, std::vector<std::pair<std::string, std::optional<std::string>>> kv, std::int64_t ts = 1000) {
  auto b = make_keyed_batch(kv, ts);
  ASSERT_TRUE(log.append(b, ts).ok());
}

// Closes `log` and reopens it three ways in turn: as after a clean stop, as after a crash
// (recovery from the recovery point), and as after a crash with the recovery point gone
// (full recovery); `check(log, how)` runs after each.
void reopen_three_ways(std::unique_ptr<partition_log>& log, const std::filesystem::path& dir,
                       const std::function<void(partition_log&, int)>& check) {
  for (int how = 0; how < 3; ++how) {
    log.reset();
    if (how == 2) std::filesystem::remove(dir / "recovery-point");
    auto again = partition_log::open(dir, "t", 0, {}, nullptr, how == 0);
    ASSERT_TRUE(again.ok()) << again.error().message;
    log = std::move(*again);
    check(*log, how);
  }
}

TEST(cleaner, keeps_latest_value_per_key_and_preserves_offsets) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0");
  for (int round = 0; round < 10; ++round)
    put(*log, {{"a", "a" + std::to_string(round)}, {"b", "b" + std::to_string(round)}, {"c" + std::to_string(round), "x"}});
  // offsets: round r -> a=3r, b=3r+1, c_r=3r+2
  ASSERT_GT(log->segment_count(), 3u);
  std::int64_t active_base = log->segments().rbegin()->first;
  auto before_active = log->segments().rbegin()->second->size();
  EXPECT_TRUE(needs_cleaning(*log, 2000));
  auto st = clean_partition(*log, 2000, 1 << 30);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(st->pass_completed);
  EXPECT_GT(st->records_removed, 0u);
  EXPECT_EQ(log->segments().rbegin()->first, active_base);
  EXPECT_EQ(log->segments().rbegin()->second->size(), before_active);  // active untouched
  EXPECT_FALSE(needs_cleaning(*log, 2000));

  auto recs = all_records(*log);
  std::map<std::string, std::vector<std::int64_t>> offsets_by_key;
  for (auto& r : recs) offsets_by_key[r.key].push_back(r.offset);
  // Every c_r is unique and survives at its original offset.
  for (int round = 0; round < 10; ++round)
    EXPECT_EQ(offsets_by_key["c" + std::to_string(round)], std::vector<std::int64_t>{3 * round + 2});
  // "a" survives once in the cleaned part (its latest there) plus whatever the active
  // segment holds; the latest value overall is the last one written.
  EXPECT_EQ(recs.back().key, "c9");
  std::optional<std::string> last_a;
  for (auto& r : recs)
    if (r.key == "a") last_a = r.value;
  EXPECT_EQ(last_a, "a9");
  std::int64_t a_in_cleaned = 0;
  for (auto o : offsets_by_key["a"]) a_in_cleaned += o < active_base;
  EXPECT_LE(a_in_cleaned, 1);
  // Offsets stay increasing and reads still work from any offset.
  for (std::size_t i = 1; i < recs.size(); ++i) EXPECT_LT(recs[i - 1].offset, recs[i].offset);
  for (std::int64_t o = 0; o < log->high_watermark(); ++o) ASSERT_TRUE(log->read(o, 1, log->high_watermark()).ok());

  // A full recovery (unclean reopen) accepts the rewritten segments.
  log.reset();
  auto again = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(all_records(**again), recs);
  EXPECT_EQ((*again)->high_watermark(), 30);
}

// Fetch's deferred lookups over a compacted log: from every offset, gaps included, the
// planned read (or, when the gap ends its segment, the read fetch falls back to) returns
// what read() does.
TEST(cleaner, deferred_lookups_read_across_compaction_gaps) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0");
  // One batch per record: unique keys survive, the "dup" batches between them go (whole
  // batches, so some segments end in a gap).
  for (int i = 0; i < 40; ++i) {
    if (i % 3 == 0) put(*log, {{"u" + std::to_string(i), "x"}});
    else put(*log, {{"dup", "v" + std::to_string(i)}});
  }
  ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());
  // Reopened, no segment was appended to in this run: large reads go around the page cache.
  log.reset();
  auto again = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, true);
  ASSERT_TRUE(again.ok()) << again.error().message;
  log = std::move(*again);
  const std::int64_t hw = log->high_watermark();
  int deferred = 0, fell_back = 0;
  for (std::int64_t o = log->log_start_offset(); o < hw; ++o) {
    auto expect = log->read(o, 100000, hw);
    ASSERT_TRUE(expect.ok());
    auto plan = log->plan_read(o, 100000, hw, false, true);
    ASSERT_TRUE(plan.ok());
    if (!plan->needs_disk) continue;
    deferred += plan->lookup;
    auto got = partition_log::read_planned(*plan);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (got->not_in_segment) {
      ++fell_back;
      got = log->read(o, 100000, hw);
      ASSERT_TRUE(got.ok());
    }
    EXPECT_EQ(got->records, expect->records) << "offset " << o;
    EXPECT_EQ(got->first_offset, expect->first_offset) << "offset " << o;
    EXPECT_EQ(got->next_offset, expect->next_offset) << "offset " << o;
  }
  EXPECT_GT(deferred, 5) << "rewritten segments are read around the page cache";
  EXPECT_GT(fell_back, 0) << "some offsets fall in a gap at the end of a segment";
}

// A segment whose every record is superseded is rewritten empty. It stays in the log (as
// in Kafka), so the log start offset does not move: a consumer reading from 0, or from a
// committed offset inside the emptied range, is not told OFFSET_OUT_OF_RANGE. That holds
// after a clean reopen, after recovery from the recovery point and after full recovery
// (what an interrupted compaction swap leads to).
TEST(cleaner, segments_emptied_by_compaction_keep_the_log_start_offset_through_recovery) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0");
  for (int round = 0; round < 6; ++round) put(*log, {{"a", "a" + std::to_string(round)}, {"b", "b" + std::to_string(round)}});
  for (int round = 0; round < 6; ++round) put(*log, {{"c" + std::to_string(round), "x"}, {"a", "last"}, {"b", "last"}});
  ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());
  std::size_t emptied = 0;
  for (auto it = log->segments().begin(); std::next(it) != log->segments().end(); ++it) emptied += it->second->empty();
  ASSERT_GE(emptied, 2u) << "the premise: compaction emptied the first segments";
  ASSERT_TRUE(log->segments().begin()->second->empty());
  EXPECT_EQ(log->log_start_offset(), 0);
  auto recs = all_records(*log);
  auto first = log->read(0, 1, log->high_watermark());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->first_offset, recs.front().offset);

  reopen_three_ways(log, d.path() / "t-0", [&](partition_log& l, int how) {
    EXPECT_EQ(l.log_start_offset(), 0) << how;
    EXPECT_EQ(all_records(l), recs) << how;
    auto r = l.read(0, 1, l.high_watermark());
    ASSERT_TRUE(r.ok()) << how << ": " << r.error().message;
    EXPECT_EQ(r->first_offset, recs.front().offset) << how;
  });
}

TEST(cleaner, removes_tombstones_after_delete_retention) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0");
  put(*log, {{"a", "1"}, {"b", "1"}}, 1000);
  put(*log, {{"a", std::nullopt}, {"pad1", std::string(200, 'p')}}, 1000);
  for (int i = 0; i < 4; ++i) put(*log, {{"pad" + std::to_string(i + 2), std::string(200, 'p')}}, 1000);
  ASSERT_TRUE(clean_partition(*log, 1500, 1 << 30).ok());  // horizon = 500: tombstone kept
  auto recs = all_records(*log);
  bool has_tombstone = false;
  for (auto& r : recs) {
    EXPECT_FALSE(r.key == "a" && r.value);  // old value gone
    has_tombstone |= r.key == "a" && !r.value;
  }
  EXPECT_TRUE(has_tombstone);
  EXPECT_FALSE(needs_cleaning(*log, 1500));
  EXPECT_TRUE(needs_cleaning(*log, 2000));  // the tombstone expires at 1000 + 1000
  ASSERT_TRUE(clean_partition(*log, 2500, 1 << 30).ok());
  for (auto& r : all_records(*log)) EXPECT_NE(r.key, "a");
}

TEST(cleaner, drops_aborted_transactions_and_keeps_needed_markers) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0", 200);
  auto txn = [&](std::int64_t pid, std::string key, std::string value) {
    record::batch_builder b({.producer_id = pid, .producer_epoch = 0, .base_sequence = 0, .transactional = true});
    b.add(1000, key, value);
    auto bytes = b.build();
    ASSERT_TRUE(bytes.ok());
    ASSERT_TRUE(log->append(*bytes, 1000).ok());
  };
  txn(7, "k", "aborted");                        // 0
  auto m1 = make_marker(7, false);
  ASSERT_TRUE(log->append(m1, 1000).ok());       // 1 abort
  txn(8, "k", "committed");                      // 2
  auto m2 = make_marker(8, true);
  ASSERT_TRUE(log->append(m2, 1000).ok());       // 3 commit
  for (int i = 0; i < 6; ++i) put(*log, {{"pad" + std::to_string(i), std::string(150, 'p')}});
  ASSERT_TRUE(clean_partition(*log, 1500, 1 << 30).ok());
  auto recs = all_records(*log);
  std::vector<std::int64_t> control_offsets;
  for (auto& r : recs) {
    EXPECT_NE(r.value, std::optional<std::string>("aborted"));
    if (r.control) control_offsets.push_back(r.offset);
  }
  bool committed = false;
  for (auto& r : recs) committed |= r.value == std::optional<std::string>("committed");
  EXPECT_TRUE(committed);
  // The commit marker is needed (its data survives); the abort marker is young: kept.
  EXPECT_EQ(control_offsets, (std::vector<std::int64_t>{1, 3}));
  // Past delete.retention.ms the abort marker (no data left) goes, the commit one stays.
  ASSERT_TRUE(clean_partition(*log, 5000, 1 << 30).ok());
  control_offsets.clear();
  for (auto& r : all_records(*log))
    if (r.control) control_offsets.push_back(r.offset);
  EXPECT_EQ(control_offsets, (std::vector<std::int64_t>{3}));
  // Recovery after compaction sees no open transaction.
  log.reset();
  auto again = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->ongoing_transactions().empty());
  EXPECT_EQ((*again)->last_stable_offset(), (*again)->high_watermark());
}

TEST(cleaner, never_touches_data_at_or_above_the_lso) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0", 150);
  put(*log, {{"a", "1"}});
  record::batch_builder b({.producer_id = 5, .producer_epoch = 0, .base_sequence = 0, .transactional = true});
  b.add(1000, "a", "open");
  auto bytes = b.build();
  ASSERT_TRUE(log->append(*bytes, 1000).ok());  // offset 1, open transaction: LSO = 1
  for (int i = 0; i < 5; ++i) put(*log, {{"a", std::to_string(i + 2)}});
  ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());
  auto recs = all_records(*log);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].offset, 0);  // below the LSO, but its segment must end below the LSO too
  EXPECT_EQ(recs[1].offset, 1);
}

TEST(cleaner, waits_until_half_the_log_is_dirty) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0", 200);
  for (int i = 0; i < 20; ++i) put(*log, {{"k" + std::to_string(i), std::string(120, 'v')}});
  ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());  // unique keys: nothing removed
  EXPECT_FALSE(needs_cleaning(*log, 2000));
  put(*log, {{"k0", std::string(120, 'w')}});
  put(*log, {{"k1", std::string(120, 'w')}});
  EXPECT_FALSE(needs_cleaning(*log, 2000));  // a little new data over a big clean log
  for (int i = 0; i < 20; ++i) put(*log, {{"k" + std::to_string(i), std::string(120, 'z')}});
  EXPECT_TRUE(needs_cleaning(*log, 2000));
}

TEST(cleaner, runs_from_log_manager_tick) {
  temp_dir d;
  auto lm = log_manager::open(d.path(), {});
  ASSERT_TRUE(lm.ok());
  ASSERT_TRUE((*lm)->create_topic("c", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "200"}}).ok());
  partition_log* p = (*lm)->partition("c", 0);
  for (int i = 0; i < 20; ++i) put(*p, {{"same", std::string(50, char('a' + i))}});
  std::size_t before = all_records(*p).size();
  (*lm)->tick(10'000);
  EXPECT_LT(all_records(*p).size(), before);
}

// A rewrite whose original segment was dropped meanwhile (retention, while the cleaner
// thread worked) is not swapped in: nothing deleted comes back, and its ".cleaned" files go.
TEST(cleaner, a_rewrite_of_a_segment_dropped_meanwhile_is_discarded) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0");
  for (int round = 0; round < 10; ++round) put(*log, {{"a", "a" + std::to_string(round)}, {"b", "x"}});
  ASSERT_GT(log->segment_count(), 3u);
  std::int64_t first_base = log->segments().begin()->first;
  std::uint64_t first_size = log->segments().begin()->second->size();
  auto job = plan_clean(*log, 2000, 1 << 30);
  ASSERT_FALSE(job.segments.empty());
  auto out = run_clean(job);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_FALSE(out->replacements.empty());
  EXPECT_EQ(out->replacements.front().originals.front()->base_offset(), first_base);
  // Retention drops the first segment before the rewrite comes back.
  log_config cfg = log->config();
  cfg.cleanup_delete = true;
  cfg.retention_bytes = std::int64_t(log->size_bytes() - first_size);
  log->set_config(cfg);
  ASSERT_TRUE(log->tick(2000).ok());
  ASSERT_NE(log->segments().begin()->first, first_base);
  std::size_t replacements = out->replacements.size();
  auto st = apply_clean(*log, std::move(*out));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->segments_rewritten, replacements - 1);
  EXPECT_FALSE(st->pass_completed) << "a dropped rewrite means the pass is redone";
  EXPECT_FALSE(log->segments().contains(first_base));
  EXPECT_FALSE(std::filesystem::exists(segment::file_path(log->dir(), first_base, ".log")));
  EXPECT_FALSE(std::filesystem::exists(segment::file_path(log->dir(), first_base, ".log.cleaned")));
  for (auto& r : all_records(*log)) EXPECT_GE(r.offset, log->log_start_offset());
}

// What compaction may do to a log, checked against everything ever written: offsets only
// grow, every record read is the one written at its offset, a record is missing only
// when a later record of its key exists, and each key's latest record is there.
void expect_compacted_view_of(const std::vector<rec>& written, const std::vector<rec>& now, const std::string& what) {
  std::map<std::int64_t, const rec*> by_offset;
  std::map<std::string, std::int64_t> last_of_key;
  for (const auto& w : written) {
    by_offset[w.offset] = &w;
    last_of_key[w.key] = w.offset;
  }
  std::set<std::int64_t> present;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (i > 0) {
      ASSERT_LT(now[i - 1].offset, now[i].offset) << what;
    }
    auto it = by_offset.find(now[i].offset);
    ASSERT_NE(it, by_offset.end()) << what << ": offset " << now[i].offset << " was never written";
    EXPECT_EQ(now[i], *it->second) << what;
    present.insert(now[i].offset);
  }
  for (const auto& w : written) {
    if (!present.contains(w.offset)) {
      EXPECT_GT(last_of_key[w.key], w.offset) << what << ": " << w.key << " at " << w.offset << " is gone unsuperseded";
    }
  }
  for (const auto& [key, offset] : last_of_key) EXPECT_TRUE(present.contains(offset)) << what << ": latest " << key;
}

// Writes `rounds` batches: each updates one of three hot keys (a 60-byte value), every
// fifth also writes a key of its own. Records what was written.
void write_rounds(partition_log& log, std::vector<rec>& written, int from, int rounds) {
  for (int r = from; r < from + rounds; ++r) {
    std::vector<std::pair<std::string, std::optional<std::string>>> kv = {
        {"hot" + std::to_string(r % 3), "h" + std::to_string(r) + std::string(60, 'v')}};
    if (r % 5 == 0) kv.push_back({"u" + std::to_string(r), "x" + std::to_string(r)});
    std::int64_t base = log.log_end_offset();
    put(log, kv);
    for (std::size_t i = 0; i < kv.size(); ++i) written.push_back({base + std::int64_t(i), kv[i].first, kv[i].second, false});
  }
}

// Segments that compaction has shrunk are merged on later passes, in groups whose sizes
// sum to at most segment.bytes, instead of piling up; the result reads the same after a
// clean reopen, recovery from the recovery point and full recovery.
TEST(cleaner, shrunk_segments_merge_into_groups_of_at_most_segment_bytes) {
  temp_dir d;
  auto log = compacted_log(d.path() / "t-0", 400);
  std::vector<rec> written;
  write_rounds(*log, written, 0, 40);
  ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());
  std::size_t unmerged = log->segment_count();  // what the count would be without merging
  std::uint64_t merged = 0;
  for (int pass = 0; pass < 4; ++pass) {
    std::size_t before = log->segment_count();
    write_rounds(*log, written, 40 + 40 * pass, 40);
    unmerged += log->segment_count() - before;
    auto st = clean_partition(*log, 2000, 1 << 30);
    ASSERT_TRUE(st.ok()) << st.error().message;
    merged += st->segments_merged;
  }
  expect_compacted_view_of(written, all_records(*log), "after the passes");
  for (auto it = log->segments().begin(); std::next(it) != log->segments().end(); ++it)
    EXPECT_LE(it->second->size(), 400u);
  EXPECT_EQ(log->segment_count() + merged, unmerged);
  EXPECT_LT(log->segment_count(), unmerged / 2) << "segments: " << log->segment_count() << " of " << unmerged;
  auto recs = all_records(*log);
  for (std::int64_t o = 0; o < log->high_watermark(); ++o) ASSERT_TRUE(log->read(o, 1, log->high_watermark()).ok()) << o;
  reopen_three_ways(log, d.path() / "t-0",
                    [&](partition_log& l, int how) { EXPECT_EQ(all_records(l), recs) << how; });
}

// A crash in the middle of swapping in a merged rewrite (after it became ".swap", with
// none, some or all of its group's other segments deleted) recovers to a log that is
// still a correct compaction of what was written.
TEST(cleaner, a_crash_while_a_merged_rewrite_is_swapped_in_recovers_a_correct_log) {
  for (int deleted = 0; deleted <= 2; ++deleted) {  // none, one, all of the others
    temp_dir d;
    auto log = compacted_log(d.path() / "t-0", 400);
    std::vector<rec> written;
    write_rounds(*log, written, 0, 40);
    ASSERT_TRUE(clean_partition(*log, 2000, 1 << 30).ok());
    write_rounds(*log, written, 40, 40);
    auto out = run_clean(plan_clean(*log, 2000, 1 << 30));
    ASSERT_TRUE(out.ok()) << out.error().message;
    auto group = std::find_if(out->replacements.begin(), out->replacements.end(),
                              [](const clean_output::replacement& r) { return r.originals.size() >= 3; });
    ASSERT_NE(group, out->replacements.end()) << "the premise: a rewrite merging three or more segments";
    ASSERT_TRUE(group->fresh->rename_files(".cleaned", ".swap").ok());
    std::size_t others = group->originals.size() - 1;
    std::size_t to_delete = deleted == 0 ? 0 : deleted == 1 ? 1 : others;
    for (std::size_t k = 1; k <= to_delete; ++k) ASSERT_TRUE(group->originals[k]->remove_files().ok());
    out->replacements.clear();  // the crash: nothing else happens, the process is gone
    log.reset();
    auto again = partition_log::open(d.path() / "t-0", "t", 0, {}, nullptr, false);
    ASSERT_TRUE(again.ok()) << again.error().message;
    expect_compacted_view_of(written, all_records(**again), "deleted " + std::to_string(to_delete));
    for (const auto& e : std::filesystem::directory_iterator(d.path() / "t-0")) {
      EXPECT_FALSE(e.path().string().ends_with(".swap")) << e.path();
      EXPECT_FALSE(e.path().string().ends_with(".cleaned")) << e.path();
    }
    // And it keeps working: more writes, another pass, a clean reopen.
    write_rounds(**again, written, 80, 10);
    ASSERT_TRUE(clean_partition(**again, 2000, 1 << 30).ok());
    expect_compacted_view_of(written, all_records(**again), "after another pass");
  }
}

// While a swap's file work runs on the cleaner thread the log deletes no segment:
// retention waits, DeleteRecords moves the log start offset at once and deletes the
// segments below it when the swap ends.
TEST(cleaner, no_segment_is_deleted_while_a_swap_is_in_progress) {
  temp_dir d;
  log_config cfg;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = true;
  cfg.retention_ms = 60'000;
  cfg.segment_bytes = 300;
  auto created = partition_log::create(d.path() / "t-0", "t", 0, cfg, nullptr);
  ASSERT_TRUE(created.ok());
  auto& log = *created;
  for (int i = 0; i < 20; ++i) put(*log, {{"k" + std::to_string(i), "v"}}, 1000);
  std::size_t segments = log->segment_count();
  ASSERT_GT(segments, 4u);
  log->begin_swap();
  ASSERT_TRUE(log->tick(1'000'000).ok());  // everything is past retention
  EXPECT_EQ(log->segment_count(), segments);
  auto third = std::next(log->segments().begin(), 2)->first;
  auto start = log->delete_records(third);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(*start, third);
  EXPECT_EQ(log->segment_count(), segments);
  EXPECT_FALSE(log->read(0, 1, log->high_watermark()).ok()) << "below the new start";
  ASSERT_TRUE(log->end_swap().ok());
  EXPECT_EQ(log->segment_count(), segments - 2);
  EXPECT_EQ(log->segments().begin()->first, third);
  ASSERT_TRUE(log->tick(1'000'000).ok());
  EXPECT_EQ(log->segment_count(), 1u) << "retention goes on after the swap";
}

// With the background cleaner the tick only plans; the rewrite runs on the cleaner thread,
// its completion on the loop (here: a queue run by hand) checks it and sends the file swap
// back to the cleaner thread, whose completion puts the rewrite in the log. Meanwhile the
// log deletes no segment.
TEST(cleaner, background_cleaner_rewrites_and_swaps_off_the_loop) {
  temp_dir d;
  std::mutex mu;
  std::vector<std::function<void()>> posted;
  auto run_posted = [&] {
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lk(mu);
      now.swap(posted);
    }
    for (auto& f : now) f();
    return now.size();
  };
  auto lm = log_manager::open(d.path(), {});
  ASSERT_TRUE(lm.ok());
  (*lm)->enable_background_cleaner([&](std::function<void()> f) {
    std::lock_guard lk(mu);
    posted.push_back(std::move(f));
  });
  ASSERT_TRUE((*lm)->create_topic("c", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "200"}}).ok());
  partition_log* p = (*lm)->partition("c", 0);
  for (int i = 0; i < 20; ++i) put(*p, {{"same", std::string(50, char('a' + i))}});
  auto before = all_records(*p);
  (*lm)->tick(10'000);
  EXPECT_EQ(all_records(*p), before) << "nothing changes on the loop until the completion runs";
  auto run_one = [&] {
    for (int i = 0; i < 5000; ++i) {
      if (std::size_t ran = run_posted(); ran > 0) return ran;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::size_t(0);
  };
  ASSERT_EQ(run_one(), 1u);  // the rewrite is done; the swap goes to the cleaner thread
  EXPECT_TRUE(p->swapping());
  EXPECT_EQ(all_records(*p), before) << "the log is unchanged until the swap's completion runs";
  ASSERT_EQ(run_one(), 1u);
  EXPECT_FALSE(p->swapping());
  auto after = all_records(*p);
  EXPECT_LT(after.size(), before.size());
  EXPECT_EQ(after.back(), before.back()) << "the latest value survives";
  // Appends go on while a pass is in flight; a close with one in flight leaves a clean log.
  for (int i = 0; i < 20; ++i) put(*p, {{"same", std::string(50, char('A' + i))}});
  (*lm)->tick(20'000);
  ASSERT_TRUE((*lm)->close().ok());
  run_posted();  // a completion after close does nothing
  auto again = log_manager::open(d.path(), {});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(all_records(*(*again)->partition("c", 0)).back().value, std::string(50, 'T'));
}

}  // namespace
}  // namespace eddy::broker::log
