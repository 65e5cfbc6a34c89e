// Metadata: this broker (the only node, and the controller), and the requested topics.
// v0: an empty list means all topics; v1+: null means all, empty means none. Missing
// topics are auto-created when auto.create.topics.enable and the request allows it: their
// files are made on the log's admin thread, and the answer waits for them.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/metadata.h"

namespace eddy::broker::handlers {

namespace {

void answer_metadata(request_ptr ctx, bool may_defer) {
  auto req = ctx->decode<protocol::metadata_request>();
  broker& b = ctx->owner();
  protocol::metadata_response resp;
  resp.brokers.push_back({b.node_id(), b.advertised_host(), std::int32_t(b.advertised_port()), std::nullopt});
  resp.cluster_id = b.config().cluster_id;
  resp.controller_id = b.node_id();

  std::vector<std::string> names;
  bool all = !req.topics.has_value() || (ctx->version() == 0 && req.topics->empty());
  if (all) {
    for (auto& t : b.logs().list_topics()) names.push_back(t.name);
  } else {
    for (auto& t : *req.topics) names.push_back(t.name);
  }
  bool allow_auto = ctx->version() < 4 || req.allow_auto_topic_creation;
  if (may_defer && !all && allow_auto && auto_create_then(b, names, [ctx] { answer_metadata(ctx, false); })) return;
  for (const auto& name : names) {
    auto& t = resp.topics.emplace_back();
    t.name = name;
    auto err = all ? protocol::error_code::none : ensure_topic(b, name, allow_auto);
    if (err != protocol::error_code::none) {
      t.error_code = code(err);
      continue;
    }
    auto info = b.logs().describe_topic(name);
    if (!info) {
      t.error_code = code(protocol::error_code::unknown_topic_or_partition);
      continue;
    }
    t.is_internal = false;
    for (std::int32_t p = 0; p < info->partition_count; ++p) {
      auto& part = t.partitions.emplace_back();
      part.partition_index = p;
      part.leader_id = b.node_id();
      part.leader_epoch = 0;
      part.replica_nodes = {b.node_id()};
      part.isr_nodes = {b.node_id()};
    }
  }
  ctx->respond(resp);
}

}  // namespace

void handle_metadata(request_ptr ctx) { answer_metadata(ctx, true); }

}  // namespace eddy::broker::handlers
