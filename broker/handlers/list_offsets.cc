// ListOffsets: -2 = earliest (log start offset), -1 = latest (high watermark, or the last
// stable offset for read_committed), otherwise the first offset whose record timestamp is
// >= the given one (found by the time index, then refined within the batch).
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/list_offsets.h"
#include "core/record/batch_reader.h"

namespace eddy::broker::handlers {

namespace {

using protocol::error_code;

// Refines a batch-level timestamp lookup to the first record with timestamp >= ts.
std::pair<std::int64_t, std::int64_t> exact_offset_for_timestamp(log::partition_log& pl, std::int64_t batch_offset,
                                                                 std::int64_t ts, std::int64_t fallback_ts) {
  auto r = pl.look_up(batch_offset, 1, pl.high_watermark());
  if (r && !r->records.empty()) {
    record::batch_splitter split(record::byte_span(r->records.data(), r->records.size()));
    record::byte_span batch;
    while (split.next(batch)) {
      auto reader = record::batch_reader::open(batch);
      if (!reader) break;
      for (const auto& rec : *reader) {
        if (rec.offset >= batch_offset && rec.timestamp >= ts) return {rec.offset, rec.timestamp};
      }
    }
  }
  return {batch_offset, fallback_ts};
}

}  // namespace

void handle_list_offsets(request_ptr ctx) {
  auto req = ctx->decode<protocol::list_offsets_request>();
  broker& b = ctx->owner();
  protocol::list_offsets_response resp;
  for (const auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      log::partition_log* pl = b.logs().partition(t.name, p.partition_index);
      if (pl == nullptr) {
        pr.error_code = code(error_code::unknown_topic_or_partition);
        continue;
      }
      std::int64_t offset = -1;
      std::int64_t ts = -1;
      if (p.timestamp == -1) {
        offset = req.isolation_level == 1 ? pl->last_stable_offset() : pl->high_watermark();
      } else if (p.timestamp == -2) {
        offset = pl->log_start_offset();
      } else if (p.timestamp < 0) {
        pr.error_code = code(error_code::unsupported_version);
        continue;
      } else {
        auto r = pl->offset_for_timestamp(p.timestamp);
        if (!r) {
          pr.error_code = code(r.error().code);
          continue;
        }
        if (r->has_value()) {
          auto [o, t2] = exact_offset_for_timestamp(*pl, (*r)->offset, p.timestamp, (*r)->timestamp);
          offset = o;
          ts = t2;
          std::int64_t bound = req.isolation_level == 1 ? pl->last_stable_offset() : pl->high_watermark();
          if (offset >= bound) offset = -1, ts = -1;
        }
      }
      pr.offset = offset;
      pr.timestamp = ts;
      pr.leader_epoch = 0;
      if (ctx->version() == 0) {
        if (offset >= 0) pr.old_style_offsets.push_back(offset);
      }
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
