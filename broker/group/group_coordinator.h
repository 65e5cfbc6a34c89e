// group_coordinator: consumer groups (members, generations, rebalances) and their
// committed offsets, in memory. The broker only relays assignments: the leader gets every
// member's metadata for the chosen protocol in its JoinGroup answer and sends the
// assignments back through SyncGroup.
//
// Group states (Kafka's): Empty -> PreparingRebalance (a member joined, left, changed its
// protocols or timed out; waits until every known member rejoined or the rebalance
// timeout expired) -> CompletingRebalance (JoinGroup answered, waiting for the leader's
// SyncGroup) -> Stable. JoinGroup and SyncGroup answers are callbacks, called later when
// the rebalance progresses (from join/sync/leave/heartbeat or tick()).
//
// Durability is the caller's: offsets are applied with apply_commit() after the caller
// persisted them (eos_services writes them to the state log first).
//
// Thread-safety: not thread-safe (event-loop thread). Callbacks run synchronously inside
// the coordinator's calls and must not call back into it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/protocol/error_code.h"

namespace eddy::broker::group {

using topic_partition = std::pair<std::string, std::int32_t>;
using byte_vec = std::vector<std::uint8_t>;

struct committed_offset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  std::int64_t commit_ms = -1;
  bool operator==(const committed_offset&) const = default;
};

struct protocol_entry {
  std::string name;
  byte_vec metadata;
  bool operator==(const protocol_entry&) const = default;
};

struct join_request {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 10000;
  std::int32_t rebalance_timeout_ms = -1;  // -1: the session timeout (JoinGroup v0)
  std::string protocol_type;
  std::vector<protocol_entry> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+
};

struct join_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  byte_vec metadata;
};

struct join_result {
  // An error alone: join_result::failed(e) (aggregate init of one field warns under -Wextra).
  static join_result failed(protocol::error_code e) {
    join_result r;
    r.error = e;
    return r;
  }
  protocol::error_code error = protocol::error_code::none;
  std::int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_member> members;  // leader only
};

struct sync_result {
  protocol::error_code error = protocol::error_code::none;
  byte_vec assignment;
};

using join_callback = std::function<void(const join_result&)>;
using sync_callback = std::function<void(const sync_result&)>;

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* state_name(group_state s);

struct member_description {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  byte_vec metadata;  // for the chosen protocol
  byte_vec assignment;
};

struct group_description {
  protocol::error_code error = protocol::error_code::none;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol_name;
  std::vector<member_description> members;
};

struct group_coordinator_config {
  std::int32_t min_session_timeout_ms = 6000;
  std::int32_t max_session_timeout_ms = 1800000;
  std::int32_t initial_rebalance_delay_ms = 0;
};

class group_coordinator {
 public:
  explicit group_coordinator(group_coordinator_config config);

  void join(join_request req, std::int64_t now_ms, join_callback done);
  void sync(const std::string& group_id, std::int32_t generation_id, const std::string& member_id,
            const std::optional<std::string>& group_instance_id, std::map<std::string, byte_vec> assignments,
            std::int64_t now_ms, sync_callback done);
  protocol::error_code heartbeat(const std::string& group_id, std::int32_t generation_id, const std::string& member_id,
                                 const std::optional<std::string>& group_instance_id, std::int64_t now_ms);
  // One member leaves (by member id, or by instance id for static members).
  protocol::error_code leave(const std::string& group_id, const std::string& member_id,
                             const std::optional<std::string>& group_instance_id, std::int64_t now_ms);

  // OffsetCommit checks (generation -1 with an empty group: offsets-only use).
  protocol::error_code validate_commit(const std::string& group_id, std::int32_t generation_id,
                                       const std::string& member_id,
                                       const std::optional<std::string>& group_instance_id, std::int64_t now_ms);
  // TxnOffsetCommit v3 checks (KIP-447): no member info means no check.
  protocol::error_code validate_txn_commit(const std::string& group_id, std::int32_t generation_id,
                                           const std::string& member_id,
                                           const std::optional<std::string>& group_instance_id) const;
  // Applies an already-persisted commit (creates the group when needed).
  void apply_commit(const std::string& group_id, const topic_partition& tp, const committed_offset& o);
  // Committed offsets of a group; nullptr when it has none.
  const std::map<topic_partition, committed_offset>* offsets(const std::string& group_id) const;

  group_description describe(const std::string& group_id) const;
  // (group id, protocol type) of every live group.
  std::vector<std::pair<std::string, std::string>> list() const;
  // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP or none (the caller persists, then remove()).
  protocol::error_code can_delete(const std::string& group_id) const;
  void remove(const std::string& group_id);

  // Session timeouts, rebalance timeouts, MEMBER_ID_REQUIRED expiry.
  void tick(std::int64_t now_ms);

  std::optional<group_state> state(const std::string& group_id) const;
  std::int32_t generation(const std::string& group_id) const;

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<protocol_entry> protocols;
    byte_vec assignment;
    join_callback awaiting_join;
    sync_callback awaiting_sync;
    std::int64_t last_heartbeat_ms = 0;
  };
  struct group {
    std::string id;
    group_state state = group_state::empty;
    std::int32_t generation = 0;
    std::string protocol_type;
    std::string protocol_name;
    std::string leader;
    std::map<std::string, member> members;
    std::map<std::string, std::int64_t> pending;      // MEMBER_ID_REQUIRED ids -> expiry
    std::map<std::string, std::string> static_ids;    // group instance id -> member id
    std::int64_t rebalance_deadline_ms = 0;
    std::int64_t join_not_before_ms = 0;
    std::map<topic_partition, committed_offset> offsets;
  };

  std::string new_member_id(const std::string& client_id);
  bool protocols_compatible(const group& g, const join_request& req) const;
  void add_member(group& g, const join_request& req, const std::string& id, std::int64_t now_ms, join_callback done);
  void prepare_rebalance(group& g, std::int64_t now_ms);
  void maybe_complete_join(group& g, std::int64_t now_ms);
  void complete_join(group& g, std::int64_t now_ms);
  join_result result_for(const group& g, const member& m) const;
  void remove_member(group& g, const std::string& id, std::int64_t now_ms);
  group* find(const std::string& id);
  const group* find(const std::string& id) const;

  group_coordinator_config config_;
  std::map<std::string, group> groups_;
  std::mt19937_64 rng_;
};

}  // namespace eddy::broker::group
