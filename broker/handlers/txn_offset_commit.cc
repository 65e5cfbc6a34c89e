// TxnOffsetCommit: offsets staged in the transaction; they become the group's committed
// offsets when it commits. v3 is validated against the group like OffsetCommit (KIP-447).
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/txn_offset_commit.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_txn_offset_commit(request_ptr ctx) {
  auto req = ctx->decode<protocol::txn_offset_commit_request>();
  broker& b = ctx->owner();
  auto& eos = b.eos();
  error_code e = eos.transactions().check_offset_commit(req.transactional_id, req.producer_id, req.producer_epoch,
                                                        req.group_id);
  // This API never answers PRODUCER_FENCED in the versions served here.
  if (e == error_code::producer_fenced) e = error_code::invalid_producer_epoch;
  if (e == error_code::none && ctx->version() >= 3)
    e = eos.groups().validate_txn_commit(req.group_id, req.generation_id, req.member_id, req.group_instance_id);
  txn::group_offsets staged;
  protocol::txn_offset_commit_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      rp.error_code = code(e);
      if (e == error_code::none)
        staged[{t.name, p.partition_index}] = {p.committed_offset, p.committed_leader_epoch, p.committed_metadata};
    }
  }
  if (e == error_code::none && !staged.empty()) {
    auto s = eos.transactions().stage_offsets(req.transactional_id, req.group_id, staged);
    if (s != error_code::none)
      for (auto& t : resp.topics)
        for (auto& p : t.partitions) p.error_code = code(s);
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
