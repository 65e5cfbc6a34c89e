#include "broker/log/segment.h"

#include <fcntl.h>

#include <algorithm>
#include <limits>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "broker/log/block_pool.h"
#include "core/record/batch_header.h"

namespace eddy::broker::log {

using protocol::error_code;

namespace {
constexpr std::string_view exts[] = {".log", ".index", ".timeindex", ".txnindex"};
}

std::filesystem::path segment::file_path(const std::filesystem::path& dir, std::int64_t base, std::string_view ext) {
  return dir / (offset_file_stem(base) + std::string(ext));
}

result<std::unique_ptr<segment>> segment::create(const std::filesystem::path& dir, std::int64_t base_offset,
                                                 std::string_view suffix) {
  std::unique_ptr<segment> s(new segment(dir, base_offset));
  std::string sfx(suffix);
  auto log = file::open(file_path(dir, base_offset, ".log" + sfx), true);
  if (!log) return log.error();
  s->log_ = std::move(*log);
  if (auto r = s->log_->truncate(0); !r) return r.error();
  auto oi = offset_index::open(file_path(dir, base_offset, ".index" + sfx), base_offset, 0, false);
  if (!oi) return oi.error();
  auto ti = time_index::open(file_path(dir, base_offset, ".timeindex" + sfx), base_offset, false);
  if (!ti) return ti.error();
  auto xi = transaction_index::open(file_path(dir, base_offset, ".txnindex" + sfx), false);
  if (!xi) return xi.error();
  s->offset_index_ = std::move(*oi);
  s->time_index_ = std::move(*ti);
  s->txn_index_ = std::move(*xi);
  s->next_offset_ = base_offset;
  return s;
}

void segment::note_batch(const batch_info& b) {
  if (size_ == 0) first_timestamp_ = b.max_timestamp;
  if (b.max_timestamp > max_timestamp_) {
    max_timestamp_ = b.max_timestamp;
    offset_of_max_timestamp_ = b.base_offset;
  }
  next_offset_ = b.last_offset + 1;
  size_ = b.position + b.size;
}

result<std::unique_ptr<segment>> segment::open_clean(const std::filesystem::path& dir, std::int64_t base_offset) {
  std::unique_ptr<segment> s(new segment(dir, base_offset));
  auto lp = file_path(dir, base_offset, ".log");
  for (auto ext : {".index", ".timeindex", ".txnindex"}) {
    std::error_code ec;
    if (!std::filesystem::exists(file_path(dir, base_offset, ext), ec))
      return make_error(error_code::corrupt_message, fmt::format("{} is missing", file_path(dir, base_offset, ext).string()));
  }
  auto log = file::open(lp, false);
  if (!log) return log.error();
  s->log_ = std::move(*log);
  auto sz = s->log_->size();
  if (!sz) return sz.error();
  auto oi = offset_index::open(file_path(dir, base_offset, ".index"), base_offset, *sz, true);
  if (!oi) return oi.error();
  auto ti = time_index::open(file_path(dir, base_offset, ".timeindex"), base_offset, true);
  if (!ti) return ti.error();
  auto xi = transaction_index::open(file_path(dir, base_offset, ".txnindex"), true);
  if (!xi) return xi.error();
  s->offset_index_ = std::move(*oi);
  s->time_index_ = std::move(*ti);
  s->txn_index_ = std::move(*xi);
  s->next_offset_ = base_offset;
  if (*sz == 0) return s;
  // First batch: the rolling timestamp, and a check that the file starts where it should.
  batch_scanner first(*s->log_, 0, *sz);
  auto f = first.next(false);
  if (!f) return f.error();
  if (f->st != batch_scanner::status::batch || f->info.base_offset < base_offset)
    return make_error(error_code::corrupt_message, fmt::format("{}: bad first batch", lp.string()));
  s->first_timestamp_ = f->info.max_timestamp;
  s->max_timestamp_ = s->time_index_.max_timestamp();
  if (!s->time_index_.entries().empty())
    s->offset_of_max_timestamp_ = base_offset + s->time_index_.entries().back().relative_offset;
  // Walk the tail after the last index entry; the indexed batch must start exactly there.
  std::uint64_t start = s->offset_index_.entries().empty() ? 0 : s->offset_index_.entries().back().position;
  std::int64_t expect = s->offset_index_.entries().empty() ? base_offset
                                                           : base_offset + s->offset_index_.entries().back().relative_offset;
  s->size_ = start;
  batch_scanner tail(*s->log_, start, *sz);
  bool first_in_tail = true;
  while (true) {
    auto st = tail.next(false);
    if (!st) return st.error();
    if (st->st == batch_scanner::status::end) break;
    if (st->st == batch_scanner::status::corrupt)
      return make_error(error_code::corrupt_message, fmt::format("{}: {}", lp.string(), st->reason));
    if (first_in_tail && st->info.base_offset != expect)
      return make_error(error_code::corrupt_message, fmt::format("{}: index does not match the log", lp.string()));
    first_in_tail = false;
    s->note_batch(st->info);
  }
  s->size_ = s->written_ = *sz;
  s->bytes_since_index_ = *sz - start;
  return s;
}

result<std::unique_ptr<segment>> segment::recover(const std::filesystem::path& dir, std::int64_t base_offset,
                                                  std::int64_t min_offset, std::int64_t index_interval_bytes,
                                                  const std::function<result<void>(segment&, const batch_info&)>& on_batch,
                                                  std::string* truncated) {
  std::unique_ptr<segment> s(new segment(dir, base_offset));
  auto log = file::open(file_path(dir, base_offset, ".log"), false);
  if (!log) return log.error();
  s->log_ = std::move(*log);
  auto sz = s->log_->size();
  if (!sz) return sz.error();
  auto oi = offset_index::open(file_path(dir, base_offset, ".index"), base_offset, 0, false);
  if (!oi) return oi.error();
  auto ti = time_index::open(file_path(dir, base_offset, ".timeindex"), base_offset, false);
  if (!ti) return ti.error();
  auto xi = transaction_index::open(file_path(dir, base_offset, ".txnindex"), false);
  if (!xi) return xi.error();
  s->offset_index_ = std::move(*oi);
  s->time_index_ = std::move(*ti);
  s->txn_index_ = std::move(*xi);
  s->next_offset_ = base_offset;
  batch_scanner scan(*s->log_, 0, *sz);
  std::int64_t expect = std::max(min_offset, base_offset);
  while (true) {
    auto st = scan.next(true, expect);
    if (!st) return st.error();
    if (st->st == batch_scanner::status::end) break;
    if (st->st == batch_scanner::status::corrupt) {
      if (truncated) *truncated = st->reason;
      if (auto r = s->log_->truncate(scan.position()); !r) return r.error();
      break;
    }
    const batch_info& b = st->info;
    if (s->bytes_since_index_ >= std::uint64_t(index_interval_bytes) && s->size_ > 0) {
      if (auto r = s->offset_index_.append(b.base_offset, b.position); !r) return r.error();
      if (auto r = s->time_index_.maybe_append(s->max_timestamp_, s->offset_of_max_timestamp_); !r) return r.error();
      s->bytes_since_index_ = 0;
    }
    s->note_batch(b);
    s->bytes_since_index_ += b.size;
    expect = b.last_offset + 1;
    if (on_batch)
      if (auto r = on_batch(*s, b); !r) return r.error();
  }
  s->written_ = s->size_;
  return s;
}

namespace {

// The staging buffer of direct writes: block-aligned, grown as needed, one per thread
// (the event loop for synchronous appends, the write-behind thread for deferred ones).
struct staging_buffer {
  std::uint8_t* data = nullptr;
  std::size_t capacity = 0;
  ~staging_buffer() { std::free(data); }
  bool reserve(std::size_t n) {
    if (n <= capacity) return true;
    std::size_t want = std::max(n, capacity * 2);
    void* mem = nullptr;
    if (::posix_memalign(&mem, direct_io_alignment, want) != 0) return false;
    std::free(data);
    data = static_cast<std::uint8_t*>(mem);
    capacity = want;
    return true;
  }
};

// Direct appends (log.write.direct=true, batches of at least direct_min_bytes): the batch goes to disk with O_DIRECT instead of
// being copied into page-cache pages. Writing through the page cache costs the writing
// thread about 1 to 2.5 s of CPU per GB here (page allocation, copy and writeback on a
// virtual machine); an O_DIRECT write costs about 0.1 s per GB, the device doing the copy.
// O_DIRECT needs block-aligned offsets and lengths, so each append writes whole blocks
// from the block holding the current end: the kept partial last block, then the batch,
// then zeros up to the next boundary. The file is therefore up to 4095 bytes longer than
// the log until seal() truncates it; after a crash, recovery truncates that zero tail like
// any torn tail. Reads stay buffered (the kernel drops cached copies of blocks a direct
// write replaces), and acknowledged data has reached the device, as with buffered writes
// it had reached the page cache (with write-behind, see write_behind.h, the
// acknowledgement waits for the write).
// Zero-copy: O_DIRECT reads the batches straight from where they are (a request frame)
// when their address has the alignment their file position has, modulo this. Only the few
// bytes around each such batch's aligned middle are copied. 512 is the block layer's usual
// memory alignment for direct I/O (the device's dma_alignment + 1); a file that wants more
// answers EINVAL, and zero-copy is then off for the rest of the process.
constexpr std::size_t zero_copy_alignment = 512;
std::atomic<bool> zero_copy_refused{false};
std::atomic<std::uint64_t> zero_copy_bytes{0};

// One O_DIRECT write of whole blocks from `block`: `head` (the bytes already in the file's
// partial last block), then `pieces`, then zeros up to the next block boundary. Bytes are
// copied into the aligned staging buffer, except the aligned middles of zero-copy pieces,
// which the write takes from the pieces themselves (one pwritev of the staged parts and
// those middles, in file order).
result<void> write_blocks(file& direct, std::uint64_t block, std::span<const std::uint8_t> head,
                          std::span<const std::span<const std::uint8_t>> pieces, bool zero_copy = true) {
  constexpr std::uint64_t align = direct_io_alignment;
  constexpr std::size_t z = zero_copy_alignment;
  thread_local staging_buffer stage;
  std::size_t end = head.size();
  for (auto p : pieces) end += p.size();
  std::size_t length = (end + align - 1) & ~(align - 1);
  if (!stage.reserve(length)) return make_error(error_code::kafka_storage_error, "out of memory for a direct write");
  zero_copy = zero_copy && !zero_copy_refused.load(std::memory_order_relaxed);
  std::vector<std::span<const std::uint8_t>> parts;
  std::uint64_t not_copied = 0;
  std::size_t staged_from = 0;  // start of the staged part being filled (a multiple of z)
  std::size_t at = head.size();  // fill of the staging buffer
  if (!head.empty()) std::memcpy(stage.data, head.data(), head.size());
  std::uint64_t file_pos = block + head.size();
  for (auto p : pieces) {
    std::size_t done = 0;
    if (zero_copy && std::uintptr_t(p.data()) % z == file_pos % z) {
      // Stage up to the next z boundary (in file and in memory alike), take the aligned middle as is.
      std::size_t pre = std::min(p.size(), std::size_t((z - file_pos % z) % z));
      std::size_t middle = (p.size() - pre) / z * z;
      if (middle >= 8 * z) {
        std::memcpy(stage.data + at, p.data(), pre);
        at += pre;  // the staged part now ends on a z boundary of the file
        if (at > staged_from) parts.emplace_back(stage.data + staged_from, at - staged_from);
        parts.emplace_back(p.data() + pre, middle);
        not_copied += middle;
        staged_from = at;
        done = pre + middle;
      }
    }
    std::memcpy(stage.data + at, p.data() + done, p.size() - done);
    at += p.size() - done;
    file_pos += p.size();
  }
  std::memset(stage.data + at, 0, length - end);
  at += length - end;
  parts.emplace_back(stage.data + staged_from, at - staged_from);
  int err = 0;
  auto r = direct.pwritev(parts, block, &err);
  if (!r && err == EINVAL && parts.size() > 1) {
    zero_copy_refused.store(true, std::memory_order_relaxed);
    return write_blocks(direct, block, head, pieces, false);
  }
  if (r) zero_copy_bytes.fetch_add(not_copied, std::memory_order_relaxed);
  return r;
}

// A deferred append's write (write-behind): batches that follow on in one file, each
// borrowed or owned (`copies`). It absorbs the next deferred write of the same segment
// and kind when that starts where this one ends, so appends queued behind a busy device
// go out as one write.
class batch_write final : public write_body {
 public:
  // Direct: whole blocks from `block`, `head` being the file's bytes from `block` to the
  // first batch. Buffered: `head` is empty and `block` is the first batch's position.
  batch_write(std::shared_ptr<file> fd, bool direct, std::uint64_t block, std::vector<std::uint8_t> head)
      : fd_(std::move(fd)), direct_(direct), block_(block), head_(std::move(head)), end_(block_ + head_.size()) {}

  void add(std::span<const std::uint8_t> batch, std::vector<std::uint8_t> copy) {
    if (!copy.empty()) {
      copies_.push_back(std::move(copy));
      batch = copies_.back();  // a moved vector keeps its buffer
    }
    pieces_.push_back(batch);
    end_ += batch.size();
  }

  result<void> write() override {
    if (direct_) return write_blocks(*fd_, block_, head_, pieces_);
    return fd_->pwritev(pieces_, block_);
  }

  bool absorb(write_body& next) override {
    auto* n = dynamic_cast<batch_write*>(&next);
    if (n == nullptr || n->fd_ != fd_ || n->direct_ != direct_ || n->block_ + n->head_.size() != end_) return false;
    for (auto& c : n->copies_) copies_.push_back(std::move(c));
    for (auto p : n->pieces_) pieces_.push_back(p);
    end_ = n->end_;
    return true;
  }

 private:
  std::shared_ptr<file> fd_;
  bool direct_;
  std::uint64_t block_;
  std::vector<std::uint8_t> head_;
  std::vector<std::span<const std::uint8_t>> pieces_;
  std::vector<std::vector<std::uint8_t>> copies_;
  std::uint64_t end_;
};

}  // namespace

std::uint64_t zero_copy_bytes_written() { return zero_copy_bytes.load(std::memory_order_relaxed); }

result<void> segment::append(std::span<const std::uint8_t> batch, std::int64_t index_interval_bytes,
                             write_mode mode, deferred_append* deferred) {
  record::batch_header_view h{batch.data()};
  appended_ = true;
  batch_info b;
  b.position = size_;
  b.size = std::uint32_t(batch.size());
  b.base_offset = h.base_offset();
  b.last_offset = h.last_offset();
  b.max_timestamp = h.max_timestamp();
  if (bytes_since_index_ >= std::uint64_t(index_interval_bytes) && size_ > 0) {
    if (auto r = offset_index_.append(b.base_offset, b.position); !r) return r;
    if (auto r = time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_); !r) return r;
    bytes_since_index_ = 0;
  }
  // Large batches (throughput) go direct; small ones (latency: a direct write waits for the
  // device) go through the page cache. Mixing is safe: the kernel writes back and drops
  // cached pages a direct write covers, and tail_block_ follows buffered appends too.
  bool use_direct = mode.direct && batch.size() >= direct_min_bytes && !direct_refused_;
  if (use_direct && !direct_) {
    // First direct append to this segment: open the O_DIRECT descriptor and load the bytes
    // of the partial last block (a reopened segment ends anywhere).
    auto d = file::open_direct(log_->path());
    void* mem = nullptr;
    if (d && ::posix_memalign(&mem, direct_io_alignment, direct_io_alignment) == 0) {
      tail_block_.reset(static_cast<std::uint8_t*>(mem));
      std::uint64_t block = size_ & ~std::uint64_t(direct_io_alignment - 1);
      auto n = log_->pread(std::span<std::uint8_t>(tail_block_.get(), size_ - block), block);
      if (n && *n == size_ - block) {
        direct_ = std::move(*d);
        had_direct_ = true;
      }
    }
    if (!direct_) {
      direct_refused_ = true;  // e.g. tmpfs: write through the page cache from now on
      use_direct = false;
    }
  }
  std::uint64_t block = size_ & ~std::uint64_t(direct_io_alignment - 1);
  std::size_t head = std::size_t(size_ - block);
  bool defer = deferred && (deferred->all || batch.size() >= direct_min_bytes);
  if (defer) {
    // Write-behind: the returned write owns the bytes it needs. Everything the loop keeps
    // (tail block, sizes, indexes) moves on now, before the write may run.
    std::vector<std::uint8_t> copy;
    if (!deferred->borrow) copy.assign(batch.begin(), batch.end());
    std::unique_ptr<batch_write> w;
    if (use_direct)
      w = std::make_unique<batch_write>(direct_, true, block,
                                        std::vector<std::uint8_t>(tail_block_.get(), tail_block_.get() + head));
    else
      w = std::make_unique<batch_write>(log_, false, size_, std::vector<std::uint8_t>{});
    w->add(batch, std::move(copy));
    deferred->write = std::move(w);
  } else {
    std::span<const std::uint8_t> one[] = {batch};
    auto written =
        use_direct ? write_blocks(*direct_, block, {tail_block_.get(), head}, one) : log_->pwrite(batch, size_);
    if (!written) {
      // Leave no partial batch behind (e.g. ENOSPC): the next append must land on a boundary.
      (void)log_->truncate(size_);
      return written;
    }
  }
  if (direct_) update_tail_block(batch);
  note_batch(b);
  if (!defer) written_ = size_;
  bytes_since_index_ += b.size;
  // Deferred buffered writes (log.write.direct=false) recycle the cache too. Approximate:
  // bytes the writer had not reached when their range was evicted stay cached.
  if (!defer || !use_direct) recycle_page_cache(mode.pagecache_window_bytes);
  return {};
}

void segment::update_tail_block(std::span<const std::uint8_t> batch) {
  constexpr std::uint64_t align = direct_io_alignment;
  std::uint64_t block = size_ & ~(align - 1);
  std::uint64_t new_end = size_ + batch.size();
  std::uint64_t new_block = new_end & ~(align - 1);
  if (new_block == block)
    std::memcpy(tail_block_.get() + (size_ - block), batch.data(), batch.size());
  else
    std::memcpy(tail_block_.get(), batch.data() + (new_block - size_), std::size_t(new_end - new_block));
}

// Appending to a log allocates a new page-cache page for every 4 KiB written, and on a
// virtual machine that hands memory back to its host (balloon free-page reporting) a new
// page is expensive: buffered writes measured about 230 MB/s here, against 1.5 to 2.5 GB/s
// when the kernel can reuse pages it has just freed. So the active segment keeps only its
// tail in the page cache: writeback of every window/8 bytes written is started at once
// (SYNC_FILE_RANGE_WRITE, no wait), and the range more than `window_bytes` behind the end,
// written back by then, is evicted (POSIX_FADV_DONTNEED), so its pages serve the next
// writes. Tailing consumers read from the cached tail; reads further behind go to disk and
// are evicted again after the read (see read_bytes). Durability is unchanged: this is
// neither a flush nor an fsync (those stay with the flush policy and the flusher). Errors
// are ignored: both calls are advisory.
void segment::recycle_page_cache(std::int64_t window_bytes) {
  if (window_bytes <= 0) return;
  std::uint64_t window = std::uint64_t(window_bytes);
  std::uint64_t chunk = std::max<std::uint64_t>(window / 8, 1u << 20);
  if (!cache_marks_set_) {
    // Bytes that were there before this segment was opened are the kernel's business.
    writeback_from_ = dropped_to_ = size_ - std::min<std::uint64_t>(size_, chunk);
    cache_marks_set_ = true;
  }
  int fd = log_->fd();
  if (size_ - writeback_from_ >= chunk) {
    (void)::sync_file_range(fd, off_t(writeback_from_), off_t(size_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = size_;
  }
  if (writeback_from_ >= dropped_to_ + window + chunk) {
    std::uint64_t upto = writeback_from_ - window;
    // Started at least `window` bytes ago, so this normally finds the writeback done.
    (void)::sync_file_range(fd, off_t(dropped_to_), off_t(upto - dropped_to_),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    (void)::posix_fadvise(fd, off_t(dropped_to_), off_t(upto - dropped_to_), POSIX_FADV_DONTNEED);
    dropped_to_ = upto;
  }
}

result<std::optional<batch_info>> segment::find_batch(std::int64_t offset) const {
  return find_batch(offset, offset_index_.lookup(offset), written_);
}

result<std::optional<batch_info>> segment::find_batch(std::int64_t offset, std::uint64_t from,
                                                      std::uint64_t end) const {
  batch_scanner scan(*log_, from, end);
  while (true) {
    auto st = scan.next(false);
    if (!st) return st.error();
    if (st->st != batch_scanner::status::batch) return std::optional<batch_info>();
    if (st->info.last_offset >= offset) return std::optional<batch_info>(st->info);
  }
}

result<std::optional<batch_info>> segment::find_timestamp(std::int64_t timestamp) const {
  if (max_timestamp_ < timestamp) return std::optional<batch_info>();
  return find_timestamp(timestamp, timestamp_position(timestamp), written_, std::numeric_limits<std::int64_t>::min());
}

std::uint64_t segment::timestamp_position(std::int64_t timestamp) const {
  auto from = time_index_.last_offset_before(timestamp);
  return from ? offset_index_.lookup(*from) : 0;
}

result<std::optional<batch_info>> segment::find_timestamp(std::int64_t timestamp, std::uint64_t from,
                                                          std::uint64_t end, std::int64_t min_last_offset) const {
  batch_scanner scan(*log_, from, end);
  while (true) {
    auto st = scan.next(false);
    if (!st) return st.error();
    if (st->st != batch_scanner::status::batch) return std::optional<batch_info>();
    if (st->info.max_timestamp >= timestamp && st->info.last_offset >= min_last_offset)
      return std::optional<batch_info>(st->info);
  }
}

result<void> segment::for_each_batch(std::uint64_t pos, const std::function<bool(const batch_info&)>& fn) const {
  batch_scanner scan(*log_, pos, written_);
  while (true) {
    auto st = scan.next(false);
    if (!st) return st.error();
    if (st->st != batch_scanner::status::batch) return {};
    if (!fn(st->info)) return {};
  }
}

// Reads of at least direct_min_bytes that the page cache cannot serve (in a segment
// written with O_DIRECT, behind the recycled tail window of one written through the
// cache, or in a segment this run did not append to) go around it: an O_DIRECT read into
// a pooled 4 KiB-aligned block. A buffered read would instead allocate a page-cache page
// per 4 KiB and copy out of it, and on this kind of virtual machine fresh pages are the
// expensive part (measured: ~200 MB/s with a whole core busy in the copy, against about
// 1 GB/s at a tenth of the CPU). Small reads and the cached tail go through the page cache.
segment::read_mode segment::mode_for(std::uint64_t pos, std::size_t len) const {
  read_mode m;
  if (len >= direct_min_bytes) {
    if (had_direct_ || !appended_) {
      m.direct = true;  // O_DIRECT appends, or written by an earlier run
    } else {
      // Buffered appends: what is behind the recycled window was written back and
      // evicted; the rest (or everything, with the window off, as in Kafka) is the page
      // cache's.
      m.direct = cache_marks_set_ && pos + len <= dropped_to_;
    }
  }
  // A buffered read behind the cached tail (a consumer catching up) came from disk: its
  // pages are dropped again so that they are reused too.
  m.evict_after = !m.direct && cache_marks_set_ && pos + len <= dropped_to_;
  m.device = m.direct || m.evict_after || !appended_;
  return m;
}

result<std::vector<std::uint8_t>> segment::read_bytes(std::uint64_t pos, std::size_t len) const {
  read_mode m = mode_for(pos, len);
  if (m.direct)
    if (auto r = read_direct(pos, len)) return std::vector<std::uint8_t>(r->bytes.begin(), r->bytes.end());
  std::vector<std::uint8_t> out(len);
  auto n = log_->pread(out, pos);
  if (!n) return n.error();
  out.resize(*n);
  if (m.evict_after) evict_after_read(pos, *n);
  return out;
}

result<shared_bytes> segment::read_shared(std::uint64_t pos, std::size_t len, read_mode m) const {
  if (m.direct)
    if (auto r = read_direct(pos, len)) return std::move(*r);
  auto block = block_pool::shared(len);
  auto n = log_->pread(std::span<std::uint8_t>(block.get(), len), pos);
  if (!n) return n.error();
  if (m.evict_after) evict_after_read(pos, *n);
  std::span<const std::uint8_t> bytes(block.get(), *n);
  return shared_bytes{std::move(block), bytes};
}

void segment::evict_after_read(std::uint64_t pos, std::size_t n) const {
  if (n > 0) (void)::posix_fadvise(log_->fd(), off_t(pos), off_t(n), POSIX_FADV_DONTNEED);
}

std::optional<shared_bytes> segment::read_direct(std::uint64_t pos, std::size_t len) const {
  std::shared_ptr<file> fd;
  {
    std::lock_guard lk(direct_read_mu_);
    if (direct_read_refused_) return std::nullopt;
    if (!direct_read_) {
      auto d = file::reopen_direct_read(*log_);
      if (!d) {
        direct_read_refused_ = true;  // e.g. tmpfs
        return std::nullopt;
      }
      direct_read_ = std::move(*d);
    }
    fd = direct_read_;
  }
  constexpr std::uint64_t a = direct_io_alignment;
  std::uint64_t from = pos & ~(a - 1);
  std::uint64_t to = (pos + len + a - 1) & ~(a - 1);
  std::size_t n = std::size_t(to - from);
  auto block = block_pool::shared(n);
  auto got = fd->pread(std::span<std::uint8_t>(block.get(), n), from);
  // Errors (EINVAL where the file system takes O_DIRECT opens but not these reads) fall
  // back to the page cache, which reports real read errors itself.
  if (!got) return std::nullopt;
  std::size_t skip = std::size_t(pos - from);
  std::size_t have = *got > skip ? std::min<std::size_t>(len, *got - skip) : 0;
  std::span<const std::uint8_t> bytes(block.get() + skip, have);
  return shared_bytes{std::move(block), bytes};
}

result<void> segment::seal() {
  if (direct_) {
    // Cut the zero padding of the last block; later appends (none for a sealed segment,
    // but a reopened one) start again from the page cache or a fresh direct descriptor.
    direct_.reset();
    tail_block_.reset();
    if (auto r = log_->truncate(size_); !r) return r;
  }
  if (max_timestamp_ >= 0) return time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
  return {};
}

std::vector<std::shared_ptr<file>> segment::files() const {
  return {log_, offset_index_.file_handle(), time_index_.file_handle(), txn_index_.file_handle()};
}

result<void> segment::sync_all() {
  if (auto r = log_->sync(); !r) return r;
  if (auto r = offset_index_.sync(); !r) return r;
  if (auto r = time_index_.sync(); !r) return r;
  return txn_index_.sync();
}

result<void> segment::remove_files() {
  for (auto ext : exts) {
    std::error_code ec;
    std::filesystem::remove(file_path(dir_, base_, ext), ec);
    if (ec) return make_error(error_code::kafka_storage_error,
                              fmt::format("cannot delete {}: {}", file_path(dir_, base_, ext).string(), ec.message()));
  }
  return {};
}

result<void> segment::rename_files(std::string_view from_suffix, std::string_view to_suffix) {
  for (auto ext : exts) {
    auto from = file_path(dir_, base_, std::string(ext) + std::string(from_suffix));
    auto to = file_path(dir_, base_, std::string(ext) + std::string(to_suffix));
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec) return make_error(error_code::kafka_storage_error,
                              fmt::format("cannot rename {} to {}: {}", from.string(), to.string(), ec.message()));
  }
  return {};
}

}  // namespace eddy::broker::log
