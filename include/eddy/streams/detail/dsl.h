// detail/dsl: non-template helpers the typed DSL uses to append nodes to a graph
// (implemented in streams/dsl.cc).
#pragma once

#include <string>
#include <vector>

#include "eddy/streams/detail/graph.h"

namespace eddy::streams::detail {

int add_processor(graph& g, std::string_view prefix, std::vector<int> parents, node_factory f,
                  std::vector<std::string> stores = {}, std::string name = {});
int add_source(graph& g, std::vector<topic_ref> topics, any_serde key, any_serde value, bool carries_changes = false);
int add_sink(graph& g, int parent, sink_spec sink);
// Sink to "<application.id>-<base>-repartition" and a source reading it back; returns the source.
// Records why if a serde is missing.
int add_repartition(graph& g, int parent, const std::string& base, any_serde key, any_serde value, bool carries_changes);
void add_store(graph& g, store_spec s);
std::string missing_serde_error(const std::string& what, const std::string& op);

}  // namespace eddy::streams::detail
