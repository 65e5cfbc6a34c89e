// Log compaction for cleanup.policy=compact: rewrites closed segments keeping the latest
// record per key. Offsets never change (a rewritten batch keeps its base offset and its
// records keep their offsets; gaps are fine), the active segment is never touched, and
// nothing at or above the last stable offset is touched (open transactions decide later).
//
// One pass over a partition:
//   1. The cleanable range is the closed segments below min(active base, LSO) whose max
//      timestamp is older than min.compaction.lag.ms.
//   2. Key map: key -> latest offset, over the dirty part of that range (from the offset
//      the last completed pass reached). Aborted transactional batches are ignored.
//   3. The cleanable segments are taken in offset order in groups whose sizes sum to at
//      most segment.bytes (as Kafka groups them), and each group is rewritten into one
//      segment, "<first base>.*.cleaned" files, then swapped in (rename to ".swap", delete
//      the group's other segments, then over the first one's files; each step is taken
//      for every rewrite of the pass before one directory fsync; a crash mid-swap is
//      finished at startup by partition_log). A record is kept when no later offset has
//      its key. A kept tombstone (null value) is dropped once its batch is older than
//      delete.retention.ms. Batches of aborted transactions are dropped entirely.
//      A batch whose records all survive is copied byte for byte; otherwise it is rebuilt
//      with core/record's builder (same base offset, codec, producer fields); a batch
//      with no surviving record is dropped.
//   4. Control batches (transaction markers) are kept while needed: a marker is dropped
//      only when it is older than delete.retention.ms AND no transactional data batch of
//      its producer survives between its previous marker and it (so recovery never sees
//      transactional data without its marker, which would look like an open transaction
//      and pin the LSO).
// Work per call is bounded by a byte budget; an unfinished pass is redone later.
//
// Three steps, so that the reading and writing can run off the event loop:
//   plan_clean   (loop)         what to clean: the closed segments (shared, so retention
//                               may drop them meanwhile), the aborted transactions, config
//   run_clean    (any thread)   key map and rewrite into ".cleaned" files, fsynced; touches
//                               neither the log nor the original files
//   apply_clean  (loop)         swaps in each rewrite whose original is still in the log
//                               (and drops the others), then records the pass; split in
//                               prepare_swap / swap_files (cleaner thread) / finish_swap
// clean_partition runs the three in a row; background_cleaner runs run_clean on its thread.
//
// Thread-safety: plan_clean and apply_clean on the event-loop thread, like every other
// mutation of a partition_log; run_clean only reads closed segments, which never change.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "broker/log/background_worker.h"
#include "broker/log/partition_log.h"

namespace eddy::broker::log {

struct clean_stats {
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t segments_rewritten = 0;  // rewrites swapped in (one per group)
  std::uint64_t segments_merged = 0;     // segments that disappeared into a rewrite of their group
  std::uint64_t records_removed = 0;
  bool pass_completed = false;
};

// True when a pass is worth running: at least half of the cleanable bytes are new since
// the last completed pass (Kafka's default min.cleanable.dirty.ratio of 0.5), or a
// retained tombstone/marker's delete.retention.ms has expired.
bool needs_cleaning(const partition_log& log, std::int64_t now_ms);

struct clean_job {
  std::filesystem::path dir;
  std::string topic;
  std::int32_t partition = 0;
  log_config config;
  std::vector<aborted_txn> aborted;
  std::vector<std::shared_ptr<segment>> segments;  // cleanable, in offset order
  std::vector<std::int64_t> ends;                  // each one's end offset
  std::int64_t cleaned_up_to = 0;
  std::int64_t now_ms = 0;
  std::int64_t budget_bytes = 0;
};

struct clean_output {
  struct replacement {
    std::vector<std::shared_ptr<segment>> originals;  // consecutive, merged into `fresh`
    std::unique_ptr<segment> fresh;  // files named "<first original's base>.*.cleaned", synced
  };
  std::vector<replacement> replacements;
  clean_stats stats;
  std::int64_t map_end = 0;
  std::int64_t next_expiry = never;
  bool completed = false;
};

clean_job plan_clean(const partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes);
result<clean_output> run_clean(const clean_job& job);
result<clean_stats> apply_clean(partition_log& log, clean_output&& out);

// apply_clean in three steps, so that its file work (renames, deletions, directory
// fsyncs) can run off the event loop:
//   prepare_swap (loop)        keeps the rewrites whose originals are all still in the log
//                              and drops the others' ".cleaned" files
//   swap_files   (any thread)  swaps the files in; meanwhile the log must not delete
//                              segments (partition_log::begin_swap)
//   finish_swap  (loop)        puts the rewrites in the log and records the pass
struct swap_plan {
  std::filesystem::path dir;
  std::vector<clean_output::replacement> swaps;
  clean_output rest;  // stats, progress (its replacements moved to `swaps`)
  bool completed = false;
};
swap_plan prepare_swap(partition_log& log, clean_output&& out);
result<void> swap_files(const swap_plan& plan);
clean_stats finish_swap(partition_log& log, swap_plan&& plan);

// Runs (part of) one compaction pass over `log`. `budget_bytes` bounds the bytes of
// segments rewritten in this call.
result<clean_stats> clean_partition(partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes);

// One thread (a background_worker, "eddy-cleaner") running one task at a time: a clean_job
// (run_clean) or a swap (swap_files).
// `post` runs a function on the event loop; a task's completion runs there (for a job,
// `done` with run_clean's result) and may submit the next task. The destructor lets the
// task in flight finish, drops its completion and any task not started, and joins.
//
// Thread-safety: busy() and submit() on the event loop.
class background_cleaner {
 public:
  using post_fn = std::function<void(std::function<void()>)>;
  using done_fn = std::function<void(result<clean_output>&&)>;
  // Runs on the cleaner thread; returns what then runs on the event loop.
  using task_fn = std::function<std::function<void()>()>;
  explicit background_cleaner(post_fn post);
  background_cleaner(const background_cleaner&) = delete;
  background_cleaner& operator=(const background_cleaner&) = delete;

  // A task was submitted and its completion has not run yet.
  bool busy() const { return busy_; }
  void submit(clean_job job, done_fn done);
  void submit_task(task_fn task);

 private:
  bool busy_ = false;  // loop only
  background_worker worker_;
};

}  // namespace eddy::broker::log
