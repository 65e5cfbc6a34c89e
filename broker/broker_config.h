// broker_config: the broker's settings, with Kafka's names and defaults.
//
// Sources, later ones winning: Kafka's defaults, a Java-properties file (--config FILE:
// `key=value` lines, `#` comments), then command-line flags (--listen, --data-dir,
// --advertised, and --set key=value for any setting). Log settings (log.segment.bytes,
// log.retention.ms, log.flush.strict, ...) are validated by the log layer from the same
// property map. A bad value is an error that names the key and what is accepted.
//
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace eddy::broker {

struct broker_config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 9092;
  std::string advertised_host;         // empty = listen host (or 127.0.0.1 when listening on 0.0.0.0)
  std::uint16_t advertised_port = 0;   // 0 = the bound port
  std::string data_dir;
  std::int32_t node_id = 1;                            // node.id / broker.id
  std::int32_t num_partitions = 1;                     // num.partitions
  bool auto_create_topics = true;                      // auto.create.topics.enable
  bool delete_topic_enable = true;                     // delete.topic.enable
  std::int64_t message_max_bytes = 1048588;            // message.max.bytes
  std::int64_t socket_request_max_bytes = 104857600;   // socket.request.max.bytes
  std::int64_t transaction_max_timeout_ms = 900000;    // transaction.max.timeout.ms
  std::int32_t group_min_session_timeout_ms = 6000;    // group.min.session.timeout.ms
  std::int32_t group_max_session_timeout_ms = 1800000; // group.max.session.timeout.ms
  std::int32_t group_initial_rebalance_delay_ms = 0;   // group.initial.rebalance.delay.ms
  std::int64_t offsets_retention_minutes = 10080;      // offsets.retention.minutes
  std::string cluster_id = "eddy-cluster";
  // socket.tcp.congestion (Eddy's own): the TCP congestion control of client connections.
  // "auto": reno for loopback clients (where pacing, which BBR needs, only costs CPU:
  // there is no link to pace for), the system's default for others; "default": the
  // system's default for all; or an algorithm name (e.g. cubic, bbr, reno) for all.
  std::string tcp_congestion = "auto";
  // Every property as given (file + --set), for the layers that read their own keys.
  std::map<std::string, std::string, std::less<>> properties;

  // Applies one property; returns an error message for a bad value, nothing on success.
  std::optional<std::string> set(const std::string& key, const std::string& value);
  // Reads a properties file; returns an error message on failure.
  std::optional<std::string> load_file(const std::string& path);
};

// Parses "host:port" ("[::1]:9092" too). Returns nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& s);

}  // namespace eddy::broker
