#include "eddy/streams/streams_config.h"

#include <charconv>
#include <iostream>
#include <set>

#include <fmt/format.h>

namespace eddy::streams {
namespace {

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_continue(const std::string& name) {
  return name == "log_and_continue" || name.find("LogAndContinue") != std::string::npos || name == "always_continue";
}

}  // namespace

int streams_config::num_stream_threads() const {
  return static_cast<int>(parse_int(get_or("num.stream.threads", "1")).value_or(1));
}

processing_guarantee streams_config::guarantee() const {
  auto g = get_or("processing.guarantee", "at_least_once");
  return g == "exactly_once_v2" || g == "exactly_once_beta" ? processing_guarantee::exactly_once_v2
                                                            : processing_guarantee::at_least_once;
}

int64_t streams_config::commit_interval_ms() const {
  if (auto v = get("commit.interval.ms")) return parse_int(*v).value_or(30000);
  return guarantee() == processing_guarantee::exactly_once_v2 ? 100 : 30000;
}

int streams_config::replication_factor() const {
  return static_cast<int>(parse_int(get_or("replication.factor", "-1")).value_or(-1));
}

bool streams_config::is_streams_key(std::string_view key) {
  static const std::set<std::string, std::less<>> keys = {
      "application.id", "num.stream.threads", "processing.guarantee", "commit.interval.ms", "state.dir",
      "replication.factor", "default.deserialization.exception.handler", "default.production.exception.handler",
      "default.timestamp.extractor", "max.task.idle.ms", "bootstrap.servers", "eddy.log"};
  return keys.count(key) > 0;
}

std::string streams_config::validate(bool need_bootstrap) const {
  if (application_id().empty())
    return "application.id is not set: set it to a name unique to this application (it is the consumer group id "
           "and the prefix of internal topics)";
  for (char c : application_id())
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return fmt::format("application.id \"{}\" contains '{}': use only letters, digits, '.', '_' and '-'",
                         application_id(), c);
  if (need_bootstrap && bootstrap_servers().empty())
    return "bootstrap.servers is not set: set it to host:port of one or more brokers";
  auto g = get_or("processing.guarantee", "at_least_once");
  if (g != "at_least_once" && g != "exactly_once_v2" && g != "exactly_once_beta")
    return fmt::format("processing.guarantee \"{}\" is not supported: use exactly_once_v2 or at_least_once", g);
  if (auto v = get("num.stream.threads"); v && (!parse_int(*v) || *parse_int(*v) < 1))
    return fmt::format("num.stream.threads \"{}\" is invalid: use a positive integer", *v);
  if (auto v = get("commit.interval.ms"); v && (!parse_int(*v) || *parse_int(*v) < 0))
    return fmt::format("commit.interval.ms \"{}\" is invalid: use a non-negative integer", *v);
  return {};
}

deserialization_handler streams_config::deserialization_handler_or_default() const {
  if (on_deserialization_error) return on_deserialization_error;
  bool cont = is_continue(get_or("default.deserialization.exception.handler", "log_and_fail"));
  return [cont](const consumed_record_info& r, const std::string& err) {
    std::cerr << fmt::format("eddy-streams: cannot deserialize record {}-{}@{}: {} ({})\n", r.topic, r.partition, r.offset,
                             err, cont ? "skipping it: log_and_continue" : "stopping: log_and_fail");
    return cont ? handler_response::skip : handler_response::fail;
  };
}

production_handler streams_config::production_handler_or_default() const {
  if (on_production_error) return on_production_error;
  bool cont = is_continue(get_or("default.production.exception.handler", "log_and_fail"));
  return [cont](const std::string& topic, const std::string& err) {
    std::cerr << fmt::format("eddy-streams: cannot produce to {}: {} ({})\n", topic, err,
                             cont ? "continuing: log_and_continue" : "stopping: log_and_fail");
    return cont ? handler_response::skip : handler_response::fail;
  };
}

}  // namespace eddy::streams
