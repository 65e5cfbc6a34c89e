// physical_topology: the logical graph cut into sub-topologies, with resolved topic names.
//
// Two nodes are in the same sub-topology when connected by an edge or when they use the
// same store (a join reads the other side's store). Repartition topics are the only links
// between sub-topologies: a sink writing one ends a sub-topology, a source reading it starts
// another. A task is (sub-topology, partition); a sub-topology has as many tasks as its
// source topics have partitions (co-partitioned topics must agree).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "eddy/streams/detail/graph.h"

namespace eddy::streams::runtime {

struct task_id {
  int sub = 0;
  int partition = 0;
  std::string str() const { return std::to_string(sub) + "_" + std::to_string(partition); }
  auto operator<=>(const task_id&) const = default;
};

struct internal_topic {
  std::string name;  // full name, with the application id prefix
  std::string purpose;  // "repartition" or "changelog"
  int partitions = 0;   // set by assign_partitions
  std::map<std::string, std::string> config;
};

struct subtopology {
  int id = 0;
  std::vector<int> nodes;  // in graph (= topological) order
  std::vector<std::string> source_topics;
  std::set<std::string> stores;
  bool has_join = false;
};

struct physical_topology {
  detail::graph_ptr g;
  std::string app_id;
  std::vector<subtopology> subs;
  std::vector<std::vector<int>> children;             // node id -> child node ids
  std::map<std::string, std::pair<int, int>> sources;  // topic -> (sub, source node)
  std::map<std::string, int> store_sub;                // store -> sub
  std::map<std::string, internal_topic> internal_topics;
  std::map<std::string, int> task_counts_by_sub_topic;  // unused by callers; kept for describe
  std::vector<int> tasks_per_sub;                      // set by assign_partitions

  std::string resolve(const detail::topic_ref& t) const { return t.internal ? app_id + "-" + t.name : t.name; }
  std::string changelog_topic(const std::string& store) const { return app_id + "-" + store + "-changelog"; }
};

physical_topology build_physical(const detail::graph_ptr& g, const std::string& app_id);

// Decides partition counts of internal topics and the number of tasks per sub-topology.
// external(topic) returns the partition count of a user topic, or nullopt if it does not exist.
// Returns an error message (missing topic, co-partitioning violated) or empty.
std::string assign_partitions(physical_topology& t, const std::function<std::optional<int>(const std::string&)>& external);

std::string describe(const physical_topology& t);

}  // namespace eddy::streams::runtime
