// mock_cluster: librdkafka's in-process mock cluster (groups, transactions, admin) plus small
// produce/consume helpers, for streams runtime tests that need a broker but not Eddy's.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace eddy::streams::test_support {

class mock_cluster {
 public:
  mock_cluster() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    mc_ = rd_kafka_mock_cluster_new(rk_, 1);
    if (!mc_) throw std::runtime_error("mock cluster");
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
  void create_topic(const std::string& t, int partitions) { rd_kafka_mock_topic_create(mc_, t.c_str(), partitions, 1); }

  void produce(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& kvs, int64_t ts0 = 1000) {
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
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  int counter_ = 0;
};

}  // namespace eddy::streams::test_support
