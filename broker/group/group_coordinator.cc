#include "broker/group/group_coordinator.h"

#include <algorithm>
#include <cstdio>

namespace eddy::broker::group {

using protocol::error_code;

const char* state_name(group_state s) {
  switch (s) {
    case group_state::empty: return "Empty";
    case group_state::preparing_rebalance: return "PreparingRebalance";
    case group_state::completing_rebalance: return "CompletingRebalance";
    case group_state::stable: return "Stable";
    case group_state::dead: return "Dead";
  }
  return "Dead";
}

group_coordinator::group_coordinator(group_coordinator_config config)
    : config_(config), rng_(std::random_device{}()) {}

group_coordinator::group* group_coordinator::find(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}
const group_coordinator::group* group_coordinator::find(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

std::string group_coordinator::new_member_id(const std::string& client_id) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)rng_(), (unsigned long long)rng_());
  return client_id + "-" + std::string(buf, 8) + "-" + std::string(buf + 8, 4) + "-" + std::string(buf + 12, 4) + "-" +
         std::string(buf + 16, 4) + "-" + std::string(buf + 20, 12);
}

bool group_coordinator::protocols_compatible(const group& g, const join_request& req) const {
  if (req.protocol_type.empty() || req.protocols.empty()) return false;
  // Protocols every other member supports must intersect the joiner's.
  std::set<std::string> candidates;
  for (const auto& p : req.protocols) candidates.insert(p.name);
  bool others = false;
  for (const auto& [id, m] : g.members) {
    if (id == req.member_id) continue;
    others = true;
    std::set<std::string> mine;
    for (const auto& p : m.protocols)
      if (candidates.contains(p.name)) mine.insert(p.name);
    candidates = std::move(mine);
  }
  if (!others) return true;
  return req.protocol_type == g.protocol_type && !candidates.empty();
}

join_result group_coordinator::result_for(const group& g, const member& m) const {
  join_result r;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    for (const auto& [id, other] : g.members) {
      join_member jm{id, other.instance_id, {}};
      for (const auto& p : other.protocols)
        if (p.name == g.protocol_name) jm.metadata = p.metadata;
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void group_coordinator::add_member(group& g, const join_request& req, const std::string& id, std::int64_t now_ms,
                                   join_callback done) {
  member m;
  m.id = id;
  m.instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms < 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
  m.protocols = req.protocols;
  m.awaiting_join = std::move(done);
  m.last_heartbeat_ms = now_ms;
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  if (m.instance_id) g.static_ids[*m.instance_id] = id;
  g.members[id] = std::move(m);
  if (g.leader.empty()) g.leader = id;
}

void group_coordinator::join(join_request req, std::int64_t now_ms, join_callback done) {
  auto fail = [&](error_code e, std::string member_id = {}) {
    join_result r;
    r.error = e;
    r.member_id = std::move(member_id);
    done(r);
  };
  if (req.group_id.empty()) return fail(error_code::invalid_group_id);
  if (req.session_timeout_ms < config_.min_session_timeout_ms ||
      req.session_timeout_ms > config_.max_session_timeout_ms)
    return fail(error_code::invalid_session_timeout);
  group* gp = find(req.group_id);
  if (gp == nullptr) {
    if (!req.member_id.empty()) return fail(error_code::unknown_member_id);
    gp = &groups_[req.group_id];
    gp->id = req.group_id;
  }
  group& g = *gp;
  if (!protocols_compatible(g, req)) return fail(error_code::inconsistent_group_protocol);

  if (req.member_id.empty()) {
    std::string id = new_member_id(req.client_id);
    if (req.group_instance_id) {
      auto s = g.static_ids.find(*req.group_instance_id);
      if (s != g.static_ids.end() && g.members.contains(s->second)) {
        // A static member restarted: it takes over its old identity; the old member id is
        // fenced. A stable group keeps its assignment (no rebalance, KIP-345).
        member old = std::move(g.members[s->second]);
        g.members.erase(s->second);
        if (old.awaiting_join) old.awaiting_join(join_result::failed(error_code::fenced_instance_id));
        if (old.awaiting_sync) old.awaiting_sync({error_code::fenced_instance_id, {}});
        const bool same_protocols = old.protocols == req.protocols;
        if (g.leader == old.id) g.leader = id;
        old.awaiting_join = nullptr;
        old.awaiting_sync = nullptr;
        old.id = id;
        old.protocols = req.protocols;
        old.client_id = req.client_id;
        old.session_timeout_ms = req.session_timeout_ms;
        old.rebalance_timeout_ms = req.rebalance_timeout_ms < 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
        old.last_heartbeat_ms = now_ms;
        s->second = id;
        g.members[id] = std::move(old);
        member& m = g.members[id];
        if (g.state == group_state::stable && same_protocols) return done(result_for(g, m));
        m.awaiting_join = std::move(done);
        if (g.state != group_state::preparing_rebalance) prepare_rebalance(g, now_ms);
        return maybe_complete_join(g, now_ms);
      }
    } else if (req.require_known_member_id) {
      g.pending[id] = now_ms + req.session_timeout_ms;
      return fail(error_code::member_id_required, id);
    }
    add_member(g, req, id, now_ms, std::move(done));
    prepare_rebalance(g, now_ms);
    return maybe_complete_join(g, now_ms);
  }

  if (req.group_instance_id) {
    auto s = g.static_ids.find(*req.group_instance_id);
    if (s != g.static_ids.end() && s->second != req.member_id) return fail(error_code::fenced_instance_id);
  }
  if (g.pending.erase(req.member_id)) {
    add_member(g, req, req.member_id, now_ms, std::move(done));
    prepare_rebalance(g, now_ms);
    return maybe_complete_join(g, now_ms);
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) return fail(error_code::unknown_member_id);
  member& m = it->second;
  m.last_heartbeat_ms = now_ms;
  const bool same = m.protocols == req.protocols;
  m.protocols = req.protocols;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms < 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
  switch (g.state) {
    case group_state::preparing_rebalance:
      if (m.awaiting_join) m.awaiting_join(join_result::failed(error_code::rebalance_in_progress));
      m.awaiting_join = std::move(done);
      return maybe_complete_join(g, now_ms);
    case group_state::completing_rebalance:
      // A retried JoinGroup with unchanged metadata: answer with the current generation.
      if (same) return done(result_for(g, m));
      m.awaiting_join = std::move(done);
      prepare_rebalance(g, now_ms);
      return maybe_complete_join(g, now_ms);
    case group_state::stable:
      if (same && m.id != g.leader) return done(result_for(g, m));
      m.awaiting_join = std::move(done);
      prepare_rebalance(g, now_ms);
      return maybe_complete_join(g, now_ms);
    case group_state::empty:
    case group_state::dead:
      return fail(error_code::unknown_member_id);
  }
}

void group_coordinator::prepare_rebalance(group& g, std::int64_t now_ms) {
  if (g.state == group_state::completing_rebalance) {
    for (auto& [id, m] : g.members) {
      if (m.awaiting_sync) {
        auto cb = std::move(m.awaiting_sync);
        m.awaiting_sync = nullptr;
        cb({error_code::rebalance_in_progress, {}});
      }
      m.assignment.clear();
    }
  }
  if (g.state == group_state::empty) g.join_not_before_ms = now_ms + config_.initial_rebalance_delay_ms;
  if (g.state != group_state::preparing_rebalance) {
    std::int32_t timeout = 0;
    for (const auto& [id, m] : g.members) timeout = std::max(timeout, m.rebalance_timeout_ms);
    g.rebalance_deadline_ms = now_ms + timeout;
  }
  g.state = group_state::preparing_rebalance;
}

void group_coordinator::maybe_complete_join(group& g, std::int64_t now_ms) {
  if (g.state != group_state::preparing_rebalance || now_ms < g.join_not_before_ms || !g.pending.empty()) return;
  for (const auto& [id, m] : g.members)
    if (!m.awaiting_join) return;
  complete_join(g, now_ms);
}

void group_coordinator::complete_join(group& g, std::int64_t now_ms) {
  // Members that did not rejoin within the rebalance timeout are out.
  for (auto it = g.members.begin(); it != g.members.end();) {
    if (!it->second.awaiting_join) {
      if (it->second.instance_id) g.static_ids.erase(*it->second.instance_id);
      it = g.members.erase(it);
    } else {
      ++it;
    }
  }
  g.pending.clear();
  ++g.generation;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol_name.clear();
    g.protocol_type.clear();
    g.leader.clear();
    return;
  }
  // Protocol: among those every member supports, the one most members prefer.
  std::set<std::string> candidates;
  for (const auto& p : g.members.begin()->second.protocols) candidates.insert(p.name);
  for (const auto& [id, m] : g.members) {
    std::set<std::string> mine;
    for (const auto& p : m.protocols)
      if (candidates.contains(p.name)) mine.insert(p.name);
    candidates = std::move(mine);
  }
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members)
    for (const auto& p : m.protocols)
      if (candidates.contains(p.name)) {
        ++votes[p.name];
        break;
      }
  g.protocol_name.clear();
  int best = -1;
  for (const auto& [name, n] : votes)
    if (n > best) best = n, g.protocol_name = name;
  if (!g.members.contains(g.leader)) g.leader = g.members.begin()->first;
  g.state = group_state::completing_rebalance;
  std::vector<std::pair<join_callback, join_result>> answers;
  for (auto& [id, m] : g.members) {
    m.last_heartbeat_ms = now_ms;
    answers.emplace_back(std::move(m.awaiting_join), result_for(g, m));
    m.awaiting_join = nullptr;
  }
  for (auto& [cb, r] : answers) cb(r);
}

void group_coordinator::sync(const std::string& group_id, std::int32_t generation_id, const std::string& member_id,
                             const std::optional<std::string>& group_instance_id,
                             std::map<std::string, byte_vec> assignments, std::int64_t now_ms, sync_callback done) {
  group* g = find(group_id);
  if (g == nullptr) return done({error_code::unknown_member_id, {}});
  if (group_instance_id) {
    auto s = g->static_ids.find(*group_instance_id);
    if (s != g->static_ids.end() && s->second != member_id) return done({error_code::fenced_instance_id, {}});
  }
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return done({error_code::unknown_member_id, {}});
  if (generation_id != g->generation) return done({error_code::illegal_generation, {}});
  member& m = it->second;
  m.last_heartbeat_ms = now_ms;
  switch (g->state) {
    case group_state::empty:
    case group_state::dead: return done({error_code::unknown_member_id, {}});
    case group_state::preparing_rebalance: return done({error_code::rebalance_in_progress, {}});
    case group_state::stable: return done({error_code::none, m.assignment});
    case group_state::completing_rebalance: break;
  }
  m.awaiting_sync = std::move(done);
  if (member_id != g->leader) return;
  for (auto& [id, mm] : g->members) {
    auto a = assignments.find(id);
    mm.assignment = a == assignments.end() ? byte_vec{} : std::move(a->second);
  }
  g->state = group_state::stable;
  std::vector<std::pair<sync_callback, byte_vec>> answers;
  for (auto& [id, mm] : g->members)
    if (mm.awaiting_sync) {
      answers.emplace_back(std::move(mm.awaiting_sync), mm.assignment);
      mm.awaiting_sync = nullptr;
    }
  for (auto& [cb, a] : answers) cb({error_code::none, std::move(a)});
}

error_code group_coordinator::heartbeat(const std::string& group_id, std::int32_t generation_id,
                                        const std::string& member_id,
                                        const std::optional<std::string>& group_instance_id, std::int64_t now_ms) {
  group* g = find(group_id);
  if (g == nullptr) return error_code::unknown_member_id;
  if (group_instance_id) {
    auto s = g->static_ids.find(*group_instance_id);
    if (s != g->static_ids.end() && s->second != member_id) return error_code::fenced_instance_id;
  }
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return error_code::unknown_member_id;
  if (g->state == group_state::empty || g->state == group_state::dead) return error_code::unknown_member_id;
  if (generation_id != g->generation) return error_code::illegal_generation;
  it->second.last_heartbeat_ms = now_ms;
  if (g->state == group_state::preparing_rebalance) return error_code::rebalance_in_progress;
  return error_code::none;
}

void group_coordinator::remove_member(group& g, const std::string& id, std::int64_t now_ms) {
  auto it = g.members.find(id);
  if (it == g.members.end()) return;
  member m = std::move(it->second);
  g.members.erase(it);
  if (m.instance_id) g.static_ids.erase(*m.instance_id);
  if (m.awaiting_join) m.awaiting_join(join_result::failed(error_code::unknown_member_id));
  if (m.awaiting_sync) m.awaiting_sync({error_code::unknown_member_id, {}});
  if (g.leader == id) g.leader = g.members.empty() ? std::string{} : g.members.begin()->first;
  switch (g.state) {
    case group_state::stable:
    case group_state::completing_rebalance: prepare_rebalance(g, now_ms); [[fallthrough]];
    case group_state::preparing_rebalance: maybe_complete_join(g, now_ms); break;
    default: break;
  }
}

error_code group_coordinator::leave(const std::string& group_id, const std::string& member_id,
                                    const std::optional<std::string>& group_instance_id, std::int64_t now_ms) {
  group* g = find(group_id);
  if (g == nullptr) return error_code::unknown_member_id;
  std::string id = member_id;
  if (group_instance_id) {
    auto s = g->static_ids.find(*group_instance_id);
    if (s == g->static_ids.end()) return error_code::unknown_member_id;
    if (!member_id.empty() && s->second != member_id) return error_code::fenced_instance_id;
    id = s->second;
  }
  if (g->pending.erase(id)) {
    maybe_complete_join(*g, now_ms);
    return error_code::none;
  }
  if (!g->members.contains(id)) return error_code::unknown_member_id;
  remove_member(*g, id, now_ms);
  return error_code::none;
}

error_code group_coordinator::validate_commit(const std::string& group_id, std::int32_t generation_id,
                                              const std::string& member_id,
                                              const std::optional<std::string>& group_instance_id,
                                              std::int64_t now_ms) {
  if (group_id.empty()) return error_code::invalid_group_id;
  group* g = find(group_id);
  if (g == nullptr) return generation_id < 0 ? error_code::none : error_code::illegal_generation;
  if (group_instance_id) {
    auto s = g->static_ids.find(*group_instance_id);
    if (s != g->static_ids.end() && s->second != member_id) return error_code::fenced_instance_id;
  }
  if (generation_id < 0 && g->state == group_state::empty) return error_code::none;
  if (g->state == group_state::completing_rebalance) return error_code::rebalance_in_progress;
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return error_code::unknown_member_id;
  if (generation_id != g->generation) return error_code::illegal_generation;
  it->second.last_heartbeat_ms = now_ms;
  return error_code::none;
}

error_code group_coordinator::validate_txn_commit(const std::string& group_id, std::int32_t generation_id,
                                                  const std::string& member_id,
                                                  const std::optional<std::string>& group_instance_id) const {
  if (group_id.empty()) return error_code::invalid_group_id;
  const group* g = find(group_id);
  if (g == nullptr) return member_id.empty() ? error_code::none : error_code::unknown_member_id;
  if (group_instance_id) {
    auto s = g->static_ids.find(*group_instance_id);
    if (s != g->static_ids.end() && s->second != member_id) return error_code::fenced_instance_id;
  }
  if (!member_id.empty() && !g->members.contains(member_id)) return error_code::unknown_member_id;
  if (generation_id >= 0 && generation_id != g->generation) return error_code::illegal_generation;
  return error_code::none;
}

void group_coordinator::apply_commit(const std::string& group_id, const topic_partition& tp,
                                     const committed_offset& o) {
  group& g = groups_[group_id];
  g.id = group_id;
  g.offsets[tp] = o;
}

const std::map<topic_partition, committed_offset>* group_coordinator::offsets(const std::string& group_id) const {
  const group* g = find(group_id);
  return g == nullptr ? nullptr : &g->offsets;
}

group_description group_coordinator::describe(const std::string& group_id) const {
  group_description d;
  d.group_id = group_id;
  const group* g = find(group_id);
  if (g == nullptr) {
    d.state = "Dead";
    return d;
  }
  d.state = state_name(g->state);
  d.protocol_type = g->protocol_type;
  d.protocol_name = g->state == group_state::stable ? g->protocol_name : "";
  for (const auto& [id, m] : g->members) {
    member_description md{id, m.instance_id, m.client_id, m.client_host, {}, {}};
    if (g->state == group_state::stable) {
      for (const auto& p : m.protocols)
        if (p.name == g->protocol_name) md.metadata = p.metadata;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

std::vector<std::pair<std::string, std::string>> group_coordinator::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, g] : groups_) out.emplace_back(id, g.protocol_type);
  return out;
}

error_code group_coordinator::can_delete(const std::string& group_id) const {
  const group* g = find(group_id);
  if (g == nullptr) return error_code::group_id_not_found;
  if (!g->members.empty() || !g->pending.empty() || g->state != group_state::empty) return error_code::non_empty_group;
  return error_code::none;
}

void group_coordinator::remove(const std::string& group_id) { groups_.erase(group_id); }

void group_coordinator::tick(std::int64_t now_ms) {
  for (auto git = groups_.begin(); git != groups_.end();) {
    group& g = git->second;
    for (auto it = g.pending.begin(); it != g.pending.end();) it = it->second < now_ms ? g.pending.erase(it) : std::next(it);
    std::vector<std::string> expired;
    for (const auto& [id, m] : g.members)
      if (!m.awaiting_join && !m.awaiting_sync && now_ms > m.last_heartbeat_ms + m.session_timeout_ms)
        expired.push_back(id);
    for (const auto& id : expired) remove_member(g, id, now_ms);
    if (g.state == group_state::preparing_rebalance) {
      if (now_ms >= g.rebalance_deadline_ms && now_ms >= g.join_not_before_ms) {
        complete_join(g, now_ms);
      } else {
        maybe_complete_join(g, now_ms);
      }
    }
    // Groups with neither members nor offsets are forgotten (Kafka's Dead).
    if (g.state == group_state::empty && g.members.empty() && g.pending.empty() && g.offsets.empty())
      git = groups_.erase(git);
    else
      ++git;
  }
}

std::optional<group_state> group_coordinator::state(const std::string& group_id) const {
  const group* g = find(group_id);
  if (g == nullptr) return std::nullopt;
  return g->state;
}

std::int32_t group_coordinator::generation(const std::string& group_id) const {
  const group* g = find(group_id);
  return g == nullptr ? -1 : g->generation;
}

}  // namespace eddy::broker::group
