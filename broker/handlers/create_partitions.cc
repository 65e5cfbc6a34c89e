// CreatePartitions: grows a topic to `count` partitions (never shrinks).
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/create_partitions.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_create_partitions(request_ptr ctx) {
  auto req = ctx->decode<protocol::create_partitions_request>();
  broker& b = ctx->owner();
  protocol::create_partitions_response resp;
  for (const auto& t : req.topics) {
    auto& r = resp.results.emplace_back();
    r.name = t.name;
    auto info = b.logs().describe_topic(t.name);
    if (!info) {
      r.error_code = code(error_code::unknown_topic_or_partition);
      r.error_message = "topic '" + t.name + "' does not exist";
      continue;
    }
    if (t.count <= info->partition_count) {
      r.error_code = code(error_code::invalid_partitions);
      r.error_message = "topic has " + std::to_string(info->partition_count) + " partitions; the new count must be larger";
      continue;
    }
    if (t.count > max_partitions_per_topic) {
      r.error_code = code(error_code::invalid_partitions);
      r.error_message = "at most " + std::to_string(max_partitions_per_topic) + " partitions per topic";
      continue;
    }
    if (t.assignments && std::int32_t(t.assignments->size()) != t.count - info->partition_count) {
      r.error_code = code(error_code::invalid_replica_assignment);
      r.error_message = "one assignment per new partition is required";
      continue;
    }
    if (req.validate_only) continue;
    auto a = b.logs().add_partitions(t.name, t.count);
    if (!a) {
      r.error_code = code(a.error().code);
      r.error_message = a.error().message;
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
