// Consumer-group and transaction handlers (FindCoordinator, JoinGroup, ..., EndTxn,
// TxnOffsetCommit). Each lives in its own file in this folder; this list names them.
#include "broker/handlers/registry.h"
#include "core/protocol/messages/add_offsets_to_txn.h"
#include "core/protocol/messages/add_partitions_to_txn.h"
#include "core/protocol/messages/delete_groups.h"
#include "core/protocol/messages/describe_groups.h"
#include "core/protocol/messages/end_txn.h"
#include "core/protocol/messages/find_coordinator.h"
#include "core/protocol/messages/heartbeat.h"
#include "core/protocol/messages/init_producer_id.h"
#include "core/protocol/messages/join_group.h"
#include "core/protocol/messages/leave_group.h"
#include "core/protocol/messages/list_groups.h"
#include "core/protocol/messages/offset_commit.h"
#include "core/protocol/messages/offset_fetch.h"
#include "core/protocol/messages/sync_group.h"
#include "core/protocol/messages/txn_offset_commit.h"

namespace eddy::broker::handlers {

void handle_offset_commit(request_ptr ctx);
void handle_offset_fetch(request_ptr ctx);
void handle_find_coordinator(request_ptr ctx);
void handle_join_group(request_ptr ctx);
void handle_heartbeat(request_ptr ctx);
void handle_leave_group(request_ptr ctx);
void handle_sync_group(request_ptr ctx);
void handle_describe_groups(request_ptr ctx);
void handle_list_groups(request_ptr ctx);
void handle_init_producer_id(request_ptr ctx);
void handle_add_partitions_to_txn(request_ptr ctx);
void handle_add_offsets_to_txn(request_ptr ctx);
void handle_end_txn(request_ptr ctx);
void handle_txn_offset_commit(request_ptr ctx);
void handle_delete_groups(request_ptr ctx);

namespace {
// Sorted by API key.
const handler_entry entries[] = {
    entry_for<protocol::offset_commit_request>(&handle_offset_commit),
    entry_for<protocol::offset_fetch_request>(&handle_offset_fetch),
    entry_for<protocol::find_coordinator_request>(&handle_find_coordinator),
    entry_for<protocol::join_group_request>(&handle_join_group),
    entry_for<protocol::heartbeat_request>(&handle_heartbeat),
    entry_for<protocol::leave_group_request>(&handle_leave_group),
    entry_for<protocol::sync_group_request>(&handle_sync_group),
    entry_for<protocol::describe_groups_request>(&handle_describe_groups),
    entry_for<protocol::list_groups_request>(&handle_list_groups),
    entry_for<protocol::init_producer_id_request>(&handle_init_producer_id),
    entry_for<protocol::add_partitions_to_txn_request>(&handle_add_partitions_to_txn),
    entry_for<protocol::add_offsets_to_txn_request>(&handle_add_offsets_to_txn),
    entry_for<protocol::end_txn_request>(&handle_end_txn),
    entry_for<protocol::txn_offset_commit_request>(&handle_txn_offset_commit),
    entry_for<protocol::delete_groups_request>(&handle_delete_groups),
};
}  // namespace

std::span<const handler_entry> group_txn_handlers() { return entries; }

}  // namespace eddy::broker::handlers
