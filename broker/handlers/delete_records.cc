// DeleteRecords: per partition, moves the log start offset up to `offset` (-1: the high
// watermark) and answers the new low watermark; whole segments below it are deleted, and
// consumers asking for an offset below it get OFFSET_OUT_OF_RANGE. An offset below the
// log start changes nothing (the current low watermark is answered); one beyond the high
// watermark gets OFFSET_OUT_OF_RANGE; an unknown topic or partition
// UNKNOWN_TOPIC_OR_PARTITION. The timeout is for replication, which a single node does
// not wait for.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/delete_records.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_delete_records(request_ptr ctx) {
  auto req = ctx->decode<protocol::delete_records_request>();
  broker& b = ctx->owner();
  protocol::delete_records_response resp;
  for (const auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      pr.low_watermark = -1;
      auto* pl = b.logs().partition(t.name, p.partition_index);
      if (pl == nullptr) {
        pr.error_code = code(error_code::unknown_topic_or_partition);
        continue;
      }
      auto r = pl->delete_records(p.offset);
      if (!r) {
        pr.error_code = code(r.error().code);
        continue;
      }
      pr.low_watermark = *r;
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
