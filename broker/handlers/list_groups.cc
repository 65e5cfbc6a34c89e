// ListGroups: every group this coordinator knows.
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/list_groups.h"

namespace eddy::broker::handlers {

void handle_list_groups(request_ptr ctx) {
  (void)ctx->decode<protocol::list_groups_request>();
  protocol::list_groups_response resp;
  for (auto& [id, type] : ctx->owner().eos().groups().list()) {
    auto& g = resp.groups.emplace_back();
    g.group_id = id;
    g.protocol_type = type;
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
