// kgrouped_stream / kgrouped_table / windowed streams: the aggregation half of the DSL.
//
// count, reduce and aggregate keep one row per key in a logged state store named by
// materialized::as (or a generated name) and produce a ktable whose updates are emitted on
// every change. windowed_by(time_windows | session_windows) aggregates per window; pair it
// with ktable::suppress_until_window_closes() for one final result per window.
//
// If the key was changed upstream, records first go through "<application.id>-<name>-repartition"
// (name = grouped::as, else the store name) so every key is aggregated by exactly one task.
//
// Thread-safety: as kstream.
//
// Example:
//   views.group_by_key()
//       .windowed_by(time_windows::of_size_with_grace(std::chrono::minutes(1), std::chrono::seconds(5)))
//       .count()
//       .suppress_until_window_closes()
//       .to_stream()
//       .to("views-per-minute", produced<windowed<std::string>, int64_t>::with(
//                                   time_windowed_serde(serdes::string(), 60000), serdes::int64()));
#pragma once

#include <string>
#include <type_traits>

#include "eddy/streams/detail/dsl.h"
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/fwd.h"
#include "eddy/streams/materialized.h"
#include "eddy/streams/windows.h"

namespace eddy::streams {

namespace detail {
template <class K, class VA>
std::pair<std::string, store_spec> aggregate_store(graph& g, const materialized<K, VA>& m, store_type type) {
  std::string name = m.name.empty() ? g.next_name("KSTREAM-AGGREGATE-STATE-STORE") : m.name;
  store_spec s{name, type, m.persistent, m.logged};
  if (m.retention_ms) s.retention_ms = *m.retention_ms;
  return {name, s};
}
}  // namespace detail

template <class K, class V>
class kgrouped_stream {
 public:
  kgrouped_stream(kstream<K, V> s, grouped<K, V> gr) : s_(std::move(s)), gr_(std::move(gr)) {}

  ktable<K, int64_t> count(materialized<K, int64_t> m = {}) const {
    return aggregate([] { return int64_t{0}; }, [](const K&, const V&, int64_t n) { return n + 1; }, std::move(m));
  }

  // f(aggregate, value) -> V
  template <class F>
  ktable<K, V> reduce(F f, materialized<K, V> m = {}) const {
    return build<V>(m, detail::store_type::key_value, [&](const std::string& store, const serde<K>& ks, const serde<V>& vs) {
      return detail::ops::stream_aggregate(store, detail::erase(ks), detail::erase(vs), nullptr,
                                           [f](const std::any&, const std::any& v, const std::any& agg) {
                                             return std::any(V(f(detail::value_of<V>(agg), detail::value_of<V>(v))));
                                           });
    });
  }

  // init() -> VA, f(key, value, aggregate) -> VA
  template <class I, class F, class VA = std::decay_t<std::invoke_result_t<I>>>
  ktable<K, VA> aggregate(I init, F f, materialized<K, VA> m = {}) const {
    return build<VA>(m, detail::store_type::key_value, [&](const std::string& store, const serde<K>& ks, const serde<VA>& vs) {
      return detail::ops::stream_aggregate(store, detail::erase(ks), detail::erase(vs), [init] { return std::any(VA(init())); },
                                           [f](const std::any& k, const std::any& v, const std::any& agg) {
                                             return std::any(VA(f(detail::value_of<K>(k), detail::value_of<V>(v), detail::value_of<VA>(agg))));
                                           });
    });
  }

  time_windowed_kstream<K, V> windowed_by(time_windows w) const { return {*this, w}; }
  session_windowed_kstream<K, V> windowed_by(session_windows w) const { return {*this, w}; }

  // Internal: the stream (repartitioned if needed) and the aggregation node, as a table.
  template <class VA, class MakeNode>
  ktable<K, VA> build(const materialized<K, VA>& m, detail::store_type type, MakeNode make, serde<K> table_key_serde = {},
                      int64_t grace = -1) const {
    auto& g = *s_.graph();
    auto [store, spec] = detail::aggregate_store(g, m, type);
    auto ks = m.key_serde.valid() ? m.key_serde : (gr_.key_serde.valid() ? gr_.key_serde : s_.key_serde());
    auto vs = gr_.value_serde.valid() ? gr_.value_serde : s_.value_serde();
    auto input = s_.repartitioned_if_needed(gr_.name.empty() ? store : gr_.name, ks, vs);
    detail::add_store(g, spec);
    int n = detail::add_processor(g, "KSTREAM-AGGREGATE", {input.node()}, make(store, ks, m.value_serde), {store});
    if (!ks.valid() || !m.value_serde.valid())
      g.nodes[n].build_error = detail::missing_serde_error("key or aggregate value", "aggregation into store " + store);
    if (s_.needs_repartition() && !vs.valid())
      g.nodes[n].build_error = detail::missing_serde_error("value", "repartition before store " + store);
    return ktable<K, VA>(s_.graph(), n, table_key_serde.valid() ? table_key_serde : ks, m.value_serde, store, grace);
  }
  const serde<K>& key_serde() const { return gr_.key_serde.valid() ? gr_.key_serde : s_.key_serde(); }

 private:
  kstream<K, V> s_;
  grouped<K, V> gr_;
};

template <class K, class V>
class time_windowed_kstream {
 public:
  time_windowed_kstream(kgrouped_stream<K, V> g, time_windows w) : g_(std::move(g)), w_(w) {}

  ktable<windowed<K>, int64_t> count(materialized<K, int64_t> m = {}) const {
    return aggregate([] { return int64_t{0}; }, [](const K&, const V&, int64_t n) { return n + 1; }, std::move(m));
  }
  template <class I, class F, class VA = std::decay_t<std::invoke_result_t<I>>>
  ktable<windowed<K>, VA> aggregate(I init, F f, materialized<K, VA> m = {}) const {
    auto w = w_;
    int64_t retention = m.retention_ms.value_or(24LL * 3600 * 1000);
    auto t = g_.template build<VA>(m, detail::store_type::window, [&](const std::string& store, const serde<K>& ks, const serde<VA>& vs) {
      return detail::ops::windowed_aggregate(store, detail::erase(ks), detail::erase(vs), w, [init] { return std::any(VA(init())); },
                                             [f](const std::any& k, const std::any& v, const std::any& agg) {
                                               return std::any(VA(f(detail::value_of<K>(k), detail::value_of<V>(v), detail::value_of<VA>(agg))));
                                             }, [](const std::any& k, window win) { return std::any(windowed<K>{detail::value_of<K>(k), win}); }, retention);
    }, {}, w_.grace_ms);
    auto ks = m.key_serde.valid() ? m.key_serde : g_.key_serde();
    return ktable<windowed<K>, VA>(t.graph(), t.node(), ks.valid() ? time_windowed_serde(ks, w_.size_ms) : serde<windowed<K>>{},
                                   t.value_serde(), t.queryable_store_name(), w_.grace_ms);
  }
  template <class F>
  ktable<windowed<K>, V> reduce(F f, materialized<K, V> m = {}) const {
    // A reduce is an aggregate whose first value is the value itself; an "empty" marker
    // aggregate would need a sentinel, so windowed reduce keeps an optional-like flag by
    // aggregating into V with the first value seeded by the adder below.
    return aggregate_reduce(f, std::move(m));
  }

 private:
  template <class F>
  ktable<windowed<K>, V> aggregate_reduce(F f, materialized<K, V> m) const {
    auto w = w_;
    int64_t retention = m.retention_ms.value_or(24LL * 3600 * 1000);
    auto t = g_.template build<V>(m, detail::store_type::window, [&](const std::string& store, const serde<K>& ks, const serde<V>& vs) {
      return detail::ops::windowed_aggregate(store, detail::erase(ks), detail::erase(vs), w, nullptr,
                                             [f](const std::any&, const std::any& v, const std::any& agg) {
                                               return std::any(V(f(detail::value_of<V>(agg), detail::value_of<V>(v))));
                                             }, [](const std::any& k, window win) { return std::any(windowed<K>{detail::value_of<K>(k), win}); }, retention);
    }, {}, w_.grace_ms);
    auto ks = m.key_serde.valid() ? m.key_serde : g_.key_serde();
    return ktable<windowed<K>, V>(t.graph(), t.node(), ks.valid() ? time_windowed_serde(ks, w_.size_ms) : serde<windowed<K>>{},
                                  t.value_serde(), t.queryable_store_name(), w_.grace_ms);
  }
  kgrouped_stream<K, V> g_;
  time_windows w_;
};

template <class K, class V>
class session_windowed_kstream {
 public:
  session_windowed_kstream(kgrouped_stream<K, V> g, session_windows w) : g_(std::move(g)), w_(w) {}

  ktable<windowed<K>, int64_t> count(materialized<K, int64_t> m = {}) const {
    return aggregate([] { return int64_t{0}; }, [](const K&, const V&, int64_t n) { return n + 1; },
                     [](const K&, int64_t a, int64_t b) { return a + b; }, std::move(m));
  }
  // merger(key, agg1, agg2) -> VA combines two sessions bridged by a new record.
  template <class I, class F, class M, class VA = std::decay_t<std::invoke_result_t<I>>>
  ktable<windowed<K>, VA> aggregate(I init, F f, M merger, materialized<K, VA> m = {}) const {
    auto w = w_;
    auto t = g_.template build<VA>(m, detail::store_type::session, [&](const std::string& store, const serde<K>& ks, const serde<VA>& vs) {
      return detail::ops::session_aggregate(
          store, detail::erase(ks), detail::erase(vs), w, [init] { return std::any(VA(init())); },
          [f](const std::any& k, const std::any& v, const std::any& agg) {
            return std::any(VA(f(detail::value_of<K>(k), detail::value_of<V>(v), detail::value_of<VA>(agg))));
          },
          [merger](const std::any& k, const std::any& a, const std::any& b) {
            return std::any(VA(merger(detail::value_of<K>(k), detail::value_of<VA>(a), detail::value_of<VA>(b))));
          }, [](const std::any& k, window win) { return std::any(windowed<K>{detail::value_of<K>(k), win}); });
    }, {}, w_.grace_ms);
    auto ks = m.key_serde.valid() ? m.key_serde : g_.key_serde();
    return ktable<windowed<K>, VA>(t.graph(), t.node(), ks.valid() ? session_windowed_serde(ks) : serde<windowed<K>>{},
                                   t.value_serde(), t.queryable_store_name(), w_.grace_ms);
  }

 private:
  kgrouped_stream<K, V> g_;
  session_windows w_;
};

template <class K, class V>
class kgrouped_table {
 public:
  kgrouped_table(detail::graph_ptr g, int node, grouped<K, V> gr) : g_(std::move(g)), node_(node), gr_(std::move(gr)) {}

  ktable<K, int64_t> count(materialized<K, int64_t> m = {}) const {
    return aggregate([] { return int64_t{0}; }, [](const K&, const V&, int64_t n) { return n + 1; },
                     [](const K&, const V&, int64_t n) { return n - 1; }, std::move(m));
  }
  // init() -> VA; adder(key, value, agg) -> VA; subtractor(key, old_value, agg) -> VA
  template <class I, class A, class S, class VA = std::decay_t<std::invoke_result_t<I>>>
  ktable<K, VA> aggregate(I init, A adder, S subtractor, materialized<K, VA> m = {}) const {
    auto [store, spec] = detail::aggregate_store(*g_, m, detail::store_type::key_value);
    auto ks = m.key_serde.valid() ? m.key_serde : gr_.key_serde;
    int src = detail::add_repartition(*g_, node_, gr_.name.empty() ? store : gr_.name, detail::erase(ks),
                                      detail::erase(gr_.value_serde), true);
    detail::add_store(*g_, spec);
    auto wrap = [](auto fn) {
      return [fn](const std::any& k, const std::any& v, const std::any& agg) {
        return std::any(VA(fn(detail::value_of<K>(k), detail::value_of<V>(v), detail::value_of<VA>(agg))));
      };
    };
    int n = detail::add_processor(*g_, "KTABLE-AGGREGATE", {src},
                                  detail::ops::table_aggregate(store, detail::erase(ks), detail::erase(m.value_serde),
                                                               [init] { return std::any(VA(init())); }, wrap(adder), wrap(subtractor)),
                                  {store});
    if (!ks.valid() || !m.value_serde.valid() || !gr_.value_serde.valid())
      g_->nodes[n].build_error = detail::missing_serde_error("key or value", "table aggregation into " + store);
    return ktable<K, VA>(g_, n, ks, m.value_serde, store);
  }

 private:
  detail::graph_ptr g_;
  int node_;
  grouped<K, V> gr_;
};

}  // namespace eddy::streams
