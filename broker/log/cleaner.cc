#include "broker/log/cleaner.h"

#include <algorithm>
#include <filesystem>
#include <limits>
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

// Largest offset span of one merged segment (its offset index stores 32-bit relative
// offsets; Kafka keeps the same bound).
constexpr std::int64_t max_group_offset_span = std::numeric_limits<std::int32_t>::max();

struct range {
  std::vector<std::shared_ptr<segment>> segments;  // cleanable, in offset order
  std::vector<std::int64_t> ends;                  // each one's end: the next segment's base
  std::int64_t end = 0;                            // offset after the last cleanable segment
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
    r.segments.push_back(it->second);
    r.ends.push_back(nx->first);
    r.end = nx->first;
  }
  return r;
}

bool is_aborted(const clean_job& job, const batch_info& b) {
  if (!b.is_transactional() || b.is_control() || b.producer_id < 0) return false;
  for (const auto& a : job.aborted)
    if (a.producer_id == b.producer_id && a.first_offset <= b.base_offset && b.base_offset <= a.last_offset) return true;
  return false;
}

// The headers of every batch of a closed segment, in order.
result<std::vector<batch_info>> batches_of(const segment& s) {
  std::vector<batch_info> batches;
  if (auto e = s.for_each_batch(0, [&](const batch_info& b) {
        batches.push_back(b);
        return true;
      });
      !e)
    return e.error();
  return batches;
}

log_error record_error(const clean_job& job, const batch_info& b, const record::status& st) {
  return make_error(error_code::corrupt_message, fmt::format("{}-{}: cannot compact batch at offset {}: {}", job.topic,
                                                             job.partition, b.base_offset, st.reason));
}

void remove_cleaned_files(const std::filesystem::path& dir, std::int64_t base) {
  for (auto ext : {".log.cleaned", ".index.cleaned", ".timeindex.cleaned", ".txnindex.cleaned"}) {
    std::error_code ec;
    std::filesystem::remove(segment::file_path(dir, base, ext), ec);
  }
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
  for (const auto& s : r.segments) {
    total += s->size();
    if (s->base_offset() >= log.cleaned_up_to()) dirty += s->size();
  }
  return total == 0 || dirty * 2 >= total;
}

clean_job plan_clean(const partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes) {
  clean_job job;
  range r = cleanable_range(log, now_ms);
  job.dir = log.dir();
  job.topic = log.topic();
  job.partition = log.partition();
  job.config = log.config();
  job.aborted = log.all_aborted();
  job.segments = std::move(r.segments);
  job.ends = std::move(r.ends);
  job.cleaned_up_to = log.cleaned_up_to();
  job.now_ms = now_ms;
  job.budget_bytes = budget_bytes;
  return job;
}

result<clean_output> run_clean(const clean_job& job) {
  clean_output result;
  clean_stats& stats = result.stats;
  if (job.segments.empty()) {
    result.completed = true;
    result.map_end = job.cleaned_up_to;
    return result;
  }

  // 1. Key map over the dirty part of the range.
  std::unordered_map<std::string, std::int64_t> latest;
  std::int64_t map_end = job.cleaned_up_to;
  for (std::size_t i = 0; i < job.segments.size(); ++i) {
    const segment* s = job.segments[i].get();
    std::int64_t seg_end = job.ends[i];
    if (seg_end <= job.cleaned_up_to) continue;
    if (latest.size() >= max_keys_per_pass) break;
    auto batches = batches_of(*s);
    if (!batches) return batches.error();
    for (const auto& b : *batches) {
      if (b.is_control() || is_aborted(job, b)) continue;
      auto bytes = s->read_bytes(b.position, b.size);
      if (!bytes) return bytes.error();
      stats.bytes_read += b.size;
      auto reader = record::batch_reader::open(*bytes);
      if (!reader) return record_error(job, b, reader.error());
      for (const record::record& rec : *reader)
        if (rec.key) latest[std::string(*rec.key)] = rec.offset;
    }
    map_end = seg_end;
  }

  // 2. Rewrite the cleanable segments in order.
  const std::int64_t horizon = job.now_ms - job.config.delete_retention_ms;
  std::int64_t next_expiry = never;
  std::unordered_map<std::int64_t, bool> txn_data_since_marker;  // producer id -> retained data
  std::int64_t budget = job.budget_bytes;
  bool completed = true;
  std::size_t i = 0;
  while (i < job.segments.size()) {
    if (budget <= 0) {
      completed = false;
      break;
    }
    // A group of consecutive segments, rewritten into one: their sizes sum to at most
    // segment.bytes (Kafka's grouping), so segments that compaction has shrunk merge on
    // later passes instead of piling up (four open files each). The offset indexes hold
    // offsets relative to the base as 32 bits, which bounds a group's offset span.
    std::int64_t base = job.segments[i]->base_offset();
    std::uint64_t group_bytes = job.segments[i]->size();
    std::size_t j = i + 1;
    while (j < job.segments.size() &&
           group_bytes + job.segments[j]->size() <= std::uint64_t(std::max<std::int64_t>(job.config.segment_bytes, 0)) &&
           job.ends[j] - base <= max_group_offset_span) {
      group_bytes += job.segments[j]->size();
      ++j;
    }
    auto fresh = segment::create(job.dir, base, ".cleaned");
    if (!fresh) return fresh.error();
    segment& out = **fresh;
    bool changed = j - i > 1;  // merging is a change even when every record survives
    for (std::size_t k = i; k < j; ++k) {
      const segment* s = job.segments[k].get();
      auto batches = batches_of(*s);
      if (!batches) return batches.error();
      for (const auto& b : *batches) {
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
          if (!needed) next_expiry = std::min(next_expiry, b.max_timestamp + job.config.delete_retention_ms);
          if (auto e = out.append(*bytes, job.config.index_interval_bytes); !e) return e.error();
          continue;
        }
        if (is_aborted(job, b)) {
          stats.records_removed += std::uint64_t(record::batch_header_view{bytes->data()}.record_count());
          changed = true;
          continue;
        }
        auto reader = record::batch_reader::open(*bytes);
        if (!reader) return record_error(job, b, reader.error());
        std::vector<record::record> keep;
        std::int32_t total = 0;
        for (const record::record& rec : *reader) {
          ++total;
          if (rec.key) {
            auto it = latest.find(std::string(*rec.key));
            if (it != latest.end() && it->second > rec.offset) continue;  // superseded
            if (!rec.value) {
              if (b.max_timestamp < horizon) continue;  // expired tombstone
              next_expiry = std::min(next_expiry, b.max_timestamp + job.config.delete_retention_ms);
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
          if (auto e = out.append(*bytes, job.config.index_interval_bytes); !e) return e.error();
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
        if (!built) return record_error(job, b, built.error());
        if (auto e = out.append(*built, job.config.index_interval_bytes); !e) return e.error();
      }
      for (const auto& e : s->txn_index().entries())
        if (auto a = out.txn_index().append(e); !a) return a.error();
    }
    budget -= std::int64_t(group_bytes);
    if (!changed) {
      // Nothing to drop: keep the original. (Not out.remove_files(): that would name the
      // original files, not the ".cleaned" ones.)
      fresh->reset();
      remove_cleaned_files(job.dir, base);
      i = j;
      continue;
    }
    if (auto e = out.seal(); !e) return e.error();
    if (auto e = out.sync_all(); !e) return e.error();
    stats.bytes_written += out.size();
    result.replacements.push_back(
        {std::vector<std::shared_ptr<segment>>(job.segments.begin() + std::ptrdiff_t(i), job.segments.begin() + std::ptrdiff_t(j)),
         std::move(*fresh)});
    i = j;
  }
  result.map_end = map_end;
  result.next_expiry = next_expiry;
  result.completed = completed;
  return result;
}

swap_plan prepare_swap(partition_log& log, clean_output&& out) {
  swap_plan plan;
  plan.dir = log.dir();
  plan.completed = out.completed;
  for (auto& r : out.replacements) {
    bool still_there = std::all_of(r.originals.begin(), r.originals.end(), [&](const std::shared_ptr<segment>& o) {
      auto it = log.segments().find(o->base_offset());
      return it != log.segments().end() && it->second == o;
    });
    if (still_there) {
      plan.swaps.push_back(std::move(r));
      continue;
    }
    // Deleted (retention) or replaced meanwhile: this rewrite no longer applies.
    std::int64_t base = r.originals.front()->base_offset();
    r.fresh.reset();
    remove_cleaned_files(log.dir(), base);
    plan.completed = false;
  }
  out.replacements.clear();
  plan.rest = std::move(out);
  return plan;
}

// Three steps, each taken for every rewrite before one directory fsync (three per pass,
// not per rewrite), so that a crash at any point leaves each group either as it was or
// replaced by its rewrite once partition_log::load has run:
//   1. ".cleaned" -> ".swap": the rewrite is complete and replaces its group;
//   2. each group's other segments are deleted (at startup, a ".swap" is renamed into
//      place and full recovery drops whatever original segment starts below its end;
//      one that starts at or after it holds only records the rewrite superseded);
//   3. ".swap" over each group's first segment's files.
result<void> swap_files(const swap_plan& plan) {
  if (plan.swaps.empty()) return {};
  for (const auto& r : plan.swaps)
    if (auto e = r.fresh->rename_files(".cleaned", ".swap"); !e) return e.error();
  if (auto e = sync_directory(plan.dir); !e) return e.error();
  bool merged_any = false;
  for (const auto& r : plan.swaps)
    for (std::size_t k = 1; k < r.originals.size(); ++k) {
      if (auto e = r.originals[k]->remove_files(); !e) return e.error();
      merged_any = true;
    }
  if (merged_any)
    if (auto e = sync_directory(plan.dir); !e) return e.error();
  for (const auto& r : plan.swaps)
    if (auto e = r.fresh->rename_files(".swap", ""); !e) return e.error();
  return sync_directory(plan.dir);
}

clean_stats finish_swap(partition_log& log, swap_plan&& plan) {
  clean_output& out = plan.rest;
  for (auto& r : plan.swaps) {
    ++out.stats.segments_rewritten;
    out.stats.segments_merged += r.originals.size() - 1;
    std::vector<std::int64_t> dropped;
    for (std::size_t k = 1; k < r.originals.size(); ++k) dropped.push_back(r.originals[k]->base_offset());
    log.replace_segments(r.originals.front()->base_offset(), std::move(r.fresh), dropped);
  }
  // Only a fully applied pass records its progress; otherwise the pass is redone.
  if (plan.completed) {
    log.set_cleaned_up_to(std::max(log.cleaned_up_to(), out.map_end));
    log.set_next_clean_expiry(out.next_expiry);
  }
  out.stats.pass_completed = plan.completed;
  return out.stats;
}

result<clean_stats> apply_clean(partition_log& log, clean_output&& out) {
  swap_plan plan = prepare_swap(log, std::move(out));
  if (auto e = swap_files(plan); !e) return e.error();
  return finish_swap(log, std::move(plan));
}

background_cleaner::background_cleaner(post_fn post) : worker_("eddy-cleaner", std::move(post)) {}

void background_cleaner::submit(clean_job job, done_fn done) {
  submit_task([job = std::move(job), done = std::move(done)]() -> std::function<void()> {
    // std::function needs a copyable callable: the result travels behind a shared_ptr.
    auto out = std::make_shared<result<clean_output>>(run_clean(job));
    return [out, done] { done(std::move(*out)); };
  });
}

void background_cleaner::submit_task(task_fn task) {
  busy_ = true;
  // The completion runs only while the worker, and so this cleaner, still exists.
  worker_.submit([this, task = std::move(task)]() -> std::function<void()> {
    return [this, completion = task()] {
      busy_ = false;  // before the completion, which may submit the next step
      completion();
    };
  });
}

result<clean_stats> clean_partition(partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes) {
  auto out = run_clean(plan_clean(log, now_ms, budget_bytes));
  if (!out) return out.error();
  return apply_clean(log, std::move(*out));
}

}  // namespace eddy::broker::log
