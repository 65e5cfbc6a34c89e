// librdkafka 2.0.2's C API against an embedded broker, without consumer groups,
// idempotence or transactions: acks=all producer with every compression codec, a
// consumer on assign(), watermarks and offsets_for_times (ListOffsets), the admin API
// (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
// DeleteRecords), and the errors a
// client sees for an unknown topic, an existing topic and a bad partition count.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/log/partition_log.h"
#include "broker/log/segment.h"
#include "eddy/broker/embedded_broker.h"

namespace eddy::broker {
namespace {

using clock_type = std::chrono::steady_clock;

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

struct delivery {
  rd_kafka_resp_err_t err;
  std::int32_t partition;
  std::int64_t offset;
  std::string value;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* out = static_cast<std::vector<delivery>*>(opaque);
  out->push_back({m->err, m->partition, m->offset,
                  m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : std::string("<null>")});
}

rk_ptr make_client(rd_kafka_type_t type, const std::string& bootstrap, const std::map<std::string, std::string>& extra,
                   std::vector<delivery>* deliveries = nullptr) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap}, {"log_level", "3"}};
  for (auto& [k, v] : extra) all[k] = v;
  for (auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << err;
    }
  }
  if (deliveries) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, deliveries);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    ADD_FAILURE() << "rd_kafka_new: " << err;
    rd_kafka_conf_destroy(conf);
  }
  return rk_ptr(rk);
}

struct consumed {
  std::int32_t partition;
  std::int64_t offset;
  std::optional<std::string> key, value;
  std::int64_t timestamp;
  rd_kafka_timestamp_type_t ts_type;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

// Reads from the given (partition, start offset) pairs of `topic` until `want` records arrived
// or the deadline passed. assign() only: no subscription, no rebalance, no commits.
std::vector<consumed> consume(const std::string& bootstrap, const std::string& topic,
                              const std::vector<std::pair<int, std::int64_t>>& starts, std::size_t want,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto c = make_client(RD_KAFKA_CONSUMER, bootstrap,
                       // assign() needs a group.id, but no group protocol runs and nothing is committed.
                       {{"group.id", "plain-reader"}, {"enable.auto.commit", "false"},
                        {"enable.partition.eof", "false"}, {"fetch.wait.max.ms", "50"}});
  rd_kafka_poll_set_consumer(c.get());
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(int(starts.size()));
  for (auto& [p, off] : starts) rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = off;
  EXPECT_EQ(rd_kafka_assign(c.get(), parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<consumed> out;
  auto deadline = clock_type::now() + timeout;
  while (out.size() < want && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 100);
    if (!m) continue;
    if (m->err) {
      ADD_FAILURE() << "consumer error: " << rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      continue;
    }
    consumed r;
    r.partition = m->partition;
    r.offset = m->offset;
    if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
    r.timestamp = rd_kafka_message_timestamp(m, &r.ts_type);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        r.headers.emplace_back(name, val ? std::optional<std::string>(std::string(static_cast<const char*>(val), size))
                                         : std::nullopt);
      }
    }
    out.push_back(std::move(r));
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c.get());
  return out;
}

void flush_ok(rd_kafka_t* p) { ASSERT_EQ(rd_kafka_flush(p, 15000), RD_KAFKA_RESP_ERR_NO_ERROR); }

// Runs one admin call and returns the result event (caller destroys it).
template <class Fn>
rd_kafka_event_t* admin_call(rd_kafka_t* rk, Fn&& fn) {
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(opts, 10000, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 5000, err, sizeof err);
  fn(opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  return ev;
}

// Per-topic error codes of a CreateTopics/DeleteTopics/CreatePartitions result.
std::map<std::string, rd_kafka_resp_err_t> topic_errors(const rd_kafka_topic_result_t** res, size_t n) {
  std::map<std::string, rd_kafka_resp_err_t> out;
  for (size_t i = 0; i < n; ++i) out[rd_kafka_topic_result_name(res[i])] = rd_kafka_topic_result_error(res[i]);
  return out;
}

std::map<std::string, rd_kafka_resp_err_t> create_topics(rd_kafka_t* rk, std::vector<rd_kafka_NewTopic_t*> topics) {
  rd_kafka_event_t* ev = admin_call(rk, [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
    rd_kafka_CreateTopics(rk, topics.data(), topics.size(), o, q);
  });
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  EXPECT_NE(ev, nullptr);
  if (!ev) return {};
  EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_event_error_string(ev);
  size_t n = 0;
  auto* res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  auto out = topic_errors(res, n);
  rd_kafka_event_destroy(ev);
  return out;
}

// DescribeConfigs of a topic: name -> (value, is_default).
std::map<std::string, std::pair<std::string, bool>> describe_topic_configs(rd_kafka_t* rk, const std::string& topic) {
  std::map<std::string, std::pair<std::string, bool>> cfg;
  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_event_t* ev = admin_call(rk, [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
  });
  rd_kafka_ConfigResource_destroy(res);
  EXPECT_NE(ev, nullptr);
  if (!ev) return cfg;
  EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_event_error_string(ev);
  size_t n = 0;
  auto* rs = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  EXPECT_EQ(n, 1u);
  if (n == 1) {
    EXPECT_EQ(rd_kafka_ConfigResource_error(rs[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    size_t ne = 0;
    auto* entries = rd_kafka_ConfigResource_configs(rs[0], &ne);
    for (size_t i = 0; i < ne; ++i) {
      const char* v = rd_kafka_ConfigEntry_value(entries[i]);
      cfg[rd_kafka_ConfigEntry_name(entries[i])] = {v ? v : "<null>", rd_kafka_ConfigEntry_is_default(entries[i]) != 0};
    }
  }
  rd_kafka_event_destroy(ev);
  return cfg;
}

rd_kafka_NewTopic_t* new_topic(const std::string& name, int partitions,
                               const std::map<std::string, std::string>& configs = {}) {
  char err[256];
  rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof err);
  EXPECT_NE(t, nullptr) << err;
  for (auto& [k, v] : configs) rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str());
  return t;
}

// Partition count of `topic` from a Metadata request, or -1 when the broker reports an error.
int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = -2;
  if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
    n = md->topics[0].err ? -1 : md->topics[0].partition_cnt;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return n;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// True when a full Metadata listing (which never auto-creates) contains `topic`.
bool topic_listed(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  bool found = false;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt; ++i) found = found || topic == md->topics[i].topic;
  }
  if (md) rd_kafka_metadata_destroy(md);
  return found;
}

bool is_unknown_partition(rd_kafka_resp_err_t e) {
  // librdkafka answers from its metadata cache (client-side codes) or passes the broker's code on.
  return e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
         e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
}

class librdkafka_plain_test : public ::testing::Test {
 protected:
  embedded_broker broker_{embedded_broker_options{{}, "127.0.0.1:0", {{"num.partitions", "1"}}}};
  std::string bootstrap_ = broker_.bootstrap_servers();
};

TEST_F(librdkafka_plain_test, acks_all_producer_and_assign_consumer_with_every_codec) {
  const std::int64_t t0 = now_ms() - 600000;  // recent: older records would fall to retention.ms
  for (std::string codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    const std::string topic = "plain-" + codec;
    std::vector<delivery> dr;
    auto p = make_client(RD_KAFKA_PRODUCER, bootstrap_,
                         {{"acks", "all"}, {"compression.codec", codec}, {"linger.ms", "20"}, {"enable.idempotence", "false"}},
                         &dr);
    const int n = 400;
    for (int i = 0; i < n; ++i) {
      std::string key = "key-" + std::to_string(i);
      std::string value = codec + "-value-" + std::to_string(i) + std::string(std::size_t(i % 97), 'x');
      std::string h = std::to_string(i);
      rd_kafka_resp_err_t e;
      if (i % 10 == 9) {  // a null value and a null header value now and then
        e = rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(nullptr, 0),
                              RD_KAFKA_V_HEADER("n", h.data(), ssize_t(h.size())), RD_KAFKA_V_HEADER("nul", nullptr, 0),
                              RD_KAFKA_V_TIMESTAMP(t0 + i), RD_KAFKA_V_END);
      } else {
        e = rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("n", h.data(), ssize_t(h.size())), RD_KAFKA_V_TIMESTAMP(t0 + i),
                              RD_KAFKA_V_END);
      }
      ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    flush_ok(p.get());
    while (dr.size() < std::size_t(n) && rd_kafka_poll(p.get(), 100) >= 0 && dr.size() < std::size_t(n)) {
    }
    ASSERT_EQ(dr.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(dr[std::size_t(i)].err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(dr[std::size_t(i)].err);
      EXPECT_EQ(dr[std::size_t(i)].offset, i);
    }

    auto got = consume(bootstrap_, topic, {{0, RD_KAFKA_OFFSET_BEGINNING}}, std::size_t(n));
    ASSERT_EQ(got.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
      const auto& r = got[std::size_t(i)];
      EXPECT_EQ(r.offset, i);
      EXPECT_EQ(r.key, "key-" + std::to_string(i));
      if (i % 10 == 9) {
        EXPECT_FALSE(r.value.has_value()) << "offset " << i;
        ASSERT_EQ(r.headers.size(), 2u);
        EXPECT_EQ(r.headers[1].first, "nul");
        EXPECT_FALSE(r.headers[1].second.has_value());
      } else {
        EXPECT_EQ(r.value, codec + "-value-" + std::to_string(i) + std::string(std::size_t(i % 97), 'x'));
        ASSERT_EQ(r.headers.size(), 1u);
      }
      EXPECT_EQ(r.headers[0].first, "n");
      EXPECT_EQ(r.headers[0].second, std::to_string(i));
      EXPECT_EQ(r.timestamp, t0 + i);
      EXPECT_EQ(r.ts_type, RD_KAFKA_TIMESTAMP_CREATE_TIME);
    }
    // Start in the middle of a (compressed) batch: records before the start offset are not delivered.
    auto mid = consume(bootstrap_, topic, {{0, 123}}, std::size_t(n - 123));
    ASSERT_EQ(mid.size(), std::size_t(n - 123));
    EXPECT_EQ(mid.front().offset, 123);
    EXPECT_EQ(mid.back().offset, n - 1);
  }
}

// Large batches (written by the write-behind thread with O_DIRECT) under log.flush.strict:
// an acks=all answer waits for the batch's write and then for the fsync (group commit),
// an acks=1 answer only for the write. Every record is acknowledged once at its offset, in
// order, interleaved small and large, and reads back exactly.
TEST(librdkafka_strict_test, large_batches_acks_all_and_acks_1_with_write_behind_and_strict_flush) {
  embedded_broker broker{embedded_broker_options{{}, "127.0.0.1:0", {{"num.partitions", "1"}, {"log.flush.strict", "true"}}}};
  const std::string bs = broker.bootstrap_servers();
  const std::string topic = "strict-large";
  std::vector<std::string> values;
  std::int64_t next = 0;
  for (std::string acks : {"all", "1"}) {
    SCOPED_TRACE(acks);
    std::vector<delivery> dr;
    auto p = make_client(RD_KAFKA_PRODUCER, bs,
                         {{"acks", acks}, {"linger.ms", "5"}, {"batch.size", "1000000"}, {"compression.codec", "none"},
                          {"enable.idempotence", "false"}},
                         &dr);
    const int n = 3000;
    for (int i = 0; i < n; ++i) {
      // Mostly 1 KB records (batches of about 1 MB), now and then a burst of tiny ones.
      std::string v = acks + "-" + std::to_string(i) + std::string(i % 500 < 450 ? 1000 : 3, 'v');
      ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                  RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      values.push_back(v);
      if (i % 700 == 699) flush_ok(p.get());  // a pause now and then: the queue drains, the next append is synchronous
    }
    flush_ok(p.get());
    while (dr.size() < std::size_t(n) && rd_kafka_poll(p.get(), 100) >= 0) {
    }
    ASSERT_EQ(dr.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(dr[std::size_t(i)].err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(dr[std::size_t(i)].err);
      EXPECT_EQ(dr[std::size_t(i)].offset, next + i);
    }
    next += n;
  }
  auto got = consume(bs, topic, {{0, RD_KAFKA_OFFSET_BEGINNING}}, values.size());
  ASSERT_EQ(got.size(), values.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].offset, std::int64_t(i));
    EXPECT_EQ(got[i].value, values[i]) << "offset " << i;
  }
}

// Produces `n` numbered values of about 1 KB to partition 0 of `topic` (a producer made
// with `dr` as its deliveries, batching up to 1 MB), flushes, checks every delivery, and
// returns the values in order.
std::vector<std::string> produce_1kb_values(rd_kafka_t* p, std::vector<delivery>& dr, const std::string& topic, int n) {
  dr.clear();
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) {
    std::string v = std::to_string(i) + ":" + std::string(1000, char('a' + i % 26));
    EXPECT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    values.push_back(std::move(v));
  }
  flush_ok(p);
  EXPECT_EQ(dr.size(), std::size_t(n));
  for (auto& d : dr) EXPECT_EQ(d.err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(d.err);
  return values;
}

// Reads `topic` back from the start and checks it holds exactly `values`.
void expect_topic_holds(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& values) {
  auto got = consume(bootstrap, topic, {{0, RD_KAFKA_OFFSET_BEGINNING}}, values.size());
  ASSERT_EQ(got.size(), values.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].value, values[i]) << "offset " << i;
}

const std::map<std::string, std::string> megabyte_batches = {
    {"acks", "1"}, {"linger.ms", "20"}, {"batch.size", "1000000"}, {"compression.codec", "none"}};

// The connection places each large produce request so that its record batch sits at an
// address matching the batch's file position, and the log's O_DIRECT write then reads it
// straight from the request: most bytes of a stream of ~1 MB batches are never copied.
TEST(librdkafka_zero_copy_test, large_batches_are_written_from_the_request_without_a_copy) {
  embedded_broker broker{embedded_broker_options{{}, "127.0.0.1:0", {{"num.partitions", "1"}}}};
  const std::string bs = broker.bootstrap_servers();
  std::vector<delivery> dr;
  auto p = make_client(RD_KAFKA_PRODUCER, bs, megabyte_batches, &dr);
  const std::uint64_t before = log::zero_copy_bytes_written();
  const int n = 20000;
  auto values = produce_1kb_values(p.get(), dr, "zc", n);
  const std::uint64_t produced = std::uint64_t(n) * 1005;
  EXPECT_GT(log::zero_copy_bytes_written() - before, produced / 2) << "of about " << produced << " bytes";
  expect_topic_holds(bs, "zc", values);
}

// log.write.behind=auto (the default): a producer that has the broker to itself gets its
// large batches written by the event loop (no hand-off to the write-behind thread); while
// another client keeps the loop busy (a consumer long-polling every 5 ms), they go to the
// write-behind thread, so the loop stays free for it. Every record is read back either way.
TEST(librdkafka_write_behind_test, a_lone_producer_is_written_by_the_loop_and_one_with_company_by_the_writer) {
  embedded_broker broker{embedded_broker_options{{}, "127.0.0.1:0", {{"num.partitions", "1"}}}};
  const std::string bs = broker.bootstrap_servers();
  std::vector<delivery> dr;
  auto p = make_client(RD_KAFKA_PRODUCER, bs, megabyte_batches, &dr);
  const int n = 30000;  // about 30 batches of 1 MB
  const std::uint64_t at_start = log::large_appends_written_now();
  auto alone = produce_1kb_values(p.get(), dr, "alone", n);
  const std::uint64_t written_alone = log::large_appends_written_now() - at_start;
  EXPECT_GE(written_alone, 4u) << "of about 30 batches";
  expect_topic_holds(bs, "alone", alone);

  // Company: a consumer at the end of a topic nobody writes to, fetching every 5 ms once it
  // has read the topic's one record.
  produce_1kb_values(p.get(), dr, "idle", 1);
  auto c = make_client(RD_KAFKA_CONSUMER, bs,
                       {{"group.id", "company"}, {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "5"}});
  rd_kafka_poll_set_consumer(c.get());
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, "idle", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(c.get(), parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  std::atomic<bool> stop{false}, fetching{false};
  std::thread poller([&] {
    while (!stop) {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 10)) {
        if (!m->err) fetching = true;
        rd_kafka_message_destroy(m);
      }
    }
  });
  for (auto deadline = clock_type::now() + std::chrono::seconds(10); !fetching && clock_type::now() < deadline;)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!fetching) {
    stop = true;
    poller.join();
    FAIL() << "the consumer did not read the idle topic's record";
  }
  const std::uint64_t before = log::large_appends_written_now();
  auto company = produce_1kb_values(p.get(), dr, "company", n);
  const std::uint64_t written_in_company = log::large_appends_written_now() - before;
  stop = true;
  poller.join();
  // A loaded machine may stall the consumer for longer than the 20 ms the loop waits.
  EXPECT_LE(written_in_company, 5u) << "of about 30 batches; " << written_alone << " without company";
  expect_topic_holds(bs, "company", company);
}

TEST_F(librdkafka_plain_test, watermarks_and_offsets_for_times) {
  auto admin = make_client(RD_KAFKA_PRODUCER, bootstrap_, {});
  ASSERT_EQ(create_topics(admin.get(), {new_topic("wm", 2)})["wm"], RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<delivery> dr;
  auto p = make_client(RD_KAFKA_PRODUCER, bootstrap_, {{"acks", "all"}, {"linger.ms", "5"}}, &dr);
  const std::int64_t t0 = now_ms() - 600000;  // recent: older records would fall to retention.ms
  // Partition 0: 50 records at t0 + 10*i. Partition 1: 7 records.
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC("wm"), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE((void*)"v", 1),
                                RD_KAFKA_V_TIMESTAMP(t0 + 10 * i), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC("wm"), RD_KAFKA_V_PARTITION(1), RD_KAFKA_V_VALUE((void*)"w", 1),
                                RD_KAFKA_V_TIMESTAMP(t0), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  flush_ok(p.get());

  std::int64_t lo = -5, hi = -5;
  ASSERT_EQ(rd_kafka_query_watermark_offsets(p.get(), "wm", 0, &lo, &hi, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 50);
  ASSERT_EQ(rd_kafka_query_watermark_offsets(p.get(), "wm", 1, &lo, &hi, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 7);

  auto* q = rd_kafka_topic_partition_list_new(4);
  rd_kafka_topic_partition_list_add(q, "wm", 0)->offset = t0 + 125;  // first record with ts >= t0+125 is #13
  rd_kafka_topic_partition_list_add(q, "wm", 1)->offset = t0 + 1;    // after every record: -1 (end)
  ASSERT_EQ(rd_kafka_offsets_for_times(p.get(), q, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_topic_partition_list_find(q, "wm", 0)->offset, 13);
  EXPECT_EQ(rd_kafka_topic_partition_list_find(q, "wm", 0)->err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_topic_partition_list_find(q, "wm", 1)->offset, -1);
  rd_kafka_topic_partition_list_destroy(q);

  q = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(q, "wm", 0)->offset = t0 + 10 * 49;  // exact timestamp of the last record
  rd_kafka_topic_partition_list_add(q, "wm", 1)->offset = 0;             // before everything
  ASSERT_EQ(rd_kafka_offsets_for_times(p.get(), q, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_topic_partition_list_find(q, "wm", 0)->offset, 49);
  EXPECT_EQ(rd_kafka_topic_partition_list_find(q, "wm", 1)->offset, 0);
  rd_kafka_topic_partition_list_destroy(q);

  // A partition that does not exist.
  auto e = rd_kafka_query_watermark_offsets(p.get(), "wm", 5, &lo, &hi, 3000);
  EXPECT_TRUE(is_unknown_partition(e)) << rd_kafka_err2name(e);
}

TEST_F(librdkafka_plain_test, admin_create_describe_partitions_delete_and_errors) {
  auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap_, {});
  auto errs = create_topics(rk.get(), {new_topic("adm-a", 3, {{"retention.ms", "86400000"}, {"cleanup.policy", "compact"}}),
                                       new_topic("adm-b", 1)});
  EXPECT_EQ(errs["adm-a"], RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(errs["adm-b"], RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(partition_count(rk.get(), "adm-a"), 3);

  // Already exists.
  errs = create_topics(rk.get(), {new_topic("adm-a", 3)});
  EXPECT_EQ(errs["adm-a"], RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
  // Invalid partition count (0 is refused by the broker; librdkafka lets it through).
  char errbuf[256];
  rd_kafka_NewTopic_t* zero = rd_kafka_NewTopic_new("adm-zero", 0, 1, errbuf, sizeof errbuf);
  if (zero) {
    errs = create_topics(rk.get(), {zero});
    EXPECT_EQ(errs["adm-zero"], RD_KAFKA_RESP_ERR_INVALID_PARTITIONS);
    EXPECT_FALSE(topic_listed(rk.get(), "adm-zero"));
  }
  // An unknown config name is refused.
  errs = create_topics(rk.get(), {new_topic("adm-badcfg", 1, {{"no.such.config", "1"}})});
  EXPECT_EQ(errs["adm-badcfg"], RD_KAFKA_RESP_ERR_INVALID_CONFIG);

  // DescribeConfigs.
  auto cfg = describe_topic_configs(rk.get(), "adm-a");
  EXPECT_EQ(cfg["retention.ms"], std::make_pair(std::string("86400000"), false));
  EXPECT_EQ(cfg["cleanup.policy"], std::make_pair(std::string("compact"), false));
  ASSERT_TRUE(cfg.count("segment.bytes")) << "defaults are listed too";
  EXPECT_TRUE(cfg["segment.bytes"].second);

  // CreatePartitions: grow 3 -> 5; shrinking or keeping the count is INVALID_PARTITIONS.
  auto create_partitions = [&](const std::string& topic, size_t count) {
    rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(topic.c_str(), count, errbuf, sizeof errbuf);
    rd_kafka_event_t* ev = admin_call(rk.get(), [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
      rd_kafka_CreatePartitions(rk.get(), &np, 1, o, q);
    });
    rd_kafka_NewPartitions_destroy(np);
    EXPECT_NE(ev, nullptr);
    if (!ev) return RD_KAFKA_RESP_ERR__TIMED_OUT;
    size_t n = 0;
    auto* res = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    auto e = topic_errors(res, n)[topic];
    rd_kafka_event_destroy(ev);
    return e;
  };
  EXPECT_EQ(create_partitions("adm-a", 5), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(partition_count(rk.get(), "adm-a"), 5);
  EXPECT_EQ(create_partitions("adm-a", 2), RD_KAFKA_RESP_ERR_INVALID_PARTITIONS);
  EXPECT_EQ(create_partitions("adm-a", 5), RD_KAFKA_RESP_ERR_INVALID_PARTITIONS);
  EXPECT_EQ(create_partitions("adm-nope", 5), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  EXPECT_EQ(partition_count(rk.get(), "adm-a"), 5);

  // DeleteTopics, then an unknown one.
  auto delete_topic = [&](const std::string& topic) {
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_event_t* ev = admin_call(rk.get(), [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
      rd_kafka_DeleteTopics(rk.get(), &dt, 1, o, q);
    });
    rd_kafka_DeleteTopic_destroy(dt);
    EXPECT_NE(ev, nullptr);
    if (!ev) return RD_KAFKA_RESP_ERR__TIMED_OUT;
    size_t n = 0;
    auto* res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    auto e = topic_errors(res, n)[topic];
    rd_kafka_event_destroy(ev);
    return e;
  };
  EXPECT_EQ(delete_topic("adm-b"), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(delete_topic("adm-b"), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  EXPECT_EQ(partition_count(rk.get(), "adm-a"), 5);
}

// AlterConfigs (librdkafka 2.0.2 has the legacy API, which replaces a resource's
// overrides) and DeleteRecords.
TEST_F(librdkafka_plain_test, admin_alter_configs_and_delete_records) {
  auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap_, {});
  auto errs = create_topics(rk.get(), {new_topic("adm-c", 2, {{"retention.ms", "86400000"}})});
  ASSERT_EQ(errs["adm-c"], RD_KAFKA_RESP_ERR_NO_ERROR);

  // Returns each resource's error.
  auto alter = [&](rd_kafka_ResourceType_t type, const std::string& name,
                   const std::map<std::string, std::string>& configs) {
    rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(type, name.c_str());
    for (auto& [k, v] : configs) rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
    rd_kafka_event_t* ev = admin_call(rk.get(), [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
      rd_kafka_AlterConfigs(rk.get(), &res, 1, o, q);
    });
    rd_kafka_ConfigResource_destroy(res);
    EXPECT_NE(ev, nullptr);
    if (!ev) return RD_KAFKA_RESP_ERR__TIMED_OUT;
    size_t n = 0;
    auto* rs = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    auto e = n == 1 ? rd_kafka_ConfigResource_error(rs[0]) : rd_kafka_event_error(ev);
    rd_kafka_event_destroy(ev);
    return e;
  };
  EXPECT_EQ(alter(RD_KAFKA_RESOURCE_TOPIC, "adm-c", {{"segment.bytes", "1048576"}, {"cleanup.policy", "compact"}}),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  auto cfg = describe_topic_configs(rk.get(), "adm-c");
  EXPECT_EQ(cfg["segment.bytes"], std::make_pair(std::string("1048576"), false));
  EXPECT_EQ(cfg["cleanup.policy"], std::make_pair(std::string("compact"), false));
  EXPECT_EQ(cfg["retention.ms"], std::make_pair(std::string("604800000"), true)) << "not named: back to the default";
  EXPECT_EQ(alter(RD_KAFKA_RESOURCE_TOPIC, "adm-c", {{"segment.bytes", "tiny"}}), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
  EXPECT_EQ(alter(RD_KAFKA_RESOURCE_TOPIC, "adm-none", {{"segment.bytes", "1048576"}}),
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  EXPECT_EQ(alter(RD_KAFKA_RESOURCE_BROKER, "1", {{"num.partitions", "3"}}), RD_KAFKA_RESP_ERR_INVALID_REQUEST);
  EXPECT_EQ(describe_topic_configs(rk.get(), "adm-c"), cfg) << "refused changes change nothing";

  // DeleteRecords: partition 0 up to offset 6 of 10; partition 1 (empty) beyond its end.
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC("adm-c"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE((void*)"v", 1), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  flush_ok(rk.get());
  rd_kafka_topic_partition_list_t* upto = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(upto, "adm-c", 0)->offset = 6;
  rd_kafka_topic_partition_list_add(upto, "adm-c", 1)->offset = 5;
  rd_kafka_DeleteRecords_t* dr = rd_kafka_DeleteRecords_new(upto);
  rd_kafka_topic_partition_list_destroy(upto);
  rd_kafka_event_t* ev = admin_call(rk.get(), [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
    rd_kafka_DeleteRecords(rk.get(), &dr, 1, o, q);
  });
  rd_kafka_DeleteRecords_destroy(dr);
  ASSERT_NE(ev, nullptr);
  const rd_kafka_topic_partition_list_t* got = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  ASSERT_NE(got, nullptr) << rd_kafka_event_error_string(ev);
  std::map<int, std::pair<rd_kafka_resp_err_t, std::int64_t>> by_partition;
  for (int i = 0; i < got->cnt; ++i) by_partition[got->elems[i].partition] = {got->elems[i].err, got->elems[i].offset};
  rd_kafka_event_destroy(ev);
  EXPECT_EQ(by_partition[0], std::make_pair(RD_KAFKA_RESP_ERR_NO_ERROR, std::int64_t(6)));
  EXPECT_EQ(by_partition[1].first, RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
  std::int64_t lo = -1, hi = -1;
  ASSERT_EQ(rd_kafka_query_watermark_offsets(rk.get(), "adm-c", 0, &lo, &hi, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(std::make_pair(lo, hi), std::make_pair(std::int64_t(6), std::int64_t(10)));
}

TEST(librdkafka_plain_errors_test, unknown_topic_without_auto_create) {
  embedded_broker broker(embedded_broker_options{{}, "127.0.0.1:0", {{"auto.create.topics.enable", "false"}}});
  std::vector<delivery> dr;
  auto p = make_client(RD_KAFKA_PRODUCER, broker.bootstrap_servers(),
                       {{"acks", "all"}, {"message.timeout.ms", "3000"}, {"topic.metadata.propagation.max.ms", "200"}},
                       &dr);
  ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC("missing"), RD_KAFKA_V_VALUE((void*)"x", 1), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(p.get(), 10000);
  ASSERT_EQ(dr.size(), 1u);
  EXPECT_TRUE(dr[0].err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || dr[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
      << rd_kafka_err2name(dr[0].err);
  // Asking for it by name does not create it.
  EXPECT_EQ(partition_count(p.get(), "missing"), -1);
  EXPECT_FALSE(topic_listed(p.get(), "missing"));
  std::int64_t lo, hi;
  auto e = rd_kafka_query_watermark_offsets(p.get(), "missing", 0, &lo, &hi, 3000);
  EXPECT_TRUE(is_unknown_partition(e)) << rd_kafka_err2name(e);
}

}  // namespace
}  // namespace eddy::broker
