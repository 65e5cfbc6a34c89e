#include "streams/runtime/internal_topics.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "streams/runtime/kafka_config.h"

namespace eddy::streams::runtime {
namespace {

// topic -> partition count from a metadata request.
std::string fetch_partitions(rd_kafka_t* rk, std::map<std::string, int32_t>& out) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000);
  if (err) return rd_kafka_err2str(err);
  out.clear();
  for (int i = 0; i < md->topic_cnt; ++i)
    if (!md->topics[i].err) out[md->topics[i].topic] = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return {};
}

std::string create_topics(rd_kafka_t* rk, const std::vector<internal_topic>& topics, int replication) {
  std::vector<rd_kafka_NewTopic_t*> nts;
  char err[512];
  for (auto& t : topics) {
    auto* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, replication, err, sizeof err);
    if (!nt) return err;
    for (auto& [k, v] : t.config) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    nts.push_back(nt);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, nts.data(), nts.size(), nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  std::string error;
  if (!ev) error = "CreateTopics timed out";
  else if (rd_kafka_event_error(ev)) error = rd_kafka_event_error_string(ev);
  else if (auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** trs = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(trs[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        error += fmt::format("{}: {} ({}); ", rd_kafka_topic_result_name(trs[i]), rd_kafka_err2str(e),
                             rd_kafka_topic_result_error_string(trs[i]) ? rd_kafka_topic_result_error_string(trs[i]) : "");
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  for (auto* nt : nts) rd_kafka_NewTopic_destroy(nt);
  return error;
}

}  // namespace

std::string prepare_topics(app_context& ctx) {
  std::string error;
  rd_kafka_conf_t* conf = make_conf(ctx.config, client_kind::admin, {}, {{"client.id", ctx.config.application_id() + "-admin"}}, error);
  if (!conf) return error;
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return err;
  std::map<std::string, int32_t> parts;
  if (auto e = fetch_partitions(rk, parts); !e.empty()) {
    rd_kafka_destroy(rk);
    return fmt::format("cannot reach the brokers at {}: {} (check bootstrap.servers and that the broker runs)",
                       ctx.config.bootstrap_servers(), e);
  }
  error = assign_partitions(ctx.topo, [&](const std::string& topic) -> std::optional<int> {
    auto it = parts.find(topic);
    if (it == parts.end()) return std::nullopt;
    return it->second;
  });
  std::vector<internal_topic> missing;
  if (error.empty()) {
    for (auto& [name, t] : ctx.topo.internal_topics) {
      auto it = parts.find(name);
      if (it == parts.end()) missing.push_back(t);
      else if (it->second != t.partitions)
        error = fmt::format("internal topic {} has {} partitions but needs {}: the input topics' partition counts "
                            "changed; delete the internal topics (or reset the application) and restart",
                            name, it->second, t.partitions);
    }
  }
  if (error.empty() && !missing.empty()) {
    error = create_topics(rk, missing, ctx.config.replication_factor());
    if (!error.empty() && ctx.config.replication_factor() < 0) error = create_topics(rk, missing, 1);  // pre-2.4 brokers
    // Wait until the new topics appear in metadata.
    for (int i = 0; i < 100 && error.empty(); ++i) {
      fetch_partitions(rk, parts);
      bool all = true;
      for (auto& t : missing) all = all && parts.count(t.name);
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!error.empty()) error = "cannot create internal topics: " + error;
  }
  if (error.empty()) {
    ctx.partitions = parts;
    for (auto& [name, t] : ctx.topo.internal_topics) ctx.partitions[name] = t.partitions;
  }
  rd_kafka_destroy(rk);
  return error;
}

std::string load_or_create_process_id(const streams_config& cfg, std::string& error) {
  auto dir = std::filesystem::path(cfg.state_dir()) / cfg.application_id();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = fmt::format("cannot create state directory {}: {} (set state.dir to a writable directory)", dir.string(), ec.message());
    return {};
  }
  auto file = dir / "process.id";
  if (std::ifstream in(file); in) {
    std::string id;
    std::getline(in, id);
    if (!id.empty()) return id;
  }
  std::random_device rd;
  std::string id = fmt::format("{:08x}{:08x}", rd(), rd());
  std::ofstream out(file);
  out << id << "\n";
  if (!out) error = fmt::format("cannot write {}", file.string());
  return id;
}

}  // namespace eddy::streams::runtime
