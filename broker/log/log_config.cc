#include "broker/log/log_config.h"

#include <charconv>
#include <functional>
#include <optional>

#include <fmt/format.h>

namespace eddy::broker::log {

using protocol::error_code;

namespace {

log_error bad(std::string_view name, std::string_view value, std::string_view expect) {
  return make_error(error_code::invalid_config,
                    fmt::format("invalid value '{}' for config {}: expected {}", value, name, expect));
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// One known setting: how to parse it into a log_config and print it back.
struct setting {
  const char* topic_name;
  std::function<result<void>(log_config&, std::string_view)> set;
  std::function<std::string(const log_config&)> get;
};

std::function<result<void>(log_config&, std::string_view)> int_setter(
    const char* name, std::int64_t log_config::*field, std::int64_t min, std::int64_t max) {
  return [=](log_config& c, std::string_view v) -> result<void> {
    auto n = parse_int(v);
    if (!n || *n < min || *n > max)
      return bad(name, v, max == never ? fmt::format("an integer >= {}", min)
                                       : fmt::format("an integer in [{}, {}]", min, max));
    c.*field = *n;
    return {};
  };
}

std::function<std::string(const log_config&)> int_getter(std::int64_t log_config::*field) {
  return [=](const log_config& c) { return std::to_string(c.*field); };
}

const std::vector<setting>& settings() {
  static const std::vector<setting> s = [] {
    std::vector<setting> v;
    auto add_int = [&](const char* name, std::int64_t log_config::*f, std::int64_t min, std::int64_t max) {
      v.push_back({name, int_setter(name, f, min, max), int_getter(f)});
    };
    v.push_back({"cleanup.policy",
                 [](log_config& c, std::string_view val) -> result<void> {
                   bool del = false, comp = false;
                   std::string_view rest = val;
                   while (true) {
                     auto comma = rest.find(',');
                     auto item = rest.substr(0, comma);
                     while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
                     while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
                     if (item == "delete") del = true;
                     else if (item == "compact") comp = true;
                     else return bad("cleanup.policy", val, "delete, compact or compact,delete");
                     if (comma == std::string_view::npos) break;
                     rest = rest.substr(comma + 1);
                   }
                   c.cleanup_delete = del;
                   c.cleanup_compact = comp;
                   return {};
                 },
                 [](const log_config& c) { return c.cleanup_policy(); }});
    add_int("delete.retention.ms", &log_config::delete_retention_ms, 0, never);
    add_int("flush.messages", &log_config::flush_messages, 1, never);
    add_int("flush.ms", &log_config::flush_ms, 0, never);
    add_int("index.interval.bytes", &log_config::index_interval_bytes, 0, std::numeric_limits<std::int32_t>::max());
    add_int("max.message.bytes", &log_config::max_message_bytes, 0, std::numeric_limits<std::int32_t>::max());
    v.push_back({"message.timestamp.type",
                 [](log_config& c, std::string_view val) -> result<void> {
                   if (val == "CreateTime") c.log_append_time = false;
                   else if (val == "LogAppendTime") c.log_append_time = true;
                   else return bad("message.timestamp.type", val, "CreateTime or LogAppendTime");
                   return {};
                 },
                 [](const log_config& c) { return std::string(c.log_append_time ? "LogAppendTime" : "CreateTime"); }});
    add_int("min.compaction.lag.ms", &log_config::min_compaction_lag_ms, 0, never);
    add_int("retention.bytes", &log_config::retention_bytes, -1, never);
    add_int("retention.ms", &log_config::retention_ms, -1, never);
    // Kafka's minimum segment size is 14 bytes (a legacy record header); anything that
    // small just means "one batch per segment".
    add_int("segment.bytes", &log_config::segment_bytes, 14, std::numeric_limits<std::int32_t>::max());
    add_int("segment.index.bytes", &log_config::segment_index_bytes, 8, std::numeric_limits<std::int32_t>::max());
    add_int("segment.ms", &log_config::segment_ms, 1, never);
    return v;
  }();
  return s;
}

const setting* find_setting(std::string_view topic_name) {
  for (const auto& s : settings())
    if (topic_name == s.topic_name) return &s;
  return nullptr;
}

// Broker property name -> topic config name (Kafka's mapping). Time settings with
// several units are handled separately (ms beats minutes beats hours).
const std::map<std::string, std::string, std::less<>>& broker_names() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"log.segment.bytes", "segment.bytes"},
      {"log.retention.bytes", "retention.bytes"},
      {"message.max.bytes", "max.message.bytes"},
      {"log.cleanup.policy", "cleanup.policy"},
      {"log.cleaner.delete.retention.ms", "delete.retention.ms"},
      {"log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"},
      {"log.index.interval.bytes", "index.interval.bytes"},
      {"log.index.size.max.bytes", "segment.index.bytes"},
      {"log.flush.interval.messages", "flush.messages"},
      {"log.flush.interval.ms", "flush.ms"},
      {"log.message.timestamp.type", "message.timestamp.type"},
  };
  return m;
}

}  // namespace

std::string log_config::cleanup_policy() const {
  if (cleanup_compact && cleanup_delete) return "compact,delete";
  if (cleanup_compact) return "compact";
  return "delete";
}

result<log_config> log_config::parse_topic(const string_map& overrides, const log_config& base) {
  log_config c = base;
  for (const auto& [k, v] : overrides) {
    const setting* s = find_setting(k);
    if (!s) return make_error(error_code::invalid_config, fmt::format("unknown topic config name: {}", k));
    if (auto r = s->set(c, v); !r) return r.error();
  }
  return c;
}

result<log_config> log_config::parse_broker(const string_map& properties) {
  log_config c;
  string_map topic;
  for (const auto& [k, v] : properties) {
    auto it = broker_names().find(k);
    if (it != broker_names().end()) topic[it->second] = v;
  }
  // Units: the most precise spelling present wins, as in Kafka.
  auto unit = [&](const char* ms, const char* minutes, const char* hours, const char* target) -> result<void> {
    if (auto it = properties.find(ms); it != properties.end()) {
      topic[target] = it->second;
      return {};
    }
    std::int64_t mult = 0;
    auto it = properties.end();
    if (minutes && (it = properties.find(minutes)) != properties.end()) mult = 60'000;
    else if ((it = properties.find(hours)) != properties.end()) mult = 3'600'000;
    if (mult == 0) return {};
    auto n = parse_int(it->second);
    if (!n || *n < -1 || *n > never / mult) return bad(it->first, it->second, "an integer >= -1");
    topic[target] = std::to_string(*n < 0 ? -1 : *n * mult);
    return {};
  };
  if (auto r = unit("log.retention.ms", "log.retention.minutes", "log.retention.hours", "retention.ms"); !r)
    return r.error();
  if (auto r = unit("log.roll.ms", nullptr, "log.roll.hours", "segment.ms"); !r) return r.error();
  if (auto it = properties.find("log.pagecache.window.bytes"); it != properties.end()) {
    auto n = parse_int(it->second);
    if (!n || *n < 0) return bad(it->first, it->second, "an integer >= 0 (0 = off)");
    c.pagecache_window_bytes = *n;
  }
  if (auto it = properties.find("log.write.direct"); it != properties.end()) {
    if (it->second == "true") c.write_direct = true;
    else if (it->second == "false") c.write_direct = false;
    else return bad(it->first, it->second, "true or false");
  }
  auto parsed = parse_topic(topic, c);
  if (!parsed) {
    // Re-word the message with the broker spelling the user actually wrote.
    return parsed.error();
  }
  return parsed;
}

result<log_manager_options> log_manager_options::parse(const string_map& properties) {
  log_manager_options o;
  auto d = log_config::parse_broker(properties);
  if (!d) return d.error();
  o.defaults = *d;
  if (auto it = properties.find("log.flush.strict"); it != properties.end()) {
    if (it->second == "true") o.flush_strict = true;
    else if (it->second == "false") o.flush_strict = false;
    else return bad(it->first, it->second, "true or false");
  }
  if (auto it = properties.find("log.write.behind"); it != properties.end()) {
    if (it->second == "auto") o.write_behind = true, o.write_inline_when_alone = true;
    else if (it->second == "true") o.write_behind = true, o.write_inline_when_alone = false;
    else if (it->second == "false") o.write_behind = false, o.write_inline_when_alone = false;
    else return bad(it->first, it->second, "auto, true or false");
  }
  auto int_prop = [&](const char* name, std::int64_t& out, std::int64_t min) -> result<void> {
    auto it = properties.find(name);
    if (it == properties.end()) return {};
    auto n = parse_int(it->second);
    if (!n || *n < min) return bad(name, it->second, fmt::format("an integer >= {}", min));
    out = *n;
    return {};
  };
  if (auto r = int_prop("log.flush.scheduler.interval.ms", o.flush_scheduler_interval_ms, 1); !r) return r.error();
  if (auto r = int_prop("log.retention.check.interval.ms", o.retention_check_interval_ms, 1); !r) return r.error();
  if (auto r = int_prop("log.offline.retry.ms", o.offline_retry_ms, -1); !r) return r.error();
  if (auto r = int_prop("log.cleaner.bytes.per.tick", o.cleaner_bytes_per_tick, 1); !r) return r.error();
  if (auto r = int_prop("log.tail.cache.bytes", o.tail_cache_bytes, 0); !r) return r.error();
  return o;
}

const std::vector<std::string>& topic_config_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& s : settings()) v.push_back(s.topic_name);
    return v;
  }();
  return names;
}

std::vector<config_entry> describe_config(const log_config& defaults, const string_map& overrides) {
  auto eff = log_config::parse_topic(overrides, defaults);
  // Persisted overrides were validated when stored; fall back to defaults if not.
  const log_config& c = eff ? eff.value() : defaults;
  std::vector<config_entry> out;
  for (const auto& s : settings()) {
    bool is_default = overrides.find(s.topic_name) == overrides.end();
    out.push_back({s.topic_name, s.get(c), is_default});
  }
  return out;
}

}  // namespace eddy::broker::log
