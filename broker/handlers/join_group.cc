// JoinGroup: answered when the rebalance completes (possibly much later, from tick()).
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/join_group.h"

namespace eddy::broker::handlers {

void handle_join_group(request_ptr ctx) {
  auto req = ctx->decode<protocol::join_group_request>();
  broker& b = ctx->owner();
  group::join_request jr;
  jr.group_id = req.group_id;
  jr.member_id = req.member_id;
  jr.group_instance_id = req.group_instance_id;
  jr.client_id = ctx->client_id();
  jr.client_host = ctx->client_host();
  jr.session_timeout_ms = req.session_timeout_ms;
  jr.rebalance_timeout_ms = ctx->version() >= 1 ? req.rebalance_timeout_ms : -1;
  jr.protocol_type = req.protocol_type;
  for (auto& p : req.protocols) jr.protocols.push_back({p.name, std::move(p.metadata)});
  jr.require_known_member_id = ctx->version() >= 4;
  b.eos().groups().join(std::move(jr), b.now_ms(), [ctx](const group::join_result& r) {
    protocol::join_group_response resp;
    resp.error_code = code(r.error);
    resp.generation_id = r.generation_id;
    resp.protocol_name = r.protocol_name;
    resp.leader = r.leader;
    resp.member_id = r.member_id;
    for (const auto& m : r.members) {
      auto& out = resp.members.emplace_back();
      out.member_id = m.member_id;
      out.group_instance_id = m.group_instance_id;
      out.metadata = m.metadata;
    }
    ctx->respond(resp);
  });
}

}  // namespace eddy::broker::handlers
