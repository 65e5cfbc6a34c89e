// LeaveGroup: one member (v0-2) or several, possibly by group instance id (v3).
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/leave_group.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_leave_group(request_ptr ctx) {
  auto req = ctx->decode<protocol::leave_group_request>();
  broker& b = ctx->owner();
  auto& groups = b.eos().groups();
  protocol::leave_group_response resp;
  if (ctx->version() < 3) {
    resp.error_code = code(groups.leave(req.group_id, req.member_id, std::nullopt, b.now_ms()));
  } else {
    if (!groups.state(req.group_id)) resp.error_code = code(error_code::unknown_member_id);
    for (const auto& m : req.members) {
      auto& out = resp.members.emplace_back();
      out.member_id = m.member_id;
      out.group_instance_id = m.group_instance_id;
      out.error_code = code(groups.leave(req.group_id, m.member_id, m.group_instance_id, b.now_ms()));
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
