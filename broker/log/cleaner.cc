#include "broker/log/cleaner.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "core/record/batch_builder.h"
#include "core/record/batch_reader.h"

namespace eddy::broker::log {

using protocol::error_code;

namespace {

// Bound on distinct keys held by one pass; the dirty range stops at a segment boundary
// once it is reached (the rest is handled by the next pass).
constexpr std::size_t max_keys_per_pass = 4'000'000;

struct range {
  std::vector<const segment*> segments;  // cleanable, in offset order
  std::int64_t end = 0;                  // offset after the last cleanable segment
};

range cleanable_range(const partition_log& log, std::int64_t now_ms) {
  range r;
  std::int64_t limit = std::min(log.segments().rbegin()->first, log.last_stable_offset());
  std::int64_t lag_limit = now_ms - log.config().min_compaction_lag_ms;
  for (auto it = log.segments().begin(); it != log.segments().end(); ++it) {
    auto nx = std::next(it);
    if (nx == log.segments().end()) break;  // the active segment
    const segment& s = *it->second;
    // The whole segment must be below the LSO: its end is the next segment's base.
    if (nx->first > limit) break;
    if (log.config().min_compaction_lag_ms > 0 && s.max_timestamp() > lag_limit) break;
    r.segments.push_back(&s);
    r.end = nx->first;
  }
  return r;
}

bool is_aborted(const partition_log& log, const batch_info& b) {
  if (!b.is_transactional() || b.is_control() || b.producer_id < 0) return false;
  for (const auto& a : log.all_aborted())
    if (a.producer_id == b.producer_id && a.first_offset <= b.base_offset && b.base_offset <= a.last_offset) return true;
  return false;
}

log_error record_error(const partition_log& log, const batch_info& b, const record::status& st) {
  return make_error(error_code::corrupt_message, fmt::format("{}-{}: cannot compact batch at offset {}: {}", log.topic(),
                                                             log.partition(), b.base_offset, st.reason));
}

}  // namespace

bool needs_cleaning(const partition_log& log, std::int64_t now_ms) {
  if (!log.config().cleanup_compact) return false;
  if (now_ms >= log.next_clean_expiry()) return true;
  range r = cleanable_range(log, now_ms);
  if (r.segments.empty() || r.end <= log.cleaned_up_to()) return false;
  // Kafka's min.cleanable.dirty.ratio default: rewrite the log only once at least half of
  // it is new since the last pass, so compaction costs O(data) overall, not O(data) per roll.
  std::uint64_t dirty = 0, total = 0;
  for (const segment* s : r.segments) {
    total += s->size();
    if (s->base_offset() >= log.cleaned_up_to()) dirty += s->size();
  }
  return total == 0 || dirty * 2 >= total;
}

result<clean_stats> clean_partition(partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes) {
  clean_stats stats;
  range r = cleanable_range(log, now_ms);
  if (r.segments.empty()) {
    stats.pass_completed = true;
    return stats;
  }

  // 1. Key map over the dirty part of the range.
  std::unordered_map<std::string, std::int64_t> latest;
  std::int64_t map_end = log.cleaned_up_to();
  for (const segment* s : r.segments) {
    std::int64_t seg_end = std::next(log.segments().find(s->base_offset()))->first;
    if (seg_end <= log.cleaned_up_to()) continue;
    if (latest.size() >= max_keys_per_pass) break;
    std::vector<batch_info> batches;
    if (auto e = s->for_each_batch(0, [&](const batch_info& b) {
          batches.push_back(b);
          return true;
        });
        !e)
      return e.error();
    for (const auto& b : batches) {
      if (b.is_control() || is_aborted(log, b)) continue;
      auto bytes = s->read_bytes(b.position, b.size);
      if (!bytes) return bytes.error();
      stats.bytes_read += b.size;
      auto reader = record::batch_reader::open(*bytes);
      if (!reader) return record_error(log, b, reader.error());
      for (const record::record& rec : *reader)
        if (rec.key) latest[std::string(*rec.key)] = rec.offset;
    }
    map_end = seg_end;
  }

  // 2. Rewrite the cleanable segments in order.
  const std::int64_t horizon = now_ms - log.config().delete_retention_ms;
  std::int64_t next_expiry = never;
  std::unordered_map<std::int64_t, bool> txn_data_since_marker;  // producer id -> retained data
  std::int64_t budget = budget_bytes;
  bool completed = true;
  for (const segment* s : r.segments) {
    if (budget <= 0) {
      completed = false;
      break;
    }
    std::int64_t base = s->base_offset();
    auto fresh = segment::create(log.dir(), base, ".cleaned");
    if (!fresh) return fresh.error();
    segment& out = **fresh;
    std::vector<batch_info> batches;
    if (auto e = s->for_each_batch(0, [&](const batch_info& b) {
          batches.push_back(b);
          return true;
        });
        !e)
      return e.error();
    bool changed = false;
    for (const auto& b : batches) {
      auto bytes = s->read_bytes(b.position, b.size);
      if (!bytes) return bytes.error();
      stats.bytes_read += b.size;
      if (b.is_control()) {
        bool needed = txn_data_since_marker[b.producer_id];
        txn_data_since_marker[b.producer_id] = false;
        if (!needed && b.max_timestamp < horizon) {
          changed = true;
          continue;
        }
        if (!needed) next_expiry = std::min(next_expiry, b.max_timestamp + log.config().delete_retention_ms);
        if (auto e = out.append(*bytes, log.config().index_interval_bytes); !e) return e.error();
        continue;
      }
      if (is_aborted(log, b)) {
        stats.records_removed += std::uint64_t(record::batch_header_view{bytes->data()}.record_count());
        changed = true;
        continue;
      }
      auto reader = record::batch_reader::open(*bytes);
      if (!reader) return record_error(log, b, reader.error());
      std::vector<record::record> keep;
      std::int32_t total = 0;
      for (const record::record& rec : *reader) {
        ++total;
        if (rec.key) {
          auto it = latest.find(std::string(*rec.key));
          if (it != latest.end() && it->second > rec.offset) continue;  // superseded
          if (!rec.value) {
            if (b.max_timestamp < horizon) continue;  // expired tombstone
            next_expiry = std::min(next_expiry, b.max_timestamp + log.config().delete_retention_ms);
          }
        }
        keep.push_back(rec);
      }
      stats.records_removed += std::uint64_t(total) - keep.size();
      if (keep.empty()) {
        changed = true;
        continue;
      }
      if (b.is_transactional()) txn_data_since_marker[b.producer_id] = true;
      if (std::int32_t(keep.size()) == total) {
        if (auto e = out.append(*bytes, log.config().index_interval_bytes); !e) return e.error();
        continue;
      }
      changed = true;
      record::batch_header_view h = reader->header();
      record::batch_builder builder({.codec = h.codec(),
                                     .base_offset = h.base_offset(),
                                     .partition_leader_epoch = h.partition_leader_epoch(),
                                     .producer_id = h.producer_id(),
                                     .producer_epoch = h.producer_epoch(),
                                     .base_sequence = h.base_sequence(),
                                     .transactional = h.is_transactional(),
                                     .control = false,
                                     .log_append_time = h.log_append_time()});
      for (const auto& rec : keep) {
        std::vector<record::record_header> headers(rec.headers.begin(), rec.headers.end());
        builder.add_at(rec.offset_delta, rec.timestamp, rec.key, rec.value, headers);
      }
      auto built = builder.build();
      if (!built) return record_error(log, b, built.error());
      if (auto e = out.append(*built, log.config().index_interval_bytes); !e) return e.error();
    }
    if (!changed) {
      // Nothing to drop: keep the original. (Not out.remove_files(): that would name the
      // original files, not the ".cleaned" ones.)
      for (auto ext : {".log.cleaned", ".index.cleaned", ".timeindex.cleaned", ".txnindex.cleaned"}) {
        std::error_code ec;
        std::filesystem::remove(segment::file_path(log.dir(), base, ext), ec);
      }
      budget -= std::int64_t(s->size());
      continue;
    }
    for (const auto& e : s->txn_index().entries())
      if (auto a = out.txn_index().append(e); !a) return a.error();
    if (auto e = out.seal(); !e) return e.error();
    if (auto e = out.sync_all(); !e) return e.error();
    // Swap: ".cleaned" -> ".swap" (a finished replacement), then over the originals.
    if (auto e = out.rename_files(".cleaned", ".swap"); !e) return e.error();
    if (auto e = sync_directory(log.dir()); !e) return e.error();
    if (auto e = out.rename_files(".swap", ""); !e) return e.error();
    if (auto e = sync_directory(log.dir()); !e) return e.error();
    budget -= std::int64_t(s->size());
    stats.bytes_written += out.size();
    ++stats.segments_rewritten;
    log.replace_segment(base, std::move(*fresh));  // `s` is gone from here on
  }
  if (completed) {
    log.set_cleaned_up_to(std::max(log.cleaned_up_to(), map_end));
    log.set_next_clean_expiry(next_expiry);
  }
  stats.pass_completed = completed;
  return stats;
}

}  // namespace eddy::broker::log
