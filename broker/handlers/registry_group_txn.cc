// Consumer-group and transaction handlers (FindCoordinator, JoinGroup, ..., EndTxn,
// TxnOffsetCommit). Each lives in its own file in this folder; this list names them.
#include "broker/handlers/registry.h"

namespace eddy::broker::handlers {

std::span<const handler_entry> group_txn_handlers() { return {}; }

}  // namespace eddy::broker::handlers
