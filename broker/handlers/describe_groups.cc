// DescribeGroups: state, chosen protocol and members (metadata and assignment once Stable).
#include "broker/eos_services.h"
#include "broker/group/group_coordinator.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "core/protocol/messages/describe_groups.h"

namespace eddy::broker::handlers {

void handle_describe_groups(request_ptr ctx) {
  auto req = ctx->decode<protocol::describe_groups_request>();
  broker& b = ctx->owner();
  protocol::describe_groups_response resp;
  for (const auto& id : req.groups) {
    auto d = b.eos().groups().describe(id);
    auto& g = resp.groups.emplace_back();
    g.error_code = code(d.error);
    g.group_id = d.group_id;
    g.group_state = d.state;
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol_name;
    for (auto& m : d.members) {
      auto& out = g.members.emplace_back();
      out.member_id = m.member_id;
      out.group_instance_id = m.group_instance_id;
      out.client_id = m.client_id;
      out.client_host = m.client_host;
      out.member_metadata = std::move(m.metadata);
      out.member_assignment = std::move(m.assignment);
    }
  }
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
