// Real-client tests of groups and transactions: librdkafka's transactional producer
// against the embedded broker, read by a read_committed group consumer.
#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "eddy/broker/embedded_broker.h"

namespace {

using namespace std::chrono_literals;

rd_kafka_conf_t* conf(const std::string& bootstrap, std::initializer_list<std::pair<const char*, std::string>> kv) {
  char err[512];
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(c, "bootstrap.servers", bootstrap.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  for (const auto& [k, v] : kv) EXPECT_EQ(rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << k;
  return c;
}

void ok(rd_kafka_error_t* e) {
  if (e) {
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  }
}

// Committed, aborted, committed transactions on one partition, read back by a
// read_committed group consumer with `consumer_extra` settings: only committed values.
void check_abort_invisible(std::initializer_list<std::pair<const char*, std::string>> consumer_extra) {
  eddy::broker::embedded_broker broker;
  const std::string bs = broker.bootstrap_servers();
  char err[512];
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"transactional.id", "tx-1"}, {"linger.ms", "0"}}), err,
                               sizeof err);
  ASSERT_NE(p, nullptr) << err;
  ok(rd_kafka_init_transactions(p, 10000));
  auto send = [&](const std::string& v) {
    ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("txn-out"), RD_KAFKA_V_VALUE((void*)v.data(), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  };
  ok(rd_kafka_begin_transaction(p));
  send("committed-1");
  send("committed-2");
  ok(rd_kafka_commit_transaction(p, 10000));
  ok(rd_kafka_begin_transaction(p));
  send("aborted");
  ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ok(rd_kafka_abort_transaction(p, 10000));
  ok(rd_kafka_begin_transaction(p));
  send("committed-3");
  ok(rd_kafka_commit_transaction(p, 10000));

  rd_kafka_conf_t* cc = conf(bs, {{"group.id", "readers"}, {"auto.offset.reset", "earliest"},
                                   {"isolation.level", "read_committed"}, {"enable.auto.commit", "false"}});
  for (const auto& [k, v] : consumer_extra)
    EXPECT_EQ(rd_kafka_conf_set(cc, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << k;
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  ASSERT_NE(c, nullptr) << err;
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "txn-out", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(c, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::multiset<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (seen.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200);
    if (!m) continue;
    if (!m->err) seen.insert(std::string(static_cast<const char*>(m->payload), m->len));
    rd_kafka_message_destroy(m);
  }
  // Give a stray aborted record a chance to show up.
  for (int i = 0; i < 5; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m && !m->err) seen.insert(std::string(static_cast<const char*>(m->payload), m->len));
    if (m) rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(seen, (std::multiset<std::string>{"committed-1", "committed-2", "committed-3"}));
  ASSERT_EQ(rd_kafka_commit(c, nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  rd_kafka_destroy(p);
}

TEST(librdkafka_transactions, commit_visible_abort_invisible_to_read_committed_group_consumer) {
  check_abort_invisible({});
}

// One batch per fetch (KIP-74's minimum): the aborted transaction's only batch is the last
// (and only) batch of its fetch response, and must still be listed as aborted in it.
TEST(librdkafka_transactions, abort_invisible_when_the_aborted_batch_ends_the_fetch) {
  check_abort_invisible({{"max.partition.fetch.bytes", "1"}});
}

TEST(librdkafka_transactions, zombie_producer_is_fenced) {
  eddy::broker::embedded_broker broker;
  const std::string bs = broker.bootstrap_servers();
  char err[512];
  rd_kafka_t* old = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"transactional.id", "tx-z"}}), err, sizeof err);
  ASSERT_NE(old, nullptr) << err;
  ok(rd_kafka_init_transactions(old, 10000));
  ok(rd_kafka_begin_transaction(old));
  std::string v = "zombie";
  ASSERT_EQ(rd_kafka_producev(old, RD_KAFKA_V_TOPIC("z-out"), RD_KAFKA_V_VALUE(v.data(), v.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(old, 10000);
  rd_kafka_t* fresh = rd_kafka_new(RD_KAFKA_PRODUCER, conf(bs, {{"transactional.id", "tx-z"}}), err, sizeof err);
  ASSERT_NE(fresh, nullptr) << err;
  ok(rd_kafka_init_transactions(fresh, 20000));  // aborts the zombie's transaction
  rd_kafka_error_t* e = rd_kafka_commit_transaction(old, 10000);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(rd_kafka_error_is_fatal(e)) << rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  ok(rd_kafka_begin_transaction(fresh));
  ok(rd_kafka_commit_transaction(fresh, 10000));
  rd_kafka_destroy(old);
  rd_kafka_destroy(fresh);
}

}  // namespace
