#include "broker/handlers/registry.h"

#include <algorithm>
#include <vector>

#include "core/protocol/messages/all.h"

namespace eddy::broker::handlers {

void handle_api_versions(request_ptr ctx);
void handle_metadata(request_ptr ctx);
void handle_produce(request_ptr ctx);
void handle_fetch(request_ptr ctx);
void handle_list_offsets(request_ptr ctx);
void handle_create_topics(request_ptr ctx);
void handle_delete_topics(request_ptr ctx);
void handle_describe_configs(request_ptr ctx);
void handle_create_partitions(request_ptr ctx);
void handle_alter_configs(request_ptr ctx);
void handle_incremental_alter_configs(request_ptr ctx);
void handle_delete_records(request_ptr ctx);

namespace {

std::vector<handler_entry> build() {
  std::vector<handler_entry> all = {
      entry_for<protocol::produce_request>(&handle_produce),
      entry_for<protocol::fetch_request>(&handle_fetch),
      entry_for<protocol::list_offsets_request>(&handle_list_offsets),
      entry_for<protocol::metadata_request>(&handle_metadata),
      entry_for<protocol::api_versions_request>(&handle_api_versions),
      entry_for<protocol::create_topics_request>(&handle_create_topics),
      entry_for<protocol::delete_topics_request>(&handle_delete_topics),
      entry_for<protocol::describe_configs_request>(&handle_describe_configs),
      entry_for<protocol::create_partitions_request>(&handle_create_partitions),
      entry_for<protocol::alter_configs_request>(&handle_alter_configs),
      entry_for<protocol::incremental_alter_configs_request>(&handle_incremental_alter_configs),
      entry_for<protocol::delete_records_request>(&handle_delete_records),
  };
  for (const auto& e : group_txn_handlers()) all.push_back(e);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return all;
}

}  // namespace

std::span<const handler_entry> registry() {
  static const std::vector<handler_entry> all = build();
  return all;
}

const handler_entry* find_handler(std::int16_t key) {
  for (const auto& e : registry())
    if (std::int16_t(e.key) == key) return &e;
  return nullptr;
}

}  // namespace eddy::broker::handlers
