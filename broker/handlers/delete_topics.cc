// DeleteTopics: removes topics and their data from disk.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/delete_topics.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_delete_topics(request_ptr ctx) {
  auto req = ctx->decode<protocol::delete_topics_request>();
  broker& b = ctx->owner();
  protocol::delete_topics_response resp;
  for (const auto& name : req.topic_names) {
    auto& r = resp.responses.emplace_back();
    r.name = name;
    if (!b.config().delete_topic_enable) {
      r.error_code = code(error_code::topic_deletion_disabled);
      continue;
    }
    if (!b.logs().describe_topic(name)) {
      r.error_code = code(error_code::unknown_topic_or_partition);
      continue;
    }
    auto d = b.logs().delete_topic(name);
    r.error_code = d ? 0 : code(d.error().code);
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
