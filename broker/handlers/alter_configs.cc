// AlterConfigs and IncrementalAlterConfigs (KIP-339) for topics (resource type 2).
//
// AlterConfigs replaces a topic's overrides: the configs it names become the overrides,
// every other config goes back to the broker default (as in Kafka). IncrementalAlterConfigs
// edits them one by one: SET, DELETE (back to the default), and APPEND / SUBTRACT on the
// list-valued config cleanup.policy. Either way the result is validated as CreateTopics
// validates configs (INVALID_CONFIG naming the key and the accepted values), persisted in
// topics.meta and applied to every partition of the topic at once (retention at the next
// check, segment size at the next roll, cleanup.policy at the next compaction tick).
// validate_only checks everything and changes nothing.
//
// Per resource: an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION; a resource named twice in
// one request, or a config named twice in one resource, INVALID_REQUEST; broker configs
// (type 4) are static here: INVALID_REQUEST, saying to set them in the config file; other
// resource types INVALID_REQUEST.
#include <algorithm>
#include <set>
#include <sstream>

#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/alter_configs.h"
#include "core/protocol/messages/incremental_alter_configs.h"

namespace eddy::broker::handlers {

using protocol::error_code;

namespace {

constexpr std::int8_t op_set = 0;
constexpr std::int8_t op_delete = 1;
constexpr std::int8_t op_append = 2;
constexpr std::int8_t op_subtract = 3;

struct outcome {
  error_code error = error_code::none;
  std::string message;
  explicit operator bool() const { return error != error_code::none; }
};

// What is wrong with the resource itself, if anything (`times_named`: in this request).
outcome check_resource(broker& b, std::int8_t type, const std::string& name, std::size_t times_named) {
  if (times_named > 1) return {error_code::invalid_request, "resource named more than once in one request"};
  if (type == resource_type_broker)
    return {error_code::invalid_request,
            "broker configs cannot be changed at runtime here: set them in the broker's config file (or --set) "
            "and restart it"};
  if (type != resource_type_topic) return {error_code::invalid_request, "unsupported resource type " + std::to_string(type)};
  if (!b.logs().describe_topic(name)) return {error_code::unknown_topic_or_partition, "topic '" + name + "' does not exist"};
  return {};
}

// Validates `overrides` as the topic's new overrides; unless `validate_only`, stores them.
outcome replace_overrides(broker& b, const std::string& topic, const log::string_map& overrides, bool validate_only) {
  if (validate_only) {
    auto cfg = log::log_config::parse_topic(overrides, b.logs().options().defaults);
    if (!cfg) return {cfg.error().code, cfg.error().message};
    return {};
  }
  auto r = b.logs().set_topic_configs(topic, overrides);
  if (!r) return {r.error().code, r.error().message};
  return {};
}

template <class Resources>
std::multiset<std::pair<std::int8_t, std::string>> resources_in(const Resources& resources) {
  std::multiset<std::pair<std::int8_t, std::string>> seen;
  for (const auto& r : resources) seen.insert({r.resource_type, r.resource_name});
  return seen;
}

template <class Result>
void set_outcome(Result& r, const outcome& o) {
  r.error_code = code(o.error);
  if (o) r.error_message = o.message;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// APPEND / SUBTRACT on a list-valued config, from its effective value.
outcome edit_list(broker& b, const std::string& topic, log::string_map& overrides, const std::string& name,
                  std::int8_t op, const std::string& value) {
  if (name != "cleanup.policy")
    return {error_code::invalid_config, "config " + name + " is not a list: APPEND and SUBTRACT apply to list configs "
                                        "(cleanup.policy)"};
  std::string current;
  if (auto it = overrides.find(name); it != overrides.end()) {
    current = it->second;
  } else if (auto all = b.logs().describe_topic_configs(topic)) {
    for (const auto& e : *all)
      if (e.name == name) current = e.value;
  }
  auto items = split_list(current);
  for (const auto& v : split_list(value)) {
    auto at = std::find(items.begin(), items.end(), v);
    if (op == op_append && at == items.end()) items.push_back(v);
    if (op == op_subtract && at != items.end()) items.erase(at);
  }
  std::string joined;
  for (const auto& i : items) joined += (joined.empty() ? "" : ",") + i;
  overrides[name] = joined;
  return {};
}

// Per resource of `req`: checks it, has `edit` turn the topic's overrides into the new
// ones (or say what is wrong), validates and stores them; then answers.
template <class Response, class Request, class Edit>
void alter_each(request_ptr ctx, const Request& req, Edit edit) {
  broker& b = ctx->owner();
  Response resp;
  auto seen = resources_in(req.resources);
  for (const auto& res : req.resources) {
    auto& r = resp.responses.emplace_back();
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    auto o = check_resource(b, res.resource_type, res.resource_name, seen.count({res.resource_type, res.resource_name}));
    if (!o) {
      auto overrides = b.logs().describe_topic(res.resource_name)->overrides;
      o = edit(res, overrides);
      if (!o) o = replace_overrides(b, res.resource_name, overrides, req.validate_only);
    }
    set_outcome(r, o);
  }
  ctx->respond(resp);
}

}  // namespace

void handle_alter_configs(request_ptr ctx) {
  auto req = ctx->decode<protocol::alter_configs_request>();
  alter_each<protocol::alter_configs_response>(ctx, req, [](const auto& res, log::string_map& overrides) -> outcome {
    overrides.clear();  // the configs named become the overrides
    for (const auto& c : res.configs) {
      if (!c.value)
        return {error_code::invalid_request, "config " + c.name + " has a null value: AlterConfigs sets every config "
                                             "it names (to reset one, leave it out or use IncrementalAlterConfigs DELETE)"};
      if (!overrides.emplace(c.name, *c.value).second)
        return {error_code::invalid_request, "config " + c.name + " named more than once"};
    }
    return {};
  });
}

void handle_incremental_alter_configs(request_ptr ctx) {
  auto req = ctx->decode<protocol::incremental_alter_configs_request>();
  broker& b = ctx->owner();
  alter_each<protocol::incremental_alter_configs_response>(
      ctx, req, [&b](const auto& res, log::string_map& overrides) -> outcome {
        std::set<std::string> named;
        for (const auto& c : res.configs) {
          outcome o;
          if (!named.insert(c.name).second)
            o = {error_code::invalid_request, "config " + c.name + " named more than once"};
          else if (c.config_operation == op_delete)
            overrides.erase(c.name);
          else if (c.config_operation < op_set || c.config_operation > op_subtract)
            o = {error_code::invalid_request, "unknown config operation " + std::to_string(c.config_operation)};
          else if (!c.value)
            o = {error_code::invalid_request, "config " + c.name + " has a null value"};
          else if (c.config_operation == op_set)
            overrides[c.name] = *c.value;
          else
            o = edit_list(b, res.resource_name, overrides, c.name, c.config_operation, *c.value);
          if (o) return o;
        }
        return {};
      });
}

}  // namespace eddy::broker::handlers
