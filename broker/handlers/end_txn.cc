// EndTxn: commit or abort; markers and offsets are written before the answer.
#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/handlers/txn_common.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/end_txn.h"

namespace eddy::broker::handlers {

void handle_end_txn(request_ptr ctx) {
  auto req = ctx->decode<protocol::end_txn_request>();
  broker& b = ctx->owner();
  auto e = b.eos().transactions().end_txn(req.transactional_id, req.producer_id, req.producer_epoch, req.committed,
                                          b.now_ms());
  protocol::end_txn_response resp;
  resp.error_code = code(downgrade_fenced(e, ctx->version() < 2));
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
