// SyncGroup: followers wait for the leader's assignments.
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/sync_group.h"

namespace eddy::broker::handlers {

void handle_sync_group(request_ptr ctx) {
  auto req = ctx->decode<protocol::sync_group_request>();
  broker& b = ctx->owner();
  std::map<std::string, group::byte_vec> assignments;
  for (auto& a : req.assignments) assignments[a.member_id] = std::move(a.assignment);
  b.eos().groups().sync(req.group_id, req.generation_id, req.member_id, req.group_instance_id,
                        std::move(assignments), b.now_ms(), [ctx](const group::sync_result& r) {
                          protocol::sync_group_response resp;
                          resp.error_code = code(r.error);
                          resp.assignment = r.assignment;
                          ctx->respond(resp);
                        });
}

}  // namespace eddy::broker::handlers
