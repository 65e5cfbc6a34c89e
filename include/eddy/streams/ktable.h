// ktable<K, V>: a changelog stream interpreted as a table (latest value per key), and its
// operators. Table operators pass (old, new) pairs downstream, so a table's group_by +
// aggregate can subtract a row's old contribution and add its new one.
//
// A null (tombstone) value deletes a row; lambdas are not called for deletions.
//
// Thread-safety: as kstream (build on one thread; operators run per task).
//
// Example:
//   auto users = b.table<std::string, std::string>("users", materialized<std::string, std::string>::as("users-store"));
//   auto per_region = users.group_by([](const std::string& user, const std::string& region) {
//                             return std::make_pair(region, user); })
//                         .count(materialized<std::string, int64_t>::as("users-per-region"));
#pragma once

#include <optional>
#include <string>
#include <type_traits>

#include "eddy/streams/detail/dsl.h"
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/fwd.h"
#include "eddy/streams/materialized.h"
#include "eddy/streams/windows.h"

namespace eddy::streams {

template <class T>
struct is_windowed : std::false_type {};
template <class K>
struct is_windowed<windowed<K>> : std::true_type {};

template <class K, class V>
class ktable {
 public:
  ktable(detail::graph_ptr g, int node, serde<K> ks, serde<V> vs, std::string store = {}, int64_t grace_ms = -1)
      : g_(std::move(g)), node_(node), ks_(std::move(ks)), vs_(std::move(vs)), store_(std::move(store)), grace_ms_(grace_ms) {}

  template <class P>
  ktable filter(P pred) const { return filtered(pred, false); }
  template <class P>
  ktable filter_not(P pred) const { return filtered(pred, true); }

  // f(v) or f(k, v) -> VR
  template <class F>
  auto map_values(F f) const {
    using VR = std::decay_t<decltype(call(f, std::declval<const K&>(), std::declval<const V&>()))>;
    int n = detail::add_processor(*g_, "KTABLE-MAPVALUES", {node_}, detail::ops::table_map_values([f](const std::any& k, const std::any& v) {
      return std::any(call(f, detail::value_of<K>(k), detail::value_of<V>(v)));
    }));
    return ktable<K, VR>(g_, n, ks_, default_serde<VR>(), {}, grace_ms_);
  }

  kstream<K, V> to_stream() const {
    int n = detail::add_processor(*g_, "KTABLE-TOSTREAM", {node_}, detail::ops::table_to_stream());
    return kstream<K, V>(g_, n, ks_, vs_, false);
  }

  // f(k, v) -> std::pair<KR, VR>; the result is re-grouped through a repartition topic.
  template <class F>
  auto group_by(F f, grouped<typename std::invoke_result_t<F, const K&, const V&>::first_type,
                             typename std::invoke_result_t<F, const K&, const V&>::second_type> gr = {}) const {
    using P = std::invoke_result_t<F, const K&, const V&>;
    using KR = typename P::first_type;
    using VR = typename P::second_type;
    int n = detail::add_processor(*g_, "KTABLE-SELECT", {node_}, detail::ops::table_group_by([f](const std::any& k, const std::any& v) {
      auto p = f(detail::value_of<K>(k), detail::value_of<V>(v));
      return std::pair<std::any, std::any>(std::move(p.first), std::move(p.second));
    }));
    return kgrouped_table<KR, VR>(g_, n, gr);
  }

  // Table-table joins: inner joiner(v, vo); left joiner(v, std::optional<VO>);
  // outer joiner(std::optional<V>, std::optional<VO>).
  template <class VO, class F>
  auto join(const ktable<K, VO>& other, F f) const { return table_join<VO>(other, f, detail::ops::join_kind::inner); }
  template <class VO, class F>
  auto left_join(const ktable<K, VO>& other, F f) const { return table_join<VO>(other, f, detail::ops::join_kind::left); }
  template <class VO, class F>
  auto outer_join(const ktable<K, VO>& other, F f) const { return table_join<VO>(other, f, detail::ops::join_kind::outer); }

  // Emit-final: for a windowed table, forwards one result per window once the window closes
  // (stream time >= window end + grace), instead of every update.
  ktable suppress_until_window_closes() const
    requires is_windowed<K>::value
  {
    std::string store = g_->next_name("KTABLE-SUPPRESS-STATE-STORE");
    detail::store_spec s{store, detail::store_type::key_value, false, true};
    detail::add_store(*g_, s);
    int n = detail::add_processor(
        *g_, "KTABLE-SUPPRESS", {node_},
        detail::ops::suppress_until_window_closes(store, detail::erase(ks_), detail::erase(vs_),
                                                  [](const std::any& k) { return detail::value_of<K>(k).win.end; },
                                                  grace_ms_ < 0 ? 0 : grace_ms_),
        {store});
    if (!ks_.valid() || !vs_.valid()) g_->nodes[n].build_error = detail::missing_serde_error("key or value", "suppress");
    return ktable(g_, n, ks_, vs_, {}, grace_ms_);
  }

  // The table with its rows in a store (adds a materializing node when not already stored).
  ktable materialize(materialized<K, V> m = {}) const {
    if (!store_.empty() && m.name.empty()) return *this;
    std::string name = m.name.empty() ? g_->next_name("KTABLE-STATE-STORE") : m.name;
    auto ks = m.key_serde.valid() ? m.key_serde : ks_;
    auto vs = m.value_serde.valid() ? m.value_serde : vs_;
    detail::store_spec s{name, detail::store_type::key_value, m.persistent, m.logged};
    detail::add_store(*g_, s);
    int n = detail::add_processor(*g_, "KTABLE-MATERIALIZE", {node_},
                                  detail::ops::table_materialize(name, detail::erase(ks), detail::erase(vs), false), {name});
    if (!ks.valid() || !vs.valid()) g_->nodes[n].build_error = detail::missing_serde_error("key or value", "materialize");
    return ktable(g_, n, ks, vs, name, grace_ms_);
  }

  const std::string& queryable_store_name() const { return store_; }
  const detail::graph_ptr& graph() const { return g_; }
  int node() const { return node_; }
  const serde<K>& key_serde() const { return ks_; }
  const serde<V>& value_serde() const { return vs_; }

 private:
  template <class F>
  static auto call(F& f, const K& k, const V& v) {
    if constexpr (std::is_invocable_v<F, const K&, const V&>) return f(k, v);
    else return f(v);
  }
  template <class P>
  ktable filtered(P pred, bool negate) const {
    int n = detail::add_processor(*g_, "KTABLE-FILTER", {node_}, detail::ops::table_filter([pred](const std::any& k, const std::any& v) {
      return static_cast<bool>(pred(detail::value_of<K>(k), detail::value_of<V>(v)));
    }, negate));
    return ktable(g_, n, ks_, vs_, {}, grace_ms_);
  }
  template <class VO, class F>
  auto table_join(const ktable<K, VO>& other_in, F f, detail::ops::join_kind kind) const {
    using detail::ops::join_kind;
    auto self = materialize();
    auto other = other_in.materialize();
    using VR = detail::joiner_result_t<F, V, VO>;
    auto jf = [f, k = static_cast<int>(kind)](const std::any&, const std::any& l, const std::any& r) mutable {
      return detail::call_joiner<VR, V, VO>(f, k, l, r);
    };
    int l = detail::add_processor(*g_, "KTABLE-JOINTHIS", {self.node()},
                                  detail::ops::table_table_join(other.queryable_store_name(), detail::erase(ks_),
                                                                detail::erase(other.value_serde()), jf, kind, true),
                                  {other.queryable_store_name()});
    int r = detail::add_processor(*g_, "KTABLE-JOINOTHER", {other.node()},
                                  detail::ops::table_table_join(self.queryable_store_name(), detail::erase(ks_),
                                                                detail::erase(self.value_serde()), jf, kind, false),
                                  {self.queryable_store_name()});
    int m = detail::add_processor(*g_, "KTABLE-MERGE", {l, r}, detail::ops::passthrough());
    return ktable<K, VR>(g_, m, ks_, default_serde<VR>(), {}, -1);
  }
  detail::graph_ptr g_;
  int node_;
  serde<K> ks_;
  serde<V> vs_;
  std::string store_;
  int64_t grace_ms_;
};

}  // namespace eddy::streams
