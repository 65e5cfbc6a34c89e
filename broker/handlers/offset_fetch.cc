// OffsetFetch: committed offsets; with require_stable (v7), partitions whose offsets an
// open transaction holds answer UNSTABLE_OFFSET_COMMIT (the client retries).
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/offset_fetch.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_offset_fetch(request_ptr ctx) {
  auto req = ctx->decode<protocol::offset_fetch_request>();
  broker& b = ctx->owner();
  auto& eos = b.eos();
  const auto* offsets = eos.groups().offsets(req.group_id);
  std::set<txn::topic_partition> unstable;
  if (ctx->version() >= 7 && req.require_stable) unstable = eos.transactions().pending_offsets(req.group_id);
  protocol::offset_fetch_response resp;
  auto fill = [&](protocol::offset_fetch_response::offset_fetch_response_topic& rt, std::int32_t partition) {
    auto& rp = rt.partitions.emplace_back();
    rp.partition_index = partition;
    rp.committed_offset = -1;
    rp.committed_leader_epoch = -1;
    rp.metadata = std::string();
    if (unstable.contains({rt.name, partition})) {
      rp.error_code = code(error_code::unstable_offset_commit);
      return;
    }
    if (offsets == nullptr) return;
    auto it = offsets->find({rt.name, partition});
    if (it == offsets->end()) return;
    rp.committed_offset = it->second.offset;
    rp.committed_leader_epoch = it->second.leader_epoch;
    rp.metadata = it->second.metadata.value_or("");
  };
  if (req.topics) {
    for (const auto& t : *req.topics) {
      auto& rt = resp.topics.emplace_back();
      rt.name = t.name;
      for (auto p : t.partition_indexes) fill(rt, p);
    }
  } else if (offsets != nullptr) {
    // Null topics (v2+): every partition the group committed.
    for (const auto& [tp, o] : *offsets) {
      if (resp.topics.empty() || resp.topics.back().name != tp.first) resp.topics.emplace_back().name = tp.first;
      fill(resp.topics.back(), tp.second);
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
