// Helpers shared by the handlers: topic lookup with auto-creation, error-code casts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/log/log_manager.h"
#include "broker/server/request_context.h"
#include "core/protocol/error_code.h"

namespace eddy::broker::handlers {

inline std::int16_t code(protocol::error_code e) { return std::int16_t(e); }

// Config resource types (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs).
inline constexpr std::int8_t resource_type_topic = 2;
inline constexpr std::int8_t resource_type_broker = 4;

// Each partition is a folder of files on this one node; a request for millions of them
// would stall the broker for minutes, so counts above this are refused (INVALID_PARTITIONS).
inline constexpr std::int32_t max_partitions_per_topic = 1000;

// Auto-creation without holding up the event loop for the files (about a millisecond per
// partition): each of `names` that is missing and may be auto-created (auto.create.topics
// .enable, a valid name) is created with num.partitions on the log's admin thread (or, if
// another request is creating it already, waited for), and `then` runs on the loop once
// all are done. Returns whether any
// was started; if so the caller returns at once and does its work in `then` (where
// ensure_topic finds the topics, or answers the error of a creation that failed).
// `then` may run before this returns (a creation refused at once).
inline bool auto_create_then(broker& b, const std::vector<std::string>& names, std::function<void()> then) {
  if (!b.config().auto_create_topics) return false;
  std::set<std::string> missing, waiting;
  for (const auto& name : names) {
    if (b.logs().describe_topic(name) || !log::validate_topic_name(name)) continue;
    (b.logs().being_created(name) ? waiting : missing).insert(name);
  }
  if (missing.empty() && waiting.empty()) return false;
  auto left = std::make_shared<std::size_t>(missing.size() + waiting.size());
  auto one_done = [left, then] {
    if (--*left == 0) then();
  };
  for (const auto& name : waiting) b.logs().after_creation(name, one_done);
  for (const auto& name : missing)
    b.logs().create_topic_async(name, b.config().num_partitions, {}, [one_done](log::result<void>) { one_done(); });
  return true;
}

// Makes sure `topic` exists, creating it with num.partitions when auto-creation is on
// and `allow_auto_create`. Returns none, unknown_topic_or_partition or invalid_topic_exception.
inline protocol::error_code ensure_topic(broker& b, const std::string& topic, bool allow_auto_create) {
  if (b.logs().describe_topic(topic)) return protocol::error_code::none;
  if (!allow_auto_create || !b.config().auto_create_topics) return protocol::error_code::unknown_topic_or_partition;
  if (auto v = log::validate_topic_name(topic); !v) return protocol::error_code::invalid_topic_exception;
  auto r = b.logs().create_topic(topic, b.config().num_partitions, {});
  if (!r && r.error().code != protocol::error_code::topic_already_exists) return r.error().code;
  return protocol::error_code::none;
}

// For admin requests whose topics complete on the log's admin thread: `resp` is answered
// once the handler's loop is done (done()) and every part started meanwhile (one part()
// per asynchronous call, whose completion calls the function part() returned).
template <class Response>
class answer_when_done {
 public:
  explicit answer_when_done(request_ptr ctx) : ctx_(std::move(ctx)) {}
  Response& response() { return *resp_; }
  std::function<void()> part() {
    ++*outstanding_;
    return finisher();
  }
  // A part whose completion puts its error, if any, in item `index` of the response's
  // `list` (error_code, error_message).
  template <class List>
  std::function<void(log::result<void>)> part_for(List Response::*list, std::size_t index) {
    return [resp = resp_, list, index, finish = part()](log::result<void> r) {
      if (!r) {
        auto& item = ((*resp).*list)[index];
        item.error_code = code(r.error().code);
        item.error_message = r.error().message;
      }
      finish();
    };
  }
  void done() { finisher()(); }

 private:
  std::function<void()> finisher() {
    return [ctx = ctx_, resp = resp_, outstanding = outstanding_] {
      if (--*outstanding == 0) ctx->respond(*resp);
    };
  }
  request_ptr ctx_;
  std::shared_ptr<Response> resp_ = std::make_shared<Response>();
  std::shared_ptr<std::size_t> outstanding_ = std::make_shared<std::size_t>(1);  // 1 until done()
};

// How often each topic name appears in a request's list (Kafka refuses a topic named
// twice in one CreateTopics or CreatePartitions with INVALID_REQUEST).
template <class Items>
std::multiset<std::string> names_in(const Items& items) {
  std::multiset<std::string> seen;
  for (const auto& t : items) seen.insert(t.name);
  return seen;
}

}  // namespace eddy::broker::handlers
