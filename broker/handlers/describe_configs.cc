// DescribeConfigs: a topic's effective configs (resource type 2; overrides are
// DYNAMIC_TOPIC_CONFIG, the rest DEFAULT_CONFIG) and the broker's own settings
// (resource type 4, named by node id; STATIC_BROKER_CONFIG, read-only).
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/describe_configs.h"

namespace eddy::broker::handlers {

using protocol::error_code;

namespace {
constexpr std::int8_t source_dynamic_topic = 1;
constexpr std::int8_t source_static_broker = 4;
constexpr std::int8_t source_default = 5;

bool wanted(const std::optional<std::vector<std::string>>& keys, const std::string& name) {
  if (!keys || keys->empty()) return true;
  for (const auto& k : *keys)
    if (k == name) return true;
  return false;
}
}  // namespace

void handle_describe_configs(request_ptr ctx) {
  auto req = ctx->decode<protocol::describe_configs_request>();
  broker& b = ctx->owner();
  protocol::describe_configs_response resp;
  for (const auto& res : req.resources) {
    auto& r = resp.results.emplace_back();
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    if (res.resource_type == resource_type_topic) {
      auto entries = b.logs().describe_topic_configs(res.resource_name);
      if (!entries) {
        r.error_code = code(entries.error().code);
        r.error_message = entries.error().message;
        continue;
      }
      for (const auto& e : *entries) {
        if (!wanted(res.configuration_keys, e.name)) continue;
        auto& c = r.configs.emplace_back();
        c.name = e.name;
        c.value = e.value;
        c.read_only = false;
        c.is_default = e.is_default;
        c.config_source = e.is_default ? source_default : source_dynamic_topic;
        c.is_sensitive = false;
        if (req.include_synonyms) c.synonyms.push_back({e.name, e.value, c.config_source});
      }
    } else if (res.resource_type == resource_type_broker) {
      if (res.resource_name != std::to_string(b.node_id()) && !res.resource_name.empty()) {
        r.error_code = code(error_code::invalid_request);
        r.error_message = "unknown broker id " + res.resource_name;
        continue;
      }
      std::map<std::string, std::string> props(b.config().properties.begin(), b.config().properties.end());
      props.emplace("node.id", std::to_string(b.node_id()));
      props.emplace("num.partitions", std::to_string(b.config().num_partitions));
      props.emplace("auto.create.topics.enable", b.config().auto_create_topics ? "true" : "false");
      props.emplace("message.max.bytes", std::to_string(b.config().message_max_bytes));
      props.emplace("socket.request.max.bytes", std::to_string(b.config().socket_request_max_bytes));
      props.emplace("log.dirs", b.config().data_dir);
      for (const auto& [k, v] : props) {
        if (!wanted(res.configuration_keys, k)) continue;
        auto& c = r.configs.emplace_back();
        c.name = k;
        c.value = v;
        c.read_only = true;
        c.config_source = source_static_broker;
      }
    } else {
      r.error_code = code(error_code::invalid_request);
      r.error_message = "unsupported resource type " + std::to_string(res.resource_type);
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
