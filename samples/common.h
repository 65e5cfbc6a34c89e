// common: tiny helpers shared by the samples (flag parsing with helpful errors, topic
// creation, producing demo input, reading a topic). Kept short so each main.cc stays readable.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace samples {

// Parses "--name value" flags; exits with a message naming the bad flag and the usage.
inline std::map<std::string, std::string> parse_flags(int argc, char** argv, const std::vector<std::string>& known,
                                                      const std::string& usage) {
  std::map<std::string, std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage << "\n";
      std::exit(0);
    }
    bool ok = false;
    for (auto& k : known) ok = ok || a == "--" + k;
    if (!ok) {
      std::cerr << "error: unknown flag " << a << "\n" << usage << "\n";
      std::exit(2);
    }
    if (i + 1 >= argc) {
      std::cerr << "error: " << a << " needs a value\n" << usage << "\n";
      std::exit(2);
    }
    out[a.substr(2)] = argv[++i];
  }
  return out;
}

inline rd_kafka_t* make_client(rd_kafka_type_t type, const std::string& bootstrap, std::map<std::string, std::string> extra = {}) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  extra["bootstrap.servers"] = bootstrap;
  for (auto& [k, v] : extra)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::cerr << "error: " << err << "\n";
      std::exit(1);
    }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    std::cerr << "error: " << err << "\n";
    std::exit(1);
  }
  return rk;
}

// Creates topics (ignoring "already exists"); returns false with a message on failure.
inline bool create_topics(const std::string& bootstrap, const std::vector<std::pair<std::string, int>>& topics) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, bootstrap);
  std::vector<rd_kafka_NewTopic_t*> nts;
  char err[512];
  for (auto& [name, parts] : topics) nts.push_back(rd_kafka_NewTopic_new(name.c_str(), parts, 1, err, sizeof err));
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, nts.data(), nts.size(), nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
  bool ok = ev && !rd_kafka_event_error(ev);
  if (ok) {
    size_t n = 0;
    auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(res[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        std::cerr << "error: cannot create topic " << rd_kafka_topic_result_name(res[i]) << ": " << rd_kafka_err2str(e) << "\n";
        ok = false;
      }
    }
  } else {
    std::cerr << "error: cannot create topics: " << (ev ? rd_kafka_event_error_string(ev) : "timed out") << "\n";
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  for (auto* nt : nts) rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
  return ok;
}

inline void produce(const std::string& bootstrap, const std::string& topic,
                    const std::vector<std::pair<std::string, std::string>>& kvs, int64_t first_ts = -1, int64_t step_ms = 0) {
  rd_kafka_t* p = make_client(RD_KAFKA_PRODUCER, bootstrap, {{"partitioner", "murmur2_random"}});
  int64_t ts = first_ts;
  for (auto& [k, v] : kvs) {
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_KEY(k.data(), k.size()), RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                      RD_KAFKA_V_TIMESTAMP(ts < 0 ? 0 : ts), RD_KAFKA_V_END);
    if (ts >= 0) ts += step_ms;
    rd_kafka_poll(p, 0);
  }
  rd_kafka_flush(p, 30000);
  rd_kafka_destroy(p);
}

// Reads a topic (read_committed) until done(records) or idle for idle_ms after the first record.
inline std::vector<std::pair<std::string, std::string>> read_topic(
    const std::string& bootstrap, const std::string& topic, std::chrono::milliseconds timeout,
    const std::function<bool(const std::vector<std::pair<std::string, std::string>>&)>& done) {
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, bootstrap,
                              {{"group.id", "sample-reader-" + topic + "-" + std::to_string(std::rand())},
                               {"auto.offset.reset", "earliest"},
                               {"isolation.level", "read_committed"}});
  rd_kafka_poll_set_consumer(c);
  auto* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c, l);
  rd_kafka_topic_partition_list_destroy(l);
  std::vector<std::pair<std::string, std::string>> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !done(out)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err)
      out.emplace_back(m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : std::string(),
                       m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : std::string());
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return out;
}

}  // namespace samples
