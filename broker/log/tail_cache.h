// The newest batches of each partition, kept in memory so that consumers reading at or
// near the end of a partition (a stream processor reading its input, a follower of a
// changelog) are served without touching the disk.
//
// Why: large appends bypass the page cache (O_DIRECT, see segment.h), and the page-cache
// window evicts what little is cached behind the tail, so without this a tailing
// consumer's fetch reads the device, synchronously, on the event loop, and every producer
// on the broker waits with it. The batches' bytes are already in memory when they are
// appended: the produce request's frame. The cache keeps a reference to that frame (the
// append's `keepalive`) instead of copying; appends without an owner (transaction markers,
// tests) are copied, so the cached range has no holes.
//
// Each partition's cache holds the batches from some offset up to the log end, in order;
// one broker-wide tail_cache_budget bounds the bytes of all of them together
// (log.tail.cache.bytes) and evicts the oldest batch broker-wide first. Batches are
// counted at their size plus a fixed allowance for the bookkeeping and the request they
// keep alive.
//
// The log decides what readers may see (high watermark, last stable offset); the cache
// only answers "the whole batches from the one holding `offset`, below `upper_bound`,
// within `max_bytes`" with the same rules as a read from the segments. The log drops
// entries whose bytes no longer match the disk (a compaction rewrote their segments) or
// that fell below the log start offset.
//
// Thread-safety: none; the event loop owns the caches and the budget.
//
// Example:
//   tail_cache_budget budget(128 << 20);
//   tail_cache cache(&budget);
//   cache.add(base, last, batch_bytes, request);        // after the log appended it
//   read_result r;
//   if (cache.read(offset, 1 << 20, hw, r)) use(r.records);
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

namespace eddy::broker::log {

struct read_result;
class tail_cache;

class tail_cache_budget {
 public:
  // Bookkeeping allowance per cached batch (entry, queue slots, the request it keeps).
  static constexpr std::size_t per_batch_overhead = 256;

  explicit tail_cache_budget(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  tail_cache_budget(const tail_cache_budget&) = delete;
  tail_cache_budget& operator=(const tail_cache_budget&) = delete;

  std::size_t max_bytes() const { return max_bytes_; }
  // Bytes held by every cache together (batch sizes plus allowances).
  std::size_t used_bytes() const { return used_; }
  // Eviction-order slots, stale ones included (tests: they must not pile up).
  std::size_t queued_slots() const { return order_.size(); }

 private:
  friend class tail_cache;
  struct queued {
    std::uint64_t cache_id;
    std::uint64_t seq;
  };
  // Takes room for `bytes`, evicting the oldest batches broker-wide.
  void make_room(std::size_t bytes);

  std::size_t max_bytes_;
  std::size_t used_ = 0;
  std::size_t live_ = 0;  // batches cached
  std::uint64_t next_cache_id_ = 1;
  std::unordered_map<std::uint64_t, tail_cache*> caches_;
  std::deque<queued> order_;  // every cached batch, oldest first (stale ones skipped)
};

class tail_cache {
 public:
  // `budget` may be null: the cache then holds nothing.
  explicit tail_cache(tail_cache_budget* budget);
  ~tail_cache();
  tail_cache(const tail_cache&) = delete;
  tail_cache& operator=(const tail_cache&) = delete;

  // Records the batch [base_offset, last_offset] just appended, whose stored bytes are
  // `bytes`. With `owner`, `bytes` stay valid and unchanged while owner lives and are not
  // copied; otherwise they are copied. A batch that does not follow the cached range
  // (base_offset != end_offset()) restarts the cache from it. A batch larger than the
  // whole budget empties the cache instead.
  void add(std::int64_t base_offset, std::int64_t last_offset, std::span<const std::uint8_t> bytes,
           std::shared_ptr<const void> owner);

  // Whole batches from the one holding `offset`, as segment reads return them: at least
  // the first batch (even when larger than `max_bytes`), then more while the total stays
  // within max_bytes, and only batches whose base offset is < `upper_bound`, into `out`
  // (records, or with `share` pieces and owners without copying; first_offset,
  // next_offset). False, `out` untouched, when `offset` is not in the cached range (read
  // the segments instead).
  bool read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound, read_result& out,
            bool share = false) const;

  // Forgets the batches that end below `offset` (the log start offset moved, or a
  // compaction rewrote the segments below `offset`).
  void drop_below(std::int64_t offset);
  void clear();

  bool empty() const { return entries_.empty(); }
  // First cached offset (-1 when empty) and the offset after the last cached batch.
  std::int64_t first_offset() const { return entries_.empty() ? -1 : entries_.front().base; }
  std::int64_t end_offset() const { return entries_.empty() ? -1 : entries_.back().last + 1; }
  std::size_t batch_count() const { return entries_.size(); }

 private:
  friend class tail_cache_budget;
  struct entry {
    std::int64_t base;
    std::int64_t last;
    std::span<const std::uint8_t> bytes;
    std::shared_ptr<const void> owner;
    std::uint64_t seq;
  };
  static std::size_t cost(const entry& e) { return e.bytes.size() + tail_cache_budget::per_batch_overhead; }
  void pop_front();

  tail_cache_budget* budget_;
  std::uint64_t id_ = 0;
  std::uint64_t next_seq_ = 0;
  std::deque<entry> entries_;
};

}  // namespace eddy::broker::log
