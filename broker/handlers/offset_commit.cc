// OffsetCommit: validated against the group's generation, then persisted (synced) before
// the answer.
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/offset_commit.h"

namespace eddy::broker::handlers {

using protocol::error_code;

namespace {
constexpr std::size_t max_metadata_bytes = 4096;  // offset.metadata.max.bytes
}

void handle_offset_commit(request_ptr ctx) {
  auto req = ctx->decode<protocol::offset_commit_request>();
  broker& b = ctx->owner();
  auto& eos = b.eos();
  // v0 carries no generation: a plain offsets-only commit.
  error_code group_error = ctx->version() == 0
                               ? eos.groups().validate_commit(req.group_id, -1, "", std::nullopt, b.now_ms())
                               : eos.groups().validate_commit(req.group_id, req.generation_id, req.member_id,
                                                              req.group_instance_id, b.now_ms());
  std::vector<offset_commit_entry> entries;
  protocol::offset_commit_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      error_code e = group_error;
      if (e == error_code::none && p.committed_metadata && p.committed_metadata->size() > max_metadata_bytes)
        e = error_code::offset_metadata_too_large;
      if (e == error_code::none)
        entries.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.committed_metadata});
      rp.error_code = code(e);
    }
  }
  if (!entries.empty() && !eos.commit_offsets(req.group_id, entries)) {
    for (auto& t : resp.topics)
      for (auto& p : t.partitions)
        if (p.error_code == 0) p.error_code = code(error_code::coordinator_not_available);
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
