// ListOffsets: -2 = earliest (log start offset), -1 = latest (high watermark, or the last
// stable offset for read_committed), otherwise the first offset whose record timestamp is
// >= the given one. A lookup by timestamp walks batch headers from the time index's entry
// and reads the batch it finds: planned on the event loop, done on the log's reader thread
// (as fetch reads are), so a lookup in old segments does not hold up other clients; the
// answer is bounded by the high watermark (or LSO) when it comes back to the loop.
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
};

struct job {
  protocol::list_offsets_response resp;
  std::vector<by_time> lookups;
  std::vector<log::result<std::optional<log::timestamp_lookup>>> found;
};

void set_offset(protocol::list_offsets_response::list_offsets_topic_response::list_offsets_partition_response& pr,
                std::int64_t offset, std::int64_t ts, std::int16_t version) {
  pr.offset = offset;
  pr.timestamp = ts;
  pr.leader_epoch = 0;
  if (version == 0 && offset >= 0) pr.old_style_offsets.push_back(offset);
}

// On the loop, once the lookups ran: bound each by the partition as it is now.
void finish(broker& b, const request_ptr& ctx, bool read_committed, job& j) {
  for (std::size_t i = 0; i < j.lookups.size(); ++i) {
    auto& tr = j.resp.topics[j.lookups[i].topic_index];
    auto& pr = tr.partitions[j.lookups[i].partition_index];
    auto& r = j.found[i];
    if (!r) {
      pr.error_code = code(r.error().code);
      continue;
    }
    log::partition_log* pl = b.logs().partition(tr.name, pr.partition_index);
    if (pl == nullptr) {
      pr.error_code = code(error_code::unknown_topic_or_partition);
      continue;
    }
    std::int64_t offset = -1, ts = -1;
    std::int64_t bound = read_committed ? pl->last_stable_offset() : pl->high_watermark();
    if (r->has_value() && (*r)->offset < bound && (*r)->offset >= pl->log_start_offset()) {
      offset = (*r)->offset;
      ts = (*r)->timestamp;
    }
    set_offset(pr, offset, ts, ctx->version());
  }
  ctx->respond(j.resp);
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
        j->lookups.push_back({j->resp.topics.size() - 1, tr.partitions.size() - 1,
                              pl->plan_offset_for_timestamp(p.timestamp)});
      }
    }
  }
  bool read_committed = req.isolation_level == 1;
  auto run = [j] {
    for (const auto& l : j->lookups) j->found.push_back(log::partition_log::offset_for_timestamp_planned(l.plan));
  };
  log::background_worker* reader = b.logs().reader();
  if (j->lookups.empty() || reader == nullptr) {
    run();
    return finish(b, ctx, read_committed, *j);
  }
  reader->submit([&b, ctx, j, run, read_committed]() -> std::function<void()> {
    run();
    return [&b, ctx, j, read_committed] { finish(b, ctx, read_committed, *j); };
  });
}

}  // namespace eddy::broker::handlers
