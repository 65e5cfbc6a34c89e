// Helpers shared by the handlers: topic lookup with auto-creation, error-code casts.
#pragma once

#include <cstdint>
#include <string>

#include "broker/broker.h"
#include "broker/log/log_manager.h"
#include "core/protocol/error_code.h"

namespace eddy::broker::handlers {

inline std::int16_t code(protocol::error_code e) { return std::int16_t(e); }

// Each partition is a folder of files on this one node; a request for millions of them
// would stall the broker for minutes, so counts above this are refused (INVALID_PARTITIONS).
inline constexpr std::int32_t max_partitions_per_topic = 1000;

// Makes sure `topic` exists, creating it with num.partitions when auto-creation is on
// and `allow_auto_create`. Returns none, unknown_topic_or_partition or invalid_topic_exception.
inline protocol::error_code ensure_topic(broker& b, const std::string& topic, bool allow_auto_create) {
  if (b.logs().describe_topic(topic)) return protocol::error_code::none;
  if (!allow_auto_create || !b.config().auto_create_topics) return protocol::error_code::unknown_topic_or_partition;
  if (auto v = log::validate_topic_name(topic); !v) return protocol::error_code::invalid_topic_exception;
  auto r = b.logs().create_topic(topic, b.config().num_partitions, {});
  if (!r && r.error().code != protocol::error_code::topic_already_exists) return r.error().code;
  return protocol::error_code::none;
}

}  // namespace eddy::broker::handlers
