#include "streams/runtime/kafka_config.h"

#include <fmt/format.h>

namespace eddy::streams::runtime {

rd_kafka_conf_t* make_conf(const streams_config& cfg, client_kind kind, const std::map<std::string, std::string>& defaults,
                           const std::map<std::string, std::string>& forced,
                           std::string& error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      error = fmt::format("invalid client setting {}={}: {}", k, v, err);
      return false;
    }
    return true;
  };
  const char* prefix = kind == client_kind::producer ? "producer." : kind == client_kind::admin ? "admin." : "consumer.";
  if (!set("bootstrap.servers", cfg.bootstrap_servers())) goto fail;
  for (auto& [k, v] : defaults)
    if (!set(k, v)) goto fail;
  for (auto& [k, v] : cfg.all()) {
    if (streams_config::is_streams_key(k)) continue;
    if (k.rfind("consumer.", 0) == 0 || k.rfind("producer.", 0) == 0 || k.rfind("admin.", 0) == 0) {
      if (k.rfind(prefix, 0) == 0 && !set(k.substr(std::string(prefix).size()), v)) goto fail;
      continue;
    }
    // Producer-only and consumer-only librdkafka keys would warn on the other client type;
    // send the well-known ones only where they belong.
    bool producer_key = k.rfind("transaction", 0) == 0 || k == "linger.ms" || k == "acks" || k == "compression.type" ||
                        k == "batch.size" || k == "enable.idempotence" || k == "message.timeout.ms";
    bool consumer_key = k == "isolation.level" || k == "auto.offset.reset" || k == "session.timeout.ms" ||
                        k == "max.poll.interval.ms" || k == "heartbeat.interval.ms" || k == "fetch.wait.max.ms";
    if (producer_key && kind != client_kind::producer) continue;
    if (consumer_key && kind != client_kind::consumer && kind != client_kind::restore) continue;
    if (!set(k, v)) goto fail;
  }
  for (auto& [k, v] : forced)
    if (!set(k, v)) goto fail;
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  return nullptr;
}

}  // namespace eddy::streams::runtime
