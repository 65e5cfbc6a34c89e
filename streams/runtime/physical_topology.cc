#include "streams/runtime/physical_topology.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "eddy/streams/topology.h"

namespace eddy::streams::runtime {
namespace {

struct union_find {
  std::vector<int> p;
  explicit union_find(size_t n) : p(n) { std::iota(p.begin(), p.end(), 0); }
  int find(int x) { return p[x] == x ? x : p[x] = find(p[x]); }
  void join(int a, int b) { p[find(a)] = find(b); }
};

}  // namespace

physical_topology build_physical(const detail::graph_ptr& g, const std::string& app_id) {
  physical_topology t;
  t.g = g;
  t.app_id = app_id;
  size_t n = g->nodes.size();
  t.children.assign(n, {});
  union_find uf(n);
  std::map<std::string, int> store_user;
  for (auto& node : g->nodes) {
    for (int p : node.parents) {
      t.children[p].push_back(node.id);
      uf.join(node.id, p);
    }
    for (auto& s : node.stores) {
      auto [it, fresh] = store_user.emplace(s, node.id);
      if (!fresh) uf.join(node.id, it->second);
    }
  }
  std::map<int, int> root_to_sub;
  for (auto& node : g->nodes) {
    int root = uf.find(node.id);
    auto [it, fresh] = root_to_sub.emplace(root, static_cast<int>(t.subs.size()));
    if (fresh) {
      t.subs.emplace_back();
      t.subs.back().id = it->second;
    }
    auto& sub = t.subs[it->second];
    sub.nodes.push_back(node.id);
    for (auto& s : node.stores) {
      sub.stores.insert(s);
      t.store_sub[s] = sub.id;
    }
    if (node.name.find("JOIN") != std::string::npos) sub.has_join = true;
    if (node.kind == detail::node_kind::source) {
      for (auto& ref : node.source.topics) {
        std::string name = t.resolve(ref);
        sub.source_topics.push_back(name);
        t.sources[name] = {sub.id, node.id};
        if (ref.internal) t.internal_topics[name] = {name, "repartition", 0, {{"cleanup.policy", "delete"}}};
      }
    }
  }
  for (auto& [name, spec] : g->stores) {
    if (!spec.logged || !t.store_sub.count(name)) continue;
    internal_topic it{t.changelog_topic(name), "changelog", 0, {}};
    it.config["cleanup.policy"] = spec.type == detail::store_type::key_value ? "compact" : "compact,delete";
    if (spec.type != detail::store_type::key_value) it.config["retention.ms"] = std::to_string(spec.retention_ms + 24LL * 3600 * 1000);
    for (auto& [k, v] : spec.changelog_config) it.config[k] = v;
    t.internal_topics[it.name] = it;
  }
  return t;
}

std::string assign_partitions(physical_topology& t, const std::function<std::optional<int>(const std::string&)>& external) {
  std::vector<int> tasks(t.subs.size(), 0);
  std::map<std::string, int> counts;
  // External source topics first.
  for (auto& sub : t.subs) {
    int first = -1;
    std::string first_topic;
    for (auto& topic : sub.source_topics) {
      if (t.internal_topics.count(topic)) continue;
      auto c = external(topic);
      if (!c)
        return fmt::format("source topic \"{}\" does not exist: create it (e.g. kafka-topics --create --topic {}) "
                           "before starting the application",
                           topic, topic);
      counts[topic] = *c;
      if (first < 0) {
        first = *c;
        first_topic = topic;
      } else if (*c != first && (sub.has_join || !sub.stores.empty())) {
        return fmt::format("topics \"{}\" ({} partitions) and \"{}\" ({} partitions) are joined or aggregated together "
                           "but are not co-partitioned: give them the same number of partitions, or repartition one "
                           "side with kstream::repartition()",
                           first_topic, first, topic, *c);
      }
      tasks[sub.id] = std::max(tasks[sub.id], *c);
    }
  }
  // Repartition topics: as many partitions as the co-partitioned external topics of the reading
  // sub-topology, else as many as the tasks of the writing sub-topology; iterate to a fixpoint
  // because a writer may itself read a repartition topic.
  std::map<std::string, std::vector<int>> writers;
  for (auto& node : t.g->nodes)
    if (node.kind == detail::node_kind::sink && node.sink.topic.internal) {
      auto name = t.resolve(node.sink.topic);
      for (auto& sub : t.subs)
        if (std::find(sub.nodes.begin(), sub.nodes.end(), node.id) != sub.nodes.end()) writers[name].push_back(sub.id);
    }
  for (size_t round = 0; round <= t.subs.size() + 1; ++round) {
    bool changed = false;
    for (auto& [name, it] : t.internal_topics) {
      if (it.purpose != "repartition") continue;
      int reader = t.sources.at(name).first;
      int want = 0;
      for (auto& topic : t.subs[reader].source_topics)
        if (!t.internal_topics.count(topic)) want = std::max(want, counts[topic]);
      if (want == 0)
        for (int w : writers[name]) want = std::max(want, tasks[w]);
      if (want > 0 && want != it.partitions) {
        it.partitions = want;
        changed = true;
      }
      if (it.partitions > tasks[reader]) {
        tasks[reader] = it.partitions;
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (auto& sub : t.subs)
    if (tasks[sub.id] == 0 && !sub.source_topics.empty())
      return fmt::format("cannot decide the partition count of sub-topology {}", sub.id);
  for (auto& [name, it] : t.internal_topics)
    if (it.purpose == "changelog") {
      auto store = name.substr(t.app_id.size() + 1, name.size() - t.app_id.size() - 1 - std::string("-changelog").size());
      it.partitions = tasks[t.store_sub.at(store)];
    }
  t.tasks_per_sub = tasks;
  return {};
}

std::string describe(const physical_topology& t) {
  std::string out = "Topologies:\n";
  for (auto& sub : t.subs) {
    out += fmt::format("  Sub-topology: {}\n", sub.id);
    for (int id : sub.nodes) {
      auto& n = t.g->nodes[id];
      std::vector<std::string> kids;
      for (int c : t.children[id]) kids.push_back(t.g->nodes[c].name);
      if (n.kind == detail::node_kind::source) {
        std::vector<std::string> topics;
        for (auto& r : n.source.topics) topics.push_back(t.resolve(r));
        out += fmt::format("    Source: {} (topics: [{}])\n", n.name, fmt::join(topics, ", "));
      } else if (n.kind == detail::node_kind::sink) {
        out += fmt::format("    Sink: {} (topic: {})\n", n.name, n.sink.chooser ? "<chosen per record>" : t.resolve(n.sink.topic));
      } else {
        out += fmt::format("    Processor: {} (stores: [{}])\n", n.name, fmt::join(n.stores, ", "));
      }
      if (!kids.empty()) out += fmt::format("      --> {}\n", fmt::join(kids, ", "));
    }
  }
  return out;
}

}  // namespace eddy::streams::runtime

namespace eddy::streams {
std::string topology::describe(const std::string& application_id) const {
  return runtime::describe(runtime::build_physical(g_, application_id));
}
}  // namespace eddy::streams
