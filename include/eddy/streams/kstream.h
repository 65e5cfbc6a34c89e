// kstream<K, V>: an unbounded stream of records and its stateless and join operators.
//
// Each call appends a node to the builder's logical graph and returns a new handle; nothing
// runs until the topology is started by a streams_app or a test_driver. Lambdas take
// (const K&, const V&) (map_values/flat_map_values also accept (const V&)). A null key or
// value from a topic reaches lambdas as K{} / V{}.
//
// Key-changing operators (map, select_key, flat_map, group_by) mark the stream so that a
// following aggregation or join first writes it through an internal repartition topic
// ("<application.id>-<name>-repartition"), which is where sub-topologies split.
//
// Thread-safety: build the graph on one thread; the runtime instantiates the operators per
// task and calls the lambdas from stream threads (lambdas must not share mutable state).
//
// Example:
//   stream_builder b;
//   b.stream<std::string, std::string>("text")
//       .flat_map_values([](const std::string& line) { return split_words(line); })
//       .group_by([](const std::string&, const std::string& w) { return w; })
//       .count(materialized<std::string, int64_t>::as("word-counts"))
//       .to_stream()
//       .to("word-counts");
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "eddy/streams/detail/dsl.h"
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/fwd.h"
#include "eddy/streams/materialized.h"
#include "eddy/streams/processor.h"
#include "eddy/streams/windows.h"

namespace eddy::streams {

template <class K, class V>
class kstream {
 public:
  kstream(detail::graph_ptr g, int node, serde<K> ks, serde<V> vs, bool needs_repartition = false)
      : g_(std::move(g)), node_(node), ks_(std::move(ks)), vs_(std::move(vs)), needs_repartition_(needs_repartition) {}

  template <class P>
  kstream filter(P pred) const { return same(detail::ops::filter(kv_pred(pred), false), "KSTREAM-FILTER"); }
  template <class P>
  kstream filter_not(P pred) const { return same(detail::ops::filter(kv_pred(pred), true), "KSTREAM-FILTER"); }

  // f(k, v) -> std::pair<KR, VR>
  template <class F>
  auto map(F f) const {
    using P = std::invoke_result_t<F, const K&, const V&>;
    using KR = typename P::first_type;
    using VR = typename P::second_type;
    int n = detail::add_processor(*g_, "KSTREAM-MAP", {node_}, detail::ops::map([f](const std::any& k, const std::any& v) {
      auto p = f(detail::value_of<K>(k), detail::value_of<V>(v));
      return std::pair<std::any, std::any>(std::move(p.first), std::move(p.second));
    }));
    return kstream<KR, VR>(g_, n, default_serde<KR>(), default_serde<VR>(), true);
  }

  // f(v) -> VR or f(k, v) -> VR
  template <class F>
  auto map_values(F f) const {
    using VR = decltype(call_value_fn(f, std::declval<const K&>(), std::declval<const V&>()));
    int n = detail::add_processor(*g_, "KSTREAM-MAPVALUES", {node_},
                                  detail::ops::map_values([f](const std::any& k, const std::any& v) {
                                    return std::any(call_value_fn(f, detail::value_of<K>(k), detail::value_of<V>(v)));
                                  }));
    return kstream<K, VR>(g_, n, ks_, default_serde<VR>(), needs_repartition_);
  }

  // f(k, v) -> std::vector<std::pair<KR, VR>>
  template <class F>
  auto flat_map(F f) const {
    using P = typename std::invoke_result_t<F, const K&, const V&>::value_type;
    using KR = typename P::first_type;
    using VR = typename P::second_type;
    int n = detail::add_processor(*g_, "KSTREAM-FLATMAP", {node_},
                                  detail::ops::flat_map([f](const std::any& k, const std::any& v) {
                                    std::vector<std::pair<std::any, std::any>> out;
                                    for (auto& p : f(detail::value_of<K>(k), detail::value_of<V>(v)))
                                      out.emplace_back(std::move(p.first), std::move(p.second));
                                    return out;
                                  }));
    return kstream<KR, VR>(g_, n, default_serde<KR>(), default_serde<VR>(), true);
  }

  // f(v) or f(k, v) -> a range of VR
  template <class F>
  auto flat_map_values(F f) const {
    using R = decltype(call_value_fn(f, std::declval<const K&>(), std::declval<const V&>()));
    using VR = std::decay_t<decltype(*std::begin(std::declval<R&>()))>;
    int n = detail::add_processor(*g_, "KSTREAM-FLATMAPVALUES", {node_},
                                  detail::ops::flat_map_values([f](const std::any& k, const std::any& v) {
                                    std::vector<std::any> out;
                                    for (auto& x : call_value_fn(f, detail::value_of<K>(k), detail::value_of<V>(v)))
                                      out.emplace_back(VR(x));
                                    return out;
                                  }));
    return kstream<K, VR>(g_, n, ks_, default_serde<VR>(), needs_repartition_);
  }

  // f(k, v) -> KR
  template <class F>
  auto select_key(F f) const {
    using KR = std::decay_t<std::invoke_result_t<F, const K&, const V&>>;
    int n = detail::add_processor(*g_, "KSTREAM-KEY-SELECT", {node_},
                                  detail::ops::select_key([f](const std::any& k, const std::any& v) {
                                    return std::any(f(detail::value_of<K>(k), detail::value_of<V>(v)));
                                  }));
    return kstream<KR, V>(g_, n, default_serde<KR>(), vs_, true);
  }

  template <class F>
  kstream peek(F f) const { return same(detail::ops::peek(kv_act(f), true), "KSTREAM-PEEK"); }
  template <class F>
  void foreach(F f) const { detail::add_processor(*g_, "KSTREAM-FOREACH", {node_}, detail::ops::peek(kv_act(f), false)); }

  kstream merge(const kstream& other) const {
    int n = detail::add_processor(*g_, "KSTREAM-MERGE", {node_, other.node_}, detail::ops::passthrough());
    return kstream(g_, n, ks_, vs_, needs_repartition_ || other.needs_repartition_);
  }

  // split("prefix-").branch(pred, "a").branch(pred2, "b").default_branch("rest") -> map of
  // "prefix-a", "prefix-b", "prefix-rest" to streams.
  branched_kstream<K, V> split(std::string prefix = {}) const { return branched_kstream<K, V>(*this, std::move(prefix)); }

  void to(const std::string& topic, produced<K, V> p = {}) const { add_sink(detail::topic_ref{topic}, {}, p); }
  // chooser(k, v) -> topic name
  template <class F>
  void to(F chooser, produced<K, V> p = {}) const
    requires std::is_invocable_r_v<std::string, F, const K&, const V&>
  {
    add_sink({}, [chooser](const detail::any_record& r) {
      return chooser(detail::value_of<K>(r.key), detail::value_of<V>(r.value));
    }, p);
  }

  kstream repartition(repartitioned<K, V> r = {}) const {
    auto ks = r.key_serde.valid() ? r.key_serde : ks_;
    auto vs = r.value_serde.valid() ? r.value_serde : vs_;
    std::string base = r.name.empty() ? g_->next_name("KSTREAM-REPARTITION") : r.name;
    int n = detail::add_repartition(*g_, node_, base, detail::erase(ks), detail::erase(vs), false);
    return kstream(g_, n, ks, vs, false);
  }

  // Processor API: supplier() is called once per task; the processor may use the named stores.
  template <class KOut, class VOut>
  kstream<KOut, VOut> process(processor_supplier<K, V, KOut, VOut> supplier, std::vector<std::string> store_names = {},
                              serde<KOut> kout = default_serde<KOut>(), serde<VOut> vout = default_serde<VOut>()) const {
    int n = detail::add_processor(*g_, "KSTREAM-PROCESSOR", {node_}, [supplier]() -> std::unique_ptr<detail::node> {
      return std::make_unique<detail::processor_node<K, V, KOut, VOut>>(supplier());
    }, std::move(store_names));
    return kstream<KOut, VOut>(g_, n, std::move(kout), std::move(vout), true);
  }

  ktable<K, V> to_table(materialized<K, V> m = {}) const;
  kgrouped_stream<K, V> group_by_key(grouped<K, V> gr = {}) const;
  // f(k, v) -> KR: the new grouping key.
  template <class F>
  auto group_by(F f, grouped<std::decay_t<std::invoke_result_t<F, const K&, const V&>>, V> gr = {}) const;

  // Stream-table joins: joiner(v, table_value) for inner, joiner(v, std::optional<VT>) for left.
  template <class VT, class F>
  auto join(const ktable<K, VT>& table, F joiner) const;
  template <class VT, class F>
  auto left_join(const ktable<K, VT>& table, F joiner) const;

  // Windowed stream-stream joins: inner joiner(v, vo); left joiner(v, std::optional<VO>);
  // outer joiner(std::optional<V>, std::optional<VO>). As in Kafka Streams (since 3.1), a
  // record without a match gets its null result only once its window has closed (stream time
  // past ts + after + grace, or ts + before + grace for the other stream's records), and none
  // if a match arrives before; left and outer joins keep such records in a third store.
  template <class VO, class F>
  auto join(const kstream<K, VO>& other, F joiner, join_windows w) const { return stream_join<VO>(other, joiner, w, detail::ops::join_kind::inner); }
  template <class VO, class F>
  auto left_join(const kstream<K, VO>& other, F joiner, join_windows w) const { return stream_join<VO>(other, joiner, w, detail::ops::join_kind::left); }
  template <class VO, class F>
  auto outer_join(const kstream<K, VO>& other, F joiner, join_windows w) const { return stream_join<VO>(other, joiner, w, detail::ops::join_kind::outer); }

  // Internals used by other DSL types.
  const detail::graph_ptr& graph() const { return g_; }
  int node() const { return node_; }
  const serde<K>& key_serde() const { return ks_; }
  const serde<V>& value_serde() const { return vs_; }
  bool needs_repartition() const { return needs_repartition_; }
  // The stream, repartitioned through "<base>-repartition" if an upstream operator changed keys.
  kstream repartitioned_if_needed(const std::string& base, const serde<K>& ks, const serde<V>& vs) const {
    if (!needs_repartition_) return *this;
    int n = detail::add_repartition(*g_, node_, base, detail::erase(ks), detail::erase(vs), false);
    return kstream(g_, n, ks, vs, false);
  }

 private:
  template <class F>
  static auto call_value_fn(F& f, const K& k, const V& v) {
    if constexpr (std::is_invocable_v<F, const K&, const V&>) return f(k, v);
    else return f(v);
  }
  template <class P>
  static detail::ops::kv_predicate kv_pred(P p) {
    return [p](const std::any& k, const std::any& v) { return static_cast<bool>(p(detail::value_of<K>(k), detail::value_of<V>(v))); };
  }
  template <class F>
  static detail::ops::kv_action kv_act(F f) {
    return [f](const std::any& k, const std::any& v) { f(detail::value_of<K>(k), detail::value_of<V>(v)); };
  }
  kstream same(detail::node_factory f, std::string_view prefix) const {
    return kstream(g_, detail::add_processor(*g_, prefix, {node_}, std::move(f)), ks_, vs_, needs_repartition_);
  }
  void add_sink(detail::topic_ref topic, std::function<std::string(const detail::any_record&)> chooser, const produced<K, V>& p) const {
    detail::sink_spec s;
    s.topic = std::move(topic);
    s.chooser = std::move(chooser);
    auto ks = p.key_serde.valid() ? p.key_serde : ks_;
    auto vs = p.value_serde.valid() ? p.value_serde : vs_;
    s.key_serde = detail::erase(ks);
    s.value_serde = detail::erase(vs);
    if (p.partitioner) {
      s.partitioner = [part = p.partitioner](const detail::any_record& r, int32_t n) {
        return part(detail::value_of<K>(r.key), detail::value_of<V>(r.value), n);
      };
    }
    detail::add_sink(*g_, node_, std::move(s));
  }
  template <class VO, class F>
  auto stream_join(const kstream<K, VO>& other, F joiner, join_windows w, detail::ops::join_kind kind) const;

  detail::graph_ptr g_;
  int node_;
  serde<K> ks_;
  serde<V> vs_;
  bool needs_repartition_;
};

template <class K, class V>
class branched_kstream {
 public:
  branched_kstream(kstream<K, V> parent, std::string prefix) : parent_(std::move(parent)), prefix_(std::move(prefix)) {}
  template <class P>
  branched_kstream& branch(P pred, std::string name = {}) {
    if (name.empty()) name = std::to_string(preds_.size() + 1);
    preds_.push_back([pred](const std::any& k, const std::any& v) { return static_cast<bool>(pred(detail::value_of<K>(k), detail::value_of<V>(v))); });
    names_.push_back(prefix_ + name);
    return *this;
  }
  // Ends the split; records matching no predicate go to the default branch (if named) or are dropped.
  std::map<std::string, kstream<K, V>> default_branch(std::string name = "0") { return finish(prefix_ + name); }
  std::map<std::string, kstream<K, V>> no_default_branch() { return finish({}); }

 private:
  std::map<std::string, kstream<K, V>> finish(std::string default_name) {
    auto& g = *parent_.graph();
    std::string split_name = g.next_name("KSTREAM-BRANCH");
    int split = detail::add_processor(g, "KSTREAM-BRANCH", {parent_.node()},
                                      detail::ops::branch(preds_, names_, default_name), {}, split_name);
    std::map<std::string, kstream<K, V>> out;
    auto all = names_;
    if (!default_name.empty()) all.push_back(default_name);
    for (auto& n : all) {
      int child = detail::add_processor(g, "KSTREAM-BRANCHCHILD", {split}, detail::ops::passthrough(), {}, n);
      out.emplace(n, kstream<K, V>(parent_.graph(), child, parent_.key_serde(), parent_.value_serde(), parent_.needs_repartition()));
    }
    return out;
  }
  kstream<K, V> parent_;
  std::string prefix_;
  std::vector<detail::ops::kv_predicate> preds_;
  std::vector<std::string> names_;
};

}  // namespace eddy::streams

#include "eddy/streams/kgrouped_stream.h"
#include "eddy/streams/ktable.h"
#include "eddy/streams/detail/kstream_impl.h"
