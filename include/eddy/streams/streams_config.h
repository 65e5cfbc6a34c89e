// streams_config: application settings with Kafka Streams' names and defaults.
//
//   application.id          required; consumer group id, prefix of internal topics and
//                           transactional ids
//   bootstrap.servers       required for streams_app (not for test_driver)
//   num.stream.threads      1
//   processing.guarantee    at_least_once (Kafka's default) | exactly_once_v2 (the samples' choice)
//   commit.interval.ms      30000, or 100 under exactly_once_v2
//   state.dir               /tmp/eddy-streams
//   replication.factor      -1 (broker default) for internal topics
//   default.deserialization.exception.handler   log_and_fail | log_and_continue
//   default.production.exception.handler        log_and_fail | log_and_continue
//   eddy.log                true: log thread events (rebalances, restores, aborts) to stderr
//   transaction.timeout.ms  10000 (producer; bounds how long a dead instance's open
//                           transaction blocks readers)
// Every other key is passed to librdkafka (consumer, producer and admin clients), so
// security.protocol, sasl.* and ssl.* work for a real cluster; "consumer.", "producer." and
// "admin." prefixes target one client.
//
// Thread-safety: a value; copy it freely, do not mutate while an app uses it.
//
// Example:
//   streams_config cfg{{"application.id", "page-views"}, {"bootstrap.servers", "localhost:9092"},
//                      {"processing.guarantee", "exactly_once_v2"}};
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace eddy::streams {

enum class processing_guarantee { at_least_once, exactly_once_v2 };
enum class handler_response { fail, skip };

// What a timestamp extractor and the error handlers see of a consumed record.
struct consumed_record_info {
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp = -1;  // the record's own timestamp
  const std::string* key = nullptr;    // null = null key
  const std::string* value = nullptr;  // null = null value
};

// (record, partition time = the largest timestamp seen on the partition) -> timestamp.
using timestamp_extractor = std::function<int64_t(const consumed_record_info&, int64_t partition_time)>;
using deserialization_handler = std::function<handler_response(const consumed_record_info&, const std::string& error)>;
using production_handler = std::function<handler_response(const std::string& topic, const std::string& error)>;

class streams_config {
 public:
  streams_config() = default;
  streams_config(std::initializer_list<std::pair<const std::string, std::string>> kv) : props_(kv) {}

  streams_config& set(const std::string& key, const std::string& value) {
    props_[key] = value;
    return *this;
  }
  std::optional<std::string> get(const std::string& key) const {
    auto it = props_.find(key);
    if (it == props_.end()) return std::nullopt;
    return it->second;
  }
  std::string get_or(const std::string& key, const std::string& fallback) const { return get(key).value_or(fallback); }
  const std::map<std::string, std::string>& all() const { return props_; }

  std::string application_id() const { return get_or("application.id", ""); }
  std::string bootstrap_servers() const { return get_or("bootstrap.servers", ""); }
  int num_stream_threads() const;
  processing_guarantee guarantee() const;
  int64_t commit_interval_ms() const;
  std::string state_dir() const { return get_or("state.dir", "/tmp/eddy-streams"); }
  int replication_factor() const;

  // Empty if valid, else what is wrong and what to do.
  std::string validate(bool need_bootstrap) const;

  // Keys consumed by the streams library itself (not passed to librdkafka).
  static bool is_streams_key(std::string_view key);

  // Optional hooks; defaults: the record's timestamp, log-and-fail, log-and-fail.
  timestamp_extractor extractor;
  deserialization_handler on_deserialization_error;
  production_handler on_production_error;

  // The configured (or default) handlers, resolving the *.exception.handler names.
  deserialization_handler deserialization_handler_or_default() const;
  production_handler production_handler_or_default() const;

 private:
  std::map<std::string, std::string> props_;
};

}  // namespace eddy::streams
