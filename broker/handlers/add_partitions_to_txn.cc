// AddPartitionsToTxn: the partitions a transaction writes to (markers go there at the end).
#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/handlers/txn_common.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/messages/add_partitions_to_txn.h"

namespace eddy::broker::handlers {

void handle_add_partitions_to_txn(request_ptr ctx) {
  auto req = ctx->decode<protocol::add_partitions_to_txn_request>();
  broker& b = ctx->owner();
  std::vector<txn::topic_partition> tps;
  for (const auto& t : req.topics)
    for (auto p : t.partitions) tps.emplace_back(t.name, p);
  auto errors = b.eos().transactions().add_partitions(req.transactional_id, req.producer_id, req.producer_epoch, tps,
                                                      b.now_ms());
  protocol::add_partitions_to_txn_response resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.results.emplace_back();
    rt.name = t.name;
    for (auto p : t.partitions) {
      auto& rp = rt.results.emplace_back();
      rp.partition_index = p;
      rp.error_code = code(downgrade_fenced(errors[{t.name, p}], ctx->version() < 2));
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
