// AddOffsetsToTxn: the transaction will commit offsets for a group.
#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/handlers/txn_common.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/add_offsets_to_txn.h"

namespace eddy::broker::handlers {

void handle_add_offsets_to_txn(request_ptr ctx) {
  auto req = ctx->decode<protocol::add_offsets_to_txn_request>();
  broker& b = ctx->owner();
  auto e = b.eos().transactions().add_offsets(req.transactional_id, req.producer_id, req.producer_epoch, req.group_id,
                                              b.now_ms());
  protocol::add_offsets_to_txn_response resp;
  resp.error_code = code(downgrade_fenced(e, ctx->version() < 2));
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
