#include "broker/txn/txn_coordinator.h"

#include <gtest/gtest.h>

namespace eddy::broker::txn {
namespace {

using protocol::error_code;

// An environment whose "disk" is a vector of persisted records, so a crash is simulated
// by building a new coordinator from what was persisted.
struct fake_env : txn_environment {
  std::vector<txn_metadata> journal;
  std::int64_t pid_block = 0;
  std::set<std::pair<topic_partition, std::int64_t>> open;  // partitions with an open txn per pid
  std::vector<std::pair<topic_partition, record::marker>> markers;
  std::map<std::string, group_offsets> committed;
  int fail_markers_after = -1;  // crash injection: fail once this many markers were written

  bool persist(const txn_metadata& m, bool) override {
    journal.push_back(m);
    return true;
  }
  bool persist_producer_id_block(std::int64_t until) override {
    pid_block = until;
    return true;
  }
  bool partition_exists(const topic_partition& tp) override { return tp.first != "missing"; }
  error_code write_marker(const topic_partition& tp, const record::marker& m) override {
    if (fail_markers_after >= 0 && int(markers.size()) >= fail_markers_after) return error_code::kafka_storage_error;
    if (!open.erase({tp, m.producer_id})) return error_code::none;  // idempotent
    markers.emplace_back(tp, m);
    return error_code::none;
  }
  bool commit_offsets(const std::string& g, const group_offsets& o) override {
    for (const auto& [tp, v] : o) committed[g][tp] = v;
    return true;
  }
};

txn_coordinator restart(fake_env& env) {
  txn_coordinator c(env, {});
  c.load_producer_id_block(env.pid_block);
  std::map<std::string, txn_metadata> last;
  for (const auto& m : env.journal) last[m.transactional_id] = m;
  for (auto& [id, m] : last) c.load(m);
  return c;
}

TEST(txn_coordinator, idempotent_producers_get_fresh_ids_never_reused_after_restart) {
  fake_env env;
  txn_coordinator c(env, {});
  auto a = c.init_producer_id(std::nullopt, 0, -1, -1, 0);
  auto b = c.init_producer_id(std::nullopt, 0, -1, -1, 0);
  EXPECT_EQ(a.error, error_code::none);
  EXPECT_NE(a.producer_id, b.producer_id);
  auto c2 = restart(env);
  auto n = c2.init_producer_id(std::nullopt, 0, -1, -1, 0);
  EXPECT_GT(n.producer_id, b.producer_id);
}

TEST(txn_coordinator, commit_writes_markers_and_moves_offsets) {
  fake_env env;
  txn_coordinator c(env, {});
  auto p = c.init_producer_id("t1", 60000, -1, -1, 0);
  ASSERT_EQ(p.error, error_code::none);
  auto errs = c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"out", 0}, {"out", 1}}, 10);
  for (auto& [tp, e] : errs) EXPECT_EQ(e, error_code::none);
  EXPECT_EQ(c.find("t1")->state, txn_state::ongoing);
  env.open = {{{"out", 0}, p.producer_id}, {{"out", 1}, p.producer_id}};
  EXPECT_EQ(c.check_transactional_write("t1", p.producer_id, p.producer_epoch, {"out", 0}), error_code::none);
  EXPECT_EQ(c.check_transactional_write("t1", p.producer_id, p.producer_epoch, {"other", 0}),
            error_code::invalid_txn_state);
  ASSERT_EQ(c.add_offsets("t1", p.producer_id, p.producer_epoch, "g", 10), error_code::none);
  ASSERT_EQ(c.check_offset_commit("t1", p.producer_id, p.producer_epoch, "g"), error_code::none);
  ASSERT_EQ(c.stage_offsets("t1", "g", {{{"in", 0}, {42, -1, "m"}}}), error_code::none);
  EXPECT_EQ(c.pending_offsets("g").size(), 1u);
  ASSERT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, true, 20), error_code::none);
  EXPECT_EQ(c.find("t1")->state, txn_state::complete_commit);
  ASSERT_EQ(env.markers.size(), 2u);
  EXPECT_EQ(env.markers[0].second.type, record::control_type::commit);
  EXPECT_EQ((env.committed["g"][{"in", 0}].offset), 42);
  EXPECT_TRUE(c.pending_offsets("g").empty());
  // Prepare was persisted before completion.
  bool saw_prepare = false;
  for (const auto& m : env.journal) saw_prepare |= m.state == txn_state::prepare_commit;
  EXPECT_TRUE(saw_prepare);
  // Repeating in the same direction succeeds; the other direction does not.
  EXPECT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, true, 30), error_code::none);
  EXPECT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, false, 30), error_code::invalid_txn_state);
}

TEST(txn_coordinator, abort_discards_offsets) {
  fake_env env;
  txn_coordinator c(env, {});
  auto p = c.init_producer_id("t1", 60000, -1, -1, 0);
  (void)c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"out", 0}}, 0);
  env.open = {{{"out", 0}, p.producer_id}};
  ASSERT_EQ(c.add_offsets("t1", p.producer_id, p.producer_epoch, "g", 0), error_code::none);
  ASSERT_EQ(c.stage_offsets("t1", "g", {{{"in", 0}, {42, -1, {}}}}), error_code::none);
  ASSERT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, false, 1), error_code::none);
  EXPECT_EQ(env.markers.at(0).second.type, record::control_type::abort);
  EXPECT_TRUE(env.committed.empty());
  EXPECT_EQ(c.find("t1")->state, txn_state::complete_abort);
}

TEST(txn_coordinator, new_instance_fences_old_and_aborts_its_transaction) {
  fake_env env;
  txn_coordinator c(env, {});
  auto old = c.init_producer_id("t1", 60000, -1, -1, 0);
  (void)c.add_partitions("t1", old.producer_id, old.producer_epoch, {{"out", 0}}, 0);
  env.open = {{{"out", 0}, old.producer_id}};
  // The abort's markers are written at once, so the new instance is answered without a retry.
  auto fresh = c.init_producer_id("t1", 60000, -1, -1, 5);
  ASSERT_EQ(fresh.error, error_code::none);
  ASSERT_EQ(env.markers.size(), 1u);
  EXPECT_EQ(env.markers[0].second.type, record::control_type::abort);
  EXPECT_GT(env.markers[0].second.producer_epoch, old.producer_epoch);
  EXPECT_EQ(fresh.producer_id, old.producer_id);
  EXPECT_GT(fresh.producer_epoch, env.markers[0].second.producer_epoch);
  // The zombie is fenced everywhere.
  EXPECT_EQ(c.end_txn("t1", old.producer_id, old.producer_epoch, true, 7), error_code::producer_fenced);
  auto fenced = c.add_partitions("t1", old.producer_id, old.producer_epoch, {{"out", 0}}, 7);
  EXPECT_EQ((fenced[{"out", 0}]), error_code::producer_fenced);
  EXPECT_EQ(c.check_transactional_write("t1", old.producer_id, old.producer_epoch, {"out", 0}),
            error_code::invalid_producer_epoch);
  EXPECT_EQ(c.init_producer_id("t1", 60000, old.producer_id, old.producer_epoch, 8).error,
            error_code::producer_fenced);
  EXPECT_EQ(c.end_txn("t1", 999, 0, true, 7), error_code::invalid_producer_id_mapping);
}

TEST(txn_coordinator, new_instance_retries_while_the_abort_cannot_complete) {
  fake_env env;
  txn_coordinator c(env, {});
  auto old = c.init_producer_id("t1", 60000, -1, -1, 0);
  (void)c.add_partitions("t1", old.producer_id, old.producer_epoch, {{"out", 0}}, 0);
  env.open = {{{"out", 0}, old.producer_id}};
  env.fail_markers_after = 0;  // the abort marker cannot be written yet
  EXPECT_EQ(c.init_producer_id("t1", 60000, -1, -1, 5).error, error_code::concurrent_transactions);
  EXPECT_EQ(c.find("t1")->state, txn_state::prepare_abort);
  env.fail_markers_after = -1;
  auto fresh = c.init_producer_id("t1", 60000, -1, -1, 6);
  ASSERT_EQ(fresh.error, error_code::none);
  ASSERT_EQ(env.markers.size(), 1u);
  EXPECT_EQ(env.markers[0].second.type, record::control_type::abort);
  EXPECT_GT(fresh.producer_epoch, env.markers[0].second.producer_epoch);
}

TEST(txn_coordinator, timeouts_validated_and_expired_transactions_aborted) {
  fake_env env;
  txn_coordinator c(env, {});
  EXPECT_EQ(c.init_producer_id("t1", 900001, -1, -1, 0).error, error_code::invalid_transaction_timeout);
  auto p = c.init_producer_id("t1", 1000, -1, -1, 0);
  (void)c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"out", 0}}, 100);
  env.open = {{{"out", 0}, p.producer_id}};
  c.tick(1000);
  EXPECT_EQ(c.find("t1")->state, txn_state::ongoing);
  c.tick(1101);
  EXPECT_EQ(c.find("t1")->state, txn_state::complete_abort);
  EXPECT_EQ(env.markers.size(), 1u);
  EXPECT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, true, 1200), error_code::producer_fenced);
}

TEST(txn_coordinator, unknown_partition_fails_the_whole_request) {
  fake_env env;
  txn_coordinator c(env, {});
  auto p = c.init_producer_id("t1", 1000, -1, -1, 0);
  auto errs = c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"out", 0}, {"missing", 0}}, 0);
  EXPECT_EQ((errs[{"out", 0}]), error_code::operation_not_attempted);
  EXPECT_EQ((errs[{"missing", 0}]), error_code::unknown_topic_or_partition);
  EXPECT_EQ(c.find("t1")->state, txn_state::empty);
}

TEST(txn_coordinator, crash_between_markers_rolls_forward_on_restart) {
  fake_env env;
  {
    txn_coordinator c(env, {});
    auto p = c.init_producer_id("t1", 60000, -1, -1, 0);
    (void)c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"a", 0}, {"b", 0}, {"c", 0}}, 0);
    ASSERT_EQ(c.add_offsets("t1", p.producer_id, p.producer_epoch, "g", 0), error_code::none);
    ASSERT_EQ(c.stage_offsets("t1", "g", {{{"in", 3}, {7, 1, {}}}}), error_code::none);
    env.open = {{{"a", 0}, p.producer_id}, {{"b", 0}, p.producer_id}, {{"c", 0}, p.producer_id}};
    env.fail_markers_after = 1;  // "kill -9" after the first marker
    EXPECT_EQ(c.end_txn("t1", p.producer_id, p.producer_epoch, true, 1), error_code::none);
    EXPECT_EQ(c.find("t1")->state, txn_state::prepare_commit);
    // While completing, other calls see CONCURRENT_TRANSACTIONS.
    EXPECT_EQ(c.add_offsets("t1", p.producer_id, p.producer_epoch, "g", 2), error_code::concurrent_transactions);
  }
  EXPECT_EQ(env.markers.size(), 1u);
  EXPECT_TRUE(env.committed.empty());
  env.fail_markers_after = -1;
  auto c = restart(env);
  c.recover(10);
  EXPECT_EQ(c.find("t1")->state, txn_state::complete_commit);
  EXPECT_EQ(env.markers.size(), 3u);  // the missing two, not a duplicate of the first
  EXPECT_EQ((env.committed["g"][{"in", 3}].offset), 7);
}

TEST(txn_coordinator, ongoing_transaction_survives_restart_and_times_out) {
  fake_env env;
  std::int64_t pid;
  {
    txn_coordinator c(env, {});
    auto p = c.init_producer_id("t1", 5000, -1, -1, 0);
    pid = p.producer_id;
    (void)c.add_partitions("t1", p.producer_id, p.producer_epoch, {{"a", 0}}, 0);
    env.open = {{{"a", 0}, p.producer_id}};
  }
  auto c = restart(env);
  c.recover(1);
  EXPECT_EQ(c.find("t1")->state, txn_state::ongoing);
  c.tick(6000);
  EXPECT_EQ(c.find("t1")->state, txn_state::complete_abort);
  ASSERT_EQ(env.markers.size(), 1u);
  EXPECT_EQ(env.markers[0].second.producer_id, pid);
}

}  // namespace
}  // namespace eddy::broker::txn
