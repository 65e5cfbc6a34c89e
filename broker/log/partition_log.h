// The log of one topic partition: a folder `<data dir>/<topic>-<partition>` holding
// segments (see segment.h) plus two small metadata files:
//
//   log-start-offset   text, one decimal number and "\n": the log start offset when
//                      DeleteRecords moved it inside the first segment (written
//                      atomically; absent = first segment's base offset).
//   txn.snapshot       text, written on clean close only:
//                        "eddy-txn-snapshot 1\n<log end offset>\n"
//                        then one "<producer id> <first offset>\n" per ongoing transaction,
//                        then "end\n".
//                      Used on a clean start when its log end offset matches; otherwise
//                      the ongoing-transaction table is rebuilt by scanning the log.
//   recovery-point     text, the same layout with "eddy-recovery-point 1": an offset R
//                      where a segment starts such that every segment below R is durable
//                      (fsynced with its indexes), and the transactions open at R.
//                      Written atomically after the fsync that follows each roll (as
//                      Kafka flushes a segment when it rolls and advances its recovery
//                      point). After an unclean shutdown, the segments below R are opened
//                      like after a clean one (indexes checked, not every batch) and only
//                      the segments from R on are validated batch by batch; a file that
//                      does not match the segments on disk is ignored (full recovery).
//
// Offsets: the log assigns base offsets on append (rewriting the batch's base_offset),
// so the high watermark (single node) is the log end offset. The last stable offset (LSO)
// is the smallest first offset of an ongoing transaction (transactional, non-control
// batches open one per producer id; a control batch closes it), else the high watermark.
// ABORT markers add an entry to the segment's transaction index.
//
// Write-behind (set_write_behind; the broker turns it on, tests of the log alone may not):
// appends of large batches (unless the caller asks to write now), and every append while
// earlier ones are still queued, are written by the write_behind thread. The append
// itself (offsets, indexes, transaction state) happens at once; the bytes become readable
// when their write completes. So the high watermark is the end of what is written (like
// a Kafka leader's high watermark trailing its log end offset while followers catch up):
// reads, the LSO and ListOffsets stop there, and a producer is answered once
// when_written() says its batch is written. Rolling, closing and deleting wait for the
// queued writes (drain()). A failed deferred write takes the partition offline, as Kafka
// takes a log directory offline: appends are refused with KAFKA_STORAGE_ERROR and what
// was written stays readable. (A failed write done at once leaves nothing behind: that
// append alone is refused and the partition stays online.) The log_manager
// later replaces the offline object with one reopened from disk (log.offline.retry.ms),
// as a restart would (a torn tail is truncated).
//
// Reads: the newest batches of a partition that is being read are served from memory
// (the tail cache, see tail_cache.h); the rest from the segments, large reads with
// O_DIRECT (see segment.h). A read can be split so that its disk part runs on another
// thread (plan_read, read_planned).
//
// Thread-safety: not thread-safe. The broker calls it from its single event-loop
// thread. Only sync() involves another thread (the flusher), through shared descriptors;
// deferred writes run on the write-behind thread and read_planned on the reader thread,
// owning what they touch.
//
// Example:
//   auto r = log.append(batch_bytes, now_ms);          // r->base_offset, r->last_offset
//   auto f = log.read(offset, 1 << 20, log.last_stable_offset());
//   auto aborted = log.aborted_transactions(offset, offset_after_f);
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/log/flusher.h"
#include "broker/log/log_config.h"
#include "broker/log/segment.h"
#include "broker/log/tail_cache.h"
#include "broker/log/write_behind.h"
#include "core/record/batch_header.h"

namespace eddy::broker::log {

struct append_result {
  std::int64_t base_offset = -1;
  std::int64_t last_offset = -1;
  std::int64_t log_append_time = -1;  // -1 unless message.timestamp.type=LogAppendTime
  std::int64_t log_start_offset = 0;
};

struct read_result {
  // Whole batches, back to back, as stored (copied from the tail cache or read from the
  // segment file).
  std::vector<std::uint8_t> records;
  // Reads that share (partition_log::read with `share`): the same bytes as pieces, in
  // order, left where they are (cached batches in their request frames, a disk read in its
  // own buffer), valid while `owners` live; `records` stays empty.
  std::vector<std::span<const std::uint8_t>> pieces;
  std::vector<std::shared_ptr<const void>> owners;
  std::size_t size() const {
    std::size_t n = records.size();
    for (const auto& p : pieces) n += p.size();
    return n;
  }
  std::int64_t first_offset = -1;  // base offset of the first returned batch, -1 if none
  std::int64_t next_offset = -1;   // offset after the last returned batch
  // A planned read with a deferred lookup found no batch at or after the offset in its
  // segment (a compaction gap at the segment's end): plan it again without deferring.
  bool not_in_segment = false;
  // A read from a segment: where in it the returned batches end (what a consumer reading
  // on asks for next; see read_ahead). 0 otherwise.
  std::uint64_t end_position = 0;
};

// Read-ahead for consumers reading the segments in order. O_DIRECT reads get no help from
// the kernel's readahead, so without this each fetch of a consumer catching up waits for
// the device (about a millisecond per megabyte here) while the device idles between
// fetches. After such a fetch the broker reads the next stretch of the segment into the
// partition's read_ahead on the reader thread (partition_log::read_ahead_after); a later
// planned read that starts at a batch inside it takes the bytes from there instead of
// from the device (read_planned). Each partition has a few slots, so that consumers
// reading one partition at different places (say, two consumer groups) keep their own
// stretches; a new stretch takes an empty slot, else the one filled longest ago. All
// partitions together hold at most read_ahead::budget_bytes (beyond it no read-ahead
// starts).
//
// Thread-safety: the reader thread fills and takes; a mutex guards the slots.
class read_ahead {
 public:
  static constexpr std::size_t budget_bytes = 64u << 20;
  static constexpr std::size_t slot_count = 4;
  ~read_ahead();
  // Reader thread: reads [pos, pos + len) of `seg` with `mode` (from mode_for on the loop)
  // into a slot (nothing when a slot holds that stretch already). Nothing happens when the
  // budget is spent or the read fails (the next fetch reads the device itself).
  void fill(const std::shared_ptr<const segment>& seg, std::uint64_t pos, std::size_t len, segment::read_mode mode);
  // Reader thread: when a slot holds bytes of `seg` whose first batch holds `offset`,
  // their position in the segment and the bytes, leaving that slot empty; else nullopt.
  std::optional<std::pair<std::uint64_t, shared_bytes>> take(const std::shared_ptr<const segment>& seg,
                                                             std::int64_t offset);
  // Bytes held by every slot of every partition together (tests).
  static std::size_t held_bytes();

 private:
  struct slot {
    std::shared_ptr<const segment> seg;
    std::uint64_t pos = 0;
    shared_bytes data;
    std::uint64_t filled = 0;  // fills_ when filled: the lowest is the oldest
  };
  static void clear(slot& s);
  slot& victim_locked();
  std::mutex mu_;
  std::array<slot, slot_count> slots_;
  std::uint64_t fills_ = 0;
};

// A read in two steps, so that its disk part can run on another thread (see
// partition_log::plan_read). Either the answer is ready (from the tail cache, or nothing
// to read), or `length` bytes at `position` of `seg` are to be read and trimmed to whole
// batches from `first_offset` below `upper_bound`. With `lookup`, finding the first batch
// is part of the disk work too: the batch headers from `position` (the offset index's
// entry) to `scan_end` are walked for the one holding `offset`, and then up to
// max(its size, `max_bytes`) are read.
struct read_plan {
  bool needs_disk = false;
  read_result ready;  // when !needs_disk
  std::shared_ptr<const segment> seg;
  std::uint64_t position = 0;
  std::size_t length = 0;
  segment::read_mode mode;
  std::int64_t first_offset = -1;
  std::int64_t offset = -1;
  std::int64_t upper_bound = -1;
  bool lookup = false;
  std::uint64_t scan_end = 0;  // the segment's readable size when planned
  std::int32_t max_bytes = 0;
  std::string name;  // "<topic>-<partition>", for errors
  std::shared_ptr<read_ahead> ahead;  // the partition's, for a deferred lookup
};

struct timestamp_lookup {
  std::int64_t offset;     // the first record at or after the log start with timestamp >= t
  std::int64_t timestamp;  // that record's timestamp
};

// A lookup by timestamp in two steps (see partition_log::plan_offset_for_timestamp): what
// to walk in which segments, taken on the event loop, walked on any thread.
struct timestamp_plan {
  std::int64_t timestamp = 0;
  std::int64_t log_start_offset = 0;
  struct stretch {
    std::shared_ptr<const segment> seg;
    std::uint64_t from = 0, end = 0;
  };
  std::vector<stretch> stretches;  // segments whose max_timestamp >= timestamp, in order
};

// One whole stored batch, as returned by batch_iterator.
struct stored_batch {
  batch_info info;
  std::vector<std::uint8_t> bytes;
  record::batch_header_view header() const { return {bytes.data()}; }
};

class partition_log;

// Iterates stored batches from an offset (producer-state replay after a restart).
// Valid while the partition is not modified by retention or compaction between calls
// (it re-finds its place by offset if its segment disappeared).
// Cleared (under mu, on the event loop) when a partition_log goes away, so that work
// finishing later on another thread cannot write into a folder that was deleted, or
// re-created for a new topic of the same name.
struct log_lifetime {
  std::mutex mu;
  bool alive = true;
};

class batch_iterator {
 public:
  batch_iterator(const partition_log& log, std::int64_t from_offset) : log_(&log), next_offset_(from_offset) {}
  // The next batch, nullopt at the end of the log.
  result<std::optional<stored_batch>> next();

 private:
  const partition_log* log_;
  std::int64_t next_offset_;
  std::int64_t segment_base_ = -1;
  std::uint64_t position_ = 0;
};

// Large batches (direct_min_bytes or more) that an append with `write_now` wrote on the
// calling thread although write-behind was on (process total; tests and diagnostics).
std::uint64_t large_appends_written_now();

class partition_log {
 public:
  // Creates the folder and an empty first segment.
  static result<std::unique_ptr<partition_log>> create(const std::filesystem::path& dir, std::string topic,
                                                       std::int32_t partition, const log_config& config,
                                                       flusher* flusher);
  // Opens an existing folder. `clean` (the data dir had a clean-shutdown marker) allows
  // trusting index files; otherwise, or when anything looks inconsistent, every segment
  // is validated and a torn or corrupt tail is truncated at the last valid batch.
  static result<std::unique_ptr<partition_log>> open(const std::filesystem::path& dir, std::string topic,
                                                     std::int32_t partition, const log_config& config,
                                                     flusher* flusher, bool clean);
  ~partition_log();

  const std::string& topic() const { return topic_; }
  std::int32_t partition() const { return partition_; }
  const std::filesystem::path& dir() const { return dir_; }
  const log_config& config() const { return config_; }
  void set_config(const log_config& c) { config_ = c; }

  // Appends exactly one already-validated batch held in `batch` (mutable: the log
  // rewrites base_offset, and for LogAppendTime topics the timestamp type, max_timestamp
  // and CRC). Errors: corrupt_message (not one well-formed v2 batch), message_too_large
  // (> max.message.bytes), kafka_storage_error (disk).
  // With `keepalive` (an owner of `batch`'s memory), a deferred write reads the batch where
  // it is instead of copying it; the reference is dropped on the loop once the write ran.
  // Also kafka_storage_error when the partition is offline after a failed write.
  // With `write_now` a large batch is written here and now, as without write-behind,
  // unless earlier writes of this partition are still queued (the caller judged that the
  // loop has nothing better to do meanwhile; see the produce handler).
  result<append_result> append(std::span<std::uint8_t> batch, std::int64_t now_ms,
                               std::shared_ptr<const void> keepalive = nullptr, bool write_now = false);

  // Tail cache (see tail_cache.h): while the partition has readers (a read within the
  // last 30 s), appended batches are kept in memory within `budget` (shared by every
  // partition) and reads of them are served from there. Set once, before the first
  // append; without it every read goes to the segments.
  void set_tail_cache(tail_cache_budget* budget) { cache_ = std::make_unique<tail_cache>(budget); }
  const tail_cache* cached_tail() const { return cache_.get(); }

  // Write-behind (see above). `on_written` runs on the loop whenever the high watermark
  // moved because deferred writes completed (the broker wakes waiting fetches with it).
  // Set once, before the first append.
  void set_write_behind(write_behind* writer, std::function<void()> on_written);
  // Calls `done` on the loop once every offset up to and including `offset` is written
  // (at once when it is): none, or kafka_storage_error when the partition went offline.
  void when_written(std::int64_t offset, std::function<void(protocol::error_code)> done);
  // Waits for every queued write of this partition; kafka_storage_error when one failed.
  result<void> drain();
  // Non-empty when a failed write took the partition offline: what failed.
  const std::string& offline_reason() const { return offline_; }

  // Whole batches starting with the one containing `offset`, at most `max_bytes` except
  // that the first batch is returned whole even when larger (Kafka's min-one-batch rule),
  // and only batches whose base offset is < `upper_bound` (high watermark or LSO).
  // offset_out_of_range when `offset` < log start or > log end offset.
  // With `share` the result comes as pieces and owners (see read_result): no copy of
  // cached batches (the fetch handler sends them from where they are).
  result<read_result> read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound,
                           bool share = false) const;
  // read() in two steps: plan_read (event loop) answers from the tail cache or says what
  // to read from which segment; read_planned (any thread: it touches only the segment,
  // which stays valid and unchanged below its readable size) does the disk read. The
  // fetch handler runs read_planned on the log's reader thread. Same errors as read().
  // With `defer_lookup`, a read that would go to the device (segment::read_mode::device:
  // O_DIRECT, behind the page-cache window, or of a segment written by an earlier run)
  // leaves finding its first batch,
  // which reads batch headers from the file, to read_planned too; if that finds none in the segment (read_result::not_in_segment), plan again
  // without.
  result<read_plan> plan_read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound,
                              bool share = false, bool defer_lookup = false) const;
  static result<read_result> read_planned(const read_plan& plan, bool share = false);
  // After a planned read `r` of `plan` (one around the page cache, O_DIRECT): a task for the reader
  // thread that reads ahead the stretch of the segment after what `r` returned (as much
  // as the plan asked for), or nothing when the segment has no more written bytes. Call
  // on the loop.
  static std::function<void()> read_ahead_after(const read_plan& plan, const read_result& r);

  std::int64_t log_start_offset() const { return log_start_offset_; }
  std::int64_t log_end_offset() const;
  // The end of what is written: log_end_offset() unless deferred writes are pending.
  std::int64_t high_watermark() const { return write_state_pending() ? high_watermark_ : log_end_offset(); }
  std::int64_t last_stable_offset() const;
  std::uint64_t size_bytes() const;
  std::size_t segment_count() const { return segments_.size(); }

  // ListOffsets by timestamp: the first record at or after the log start offset whose
  // timestamp is >= `timestamp`; nullopt when there is none. (Not bounded by the high
  // watermark or LSO: the caller applies its bound.) Not a consumer's read: it does not turn
  // the tail cache on.
  result<std::optional<timestamp_lookup>> offset_for_timestamp(std::int64_t timestamp) const;
  // The same in two steps: plan on the event loop, then walk the batch headers and read
  // the batch on any thread (the broker's reader thread), so a lookup in old segments does
  // not hold up the loop.
  timestamp_plan plan_offset_for_timestamp(std::int64_t timestamp) const;
  static result<std::optional<timestamp_lookup>> offset_for_timestamp_planned(const timestamp_plan& plan);

  // DeleteRecords: moves the log start offset up to `offset` (-1 = high watermark) and
  // deletes segments entirely below it. Returns the new log start offset.
  // offset_out_of_range when `offset` > high watermark; kafka_storage_error when offline.
  result<std::int64_t> delete_records(std::int64_t offset);

  // (producer id, first offset) of aborted transactions overlapping [from, to).
  std::vector<aborted_txn> aborted_transactions(std::int64_t from_offset, std::int64_t to_offset) const;
  // Producer id -> first offset of its ongoing transaction.
  const std::map<std::int64_t, std::int64_t>& ongoing_transactions() const { return ongoing_; }

  // Calls `done` on the flusher thread once everything appended so far (so at least up
  // to `up_to_offset`) is fsynced. Without a flusher, syncs inline and calls `done`.
  void sync(std::int64_t up_to_offset, sync_callback done);

  // Housekeeping: time/size retention (cleanup.policy contains delete) when `retention`
  // (log_manager asks every log.retention.check.interval.ms), the flush.ms /
  // flush.messages policy. Compaction is run by log_manager through the cleaner.
  result<void> tick(std::int64_t now_ms, bool retention = true);
  // Retention only (tests, and tick).
  result<void> apply_retention(std::int64_t now_ms);

  // Seals the active segment, fsyncs everything and writes the transaction snapshot.
  result<void> close();

  batch_iterator batches_from(std::int64_t offset) const { return batch_iterator(*this, offset); }
  // Headers of every written batch from the one holding `offset` on, in order (reads a
  // little of each batch, not its records).
  result<void> for_each_batch_header(std::int64_t offset, const std::function<void(const batch_info&)>& fn) const;

  // For the cleaner and the iterator.
  // Shared: a background compaction keeps reading the closed segments it planned on even
  // if retention drops them meanwhile (closed segments are never modified).
  const std::map<std::int64_t, std::shared_ptr<segment>>& segments() const { return segments_; }
  const segment* segment_for(std::int64_t offset) const;
  // Replaces the closed segment at `base` with `replacement` (already renamed into place)
  // and forgets the closed segments at `merged` (their files already deleted), whose
  // records the replacement holds.
  void replace_segments(std::int64_t base, std::shared_ptr<segment> replacement,
                        const std::vector<std::int64_t>& merged = {});
  // Work done for this log elsewhere (the flusher's recovery-point writes, a background
  // compaction) checks it before touching the log or its folder.
  std::shared_ptr<log_lifetime> lifetime() const { return lifetime_; }
  // Byte position in the active segment where the next batch will be appended (if no
  // roll comes first). The produce handler uses it to place the next request (zero-copy).
  std::uint64_t next_append_position() const { return active().size(); }
  // Cleaner bookkeeping (in memory; a restart just makes the first pass a full one).
  std::int64_t cleaned_up_to() const { return cleaned_up_to_; }
  void set_cleaned_up_to(std::int64_t o) { cleaned_up_to_ = o; }
  // While a compaction swap renames and deletes segment files on the cleaner thread, the
  // log deletes no segment: retention waits for the next tick, and DeleteRecords moves the
  // log start offset at once but deletes the segments below it in end_swap().
  void begin_swap() { swapping_ = true; }
  result<void> end_swap();
  bool swapping() const { return swapping_; }
  std::int64_t next_clean_expiry() const { return next_clean_expiry_; }
  void set_next_clean_expiry(std::int64_t t) { next_clean_expiry_ = t; }
  // Every aborted transaction still in the log, in marker order.
  const std::vector<aborted_txn>& all_aborted() const { return aborted_; }

 private:
  partition_log(std::filesystem::path dir, std::string topic, std::int32_t partition, const log_config& config,
                flusher* f)
      : dir_(std::move(dir)), topic_(std::move(topic)), partition_(partition), config_(config), flusher_(f) {}

  result<void> load(bool clean);
  // Validates segments bases[from..] batch by batch (see segment::recover), `next` being
  // the offset the first of them must not start below.
  result<void> recover_segments(const std::vector<std::int64_t>& bases, std::size_t from, std::int64_t next);
  bool load_txn_snapshot();
  // Unclean start with a usable recovery-point file: opens the segments below it as clean
  // and recovers the rest. False (nothing loaded) when the file is missing or does not fit.
  result<bool> load_from_recovery_point(const std::vector<std::int64_t>& bases);
  // After a roll: fsync the segment that stopped being active, then record the new
  // recovery point (new_base, with the transactions open there).
  void checkpoint_after_roll(const segment& sealed, std::int64_t new_base);
  // Hands `r` to the flusher thread, or runs it here when the log has none (tests).
  void submit_sync(flusher::request r);
  result<void> roll(std::int64_t now_ms);
  result<void> maybe_roll(std::size_t batch_size, std::int64_t last_offset_delta, std::int64_t now_ms);
  result<void> delete_oldest_segment();
  // Deletes the segments that lie wholly below the log start offset (never the active one).
  result<void> delete_segments_below_start();
  result<void> persist_log_start_offset();
  // Updates the ongoing-transaction table for one batch; returns the entry to add to the
  // transaction index for an ABORT that ends a transaction with data.
  std::optional<aborted_txn> track_transaction(const batch_info& b);
  segment& active() { return *segments_.rbegin()->second; }
  const segment& active() const { return *segments_.rbegin()->second; }
  void mark_dirty();
  // Write-behind bookkeeping.
  bool writes_pending() const { return progress_ && last_ticket_ > progress_->applied_ticket; }
  // plan_read without counting a reader.
  result<read_plan> plan(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound, bool share,
                         bool defer_lookup) const;
  bool write_state_pending() const { return writes_pending() || !offline_.empty(); }
  void on_write_done(std::uint64_t ticket, std::int64_t end_offset, std::uint64_t end_position,
                     const result<void>& r);
  void go_offline(const std::string& why);

  std::filesystem::path dir_;
  std::string topic_;
  std::int32_t partition_;
  log_config config_;
  flusher* flusher_;
  std::map<std::int64_t, std::shared_ptr<segment>> segments_;
  std::int64_t log_start_offset_ = 0;
  std::map<std::int64_t, std::int64_t> ongoing_;  // producer id -> first offset
  std::vector<aborted_txn> aborted_;              // all of them, in marker order
  std::int64_t active_roll_base_ms_ = -1;         // base for segment.ms
  // Durability bookkeeping.
  std::vector<std::shared_ptr<file>> unsynced_;
  bool active_dirty_ = false;
  bool dir_dirty_ = false;
  std::int64_t messages_since_flush_ = 0;
  std::int64_t last_flush_ms_ = -1;
  std::int64_t cleaned_up_to_ = 0;
  bool swapping_ = false;  // see begin_swap
  std::int64_t next_clean_expiry_ = never;
  bool closed_ = false;
  // Write-behind. progress_ is shared with queued writes and their completions, which
  // may outlive this log (its owner pointer is cleared by the destructor after a drain).
  struct write_progress {
    partition_log* owner = nullptr;
    std::uint64_t applied_ticket = 0;  // loop: completions applied up to this ticket
    std::atomic<bool> failed{false};   // writer thread: a write failed, skip the rest
    std::mutex mu;
    std::string failure;  // under mu
  };
  class checked_write;  // a queued write that skips itself after a failed one
  std::shared_ptr<log_lifetime> lifetime_ = std::make_shared<log_lifetime>();
  write_behind* writer_ = nullptr;
  std::function<void()> on_written_;
  std::shared_ptr<write_progress> progress_;
  std::uint64_t last_ticket_ = 0;     // of the last write queued
  std::int64_t high_watermark_ = 0;   // while writes are pending or offline
  std::string offline_;
  std::multimap<std::int64_t, std::function<void(protocol::error_code)>> write_waiters_;
  std::unique_ptr<tail_cache> cache_;  // null: no tail cache
  std::shared_ptr<read_ahead> ahead_ = std::make_shared<read_ahead>();
  // Appends are cached only while the partition is read: within tail_reader_window_ms of a
  // read seen by an append (read() counts, append() notes the time of a change).
  static constexpr std::int64_t tail_reader_window_ms = 30000;
  mutable std::uint64_t reads_ = 0;
  std::uint64_t reads_seen_ = 0;
  std::int64_t last_read_ms_ = std::numeric_limits<std::int64_t>::min() / 2;
};

}  // namespace eddy::broker::log
