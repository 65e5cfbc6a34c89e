#include "broker/group/group_coordinator.h"

#include <gtest/gtest.h>

namespace eddy::broker::group {
namespace {

using protocol::error_code;

join_request req(std::string member, bool v4 = true, std::string proto = "range") {
  join_request r;
  r.group_id = "g";
  r.member_id = std::move(member);
  r.client_id = "c";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 30000;
  r.protocol_type = "consumer";
  r.protocols = {{proto, {1, 2, 3}}};
  r.require_known_member_id = v4;
  return r;
}

struct joined {
  std::optional<join_result> r;
  join_callback cb() {
    return [this](const join_result& x) { r = x; };
  }
};

TEST(group_coordinator, member_id_required_then_single_member_becomes_leader) {
  group_coordinator g({});
  joined a;
  g.join(req(""), 0, a.cb());
  ASSERT_TRUE(a.r);
  EXPECT_EQ(a.r->error, error_code::member_id_required);
  std::string id = a.r->member_id;
  ASSERT_FALSE(id.empty());
  joined a2;
  g.join(req(id), 1, a2.cb());
  ASSERT_TRUE(a2.r);
  EXPECT_EQ(a2.r->error, error_code::none);
  EXPECT_EQ(a2.r->leader, id);
  EXPECT_EQ(a2.r->generation_id, 1);
  EXPECT_EQ(a2.r->protocol_name, "range");
  ASSERT_EQ(a2.r->members.size(), 1u);
  std::optional<sync_result> s;
  g.sync("g", 1, id, std::nullopt, {{id, {9}}}, 2, [&](const sync_result& x) { s = x; });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->assignment, byte_vec{9});
  EXPECT_EQ(g.state("g"), group_state::stable);
  EXPECT_EQ(g.heartbeat("g", 1, id, std::nullopt, 3), error_code::none);
  EXPECT_EQ(g.heartbeat("g", 0, id, std::nullopt, 3), error_code::illegal_generation);
  EXPECT_EQ(g.heartbeat("g", 1, "nobody", std::nullopt, 3), error_code::unknown_member_id);
}

TEST(group_coordinator, second_member_triggers_rebalance_and_leader_assignment_is_relayed) {
  group_coordinator g({});
  joined a;
  g.join(req("", false), 0, a.cb());
  std::string ida = a.r->member_id;
  g.sync("g", 1, ida, std::nullopt, {{ida, {1}}}, 0, [](const sync_result&) {});
  joined b;
  g.join(req("", false), 10, b.cb());
  EXPECT_FALSE(b.r);  // waits for the existing member to rejoin
  EXPECT_EQ(g.heartbeat("g", 1, ida, std::nullopt, 11), error_code::rebalance_in_progress);
  joined a2;
  g.join(req(ida, false), 12, a2.cb());
  ASSERT_TRUE(a2.r && b.r);
  EXPECT_EQ(a2.r->generation_id, 2);
  EXPECT_EQ(a2.r->leader, ida);
  EXPECT_EQ(a2.r->members.size(), 2u);
  EXPECT_TRUE(b.r->members.empty());
  std::string idb = b.r->member_id;
  std::optional<sync_result> sb, sa;
  g.sync("g", 2, idb, std::nullopt, {}, 13, [&](const sync_result& x) { sb = x; });
  EXPECT_FALSE(sb);  // follower waits for the leader
  EXPECT_EQ(g.validate_commit("g", 2, idb, std::nullopt, 13), error_code::rebalance_in_progress);
  g.sync("g", 2, ida, std::nullopt, {{ida, {0xa}}, {idb, {0xb}}}, 14, [&](const sync_result& x) { sa = x; });
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->assignment, byte_vec{0xa});
  EXPECT_EQ(sb->assignment, byte_vec{0xb});
  EXPECT_EQ(g.validate_commit("g", 2, idb, std::nullopt, 15), error_code::none);
  EXPECT_EQ(g.validate_commit("g", 1, idb, std::nullopt, 15), error_code::illegal_generation);
  EXPECT_EQ(g.validate_commit("g", 2, "x", std::nullopt, 15), error_code::unknown_member_id);
}

TEST(group_coordinator, leave_and_session_timeout_rebalance) {
  group_coordinator g({});
  joined a, b;
  g.join(req("", false), 0, a.cb());
  std::string ida = a.r->member_id;
  g.sync("g", 1, ida, std::nullopt, {}, 0, [](const sync_result&) {});
  g.join(req("", false), 1, b.cb());
  joined a2;
  g.join(req(ida, false), 2, a2.cb());
  std::string idb = b.r->member_id;
  g.sync("g", 2, idb, std::nullopt, {}, 3, [](const sync_result&) {});
  g.sync("g", 2, ida, std::nullopt, {}, 3, [](const sync_result&) {});
  ASSERT_EQ(g.state("g"), group_state::stable);
  // b stops heartbeating; a keeps going.
  for (std::int64_t t = 1000; t <= 11000; t += 1000) {
    EXPECT_NE(g.heartbeat("g", g.generation("g"), ida, std::nullopt, t), error_code::unknown_member_id);
    g.tick(t);
  }
  g.tick(10004);
  EXPECT_EQ(g.state("g"), group_state::preparing_rebalance);
  joined a3;
  g.join(req(ida, false), 10005, a3.cb());
  ASSERT_TRUE(a3.r);
  EXPECT_EQ(a3.r->members.size(), 1u);
  EXPECT_EQ(g.leave("g", ida, std::nullopt, 10006), error_code::none);
  g.tick(10007);
  EXPECT_EQ(g.state("g"), std::nullopt);  // nothing left: forgotten
}

TEST(group_coordinator, rebalance_timeout_drops_members_that_do_not_rejoin) {
  group_coordinator g({});
  joined a, b;
  g.join(req("", false), 0, a.cb());
  g.sync("g", 1, a.r->member_id, std::nullopt, {}, 0, [](const sync_result&) {});
  g.join(req("", false), 100, b.cb());
  EXPECT_FALSE(b.r);
  g.tick(100 + 30000 + 1);  // a never rejoined (its heartbeat said REBALANCE_IN_PROGRESS)
  ASSERT_TRUE(b.r);
  EXPECT_EQ(b.r->leader, b.r->member_id);
  EXPECT_EQ(b.r->members.size(), 1u);
}

TEST(group_coordinator, inconsistent_protocols_and_bad_timeouts) {
  group_coordinator g({});
  joined a, b, c;
  g.join(req("", false, "range"), 0, a.cb());
  g.join(req("", false, "roundrobin"), 0, b.cb());
  ASSERT_TRUE(b.r);
  EXPECT_EQ(b.r->error, error_code::inconsistent_group_protocol);
  auto r = req("", false);
  r.session_timeout_ms = 10;
  g.join(r, 0, c.cb());
  EXPECT_EQ(c.r->error, error_code::invalid_session_timeout);
}

TEST(group_coordinator, protocol_chosen_among_common_ones_by_preference) {
  group_coordinator g({});
  auto r1 = req("", false);
  r1.protocols = {{"cooperative", {}}, {"range", {}}};
  auto r2 = req("", false);
  r2.protocols = {{"range", {}}, {"cooperative", {}}};
  auto r3 = req("", false);
  r3.protocols = {{"range", {}}};
  joined a, b, c;
  g.join(r1, 0, a.cb());
  g.sync("g", 1, a.r->member_id, std::nullopt, {}, 0, [](const sync_result&) {});
  g.join(r2, 1, b.cb());
  g.join(r3, 1, c.cb());
  r1.member_id = a.r->member_id;
  joined a2;
  g.join(r1, 2, a2.cb());
  ASSERT_TRUE(a2.r);
  EXPECT_EQ(a2.r->protocol_name, "range");
}

TEST(group_coordinator, static_member_rejoin_keeps_assignment_and_fences_old_id) {
  group_coordinator g({});
  auto r = req("", true);
  r.group_instance_id = "inst-1";
  joined a;
  g.join(r, 0, a.cb());  // static members skip MEMBER_ID_REQUIRED
  ASSERT_EQ(a.r->error, error_code::none);
  std::string old_id = a.r->member_id;
  g.sync("g", 1, old_id, "inst-1", {{old_id, {5}}}, 0, [](const sync_result&) {});
  joined a2;
  g.join(r, 100, a2.cb());  // restarted, same instance id, no member id
  ASSERT_TRUE(a2.r);
  EXPECT_EQ(a2.r->error, error_code::none);
  EXPECT_EQ(a2.r->generation_id, 1);  // no rebalance
  EXPECT_EQ(g.heartbeat("g", 1, old_id, "inst-1", 101), error_code::fenced_instance_id);
  std::optional<sync_result> s;
  g.sync("g", 1, a2.r->member_id, "inst-1", {}, 102, [&](const sync_result& x) { s = x; });
  EXPECT_EQ(s->assignment, byte_vec{5});
}

TEST(group_coordinator, offsets_only_groups_and_delete) {
  group_coordinator g({});
  EXPECT_EQ(g.validate_commit("solo", -1, "", std::nullopt, 0), error_code::none);
  g.apply_commit("solo", {"t", 0}, {5, -1, "m", 0});
  ASSERT_TRUE(g.offsets("solo"));
  EXPECT_EQ(g.offsets("solo")->at({"t", 0}).offset, 5);
  EXPECT_EQ(g.can_delete("solo"), error_code::none);
  EXPECT_EQ(g.can_delete("nope"), error_code::group_id_not_found);
  joined a;
  g.join(req("", false), 0, a.cb());
  EXPECT_EQ(g.can_delete("g"), error_code::non_empty_group);
  g.remove("solo");
  EXPECT_EQ(g.offsets("solo"), nullptr);
}

}  // namespace
}  // namespace eddy::broker::group
