// ApiVersions: the versions of every API this broker implements, derived from the
// handler registry. Out-of-range versions are answered by the connection (KIP-511).
#include "broker/handlers/registry.h"
#include "core/protocol/messages/api_versions.h"

namespace eddy::broker::handlers {

void handle_api_versions(request_ptr ctx) {
  // v3 bodies carry the client's software name/version; we accept any content.
  (void)ctx->decode<protocol::api_versions_request>();
  protocol::api_versions_response resp;
  for (const auto& e : registry())
    resp.api_keys.push_back({std::int16_t(e.key), e.min_version, e.max_version});
  ctx->respond(resp);
}

}  // namespace eddy::broker::handlers
