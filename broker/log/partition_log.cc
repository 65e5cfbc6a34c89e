#include "broker/log/partition_log.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "core/record/batch_reader.h"
#include "core/record/crc32c.h"

namespace eddy::broker::log {

using protocol::error_code;
namespace fs = std::filesystem;

namespace {
constexpr const char* log_start_file = "log-start-offset";
constexpr const char* txn_snapshot_file = "txn.snapshot";
constexpr const char* recovery_point_file = "recovery-point";

bool parse_i64(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "<magic>\n<offset>\n" then "<producer id> <first offset>\n" per open transaction, "end\n".
std::string encode_txn_state(std::string_view magic, std::int64_t offset, const std::map<std::int64_t, std::int64_t>& ongoing) {
  std::string out = fmt::format("{}\n{}\n", magic, offset);
  for (auto& [pid, first] : ongoing) out += fmt::format("{} {}\n", pid, first);
  out += "end\n";
  return out;
}

// Parses encode_txn_state's layout; false when the magic differs or the text is torn.
bool decode_txn_state(const std::string& text, std::string_view magic, std::int64_t& offset,
                      std::map<std::int64_t, std::int64_t>& ongoing) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != magic) return false;
  if (!std::getline(in, line) || !parse_i64(line, offset)) return false;
  ongoing.clear();
  while (std::getline(in, line)) {
    if (line == "end") return true;
    auto sp = line.find(' ');
    std::int64_t pid, first;
    if (sp == std::string::npos || !parse_i64(std::string_view(line).substr(0, sp), pid) ||
        !parse_i64(std::string_view(line).substr(sp + 1), first))
      return false;
    ongoing[pid] = first;
  }
  return false;  // no "end": torn
}

// "00000000000000000123.log" -> 123.
std::optional<std::int64_t> segment_base_of(const std::string& name, std::string_view ext) {
  if (name.size() != 20 + ext.size() || name.compare(20, std::string::npos, ext) != 0) return std::nullopt;
  std::int64_t v;
  if (!parse_i64(std::string_view(name).substr(0, 20), v) || v < 0) return std::nullopt;
  return v;
}
}  // namespace

// A deferred write of this log: skipped once an earlier write of the partition failed,
// records its own failure, and merges only with writes of the same log.
class partition_log::checked_write final : public write_body {
 public:
  checked_write(std::unique_ptr<write_body> inner, std::shared_ptr<write_progress> progress)
      : inner_(std::move(inner)), progress_(std::move(progress)) {}

  result<void> write() override {
    if (progress_->failed.load(std::memory_order_acquire))
      return make_error(error_code::kafka_storage_error, "not written: an earlier write of this partition failed");
    auto r = inner_->write();
    if (!r) {
      {
        std::lock_guard lk(progress_->mu);
        progress_->failure = r.error().message;
      }
      progress_->failed.store(true, std::memory_order_release);
    }
    return r;
  }

  bool absorb(write_body& next) override {
    auto* n = dynamic_cast<checked_write*>(&next);
    return n != nullptr && n->progress_ == progress_ && inner_->absorb(*n->inner_);
  }

 private:
  std::unique_ptr<write_body> inner_;
  std::shared_ptr<write_progress> progress_;
};

partition_log::~partition_log() {
  {
    std::lock_guard lk(lifetime_->mu);
    lifetime_->alive = false;
  }
  if (!progress_) return;
  // Queued writes keep their descriptors alive, but their completions must find no log.
  if (writes_pending()) (void)drain();
  progress_->owner = nullptr;
  for (auto& [offset, done] : write_waiters_) done(error_code::kafka_storage_error);
}

void partition_log::set_write_behind(write_behind* writer, std::function<void()> on_written) {
  writer_ = writer;
  on_written_ = std::move(on_written);
  if (!progress_) {
    progress_ = std::make_shared<write_progress>();
    progress_->owner = this;
  }
}

void partition_log::when_written(std::int64_t offset, std::function<void(error_code)> done) {
  if (!offline_.empty()) return done(error_code::kafka_storage_error);
  if (offset < high_watermark()) return done(error_code::none);
  write_waiters_.emplace(offset, std::move(done));
}

void partition_log::on_write_done(std::uint64_t ticket, std::int64_t end_offset, std::uint64_t end_position,
                                  const result<void>& r) {
  if (ticket <= progress_->applied_ticket) return;  // already applied by drain()
  progress_->applied_ticket = ticket;
  if (!offline_.empty()) return;
  if (!r) return go_offline(r.error().message);
  high_watermark_ = end_offset;
  active().mark_written(end_position);
  while (!write_waiters_.empty() && write_waiters_.begin()->first < high_watermark_) {
    auto done = std::move(write_waiters_.begin()->second);
    write_waiters_.erase(write_waiters_.begin());
    done(error_code::none);
  }
  if (on_written_) on_written_();
}

void partition_log::go_offline(const std::string& why) {
  offline_ = fmt::format("{}-{} is offline after a failed write ({}); once the disk is fixed the broker reopens it "
                         "(every log.offline.retry.ms), or restart the broker",
                         topic_, partition_, why);
  std::fprintf(stderr, "eddy log: %s\n", offline_.c_str());
  auto waiters = std::move(write_waiters_);
  write_waiters_.clear();
  for (auto& [offset, done] : waiters) done(error_code::kafka_storage_error);
}

result<void> partition_log::drain() {
  if (writes_pending()) {
    writer_->wait(last_ticket_);
    if (progress_->failed.load(std::memory_order_acquire)) {
      std::string why;
      {
        std::lock_guard lk(progress_->mu);
        why = progress_->failure;
      }
      progress_->applied_ticket = last_ticket_;
      if (offline_.empty()) go_offline(why);
    } else {
      on_write_done(last_ticket_, log_end_offset(), active().size(), result<void>{});
    }
  }
  if (!offline_.empty()) return make_error(error_code::kafka_storage_error, offline_);
  return {};
}

result<std::unique_ptr<partition_log>> partition_log::create(const fs::path& dir, std::string topic,
                                                             std::int32_t partition, const log_config& config,
                                                             flusher* f) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(error_code::kafka_storage_error, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  std::unique_ptr<partition_log> log(new partition_log(dir, std::move(topic), partition, config, f));
  auto s = segment::create(dir, 0);
  if (!s) return s.error();
  log->segments_.emplace(0, std::move(*s));
  if (auto r = sync_directory(dir); !r) return r.error();
  if (auto r = sync_directory(dir.parent_path()); !r) return r.error();
  return log;
}

result<std::unique_ptr<partition_log>> partition_log::open(const fs::path& dir, std::string topic,
                                                           std::int32_t partition, const log_config& config,
                                                           flusher* f, bool clean) {
  std::unique_ptr<partition_log> log(new partition_log(dir, std::move(topic), partition, config, f));
  if (auto r = log->load(clean); !r) return r.error();
  return log;
}

result<void> partition_log::load(bool clean) {
  std::vector<std::int64_t> bases;
  bool swapped = false;
  std::error_code ec;
  // Leftovers of an interrupted compaction swap: ".cleaned" files were never swapped in
  // and are dropped; a ".swap" .log is a finished replacement whose final rename did not
  // happen, so it is renamed into place and its indexes rebuilt.
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.ends_with(".cleaned") || name.ends_with(".tmp")) {
      fs::remove(e.path(), ec);
      continue;
    }
    if (name.ends_with(".swap")) {
      std::string final_name = name.substr(0, name.size() - 5);
      fs::rename(e.path(), dir_ / final_name, ec);
      if (ec) return make_error(error_code::kafka_storage_error, fmt::format("cannot rename {}: {}", e.path().string(), ec.message()));
      clean = false;
      swapped = true;  // a replaced segment: validate everything
      continue;
    }
  }
  if (ec) return make_error(error_code::kafka_storage_error, fmt::format("cannot list {}: {}", dir_.string(), ec.message()));
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (auto b = segment_base_of(e.path().filename().string(), ".log")) bases.push_back(*b);
  std::sort(bases.begin(), bases.end());

  std::int64_t persisted_start = -1;
  if (fs::exists(dir_ / log_start_file, ec)) {
    auto s = read_small_file(dir_ / log_start_file, 64);
    if (!s) return s.error();
    std::string_view v = *s;
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    if (!parse_i64(v, persisted_start) || persisted_start < 0)
      return make_error(error_code::kafka_storage_error,
                        fmt::format("{} is corrupt ('{}'); delete it to fall back to the first segment's offset",
                                    (dir_ / log_start_file).string(), v));
  }

  bool loaded = false;
  if (clean && !bases.empty()) {
    loaded = true;
    for (auto b : bases) {
      auto s = segment::open_clean(dir_, b);
      if (!s) {
        std::fprintf(stderr, "eddy log: %s; recovering %s\n", s.error().message.c_str(), dir_.string().c_str());
        loaded = false;
        break;
      }
      segments_.emplace(b, std::move(*s));
    }
    if (loaded) {
      for (auto& [b, s] : segments_)
        for (const auto& e : s->txn_index().entries()) aborted_.push_back(e);
      if (!load_txn_snapshot()) loaded = false;
    }
    if (!loaded) {
      segments_.clear();
      aborted_.clear();
      ongoing_.clear();
    }
  }
  if (!loaded && !bases.empty() && !swapped) {
    auto r = load_from_recovery_point(bases);
    if (!r) return r.error();
    loaded = *r;
  }
  if (!loaded && !bases.empty()) {
    if (auto r = recover_segments(bases, 0, 0); !r) return r;
  }
  fs::remove(dir_ / txn_snapshot_file, ec);  // only valid for the clean start that follows its close
  if (segments_.empty()) {
    std::int64_t base = std::max<std::int64_t>(0, persisted_start);
    auto s = segment::create(dir_, base);
    if (!s) return s.error();
    segments_.emplace(base, std::move(*s));
    dir_dirty_ = true;
  }
  log_start_offset_ = std::max(segments_.begin()->first, persisted_start);
  log_start_offset_ = std::min(log_start_offset_, log_end_offset());
  // segment.ms counts from the first batch's timestamp of the active segment, as in Kafka.
  active_roll_base_ms_ = active().first_batch_timestamp();
  return {};
}

bool partition_log::load_txn_snapshot() {
  auto s = read_small_file(dir_ / txn_snapshot_file, 64 << 20);
  if (!s) return false;
  std::int64_t end_offset = -1;
  std::map<std::int64_t, std::int64_t> ongoing;
  if (!decode_txn_state(*s, "eddy-txn-snapshot 1", end_offset, ongoing) || end_offset != log_end_offset()) return false;
  ongoing_ = std::move(ongoing);
  return true;
}

result<bool> partition_log::load_from_recovery_point(const std::vector<std::int64_t>& bases) {
  std::error_code ec;
  if (!fs::exists(dir_ / recovery_point_file, ec)) return false;
  auto text = read_small_file(dir_ / recovery_point_file, 64 << 20);
  std::int64_t point = -1;
  std::map<std::int64_t, std::int64_t> ongoing;
  if (!text || !decode_txn_state(*text, "eddy-recovery-point 1", point, ongoing)) return false;
  auto at = std::find(bases.begin(), bases.end(), point);
  if (at == bases.end()) return false;  // no segment starts there: stale or foreign
  std::size_t first_unflushed = std::size_t(at - bases.begin());
  std::int64_t next = 0;
  for (std::size_t i = 0; i < first_unflushed; ++i) {
    auto s = segment::open_clean(dir_, bases[i]);
    if (!s || (*s)->base_offset() < next || (*s)->next_offset() > point) {
      segments_.clear();
      aborted_.clear();
      return false;
    }
    next = (*s)->next_offset();
    for (const auto& e : (*s)->txn_index().entries()) aborted_.push_back(e);
    segments_.emplace(bases[i], std::move(*s));
  }
  ongoing_ = std::move(ongoing);
  if (auto r = recover_segments(bases, first_unflushed, point); !r) return r.error();
  return true;
}

void partition_log::checkpoint_after_roll(const segment& sealed, std::int64_t new_base) {
  flusher::request r;
  r.files = sealed.files();
  r.directories.push_back(dir_);  // the new segment's entry
  r.done = [target = lifetime_, path = dir_ / recovery_point_file,
            text = encode_txn_state("eddy-recovery-point 1", new_base, ongoing_)](error_code e) {
    if (e != error_code::none) return;  // not durable: keep the older point
    std::lock_guard lk(target->mu);
    // A failure only means a longer recovery after a crash.
    if (target->alive) (void)write_file_atomic(path, text);
  };
  submit_sync(std::move(r));
}

std::optional<aborted_txn> partition_log::track_transaction(const batch_info& b) {
  if (b.producer_id < 0) return std::nullopt;
  if (b.is_control()) {
    auto it = ongoing_.find(b.producer_id);
    if (it == ongoing_.end()) return std::nullopt;  // marker for a transaction with no data here
    std::int64_t first = it->second;
    ongoing_.erase(it);
    if (b.control_type != 0) return std::nullopt;  // commit (or unreadable: treat as ended)
    std::int64_t lso = b.last_offset + 1;
    for (auto& [pid, f] : ongoing_) lso = std::min(lso, f);
    return aborted_txn{b.producer_id, first, b.last_offset, lso};
  }
  if (b.is_transactional()) ongoing_.try_emplace(b.producer_id, b.base_offset);
  return std::nullopt;
}

result<void> partition_log::recover_segments(const std::vector<std::int64_t>& bases, std::size_t from,
                                             std::int64_t next) {
  std::error_code ec;
  bool cut = false;
  for (std::size_t i = from; i < bases.size(); ++i) {
    std::int64_t base = bases[i];
    if (cut || base < next) {
      // Everything after a truncation point goes: offsets must stay contiguous with what
      // survived (Kafka does the same). A segment starting below the previous segment's
      // end is inconsistent and dropped as well.
      std::fprintf(stderr, "eddy log: %s: removing segment %s after the recovery point\n", dir_.string().c_str(),
                   offset_file_stem(base).c_str());
      for (auto ext : {".log", ".index", ".timeindex", ".txnindex"}) fs::remove(segment::file_path(dir_, base, ext), ec);
      continue;
    }
    std::string truncated;
    auto s = segment::recover(dir_, base, next, config_.index_interval_bytes,
                              [&](segment& seg, const batch_info& b) -> result<void> {
                                if (auto a = track_transaction(b)) {
                                  if (auto r = seg.txn_index().append(*a); !r) return r;
                                  aborted_.push_back(*a);
                                }
                                return {};
                              },
                              &truncated);
    if (!s) return s.error();
    if (!truncated.empty()) {
      std::fprintf(stderr, "eddy log: %s: truncated segment %s %s\n", dir_.string().c_str(),
                   offset_file_stem(base).c_str(), truncated.c_str());
      cut = true;
    }
    next = (*s)->next_offset();
    // An empty segment (all its records superseded by compaction) is kept, as Kafka keeps
    // it: dropping the first one would move the log start offset, and consumers reading
    // from an offset in its range would get OFFSET_OUT_OF_RANGE instead of the next batch.
    segments_.emplace(base, std::move(*s));
  }
  dir_dirty_ = true;
  return {};
}

std::int64_t partition_log::log_end_offset() const { return active().next_offset(); }

std::int64_t partition_log::last_stable_offset() const {
  std::int64_t lso = high_watermark();
  for (auto& [pid, first] : ongoing_) lso = std::min(lso, first);
  return lso;
}

std::uint64_t partition_log::size_bytes() const {
  std::uint64_t n = 0;
  for (auto& [b, s] : segments_) n += s->size();
  return n;
}

const segment* partition_log::segment_for(std::int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second.get();
}

void partition_log::mark_dirty() {
  if (!active_dirty_) {
    unsynced_.push_back(active().log_file());
    active_dirty_ = true;
  }
}

result<void> partition_log::roll(std::int64_t now_ms) {
  if (auto r = drain(); !r) return r;
  if (auto r = active().seal(); !r) return r;
  std::int64_t base = log_end_offset();
  auto s = segment::create(dir_, base);
  if (!s) return s.error();
  checkpoint_after_roll(active(), base);
  segments_.emplace(base, std::move(*s));
  active_dirty_ = false;
  dir_dirty_ = true;
  active_roll_base_ms_ = -1;
  return {};
}

result<void> partition_log::maybe_roll(std::size_t batch_size, std::int64_t last_offset_delta, std::int64_t now_ms) {
  const segment& a = active();
  if (a.empty()) return {};
  bool by_size = std::int64_t(a.size() + batch_size) > config_.segment_bytes;
  bool by_time = active_roll_base_ms_ >= 0 && now_ms - active_roll_base_ms_ >= config_.segment_ms;
  bool by_index = a.index_full(config_.segment_index_bytes);
  // Relative offsets in the indexes are u32; keep well inside.
  bool by_offset = log_end_offset() + last_offset_delta - a.base_offset() > std::int64_t(INT32_MAX);
  if (by_size || by_time || by_index || by_offset) return roll(now_ms);
  return {};
}

namespace {
std::atomic<std::uint64_t> written_now{0};
}  // namespace

std::uint64_t large_appends_written_now() { return written_now.load(std::memory_order_relaxed); }

result<append_result> partition_log::append(std::span<std::uint8_t> batch, std::int64_t now_ms,
                                            std::shared_ptr<const void> keepalive, bool write_now) {
  if (batch.size() < record::batch_header_size)
    return make_error(error_code::corrupt_message, "batch shorter than a v2 header");
  record::batch_header_view h{batch.data()};
  if (h.magic() != record::current_magic || h.total_size() != std::int64_t(batch.size()) || h.last_offset_delta() < 0)
    return make_error(error_code::corrupt_message, "not exactly one well-formed v2 batch");
  if (std::int64_t(batch.size()) > config_.max_message_bytes)
    return make_error(error_code::message_too_large,
                      fmt::format("batch of {} bytes is larger than max.message.bytes={}", batch.size(),
                                  config_.max_message_bytes));
  if (closed_) return make_error(error_code::kafka_storage_error, "log is closed");
  if (!offline_.empty()) return make_error(error_code::kafka_storage_error, offline_);
  if (auto r = maybe_roll(batch.size(), h.last_offset_delta(), now_ms); !r) return r.error();

  append_result out;
  out.base_offset = log_end_offset();
  out.last_offset = out.base_offset + h.last_offset_delta();
  record::set_base_offset(batch.data(), out.base_offset);
  if (config_.log_append_time) {
    // The broker's clock replaces the producer's: timestamp type bit + max_timestamp,
    // both inside the CRC, so the CRC is recomputed.
    std::int16_t attrs = std::int16_t(h.attributes() | record::attribute_bits::timestamp_type);
    record::be::store16(batch.data() + record::batch_offsets::attributes, std::uint16_t(attrs));
    record::be::store64(batch.data() + record::batch_offsets::max_timestamp, std::uint64_t(now_ms));
    std::uint32_t crc = record::crc32c(batch.data() + record::batch_offsets::attributes,
                                       batch.size() - record::batch_offsets::attributes);
    record::be::store32(batch.data() + record::batch_offsets::crc, crc);
    out.log_append_time = now_ms;
  }
  segment& a = active();
  std::uint64_t position = a.size();
  deferred_append deferred;
  deferred.all = writes_pending();
  deferred.borrow = keepalive != nullptr;
  if (!deferred.all) high_watermark_ = out.base_offset;  // all written so far
  bool defer = writer_ && (deferred.all || !write_now);
  if (auto r = a.append(batch, config_.index_interval_bytes, {config_.write_direct, config_.pagecache_window_bytes},
                        defer ? &deferred : nullptr);
      !r)
    return r.error();
  if (writer_ && !defer && batch.size() >= direct_min_bytes) written_now.fetch_add(1, std::memory_order_relaxed);
  // The stored bytes stay readable in memory while someone reads this partition: the
  // cache holds the request, as a deferred write does, or copies the batch when nothing
  // owns it. (A partition nobody fetches, a changelog for one, costs the cache nothing.)
  if (cache_) {
    if (reads_ != reads_seen_) {
      reads_seen_ = reads_;
      last_read_ms_ = now_ms;
    }
    if (now_ms - last_read_ms_ <= tail_reader_window_ms) cache_->add(out.base_offset, out.last_offset, batch, keepalive);
  }
  // Queued last: once submitted, the write may run and free `batch` at any moment.
  auto submit_deferred = [&] {
    if (!deferred.write) return;
    auto write = std::make_unique<checked_write>(std::move(deferred.write), progress_);
    // The completion holds `keepalive`: it runs (and is destroyed) on the loop after the write.
    auto done = [p = progress_, end_offset = out.last_offset + 1, end_position = a.size(), keepalive](
                    std::uint64_t ticket, const result<void>& r) {
      if (p->owner) p->owner->on_write_done(ticket, end_offset, end_position, r);
    };
    last_ticket_ = writer_->submit(a.size() - position, std::move(write), std::move(done));
  };
  if (active_roll_base_ms_ < 0) active_roll_base_ms_ = now_ms;
  mark_dirty();
  messages_since_flush_ += std::max<std::int32_t>(1, h.record_count());

  if (h.producer_id() >= 0 && (h.is_transactional() || h.is_control())) {
    batch_info b;
    b.position = position;
    b.size = std::uint32_t(batch.size());
    b.base_offset = out.base_offset;
    b.last_offset = out.last_offset;
    b.producer_id = h.producer_id();
    b.attributes = h.attributes();
    if (h.is_control()) b.control_type = control_marker_type(batch.data(), batch.size());
    if (auto ab = track_transaction(b)) {
      aborted_.push_back(*ab);
      if (auto r = a.txn_index().append(*ab); !r) {
        submit_deferred();
        return r.error();
      }
    }
  }
  submit_deferred();
  out.log_start_offset = log_start_offset_;
  return out;
}

result<read_plan> partition_log::plan_read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound,
                                           bool share, bool defer_lookup) const {
  ++reads_;  // a reader, even one waiting at the end (see the tail cache in append)
  return plan(offset, max_bytes, upper_bound, share, defer_lookup);
}

result<read_plan> partition_log::plan(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound,
                                      bool share, bool defer_lookup) const {
  if (offset < log_start_offset_ || offset > log_end_offset())
    return make_error(error_code::offset_out_of_range,
                      fmt::format("offset {} is outside [{}, {}] of {}-{}", offset, log_start_offset_, log_end_offset(),
                                  topic_, partition_));
  read_plan plan;
  upper_bound = std::min(upper_bound, high_watermark());
  if (offset >= upper_bound) return plan;
  if (cache_ && cache_->read(offset, max_bytes, upper_bound, plan.ready, share)) return plan;
  auto it = segments_.upper_bound(offset);
  if (it != segments_.begin()) --it;
  plan.offset = offset;
  plan.upper_bound = upper_bound;
  plan.name = fmt::format("{}-{}", topic_, partition_);
  if (defer_lookup && it != segments_.end()) {
    // Whether the read would go to the device, judged at the index entry (the batch is at
    // or after it): around the page cache (O_DIRECT), a small read behind the page-cache
    // window (its pages were written back and dropped), or one of a segment this run did
    // not write (see read_mode::device).
    const segment& s = *it->second;
    std::uint64_t from = s.index_position(offset);
    std::uint64_t end = s.readable_size();
    if (from < end && max_bytes > 0) {
      auto mode = s.mode_for(from, std::size_t(max_bytes));
      if (mode.device) {
        plan.needs_disk = true;
        plan.lookup = true;
        plan.ahead = ahead_;
        plan.seg = it->second;
        plan.position = from;
        plan.scan_end = end;
        plan.max_bytes = max_bytes;
        plan.mode = mode;
        return plan;
      }
    }
  }
  for (; it != segments_.end(); ++it) {
    const segment& s = *it->second;
    auto found = s.find_batch(offset);
    if (!found) return found.error();
    if (!*found) continue;
    const batch_info& first = **found;
    if (first.base_offset >= upper_bound) return plan;
    // One read of up to max_bytes (at least the first batch), trimmed afterwards to whole
    // batches below the upper bound (read_planned).
    std::uint64_t want = std::max<std::uint64_t>(first.size, std::uint64_t(std::max(0, max_bytes)));
    want = std::min<std::uint64_t>(want, s.readable_size() - first.position);
    plan.needs_disk = true;
    plan.seg = it->second;
    plan.position = first.position;
    plan.length = std::size_t(want);
    plan.mode = s.mode_for(first.position, plan.length);
    plan.first_offset = first.base_offset;
    return plan;
  }
  return plan;
}

namespace {

// A deferred lookup reads this much beyond max_bytes from the index entry, so that the
// batch holding the offset (usually within index.interval.bytes of the entry) and what
// follows it come in the same read.
constexpr std::size_t lookup_slack = 64 * 1024;

// In `buf` (read from a batch boundary), the position of the first batch whose last
// offset is >= `offset`; nullopt when the batches in `buf` end before it, with `*end` the
// position after the last whole batch walked.
std::optional<std::size_t> find_in_buffer(std::span<const std::uint8_t> buf, std::int64_t offset, std::size_t* end) {
  std::size_t p = 0;
  while (p + record::batch_header_size <= buf.size()) {
    record::batch_header_view h{buf.data() + p};
    std::int64_t total = h.total_size();
    if (h.last_offset() >= offset) return p;
    if (total < std::int64_t(record::batch_header_size) || p + std::uint64_t(total) > buf.size()) break;
    p += std::size_t(total);
  }
  *end = p;
  return std::nullopt;
}

}  // namespace

namespace {
std::atomic<std::size_t> read_ahead_held{0};
}  // namespace

read_ahead::~read_ahead() {
  std::lock_guard lk(mu_);
  for (auto& s : slots_) clear(s);
}

void read_ahead::clear(slot& s) {
  read_ahead_held -= s.data.bytes.size();
  s.seg.reset();
  s.data = {};
}

read_ahead::slot& read_ahead::victim_locked() {
  slot* v = &slots_[0];
  for (auto& s : slots_) {
    if (!s.seg) return s;
    if (s.filled < v->filled) v = &s;
  }
  return *v;
}

std::size_t read_ahead::held_bytes() { return read_ahead_held.load(); }

void read_ahead::fill(const std::shared_ptr<const segment>& seg, std::uint64_t pos, std::size_t len,
                      segment::read_mode mode) {
  {
    std::lock_guard lk(mu_);
    for (const auto& s : slots_) {
      if (s.seg == seg && s.pos == pos) return;  // read ahead already
    }
    clear(victim_locked());
    if (read_ahead_held.load() + len > budget_bytes) return;
    read_ahead_held += len;  // reserved while reading
  }
  auto r = seg->read_shared(pos, len, mode);
  std::lock_guard lk(mu_);
  read_ahead_held -= len;
  if (!r || r->bytes.size() < record::batch_header_size) return;
  slot& s = victim_locked();
  clear(s);
  s.seg = seg;
  s.pos = pos;
  s.data = std::move(*r);
  s.filled = ++fills_;
  read_ahead_held += s.data.bytes.size();
}

std::optional<std::pair<std::uint64_t, shared_bytes>> read_ahead::take(const std::shared_ptr<const segment>& seg,
                                                                       std::int64_t offset) {
  std::lock_guard lk(mu_);
  for (auto& s : slots_) {
    if (s.seg != seg || s.data.bytes.size() < record::batch_header_size) continue;
    record::batch_header_view h{s.data.bytes.data()};
    if (h.base_offset() > offset || h.last_offset() < offset) continue;
    std::pair<std::uint64_t, shared_bytes> out{s.pos, std::move(s.data)};
    read_ahead_held -= out.second.bytes.size();
    s.data = {};
    s.seg.reset();
    return out;
  }
  return std::nullopt;
}

std::function<void()> partition_log::read_ahead_after(const read_plan& plan, const read_result& r) {
  if (!plan.mode.direct || !plan.seg || !plan.ahead) return {};
  std::uint64_t end = plan.seg->readable_size();
  std::uint64_t from = r.end_position;
  if (from >= end) return {};
  std::size_t len = std::size_t(std::min<std::uint64_t>(end - from, std::uint64_t(std::max(plan.max_bytes, 0))));
  auto mode = plan.seg->mode_for(from, len);  // on the loop: it reads what appends change
  if (len < direct_min_bytes || !mode.direct) return {};
  return [a = plan.ahead, seg = plan.seg, from, len, mode] { a->fill(seg, from, len, mode); };
}

result<read_result> partition_log::read_planned(const read_plan& plan, bool share) {
  if (!plan.needs_disk) return plan.ready;
  std::int64_t first_offset = plan.first_offset;
  shared_bytes got;
  std::uint64_t got_position = plan.position;  // where in the segment got.bytes start
  std::optional<std::pair<std::uint64_t, shared_bytes>> ahead;
  if (plan.lookup && plan.ahead) ahead = plan.ahead->take(plan.seg, plan.offset);
  if (ahead && record::batch_header_view{ahead->second.bytes.data()}.total_size() >
                   std::int64_t(ahead->second.bytes.size()))
    ahead.reset();  // its first batch is cut: read it from the device
  if (ahead) {
    // Read ahead after the consumer's last fetch: its first batch holds the offset.
    record::batch_header_view h{ahead->second.bytes.data()};
    first_offset = h.base_offset();
    if (first_offset >= plan.upper_bound) return read_result{};
    std::uint64_t length = std::min<std::uint64_t>(
        std::max<std::uint64_t>(std::uint64_t(std::max<std::int64_t>(h.total_size(), 0)),
                                std::uint64_t(std::max(0, plan.max_bytes))),
        plan.scan_end > ahead->first ? plan.scan_end - ahead->first : 0);
    got = std::move(ahead->second);
    got.bytes = got.bytes.first(std::size_t(std::min<std::uint64_t>(length, got.bytes.size())));
    got_position = ahead->first;
  } else if (!plan.lookup) {
    auto r = plan.seg->read_shared(plan.position, plan.length, plan.mode);
    if (!r) return r.error();
    got = std::move(*r);
  } else {
    // One read from the index entry finds the batch in memory instead of walking headers
    // in the file (which would fill the page cache with what O_DIRECT reads avoid).
    const segment& seg = *plan.seg;
    std::size_t want = std::size_t(std::min<std::uint64_t>(plan.scan_end - plan.position,
                                                           std::uint64_t(std::max(0, plan.max_bytes)) + lookup_slack));
    auto r = seg.read_shared(plan.position, want, plan.mode);
    if (!r) return r.error();
    std::size_t walked = 0;
    auto at = find_in_buffer(r->bytes, plan.offset, &walked);
    std::uint64_t first_pos = 0;
    std::uint64_t first_size = 0;
    read_result none;
    if (at) {
      record::batch_header_view h{r->bytes.data() + *at};
      first_pos = plan.position + *at;
      first_size = std::uint64_t(std::max<std::int64_t>(h.total_size(), 0));
      first_offset = h.base_offset();
    } else if (plan.position + walked >= plan.scan_end) {
      none.not_in_segment = true;
      return none;
    } else {
      // The batch is further than the read reached (or a header is cut): walk the file.
      auto found = seg.find_batch(plan.offset, plan.position + walked, plan.scan_end);
      if (!found) return found.error();
      if (!*found) {
        none.not_in_segment = true;
        return none;
      }
      first_pos = (*found)->position;
      first_size = (*found)->size;
      first_offset = (*found)->base_offset;
    }
    if (first_offset >= plan.upper_bound) return none;
    // What read() would read: max(first batch, max_bytes) from the batch, within the segment.
    std::size_t length = std::size_t(std::min<std::uint64_t>(
        std::max<std::uint64_t>(first_size, std::uint64_t(std::max(0, plan.max_bytes))), plan.scan_end - first_pos));
    std::uint64_t have_from = plan.position, have_to = plan.position + r->bytes.size();
    if (first_pos >= have_from && first_pos + length <= have_to) {
      got.owner = std::move(r->owner);
      got.bytes = r->bytes.subspan(std::size_t(first_pos - have_from), length);
    } else {
      auto again = seg.read_shared(first_pos, length, plan.mode);
      if (!again) return again.error();
      got = std::move(*again);
    }
    got_position = first_pos;
  }
  std::span<const std::uint8_t> buf = got.bytes;
  std::size_t keep = 0;
  std::int64_t next = plan.offset;
  while (keep + record::batch_header_size <= buf.size()) {
    record::batch_header_view h{buf.data() + keep};
    std::int64_t total = h.total_size();
    if (total < std::int64_t(record::batch_header_size) || keep + std::uint64_t(total) > buf.size()) break;
    if (h.base_offset() >= plan.upper_bound) break;
    keep += std::size_t(total);
    next = h.last_offset() + 1;
  }
  if (keep == 0)
    return make_error(error_code::corrupt_message, fmt::format("{}: unreadable batch at offset {}", plan.name, first_offset));
  read_result out;
  out.first_offset = first_offset;
  out.next_offset = next;
  out.end_position = got_position + keep;
  if (share) {
    out.pieces.push_back(buf.first(keep));
    out.owners.push_back(std::move(got.owner));
  } else {
    out.records.assign(buf.begin(), buf.begin() + std::ptrdiff_t(keep));
  }
  return out;
}

result<read_result> partition_log::read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound,
                                        bool share) const {
  auto plan = plan_read(offset, max_bytes, upper_bound, share);
  if (!plan) return plan.error();
  if (!plan->needs_disk) return std::move(plan->ready);
  return read_planned(*plan, share);
}

result<std::optional<timestamp_lookup>> partition_log::offset_for_timestamp(std::int64_t timestamp) const {
  return offset_for_timestamp_planned(plan_offset_for_timestamp(timestamp));
}

timestamp_plan partition_log::plan_offset_for_timestamp(std::int64_t timestamp) const {
  timestamp_plan p;
  p.timestamp = timestamp;
  p.log_start_offset = log_start_offset_;
  for (const auto& [base, s] : segments_) {
    if (s->max_timestamp() < timestamp || s->next_offset() <= log_start_offset_) continue;
    p.stretches.push_back({s, s->timestamp_position(timestamp), s->readable_size()});
  }
  return p;
}

result<std::optional<timestamp_lookup>> partition_log::offset_for_timestamp_planned(const timestamp_plan& p) {
  for (const auto& st : p.stretches) {
    auto f = st.seg->find_timestamp(p.timestamp, st.from, st.end, p.log_start_offset);
    if (!f) return f.error();
    if (!*f) continue;
    const batch_info& b = **f;
    // The batch's max_timestamp is >= t; the answer is its first record (at or after the
    // log start) that is. The page cache serves this one small read.
    std::int64_t from_offset = std::max(b.base_offset, p.log_start_offset);
    timestamp_lookup out{from_offset, b.max_timestamp};
    auto bytes = st.seg->read_shared(b.position, b.size, segment::read_mode{});
    if (!bytes) return bytes.error();
    if (auto reader = record::batch_reader::open(bytes->bytes)) {
      for (const auto& rec : *reader) {
        if (rec.offset >= from_offset && rec.timestamp >= p.timestamp) {
          out = {rec.offset, rec.timestamp};
          break;
        }
      }
    }
    return std::optional<timestamp_lookup>(out);
  }
  return std::optional<timestamp_lookup>();
}

result<void> partition_log::persist_log_start_offset() {
  return write_file_atomic(dir_ / log_start_file, fmt::format("{}\n", log_start_offset_));
}

result<void> partition_log::delete_oldest_segment() {
  auto it = segments_.begin();
  auto next = std::next(it);
  if (next == segments_.end()) return {};  // never the active segment
  std::int64_t new_start = next->first;
  if (auto r = it->second->remove_files(); !r) return r;
  segments_.erase(it);
  dir_dirty_ = true;
  if (new_start > log_start_offset_) log_start_offset_ = new_start;
  aborted_.erase(std::remove_if(aborted_.begin(), aborted_.end(),
                                [&](const aborted_txn& a) { return a.last_offset < log_start_offset_; }),
                 aborted_.end());
  return {};
}

result<std::int64_t> partition_log::delete_records(std::int64_t offset) {
  // Offline: its files are left alone (the log manager may be reopening them).
  if (!offline_.empty()) return make_error(error_code::kafka_storage_error, offline_);
  if (offset == -1) offset = high_watermark();
  if (offset < 0 || offset > high_watermark())
    return make_error(error_code::offset_out_of_range,
                      fmt::format("cannot delete records of {}-{} up to {}: high watermark is {}", topic_, partition_,
                                  offset, high_watermark()));
  if (offset <= log_start_offset_) return log_start_offset_;
  log_start_offset_ = offset;
  if (cache_) cache_->drop_below(offset);
  // Whole segments below the new start go; the active segment is rolled first if all of
  // it is below (so an empty segment at the new start takes over).
  if (active().next_offset() <= offset && !active().empty())
    if (auto r = roll(0); !r) return r.error();
  if (!swapping_)  // else end_swap() deletes them
    if (auto r = delete_segments_below_start(); !r) return r.error();
  if (auto r = persist_log_start_offset(); !r) return r.error();
  return log_start_offset_;
}

result<void> partition_log::delete_segments_below_start() {
  while (segments_.size() > 1 && std::next(segments_.begin())->first <= log_start_offset_)
    if (auto r = delete_oldest_segment(); !r) return r;
  return {};
}

result<void> partition_log::end_swap() {
  swapping_ = false;
  return delete_segments_below_start();
}

std::vector<aborted_txn> partition_log::aborted_transactions(std::int64_t from_offset, std::int64_t to_offset) const {
  std::vector<aborted_txn> out;
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from_offset,
                             [](const aborted_txn& a, std::int64_t o) { return a.last_offset < o; });
  for (; it != aborted_.end(); ++it) {
    if (it->first_offset < to_offset) out.push_back(*it);
    // Every later entry starts at or after this entry's LSO (see transaction_index.h).
    if (it->last_stable_offset >= to_offset) break;
  }
  return out;
}

void partition_log::sync(std::int64_t up_to_offset, sync_callback done) {
  flusher::request r;
  r.files = std::move(unsynced_);
  unsynced_.clear();
  active_dirty_ = false;
  if (dir_dirty_) r.directories.push_back(dir_);
  dir_dirty_ = false;
  r.done = std::move(done);
  messages_since_flush_ = 0;
  submit_sync(std::move(r));
}

void partition_log::submit_sync(flusher::request r) {
  if (flusher_) return flusher_->submit(std::move(r));
  error_code ec = error_code::none;
  for (auto& f : r.files)
    if (!f->sync()) ec = error_code::kafka_storage_error;
  for (auto& d : r.directories)
    if (!sync_directory(d)) ec = error_code::kafka_storage_error;
  if (r.done) r.done(ec);
}

result<void> partition_log::apply_retention(std::int64_t now_ms) {
  if (!config_.cleanup_delete || swapping_) return {};
  if (config_.retention_ms >= 0) {
    std::int64_t limit = now_ms - config_.retention_ms;
    while (true) {
      if (segments_.size() == 1) {
        // Everything expired including the active segment: roll so it can go too (as Kafka).
        if (active().empty() || active().max_timestamp() >= limit) break;
        if (auto r = roll(now_ms); !r) return r;
      }
      if (segments_.begin()->second->max_timestamp() >= limit) break;
      if (auto r = delete_oldest_segment(); !r) return r;
    }
  }
  if (config_.retention_bytes >= 0) {
    std::int64_t excess = std::int64_t(size_bytes()) - config_.retention_bytes;
    while (segments_.size() > 1 && excess - std::int64_t(segments_.begin()->second->size()) >= 0) {
      excess -= std::int64_t(segments_.begin()->second->size());
      if (auto r = delete_oldest_segment(); !r) return r;
    }
  }
  return {};
}

result<void> partition_log::tick(std::int64_t now_ms, bool retention) {
  if (retention) {
    if (auto r = apply_retention(now_ms); !r) return r;
  }
  if (cache_) cache_->drop_below(log_start_offset_);
  if (last_flush_ms_ < 0) last_flush_ms_ = now_ms;
  bool by_count = messages_since_flush_ >= config_.flush_messages;
  bool by_time = config_.flush_ms != never && now_ms - last_flush_ms_ >= config_.flush_ms && !unsynced_.empty();
  if (by_count || by_time) {
    last_flush_ms_ = now_ms;
    sync(log_end_offset(), nullptr);
  }
  return {};
}

result<void> partition_log::close() {
  if (closed_) return {};
  if (cache_) cache_->clear();
  if (auto r = drain(); !r) {
    // Offline: keep only what was written, and no clean-shutdown promise (the caller
    // leaves out the marker, so the next start recovers this log from disk).
    (void)active().log_file()->truncate(active().readable_size());
    closed_ = true;
    return r;
  }
  if (auto r = active().seal(); !r) return r;
  for (auto& [b, s] : segments_)
    if (auto r = s->sync_all(); !r) return r;
  if (auto r = write_file_atomic(dir_ / txn_snapshot_file, encode_txn_state("eddy-txn-snapshot 1", log_end_offset(), ongoing_));
      !r)
    return r;
  closed_ = true;
  return {};
}

void partition_log::replace_segments(std::int64_t base, std::shared_ptr<segment> replacement,
                                     const std::vector<std::int64_t>& merged) {
  segments_[base] = std::move(replacement);
  for (auto m : merged) segments_.erase(m);
  // Cached batches of the rewritten range are no longer what the disk holds (records and
  // whole aborted transactions were removed): from now on those offsets are read from
  // the segments.
  if (cache_) {
    auto next = segments_.upper_bound(base);
    cache_->drop_below(next == segments_.end() ? log_end_offset() : next->first);
  }
}

result<void> partition_log::for_each_batch_header(std::int64_t offset,
                                                 const std::function<void(const batch_info&)>& fn) const {
  const segment* first = segment_for(std::max(offset, log_start_offset_));
  if (first == nullptr) return {};
  for (auto it = segments_.find(first->base_offset()); it != segments_.end(); ++it) {
    const segment& s = *it->second;
    std::uint64_t pos = 0;
    if (&s == first) {
      auto f = s.find_batch(offset);
      if (!f) return f.error();
      if (!*f) continue;
      pos = (*f)->position;
    }
    if (auto r = s.for_each_batch(pos, [&](const batch_info& b) {
          fn(b);
          return true;
        });
        !r)
      return r;
  }
  return {};
}

result<std::optional<stored_batch>> batch_iterator::next() {
  const auto& segs = log_->segments();
  while (true) {
    auto it = segs.find(segment_base_);
    if (it == segs.end()) {
      // First call, or our segment went away: find our place by offset.
      const segment* s = log_->segment_for(std::max(next_offset_, log_->log_start_offset()));
      if (!s) return std::optional<stored_batch>();
      auto f = s->find_batch(next_offset_);
      if (!f) return f.error();
      segment_base_ = s->base_offset();
      position_ = *f ? (*f)->position : s->readable_size();
      it = segs.find(segment_base_);
    }
    const segment& s = *it->second;
    if (position_ >= s.readable_size()) {
      auto nx = std::next(it);
      if (nx == segs.end()) return std::optional<stored_batch>();
      segment_base_ = nx->first;
      position_ = 0;
      continue;
    }
    std::optional<batch_info> got;
    auto r = s.for_each_batch(position_, [&](const batch_info& b) {
      got = b;
      return false;
    });
    if (!r) return r.error();
    if (!got) {
      position_ = s.readable_size();
      continue;
    }
    auto bytes = s.read_bytes(got->position, got->size);
    if (!bytes) return bytes.error();
    position_ = got->position + got->size;
    next_offset_ = got->last_offset + 1;
    stored_batch sb{*got, std::move(*bytes)};
    return std::optional<stored_batch>(std::move(sb));
  }
}

}  // namespace eddy::broker::log
