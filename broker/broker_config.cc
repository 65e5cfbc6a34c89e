#include "broker/broker_config.h"

#include <cctype>
#include <charconv>
#include <fstream>

#include <fmt/format.h>

namespace eddy::broker {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

template <class T>
std::optional<std::string> parse_int(const std::string& key, const std::string& value, T& out, T min, T max) {
  T v{};
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size())
    return fmt::format("{}: '{}' is not an integer", key, value);
  if (v < min || v > max) return fmt::format("{}: {} is out of range [{}, {}]", key, value, min, max);
  out = v;
  return std::nullopt;
}

std::optional<std::string> parse_bool(const std::string& key, const std::string& value, bool& out) {
  if (value == "true") out = true;
  else if (value == "false") out = false;
  else return fmt::format("{}: '{}' is not true or false", key, value);
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc() || p != port.data() + port.size() || v > 65535) return std::nullopt;
  return std::make_pair(host, std::uint16_t(v));
}

std::optional<std::string> broker_config::set(const std::string& key, const std::string& value) {
  properties[key] = value;
  if (key == "node.id" || key == "broker.id") return parse_int<std::int32_t>(key, value, node_id, 0, 1 << 30);
  if (key == "num.partitions") return parse_int<std::int32_t>(key, value, num_partitions, 1, 100000);
  if (key == "auto.create.topics.enable") return parse_bool(key, value, auto_create_topics);
  if (key == "delete.topic.enable") return parse_bool(key, value, delete_topic_enable);
  if (key == "message.max.bytes") return parse_int<std::int64_t>(key, value, message_max_bytes, 0, 1LL << 31);
  if (key == "socket.request.max.bytes")
    return parse_int<std::int64_t>(key, value, socket_request_max_bytes, 1024, (1LL << 31) - 1);
  if (key == "transaction.max.timeout.ms")
    return parse_int<std::int64_t>(key, value, transaction_max_timeout_ms, 1, 1LL << 40);
  if (key == "group.min.session.timeout.ms")
    return parse_int<std::int32_t>(key, value, group_min_session_timeout_ms, 0, 1 << 30);
  if (key == "group.max.session.timeout.ms")
    return parse_int<std::int32_t>(key, value, group_max_session_timeout_ms, 0, 1 << 30);
  if (key == "group.initial.rebalance.delay.ms")
    return parse_int<std::int32_t>(key, value, group_initial_rebalance_delay_ms, 0, 1 << 30);
  if (key == "offsets.retention.minutes")
    return parse_int<std::int64_t>(key, value, offsets_retention_minutes, 1, 1LL << 40);
  if (key == "cluster.id") {
    if (value.empty()) return "cluster.id: must not be empty";
    cluster_id = value;
    return std::nullopt;
  }
  if (key == "socket.tcp.congestion") {
    bool ok = !value.empty() && value.size() < 16;
    for (char c : value) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    if (!ok) return fmt::format("{}: '{}' is not auto, default or an algorithm name such as reno, cubic or bbr", key, value);
    tcp_congestion = value;
    return std::nullopt;
  }
  if (key == "listeners" || key == "listen") {
    // Accept Kafka's "PLAINTEXT://host:port" as well as "host:port".
    std::string v = value;
    if (auto p = v.find("://"); p != std::string::npos) v = v.substr(p + 3);
    auto hp = parse_host_port(v);
    if (!hp) return fmt::format("{}: '{}' is not HOST:PORT", key, value);
    listen_host = hp->first;
    listen_port = hp->second;
    return std::nullopt;
  }
  if (key == "advertised.listeners" || key == "advertised") {
    std::string v = value;
    if (auto p = v.find("://"); p != std::string::npos) v = v.substr(p + 3);
    auto hp = parse_host_port(v);
    if (!hp) return fmt::format("{}: '{}' is not HOST:PORT", key, value);
    advertised_host = hp->first;
    advertised_port = hp->second;
    return std::nullopt;
  }
  if (key == "log.dirs" || key == "log.dir" || key == "data.dir") {
    if (value.empty()) return fmt::format("{}: must not be empty", key);
    data_dir = value;
    return std::nullopt;
  }
  // Other keys (log.*, unknown ones) are validated by the layers that read them.
  return std::nullopt;
}

std::optional<std::string> broker_config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fmt::format("cannot read config file '{}'", path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == '!') continue;
    auto eq = t.find_first_of("=:");
    if (eq == std::string::npos) return fmt::format("{}:{}: expected key=value, got '{}'", path, n, t);
    if (auto err = set(trim(t.substr(0, eq)), trim(t.substr(eq + 1))))
      return fmt::format("{}:{}: {}", path, n, *err);
  }
  return std::nullopt;
}

}  // namespace eddy::broker
