// The handler registry: one entry per implemented API, listing the versions the handler
// serves. The broker's ApiVersions answer is derived from this list, so advertised
// versions cannot drift from what is implemented.
#pragma once

#include <cstdint>
#include <span>

#include "broker/server/request_context.h"
#include "core/protocol/api_keys.h"

namespace eddy::broker::handlers {

using handler_fn = void (*)(request_ptr ctx);

struct handler_entry {
  protocol::api_key key;
  std::int16_t min_version;
  std::int16_t max_version;
  handler_fn handle;
};

// Entry for message type M served over all the versions its description covers.
template <class Request>
constexpr handler_entry entry_for(handler_fn fn) {
  return handler_entry{Request::message_api_key, Request::min_version, Request::max_version, fn};
}

// All handlers, sorted by key.
std::span<const handler_entry> registry();
// nullptr when the key has no handler.
const handler_entry* find_handler(std::int16_t key);

// The group/transaction handlers live in their own list (registry_group_txn.cc).
std::span<const handler_entry> group_txn_handlers();

}  // namespace eddy::broker::handlers
