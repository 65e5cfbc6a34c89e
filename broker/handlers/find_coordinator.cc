// FindCoordinator: a single node coordinates every group and transactional id.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/find_coordinator.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_find_coordinator(request_ptr ctx) {
  auto req = ctx->decode<protocol::find_coordinator_request>();
  broker& b = ctx->owner();
  protocol::find_coordinator_response resp;
  if (req.key_type != 0 && req.key_type != 1) {
    resp.error_code = code(error_code::invalid_request);
    resp.error_message = "key_type must be 0 (group) or 1 (transaction)";
    resp.node_id = -1;
    resp.port = -1;
  } else {
    resp.node_id = b.node_id();
    resp.host = b.advertised_host();
    resp.port = b.advertised_port();
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
