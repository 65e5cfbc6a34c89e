// One segment of a partition log: the batches from `base_offset` on, in
// `<20-digit base offset>.log`, with its sparse offset index (.index), time index
// (.timeindex) and aborted-transaction index (.txnindex) beside it.
//
// .log layout: record batches back to back exactly as on the wire (magic 2, see
// core/record/batch_header.h), base_offset rewritten by the log, no file header and no
// padding. Offsets strictly increase; gaps are allowed (compaction). The .log is the only
// source of truth: every index is rebuilt from it when missing or inconsistent.
//
// Appends are one pwrite of the batch at the end of the file plus, every
// index.interval.bytes, one 8-byte index write and at most one 12-byte time-index write.
//
// Thread-safety: not thread-safe; owned by its partition_log on the event-loop thread.
// log_file() hands out a shared descriptor the flusher thread may fsync concurrently, and
// a deferred write (deferred_append) runs on the write-behind thread, owning what it uses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/log/batch_scanner.h"
#include "broker/log/file.h"
#include "broker/log/offset_index.h"
#include "broker/log/time_index.h"
#include "broker/log/transaction_index.h"
#include "broker/log/write_behind.h"

namespace eddy::broker::log {

// How a segment's appends reach the file. direct: O_DIRECT writes of whole 4 KiB blocks
// (see segment::direct_append), falling back to the page cache where O_DIRECT is refused.
// Otherwise buffered writes, and `pagecache_window_bytes` > 0 keeps only about that many
// bytes of the tail in the page cache (see recycle_page_cache); 0 leaves it to the kernel.
struct write_mode {
  bool direct = false;  // batches of at least direct_min_bytes
  std::int64_t pagecache_window_bytes = 0;
};

inline constexpr std::size_t direct_min_bytes = 64 * 1024;

// Bytes O_DIRECT appends took straight from the caller's memory, without a staging copy
// (process total; see write_blocks in segment.cc).
std::uint64_t zero_copy_bytes_written();

// Write-behind (see write_behind.h): an append whose write is handed back instead of done.
// With `all` false only batches of at least direct_min_bytes are deferred; `all` defers
// every batch (the caller sets it while earlier deferred writes are still pending, so
// writes stay in order). With `borrow` the write reads the batch's bytes where they are
// (the caller keeps them alive and unchanged until the write has run); otherwise it
// copies them. After append, `write` is empty when the append wrote synchronously;
// otherwise it must be run (on any thread, in order with the segment's other deferred
// writes) and mark_written() called when it succeeded. A deferred write absorbs the
// segment's next one when that follows on in the same file (see write_body::absorb).
struct deferred_append {
  bool all = false;
  bool borrow = false;
  std::unique_ptr<write_body> write;
};

// Bytes read from a segment, left in the block that was read into (see read_shared).
struct shared_bytes {
  std::shared_ptr<const void> owner;
  std::span<const std::uint8_t> bytes;
};

class segment {
 public:
  // `<dir>/<20-digit base><ext>`, e.g. ext ".log", ".index", ".log.cleaned".
  static std::filesystem::path file_path(const std::filesystem::path& dir, std::int64_t base, std::string_view ext);

  // A new, empty segment (files created or truncated). `suffix` is appended to every
  // file name (the cleaner builds replacements as "*.cleaned").
  static result<std::unique_ptr<segment>> create(const std::filesystem::path& dir, std::int64_t base_offset,
                                                 std::string_view suffix = "");

  // Opens after a clean shutdown: trusts the index files after checking them, and walks
  // only the tail after the last index entry. Any inconsistency is an error: the caller
  // then runs recover() on the whole partition.
  static result<std::unique_ptr<segment>> open_clean(const std::filesystem::path& dir, std::int64_t base_offset);

  // Opens validating every batch (lengths, magic, offsets >= `min_offset`, CRC), truncates
  // the file at the first invalid batch (`*truncated` says why), and rebuilds the offset
  // and time indexes. The transaction index is reset: the caller refills it from
  // `on_batch`, which sees every valid batch in order.
  static result<std::unique_ptr<segment>> recover(const std::filesystem::path& dir, std::int64_t base_offset,
                                                  std::int64_t min_offset, std::int64_t index_interval_bytes,
                                                  const std::function<result<void>(segment&, const batch_info&)>& on_batch,
                                                  std::string* truncated);

  std::int64_t base_offset() const { return base_; }
  // One past the last offset stored (base_offset when empty).
  std::int64_t next_offset() const { return next_offset_; }
  std::uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Largest batch max_timestamp in the segment, -1 when empty.
  std::int64_t max_timestamp() const { return max_timestamp_; }
  // max_timestamp of the first batch (Kafka's base for segment.ms rolling), -1 when empty.
  std::int64_t first_batch_timestamp() const { return first_timestamp_; }

  // Appends one batch whose base_offset is already assigned (>= next_offset()). With
  // `deferred`, the write may be handed back (see deferred_append); size(), next_offset()
  // and the indexes count the batch at once, readable_size() only after mark_written().
  result<void> append(std::span<const std::uint8_t> batch, std::int64_t index_interval_bytes, write_mode mode = {},
                      deferred_append* deferred = nullptr);
  // Bytes readers may use: everything written (size() minus deferred writes still pending).
  std::uint64_t readable_size() const { return written_; }
  // A deferred write ending at byte `end` completed.
  void mark_written(std::uint64_t end) { written_ = std::max(written_, std::min(end, size_)); }
  // True once large appends go through O_DIRECT (until seal()).
  bool writes_direct() const { return direct_ != nullptr; }

  // The first batch whose last offset is >= `offset`, or nullopt when none in this segment.
  result<std::optional<batch_info>> find_batch(std::int64_t offset) const;
  // Where find_batch starts walking for `offset`: the offset index's entry (event loop).
  std::uint64_t index_position(std::int64_t offset) const { return offset_index_.lookup(offset); }
  // find_batch walking the batch headers of [from, end) only: any thread, with `from` from
  // index_position and `end` at most readable_size() (both taken on the event loop).
  result<std::optional<batch_info>> find_batch(std::int64_t offset, std::uint64_t from, std::uint64_t end) const;
  // The first batch whose max_timestamp is >= `timestamp`, or nullopt.
  result<std::optional<batch_info>> find_timestamp(std::int64_t timestamp) const;
  // Where find_timestamp starts walking for `timestamp`: the time index's entry, through
  // the offset index (event loop).
  std::uint64_t timestamp_position(std::int64_t timestamp) const;
  // find_timestamp walking the batch headers of [from, end) only, and skipping batches
  // that end below `min_last_offset`: any thread, with `from` from timestamp_position and
  // `end` at most readable_size() (both taken on the event loop).
  result<std::optional<batch_info>> find_timestamp(std::int64_t timestamp, std::uint64_t from, std::uint64_t end,
                                                   std::int64_t min_last_offset) const;
  // Raw bytes [pos, pos + len) (fewer at the end of the file). Large reads the page cache
  // does not hold bypass it (O_DIRECT; see segment.cc). Safe from the cleaner thread for a
  // closed segment while the loop reads it too.
  result<std::vector<std::uint8_t>> read_bytes(std::uint64_t pos, std::size_t len) const;
  // How a read goes to disk: O_DIRECT or through the page cache, and whether the pages
  // read are dropped afterwards (see recycle_page_cache). Decided on the event loop
  // (mode_for reads what appends change), used on any thread.
  struct read_mode {
    bool direct = false;
    bool evict_after = false;
    // The read likely waits for the device: O_DIRECT, behind the page-cache window, or in
    // a segment this run did not append to (its pages may be long gone). The broker does
    // such reads off its event loop.
    bool device = false;
  };
  read_mode mode_for(std::uint64_t pos, std::size_t len) const;
  // The same as read_bytes without copying: the bytes stay in the pooled block they were
  // read into, which `owner` keeps. Safe on any thread with a mode from mode_for.
  result<shared_bytes> read_shared(std::uint64_t pos, std::size_t len, read_mode mode) const;
  result<shared_bytes> read_shared(std::uint64_t pos, std::size_t len) const {
    return read_shared(pos, len, mode_for(pos, len));
  }
  // Every batch from byte `pos`, headers only; stops at the end or on a bad header.
  result<void> for_each_batch(std::uint64_t pos, const std::function<bool(const batch_info&)>& fn) const;

  bool index_full(std::int64_t max_index_bytes) const { return offset_index_.full(max_index_bytes); }
  // Called when the segment stops being the active one, and on close: records the final
  // max timestamp in the time index so a clean reopen knows it without a scan, and after
  // direct appends cuts the zero padding of the last block off the file.
  result<void> seal();
  // fsyncs the .log and the indexes.
  result<void> sync_all();
  // The .log and index descriptors (for a background fsync).
  std::vector<std::shared_ptr<file>> files() const;
  std::shared_ptr<file> log_file() const { return log_; }
  transaction_index& txn_index() { return txn_index_; }
  const transaction_index& txn_index() const { return txn_index_; }
  // Deletes this segment's files (the descriptors stay valid until released).
  result<void> remove_files();
  // Renames every file from "<name><from_suffix>" to "<name><to_suffix>".
  result<void> rename_files(std::string_view from_suffix, std::string_view to_suffix);

 private:
  segment(std::filesystem::path dir, std::int64_t base) : dir_(std::move(dir)), base_(base) {}
  void note_batch(const batch_info& b);
  void recycle_page_cache(std::int64_t window_bytes);
  // A read through the O_DIRECT read descriptor; nullopt when that is not possible.
  std::optional<shared_bytes> read_direct(std::uint64_t pos, std::size_t len) const;
  // After a buffered read with mode.evict_after: drops the pages read (recycle_page_cache).
  void evict_after_read(std::uint64_t pos, std::size_t n) const;
  // Keeps tail_block_ equal to the bytes of the last partial block once `batch` is
  // appended at size_ (call before size_ moves).
  void update_tail_block(std::span<const std::uint8_t> batch);

  std::filesystem::path dir_;
  std::int64_t base_;
  std::shared_ptr<file> log_;
  offset_index offset_index_;
  time_index time_index_;
  transaction_index txn_index_;
  std::uint64_t size_ = 0;
  std::uint64_t written_ = 0;  // see readable_size()
  std::int64_t next_offset_ = 0;
  std::int64_t max_timestamp_ = -1;
  std::int64_t offset_of_max_timestamp_ = 0;
  std::int64_t first_timestamp_ = -1;
  std::uint64_t bytes_since_index_ = 0;
  // Page-cache recycling (recycle_page_cache): writeback was started for bytes before
  // writeback_from_, and bytes before dropped_to_ were written back and evicted.
  // Direct appends: the O_DIRECT descriptor, and the bytes of the last, partial 4 KiB
  // block (the file holds them followed by zero padding up to the block boundary).
  std::shared_ptr<file> direct_;
  bool direct_refused_ = false;
  bool had_direct_ = false;  // some append went direct: the page cache holds little of it
  bool appended_ = false;    // appended to by this run (else its bytes are not ours in the cache)
  // O_DIRECT read descriptor, opened on the first large read (loop or cleaner thread).
  mutable std::mutex direct_read_mu_;
  mutable std::shared_ptr<file> direct_read_;
  mutable bool direct_read_refused_ = false;
  std::unique_ptr<std::uint8_t, void (*)(void*)> tail_block_{nullptr, &std::free};
  bool cache_marks_set_ = false;
  std::uint64_t writeback_from_ = 0;
  std::uint64_t dropped_to_ = 0;
};

}  // namespace eddy::broker::log
