// CreatePartitions: grows a topic to `count` partitions (never shrinks). The new
// partitions' files are made on the log's admin thread; the response is answered once
// every topic's growth completed. validate_only checks everything and changes nothing.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/create_partitions.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_create_partitions(request_ptr ctx) {
  auto req = ctx->decode<protocol::create_partitions_request>();
  broker& b = ctx->owner();
  answer_when_done<protocol::create_partitions_response> answer(ctx);
  auto& results = answer.response().results;
  auto seen = names_in(req.topics);
  results.reserve(req.topics.size());
  for (const auto& t : req.topics) {
    auto& r = results.emplace_back();
    r.name = t.name;
    auto fail = [&](error_code e, std::string msg) {
      r.error_code = code(e);
      r.error_message = std::move(msg);
    };
    if (seen.count(t.name) > 1) {
      fail(error_code::invalid_request, "topic named more than once in one request");
      continue;
    }
    auto info = b.logs().describe_topic(t.name);
    if (!info) {
      fail(error_code::unknown_topic_or_partition, "topic '" + t.name + "' does not exist");
      continue;
    }
    if (t.count <= info->partition_count) {
      fail(error_code::invalid_partitions,
           "topic has " + std::to_string(info->partition_count) + " partitions; the new count must be larger");
      continue;
    }
    if (t.count > max_partitions_per_topic) {
      fail(error_code::invalid_partitions, "at most " + std::to_string(max_partitions_per_topic) + " partitions per topic");
      continue;
    }
    if (t.assignments && std::int32_t(t.assignments->size()) != t.count - info->partition_count) {
      fail(error_code::invalid_replica_assignment, "one assignment per new partition is required");
      continue;
    }
    if (req.validate_only) continue;
    b.logs().add_partitions_async(t.name, t.count,
                                  answer.part_for(&protocol::create_partitions_response::results, results.size() - 1));
  }
  answer.done();
}

}  // namespace eddy::broker::handlers
