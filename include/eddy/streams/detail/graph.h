// detail/graph: the type-erased logical graph that the typed DSL (kstream, ktable, ...)
// builds, and the byte/any-level node interface the runtime executes.
//
// Why type-erased: the DSL's templates only convert user lambdas into std::function over
// std::any and append a node here; every runtime piece (tasks, stores, threads, the test
// driver) is ordinary non-template code in streams/ compiled once. Keys and values travel
// between nodes as std::any (no serialisation between operators); serdes are applied only at
// sources, sinks and stores. An empty std::any is Kafka's null (a tombstone for tables).
//
// Not a user API: users see kstream/ktable/processor; this header is public only because
// those templates need it.
//
// Thread-safety: a graph is built on one thread, then shared read-only by all stream threads.
#pragma once

#include <any>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "eddy/streams/serdes.h"

namespace eddy::streams {

// A record header; value nullopt = a null header value.
struct header {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const header&) const = default;
};
using headers = std::vector<header>;

enum class punctuation_type { stream_time, wall_clock_time };

class kv_bytes_store;

namespace detail {

struct any_record {
  std::any key;
  std::any value;
  int64_t timestamp = 0;
  headers hdrs;
};

// Old and new value of a table row: what table operators pass to each other.
struct change {
  std::any old_value;
  std::any new_value;
};

struct any_serde {
  std::function<std::string(const std::any&)> serialize;
  std::function<std::any(std::string_view)> deserialize;
  bool valid() const { return serialize && deserialize; }
};

template <class T>
any_serde erase(const serde<T>& s) {
  if (!s.valid()) return {};
  return {[ser = s.serialize](const std::any& a) {
            if (const T* p = std::any_cast<T>(&a)) return ser(*p);
            return ser(T{});
          },
          [de = s.deserialize](std::string_view b) { return std::any(de(b)); }};
}

// Value of an any that may be null: the typed views substitute T{} for null keys/values.
template <class T>
const T& value_of(const std::any& a) {
  static const T empty{};
  const T* p = std::any_cast<T>(&a);
  return p ? *p : empty;
}

// Result type of a joiner called as (A, B), (A, optional<B>) or (optional<A>, optional<B>).
template <class F, class A, class B>
using joiner_result_t = std::decay_t<typename std::conditional_t<
    std::is_invocable_v<F, const A&, const B&>, std::invoke_result<F, const A&, const B&>,
    std::conditional_t<std::is_invocable_v<F, const A&, const std::optional<B>&>,
                       std::invoke_result<F, const A&, const std::optional<B>&>,
                       std::invoke_result<F, const std::optional<A>&, const std::optional<B>&>>>::type>;

// Calls a joiner by join kind: inner (A, B), left (A, optional<B>), outer (optional<A>,
// optional<B>). Dispatch is by kind, not by overload: a lambda taking optionals also
// accepts plain values, so invocability alone cannot tell left from inner.
template <class R, class A, class B, class F>
std::any call_joiner(F& f, int kind, const std::any& l, const std::any& r) {
  const A* lv = std::any_cast<A>(&l);
  const B* rv = std::any_cast<B>(&r);
  auto ol = lv ? std::optional<A>(*lv) : std::nullopt;
  auto orv = rv ? std::optional<B>(*rv) : std::nullopt;
  if (kind == 0) {
    if constexpr (std::is_invocable_v<F, const A&, const B&>) return std::any(R(f(*lv, *rv)));
  } else if (kind == 1) {
    if constexpr (std::is_invocable_v<F, const A&, const std::optional<B>&>) return std::any(R(f(*lv, orv)));
  } else {
    if constexpr (std::is_invocable_v<F, const std::optional<A>&, const std::optional<B>&>) return std::any(R(f(ol, orv)));
  }
  throw std::logic_error("joiner signature does not match the join kind: inner joins take (V, VO), left joins "
                         "(V, std::optional<VO>), outer joins (std::optional<V>, std::optional<VO>)");
}

// Where the record being processed came from (source topic coordinates).
struct record_origin {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// What a running node sees of its task. Implemented by the runtime's task.
class node_context {
 public:
  virtual ~node_context() = default;
  virtual void forward(const any_record& rec) = 0;
  // Forward to one child by node name; unknown names throw std::invalid_argument.
  virtual void forward_to(std::string_view child, const any_record& rec) = 0;
  virtual kv_bytes_store& store(std::string_view name) = 0;
  virtual void schedule(int64_t interval_ms, punctuation_type type, std::function<void(int64_t)> fn) = 0;
  virtual int64_t stream_time() const = 0;
  virtual int64_t wall_clock_ms() const = 0;
  virtual const record_origin& origin() const = 0;
  virtual int32_t task_partition() const = 0;
  virtual int32_t subtopology() const = 0;
  virtual const std::string& application_id() const = 0;
  // The timestamp and headers of the record currently being processed.
  virtual const any_record* current() const = 0;
};

// A runtime operator instance; one per task.
class node {
 public:
  virtual ~node() = default;
  virtual void init(node_context& ctx) { ctx_ = &ctx; }
  virtual void process(const any_record& rec) = 0;
  virtual void close() {}

 protected:
  node_context* ctx_ = nullptr;
};

using node_factory = std::function<std::unique_ptr<node>()>;

enum class node_kind { source, processor, sink };
enum class store_type { key_value, window, session };

// A topic name as written by the user, or an internal topic to be prefixed with
// "<application.id>-" and created by the runtime.
struct topic_ref {
  // A constructor rather than an aggregate, so that brace-initialising only the first
  // fields does not warn under -Wextra (-Wmissing-field-initializers) in users' builds.
  topic_ref(std::string n = {}, bool is_internal = false, std::string why = {})
      : name(std::move(n)), internal(is_internal), purpose(std::move(why)) {}
  std::string name;
  bool internal = false;
  // Internal topics: "repartition" or "changelog" decides the configs used at creation.
  std::string purpose;
};

struct source_spec {
  std::vector<topic_ref> topics;
  any_serde key_serde;
  any_serde value_serde;
  // Repartition topics of a table group_by carry (old, new) pairs; see ops/change_codec.
  bool carries_changes = false;
};

struct sink_spec {
  topic_ref topic;
  // Optional: chooses the topic per record (overrides topic.name).
  std::function<std::string(const any_record&)> chooser;
  any_serde key_serde;
  any_serde value_serde;
  bool carries_changes = false;
  // Optional: partition from (record, number of partitions); default murmur2 of the key like Kafka.
  std::function<int32_t(const any_record& rec, int32_t partitions)> partitioner;
};

struct node_spec {
  int id = 0;
  std::string name;
  node_kind kind = node_kind::processor;
  std::vector<int> parents;
  node_factory factory;
  std::vector<std::string> stores;
  source_spec source;
  sink_spec sink;
  // Why the node needs something (a serde) it does not have; reported by build().
  std::string build_error;
};

struct store_spec {
  static constexpr int64_t default_retention_ms = 24LL * 3600 * 1000;
  // A constructor for the same reason as topic_ref's.
  store_spec(std::string n = {}, store_type t = store_type::key_value, bool is_persistent = true, bool is_logged = true,
             int64_t retention = default_retention_ms)
      : name(std::move(n)), type(t), persistent(is_persistent), logged(is_logged), retention_ms(retention) {}
  std::string name;
  store_type type = store_type::key_value;
  bool persistent = true;
  bool logged = true;
  int64_t retention_ms = default_retention_ms;
  std::map<std::string, std::string> changelog_config;
};

struct graph {
  std::vector<node_spec> nodes;
  std::map<std::string, store_spec> stores;
  int counter = 0;

  std::string next_name(std::string_view prefix) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%010d", counter++);
    return std::string(prefix) + "-" + buf;
  }
  int add(node_spec spec) {
    spec.id = static_cast<int>(nodes.size());
    nodes.push_back(std::move(spec));
    return nodes.back().id;
  }
  void add_store(store_spec s) { stores[s.name] = std::move(s); }
};

using graph_ptr = std::shared_ptr<graph>;

}  // namespace detail
}  // namespace eddy::streams
