// InitProducerId: producer ids for idempotent producers; epoch bumps and fencing for
// transactional ones.
#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/handlers/txn_common.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/init_producer_id.h"

namespace eddy::broker::handlers {

void handle_init_producer_id(request_ptr ctx) {
  auto req = ctx->decode<protocol::init_producer_id_request>();
  broker& b = ctx->owner();
  auto r = b.eos().transactions().init_producer_id(req.transactional_id, req.transaction_timeout_ms, req.producer_id,
                                                   req.producer_epoch, b.now_ms());
  protocol::init_producer_id_response resp;
  resp.error_code = code(downgrade_fenced(r.error, ctx->version() < 4));
  resp.producer_id = r.error == protocol::error_code::none ? r.producer_id : -1;
  resp.producer_epoch = r.error == protocol::error_code::none ? r.producer_epoch : -1;
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
