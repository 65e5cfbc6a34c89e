// Heartbeat: keeps a member alive; REBALANCE_IN_PROGRESS tells it to rejoin.
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/heartbeat.h"

namespace eddy::broker::handlers {

void handle_heartbeat(request_ptr ctx) {
  auto req = ctx->decode<protocol::heartbeat_request>();
  broker& b = ctx->owner();
  protocol::heartbeat_response resp;
  resp.error_code = code(b.eos().groups().heartbeat(req.group_id, req.generation_id, req.member_id,
                                                    req.group_instance_id, b.now_ms()));
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
