// Real-client proof of groups, idempotence and consume-transform-produce transactions:
// librdkafka (C API) against the embedded broker.
//   - two group consumers split a 4-partition topic, consume every record exactly once
//     with committed offsets; when one leaves, the other takes over at the committed offsets;
//   - consume-transform-produce with send_offsets_to_transaction: committed round visible and
//     its offsets committed; aborted round invisible to read_committed, offsets not committed;
//   - idempotent acks=all producer: everything delivered once, in order.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "eddy/broker/embedded_broker.h"

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

rd_kafka_conf_t* conf(const std::string& bootstrap, std::initializer_list<std::pair<const char*, std::string>> kv) {
  char err[512];
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(c, "bootstrap.servers", bootstrap.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  EXPECT_EQ(rd_kafka_conf_set(c, "log_level", "3", err, sizeof err), RD_KAFKA_CONF_OK);
  for (const auto& [k, v] : kv) EXPECT_EQ(rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << k;
  return c;
}

void ok(rd_kafka_error_t* e) {
  if (e) {
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  }
}

std::string str(const rd_kafka_message_t* m) { return std::string(static_cast<const char*>(m->payload), m->len); }

void produce(rd_kafka_t* p, const std::string& topic, int partition, const std::string& v) {
  ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE((void*)v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

rd_kafka_t* group_consumer(const std::string& bs, const std::string& group, const std::string& topic,
                           const std::string& isolation = "read_committed") {
  char err[512];
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER,
                               conf(bs, {{"group.id", group},
                                         {"auto.offset.reset", "earliest"},
                                         {"enable.auto.commit", "false"},
                                         {"isolation.level", isolation},
                                         {"session.timeout.ms", "6000"},
                                         {"heartbeat.interval.ms", "300"},
                                         {"fetch.wait.max.ms", "50"}}),
                               err, sizeof err);
  EXPECT_NE(c, nullptr) << err;
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(c, t), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(t);
  return c;
}

std::set<int> assigned(rd_kafka_t* c) {
  rd_kafka_topic_partition_list_t* a = nullptr;
  std::set<int> out;
  if (rd_kafka_assignment(c, &a) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (int i = 0; i < a->cnt; ++i) out.insert(a->elems[i].partition);
  rd_kafka_topic_partition_list_destroy(a);
  return out;
}

// Committed offsets of the consumer's group for partitions 0..n-1 of topic.
std::vector<int64_t> committed(rd_kafka_t* c, const std::string& topic, int n) {
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(l, topic.c_str(), p);
  EXPECT_EQ(rd_kafka_committed(c, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<int64_t> out;
  for (int p = 0; p < n; ++p) out.push_back(l->elems[p].offset);
  rd_kafka_topic_partition_list_destroy(l);
  return out;
}

// Polls c once; appends a record's value to `into`. Returns true if a record arrived.
bool poll_one(rd_kafka_t* c, std::vector<std::string>& into, int timeout_ms = 50) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(c, timeout_ms);
  if (!m) return false;
  bool got = false;
  if (!m->err) {
    into.push_back(str(m));
    got = true;
  }
  rd_kafka_message_destroy(m);
  return got;
}

void commit_sync(rd_kafka_t* c) {
  rd_kafka_resp_err_t e = rd_kafka_commit(c, nullptr, 0);
  EXPECT_TRUE(e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET) << rd_kafka_err2str(e);
}

TEST(eos_clients, group_of_two_splits_partitions_and_survivor_resumes_from_committed_offsets) {
  eddy::broker::embedded_broker_options opts;
  opts.config = {{"num.partitions", "4"}};
  eddy::broker::embedded_broker broker(opts);
  const std::string bs = broker.bootstrap_servers();
  const std::string topic = "grp-in";
  char err[512];
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"acks", "all"}, {"linger.ms", "1"}}), err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  produce(p, topic, 0, "warmup-topic-creation");  // creates the 4-partition topic
  ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  rd_kafka_t* a = group_consumer(bs, "g2", topic);
  rd_kafka_t* b = group_consumer(bs, "g2", topic);
  std::vector<std::string> got_a, got_b;
  // Wait until the group is stable with the partitions split between the two members.
  auto deadline = clk::now() + 30s;
  std::set<int> pa, pb;
  while (clk::now() < deadline) {
    poll_one(a, got_a);
    poll_one(b, got_b);
    commit_sync(a);
    commit_sync(b);
    pa = assigned(a);
    pb = assigned(b);
    if (!pa.empty() && !pb.empty() && pa.size() + pb.size() == 4) break;
  }
  ASSERT_FALSE(pa.empty());
  ASSERT_FALSE(pb.empty());
  std::set<int> all = pa;
  all.insert(pb.begin(), pb.end());
  EXPECT_EQ(all, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(pa.size() + pb.size(), 4u) << "overlapping assignment";

  constexpr int per_partition = 100;
  std::multiset<std::string> want{"warmup-topic-creation"};  // may have been consumed already: counted once
  for (int i = 0; i < per_partition; ++i)
    for (int part = 0; part < 4; ++part) {
      std::string v = "r" + std::to_string(part) + "-" + std::to_string(i);
      produce(p, topic, part, v);
      want.insert(v);
    }
  ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  deadline = clk::now() + 30s;
  while (got_a.size() + got_b.size() < want.size() && clk::now() < deadline) {
    bool x = poll_one(a, got_a), y = poll_one(b, got_b);
    if (x) commit_sync(a);
    if (y) commit_sync(b);
  }
  for (int i = 0; i < 10; ++i) {  // a stray duplicate would show up here
    if (poll_one(a, got_a)) commit_sync(a);
    if (poll_one(b, got_b)) commit_sync(b);
  }
  EXPECT_EQ(assigned(a), pa) << "rebalance during consumption";
  EXPECT_EQ(assigned(b), pb) << "rebalance during consumption";
  EXPECT_FALSE(got_a.empty());
  EXPECT_FALSE(got_b.empty());
  std::multiset<std::string> got(got_a.begin(), got_a.end());
  got.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(got, want) << "exactly once across the two members";
  // Each member only saw records of its own partitions.
  for (const auto& v : got_b)
    if (v[0] == 'r') {
      EXPECT_TRUE(pb.count(v[1] - '0')) << v;
    }
  commit_sync(a);
  commit_sync(b);
  EXPECT_EQ(committed(a, topic, 4), (std::vector<int64_t>{per_partition + 1, per_partition, per_partition, per_partition}));

  // b leaves; a takes over all four partitions at the committed offsets.
  rd_kafka_consumer_close(b);
  rd_kafka_destroy(b);
  std::vector<std::string> more;
  deadline = clk::now() + 30s;
  while (assigned(a).size() != 4 && clk::now() < deadline) poll_one(a, more);
  ASSERT_EQ(assigned(a), (std::set<int>{0, 1, 2, 3}));
  EXPECT_TRUE(more.empty()) << "re-read after rebalance: " << more.front();
  std::multiset<std::string> want2;
  for (int part = 0; part < 4; ++part)
    for (int i = 0; i < 25; ++i) {
      std::string v = "s" + std::to_string(part) + "-" + std::to_string(i);
      produce(p, topic, part, v);
      want2.insert(v);
    }
  ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  deadline = clk::now() + 20s;
  while (more.size() < want2.size() && clk::now() < deadline) poll_one(a, more);
  for (int i = 0; i < 10; ++i) poll_one(a, more);
  EXPECT_EQ(std::multiset<std::string>(more.begin(), more.end()), want2)
      << "survivor must continue exactly at the committed offsets";
  commit_sync(a);
  EXPECT_EQ(committed(a, topic, 4),
            (std::vector<int64_t>{per_partition + 26, per_partition + 25, per_partition + 25, per_partition + 25}));
  rd_kafka_consumer_close(a);
  rd_kafka_destroy(a);
  rd_kafka_destroy(p);
}

// Reads a partition from the beginning to its end (for the given isolation) without a group.
std::vector<std::string> read_all(const std::string& bs, const std::string& topic, int partition,
                                  const std::string& isolation) {
  char err[512];
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER,
                               conf(bs, {{"group.id", "reader-" + isolation},
                                         {"isolation.level", isolation},
                                         {"enable.partition.eof", "true"},
                                         {"enable.auto.commit", "false"},
                                         {"fetch.wait.max.ms", "50"}}),
                               err, sizeof err);
  EXPECT_NE(c, nullptr) << err;
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic.c_str(), partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  EXPECT_EQ(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  std::vector<std::string> out;
  auto deadline = clk::now() + 15s;
  while (clk::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (!m->err) out.push_back(str(m));
    rd_kafka_message_destroy(m);
    if (eof) break;
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return out;
}

TEST(eos_clients, consume_transform_produce_commits_offsets_with_the_transaction) {
  eddy::broker::embedded_broker broker;
  const std::string bs = broker.bootstrap_servers();
  char err[512];
  rd_kafka_t* plain = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"acks", "all"}}), err, sizeof err);
  ASSERT_NE(plain, nullptr) << err;
  for (int i = 0; i < 30; ++i) produce(plain, "ctp-in", 0, "in-" + std::to_string(i));
  ASSERT_EQ(rd_kafka_flush(plain, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(plain);

  rd_kafka_t* tx = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"transactional.id", "ctp-tx"}, {"linger.ms", "1"}}),
                                err, sizeof err);
  ASSERT_NE(tx, nullptr) << err;
  ok(rd_kafka_init_transactions(tx, 15000));
  rd_kafka_t* c = group_consumer(bs, "ctp-group", "ctp-in");

  // One round: consume 10 inputs, produce their transformations, send the offsets.
  auto round = [&](bool commit) {
    std::vector<std::string> in;
    auto deadline = clk::now() + 20s;
    ok(rd_kafka_begin_transaction(tx));
    while (in.size() < 10 && clk::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      if (!m->err) {
        in.push_back(str(m));
        produce(tx, "ctp-out", 0, "out-" + in.back());
      }
      rd_kafka_message_destroy(m);
    }
    ASSERT_EQ(in.size(), 10u);
    rd_kafka_topic_partition_list_t* pos = nullptr;
    ASSERT_EQ(rd_kafka_assignment(c, &pos), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_position(c, pos), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata(c);
    ok(rd_kafka_send_offsets_to_transaction(tx, pos, md, 10000));
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(pos);
    if (commit) {
      ok(rd_kafka_commit_transaction(tx, 10000));
    } else {
      ASSERT_EQ(rd_kafka_flush(tx, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
      ok(rd_kafka_abort_transaction(tx, 10000));
    }
  };
  round(true);   // in-0..in-9 -> committed; group offset 10
  round(false);  // in-10..in-19 -> aborted; group offset stays 10
  EXPECT_EQ(committed(c, "ctp-in", 1), std::vector<int64_t>{10});
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);

  std::vector<std::string> want_committed, want_all;
  for (int i = 0; i < 20; ++i) {
    if (i < 10) want_committed.push_back("out-in-" + std::to_string(i));
    want_all.push_back("out-in-" + std::to_string(i));
  }
  EXPECT_EQ(read_all(bs, "ctp-out", 0, "read_committed"), want_committed);
  EXPECT_EQ(read_all(bs, "ctp-out", 0, "read_uncommitted"), want_all) << "the aborted records are in the log";

  // A new member of the group starts at the transactionally committed offset (10).
  rd_kafka_t* c2 = group_consumer(bs, "ctp-group", "ctp-in");
  std::vector<std::string> resumed;
  auto deadline = clk::now() + 20s;
  while (resumed.size() < 20 && clk::now() < deadline) poll_one(c2, resumed, 100);
  for (int i = 0; i < 5; ++i) poll_one(c2, resumed);
  ASSERT_FALSE(resumed.empty());
  std::vector<std::string> want_resumed;
  for (int i = 10; i < 30; ++i) want_resumed.push_back("in-" + std::to_string(i));
  EXPECT_EQ(resumed, want_resumed);
  rd_kafka_consumer_close(c2);
  rd_kafka_destroy(c2);
  rd_kafka_destroy(tx);
}

struct idem_state {
  std::atomic<long> ok{0}, failed{0};
  std::map<int, std::vector<std::pair<int64_t, std::string>>> acked;  // dr callbacks run in poll/flush: one thread
};

void on_idem_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<idem_state*>(opaque);
  if (m->err) {
    s->failed++;
    return;
  }
  s->ok++;
  s->acked[m->partition].emplace_back(m->offset, str(m));
}

TEST(eos_clients, idempotent_producer_delivers_everything_once_in_order) {
  eddy::broker::embedded_broker_options opts;
  opts.config = {{"num.partitions", "3"}};
  eddy::broker::embedded_broker broker(opts);
  const std::string bs = broker.bootstrap_servers();
  idem_state st;
  rd_kafka_conf_t* cf = conf(bs, {{"enable.idempotence", "true"},
                                  {"acks", "all"},
                                  {"linger.ms", "2"},
                                  {"batch.num.messages", "500"},
                                  {"max.in.flight.requests.per.connection", "5"}});
  rd_kafka_conf_set_dr_msg_cb(cf, on_idem_dr);
  rd_kafka_conf_set_opaque(cf, &st);
  char err[512];
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, cf, err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  constexpr int n = 60000, parts = 3;
  char buf[32];
  for (int i = 0; i < n; ++i) {
    int len = std::snprintf(buf, sizeof buf, "%d-%08d", i % parts, i / parts);
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("idem"), RD_KAFKA_V_PARTITION(i % parts), RD_KAFKA_V_VALUE(buf, len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
    if (i % 1000 == 0) rd_kafka_poll(p, 0);
  }
  ASSERT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(st.ok.load(), n);
  EXPECT_EQ(st.failed.load(), 0);
  rd_kafka_destroy(p);

  for (int part = 0; part < parts; ++part) {
    std::vector<std::string> want;
    for (int i = 0; i < n / parts; ++i) {
      int len = std::snprintf(buf, sizeof buf, "%d-%08d", part, i);
      want.emplace_back(buf, len);
    }
    auto& acked = st.acked[part];
    std::sort(acked.begin(), acked.end());
    ASSERT_EQ(acked.size(), want.size());
    for (size_t i = 0; i < acked.size(); ++i) {
      ASSERT_EQ(acked[i].first, static_cast<int64_t>(i)) << "acked offsets of partition " << part;
      ASSERT_EQ(acked[i].second, want[i]);
    }
    std::vector<std::string> got = read_all(bs, "idem", part, "read_uncommitted");
    ASSERT_EQ(got.size(), want.size()) << "partition " << part;
    EXPECT_TRUE(got == want) << "partition " << part << ": duplicates, gaps or reordering";
  }
}

}  // namespace
