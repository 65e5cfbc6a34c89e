// CreateTopics: validates names, partition counts, replication factor (this is a single
// node: only 1, or -1 for the default) and configs, then creates the topics durably.
// validate_only checks everything and creates nothing.
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/create_topics.h"

namespace eddy::broker::handlers {

using protocol::error_code;

void handle_create_topics(request_ptr ctx) {
  auto req = ctx->decode<protocol::create_topics_request>();
  broker& b = ctx->owner();
  // The response is answered once every topic's creation completed (the files of new
  // partitions are made on the log's admin thread).
  answer_when_done<protocol::create_topics_response> answer(ctx);
  auto& topics = answer.response().topics;
  auto seen = names_in(req.topics);
  topics.reserve(req.topics.size());
  for (const auto& t : req.topics) {
    auto& r = topics.emplace_back();
    r.name = t.name;
    auto fail = [&](error_code e, std::string msg) {
      r.error_code = code(e);
      r.error_message = std::move(msg);
    };
    if (seen.count(t.name) > 1) {
      fail(error_code::invalid_request, "topic named more than once in one request");
      continue;
    }
    if (auto v = log::validate_topic_name(t.name); !v) {
      fail(error_code::invalid_topic_exception, v.error().message);
      continue;
    }
    std::int32_t partitions = t.num_partitions;
    if (!t.assignments.empty()) {
      if (partitions != -1 || (t.replication_factor != -1)) {
        fail(error_code::invalid_request, "give either assignments or num_partitions/replication_factor");
        continue;
      }
      bool ok = true;
      for (const auto& a : t.assignments)
        if (a.broker_ids.size() != 1 || a.broker_ids[0] != b.node_id()) ok = false;
      if (!ok) {
        fail(error_code::invalid_replica_assignment, "this cluster has one broker; assign each partition to it alone");
        continue;
      }
      partitions = std::int32_t(t.assignments.size());
    }
    if (partitions == -1) partitions = b.config().num_partitions;
    if (partitions <= 0 || partitions > max_partitions_per_topic) {
      fail(error_code::invalid_partitions,
           "number of partitions must be between 1 and " + std::to_string(max_partitions_per_topic));
      continue;
    }
    if (t.replication_factor != -1 && t.replication_factor != 1 && t.assignments.empty()) {
      fail(error_code::invalid_replication_factor,
           "replication factor " + std::to_string(t.replication_factor) + " is larger than the 1 available broker");
      continue;
    }
    log::string_map configs;
    bool null_config = false;
    for (const auto& c : t.configs) {
      if (!c.value) {
        null_config = true;
        break;
      }
      configs[c.name] = *c.value;
    }
    if (null_config) {
      fail(error_code::invalid_config, "null config value");
      continue;
    }
    if (b.logs().describe_topic(t.name)) {
      fail(error_code::topic_already_exists, "topic '" + t.name + "' already exists");
      continue;
    }
    if (b.logs().being_created(t.name)) {
      fail(error_code::topic_already_exists, "topic '" + t.name + "' is being created");
      continue;
    }
    if (req.validate_only) {
      auto cfg = log::log_config::parse_topic(configs, b.logs().options().defaults);
      if (!cfg) fail(error_code::invalid_config, cfg.error().message);
      continue;
    }
    b.logs().create_topic_async(t.name, partitions, std::move(configs),
                                answer.part_for(&protocol::create_topics_response::topics, topics.size() - 1));
  }
  answer.done();
}

}  // namespace eddy::broker::handlers
