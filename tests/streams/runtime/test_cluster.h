// test_cluster: a broker for streams runtime tests plus small produce/consume helpers.
// By default it is Eddy's embedded broker (what the streams runtime is built for: real
// transactions, read_committed, internal-topic creation); backend::mock selects
// librdkafka's in-process mock cluster instead.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "eddy/broker/embedded_broker.h"

namespace eddy::streams::test_support {

enum class backend { eddy, mock };

class test_cluster {
 public:
  explicit test_cluster(backend b = backend::eddy) {
    if (b == backend::eddy) {
      broker_ = std::make_unique<eddy::broker::embedded_broker>();
      return;
    }
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    mc_ = rd_kafka_mock_cluster_new(rk_, 1);
    if (!mc_) throw std::runtime_error("mock cluster");
  }
  ~test_cluster() {
    if (mc_) rd_kafka_mock_cluster_destroy(mc_);
    if (rk_) rd_kafka_destroy(rk_);
  }
  std::string bootstrap() const { return broker_ ? broker_->bootstrap_servers() : rd_kafka_mock_cluster_bootstraps(mc_); }
  void create_topic(const std::string& t, int partitions) {
    if (mc_) {
      rd_kafka_mock_topic_create(mc_, t.c_str(), partitions, 1);
      return;
    }
    // Through the admin API, as an application would.
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), err, sizeof err);
    rd_kafka_t* a = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.c_str(), partitions, 1, err, sizeof err);
    rd_kafka_queue_t* q = rd_kafka_queue_new(a);
    rd_kafka_CreateTopics(a, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 10000);
    bool ok = ev != nullptr && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (ok) {
      size_t n = 0;
      const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      ok = n == 1 && rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(a);
    if (!ok) throw std::runtime_error("test_cluster: cannot create topic " + t);
  }

  void produce(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& kvs, int64_t ts0 = -1) {
    // Recent timestamps by default: a broker's retention (7 days) deletes ancient ones.
    if (ts0 < 0)
      ts0 = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err);
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    int64_t ts = ts0;
    for (auto& [k, v] : kvs)
      rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(k.data(), k.size()), RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                        RD_KAFKA_V_TIMESTAMP(ts++), RD_KAFKA_V_END);
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
  }

  // Reads the whole topic (read_committed) until `until` says enough or the timeout passes.
  std::vector<std::pair<std::string, std::string>> consume_all(
      const std::string& topic, std::chrono::milliseconds timeout,
      const std::function<bool(const std::vector<std::pair<std::string, std::string>>&)>& until) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", ("reader-" + topic + std::to_string(counter_++)).c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "500", err, sizeof err);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(c);
    auto* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    std::vector<std::pair<std::string, std::string>> out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && !until(out)) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      if (!m->err)
        out.emplace_back(std::string(static_cast<const char*>(m->key), m->key_len),
                         m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : std::string());
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

 private:
  std::unique_ptr<eddy::broker::embedded_broker> broker_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  int counter_ = 0;
};

}  // namespace eddy::streams::test_support
