// DeleteGroups: empty groups only (NON_EMPTY_GROUP otherwise), offsets included.
#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/delete_groups.h"

namespace eddy::broker::handlers {

void handle_delete_groups(request_ptr ctx) {
  auto req = ctx->decode<protocol::delete_groups_request>();
  protocol::delete_groups_response resp;
  for (const auto& id : req.groups_names) {
    auto& r = resp.results.emplace_back();
    r.group_id = id;
    r.error_code = code(ctx->owner().eos().delete_group(id));
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
