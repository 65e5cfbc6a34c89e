// The non-template half of the DSL: appending nodes, repartition pairs, build checks.
#include "eddy/streams/detail/dsl.h"

#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "eddy/streams/detail/ops.h"
#include "eddy/streams/stream_builder.h"

namespace eddy::streams {
namespace detail {

int add_processor(graph& g, std::string_view prefix, std::vector<int> parents, node_factory f,
                  std::vector<std::string> stores, std::string name) {
  node_spec n;
  n.name = name.empty() ? g.next_name(prefix) : std::move(name);
  n.kind = node_kind::processor;
  n.parents = std::move(parents);
  n.factory = std::move(f);
  n.stores = std::move(stores);
  return g.add(std::move(n));
}

int add_source(graph& g, std::vector<topic_ref> topics, any_serde key, any_serde value, bool carries_changes) {
  node_spec n;
  n.name = g.next_name("KSTREAM-SOURCE");
  n.kind = node_kind::source;
  n.source.topics = std::move(topics);
  n.source.key_serde = std::move(key);
  n.source.value_serde = std::move(value);
  n.source.carries_changes = carries_changes;
  return g.add(std::move(n));
}

int add_sink(graph& g, int parent, sink_spec sink) {
  node_spec n;
  n.name = g.next_name("KSTREAM-SINK");
  n.kind = node_kind::sink;
  n.parents = {parent};
  if (!sink.key_serde.valid() || !sink.value_serde.valid())
    n.build_error = missing_serde_error("key or value", "sink to " + (sink.chooser ? std::string("a chosen topic") : sink.topic.name));
  n.sink = std::move(sink);
  return g.add(std::move(n));
}

int add_repartition(graph& g, int parent, const std::string& base, any_serde key, any_serde value, bool carries_changes) {
  topic_ref t{base + "-repartition", true, "repartition"};
  sink_spec s;
  s.topic = t;
  s.key_serde = key;
  s.value_serde = value;
  s.carries_changes = carries_changes;
  int sink = add_sink(g, parent, std::move(s));
  if (!g.nodes[sink].build_error.empty())
    g.nodes[sink].build_error = missing_serde_error("key or value", "repartition topic " + t.name +
                                                                        " (pass grouped::with(key_serde, value_serde))");
  return add_source(g, {t}, std::move(key), std::move(value), carries_changes);
}

void add_store(graph& g, store_spec s) { g.add_store(std::move(s)); }

std::string missing_serde_error(const std::string& what, const std::string& op) {
  return fmt::format("no {} serde for {}: the type has no default serde; pass one (materialized/grouped/produced/"
                     "consumed ::with) or specialise eddy::streams::serde_for<T>",
                     what, op);
}

}  // namespace detail

topology stream_builder::build() {
  std::string errors;
  for (auto& n : g_->nodes) {
    if (!n.build_error.empty()) errors += fmt::format("  {}: {}\n", n.name, n.build_error);
    for (auto& s : n.stores)
      if (!g_->stores.count(s))
        errors += fmt::format("  {}: uses store \"{}\", which was never added (call add_state_store first)\n", n.name, s);
  }
  if (!errors.empty()) throw std::invalid_argument("invalid topology:\n" + errors);
  return topology(g_);
}

}  // namespace eddy::streams
