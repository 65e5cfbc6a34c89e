// Shared by the transaction handlers.
#pragma once

#include "core/protocol/error_code.h"

namespace eddy::broker::handlers {

// PRODUCER_FENCED (90) is newer than some request versions; Kafka answers those with
// INVALID_PRODUCER_EPOCH (47) instead.
inline protocol::error_code downgrade_fenced(protocol::error_code e, bool downgrade) {
  if (downgrade && e == protocol::error_code::producer_fenced) return protocol::error_code::invalid_producer_epoch;
  return e;
}

}  // namespace eddy::broker::handlers
