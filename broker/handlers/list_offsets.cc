// ListOffsets: -2 = earliest (log start offset), -1 = latest (high watermark, or the last
// stable offset for read_committed), otherwise the first offset whose record timestamp is
// >= the given one. A lookup by timestamp walks batch headers from the time index's entry
// and reads the batch it finds: planned on the event loop, done on the log's reader thread
// (as fetch reads are), so a lookup in old segments does not hold up other clients; the
// answer is bounded by the high watermark (or LSO) when it comes back to the loop. When
// the log start moved past the record found while the lookup ran (retention, DeleteRecords),
// that partition is looked up again from the new log start (a few times at most).
#include <memory>

#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/list_offsets.h"

namespace eddy::broker::handlers {

namespace {

using protocol::error_code;

// A partition answered by timestamp: its place in the response and its planned lookup.
struct by_time {
  std::size_t topic_index, partition_index;
  log::timestamp_plan plan;
  bool answered = false;
  log::result<std::optional<log::timestamp_lookup>> found = std::optional<log::timestamp_lookup>{};
};

struct job {
  protocol::list_offsets_response resp;
  std::vector<by_time> lookups;
  bool read_committed = false;
  int rounds = 0;  // lookups run so far
};

// Looks up (on the calling thread) what is not answered yet.
void run_lookups(job& j) {
  for (auto& l : j.lookups) {
    if (!l.answered) l.found = log::partition_log::offset_for_timestamp_planned(l.plan);
  }
}

constexpr int max_rounds = 4;

void set_offset(protocol::list_offsets_response::list_offsets_topic_response::list_offsets_partition_response& pr,
                std::int64_t offset, std::int64_t ts, std::int16_t version) {
  pr.offset = offset;
  pr.timestamp = ts;
  pr.leader_epoch = 0;
  if (version == 0 && offset >= 0) pr.old_style_offsets.push_back(offset);
}

void submit_lookups(broker& b, const request_ptr& ctx, std::shared_ptr<job> j);

// On the loop, once the lookups ran: bound each by the partition as it is now. A record
// found below the log start as it is now (it moved meanwhile) is looked for again.
void finish(broker& b, const request_ptr& ctx, const std::shared_ptr<job>& j) {
  ++j->rounds;
  bool again = false;
  for (auto& l : j->lookups) {
    if (l.answered) continue;
    auto& tr = j->resp.topics[l.topic_index];
    auto& pr = tr.partitions[l.partition_index];
    if (!l.found) {
      pr.error_code = code(l.found.error().code);
      l.answered = true;
      continue;
    }
    log::partition_log* pl = b.logs().partition(tr.name, pr.partition_index);
    if (pl == nullptr) {
      pr.error_code = code(error_code::unknown_topic_or_partition);
      l.answered = true;
      continue;
    }
    const auto& r = *l.found;
    if (r.has_value() && r->offset < pl->log_start_offset() && j->rounds < max_rounds) {
      l.plan = pl->plan_offset_for_timestamp(l.plan.timestamp);
      again = true;
      continue;
    }
    std::int64_t offset = -1, ts = -1;
    std::int64_t bound = j->read_committed ? pl->last_stable_offset() : pl->high_watermark();
    if (r.has_value() && r->offset < bound && r->offset >= pl->log_start_offset()) {
      offset = r->offset;
      ts = r->timestamp;
    }
    set_offset(pr, offset, ts, ctx->version());
    l.answered = true;
  }
  if (again) return submit_lookups(b, ctx, j);
  ctx->respond(j->resp);
}

// Runs the lookups on the log's reader thread (inline without one), then finish().
void submit_lookups(broker& b, const request_ptr& ctx, std::shared_ptr<job> j) {
  log::background_worker* reader = b.logs().reader();
  if (reader == nullptr) {
    run_lookups(*j);
    return finish(b, ctx, j);
  }
  reader->submit([&b, ctx, j]() -> std::function<void()> {
    run_lookups(*j);
    return [&b, ctx, j] { finish(b, ctx, j); };
  });
}

}  // namespace

void handle_list_offsets(request_ptr ctx) {
  auto req = ctx->decode<protocol::list_offsets_request>();
  broker& b = ctx->owner();
  auto j = std::make_shared<job>();
  for (const auto& t : req.topics) {
    auto& tr = j->resp.topics.emplace_back();
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      log::partition_log* pl = b.logs().partition(t.name, p.partition_index);
      if (pl == nullptr) {
        pr.error_code = code(error_code::unknown_topic_or_partition);
        continue;
      }
      if (p.timestamp == -1) {
        set_offset(pr, req.isolation_level == 1 ? pl->last_stable_offset() : pl->high_watermark(), -1, ctx->version());
      } else if (p.timestamp == -2) {
        set_offset(pr, pl->log_start_offset(), -1, ctx->version());
      } else if (p.timestamp < 0) {
        pr.error_code = code(error_code::unsupported_version);
      } else {
        auto& l = j->lookups.emplace_back();
        l.topic_index = j->resp.topics.size() - 1;
        l.partition_index = tr.partitions.size() - 1;
        l.plan = pl->plan_offset_for_timestamp(p.timestamp);
      }
    }
  }
  j->read_committed = req.isolation_level == 1;
  if (j->lookups.empty()) return ctx->respond(j->resp);
  submit_lookups(b, ctx, j);
}

}  // namespace eddy::broker::handlers
