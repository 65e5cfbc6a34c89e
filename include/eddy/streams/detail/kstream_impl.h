// detail/kstream_impl: kstream members that need ktable and kgrouped_stream complete.
#pragma once

#include "eddy/streams/kgrouped_stream.h"
#include "eddy/streams/kstream.h"
#include "eddy/streams/ktable.h"

namespace eddy::streams {

template <class K, class V>
ktable<K, V> kstream<K, V>::to_table(materialized<K, V> m) const {
  std::string name = m.name.empty() ? g_->next_name("KSTREAM-TOTABLE-STATE-STORE") : m.name;
  auto ks = m.key_serde.valid() ? m.key_serde : ks_;
  auto vs = m.value_serde.valid() ? m.value_serde : vs_;
  auto input = repartitioned_if_needed(name, ks, vs);
  detail::add_store(*g_, {name, detail::store_type::key_value, m.persistent, m.logged});
  int n = detail::add_processor(*g_, "KSTREAM-TOTABLE", {input.node()},
                                detail::ops::table_materialize(name, detail::erase(ks), detail::erase(vs), true), {name});
  if (!ks.valid() || !vs.valid()) g_->nodes[n].build_error = detail::missing_serde_error("key or value", "to_table " + name);
  return ktable<K, V>(g_, n, ks, vs, name);
}

template <class K, class V>
kgrouped_stream<K, V> kstream<K, V>::group_by_key(grouped<K, V> gr) const {
  return kgrouped_stream<K, V>(*this, std::move(gr));
}

template <class K, class V>
template <class F>
auto kstream<K, V>::group_by(F f, grouped<std::decay_t<std::invoke_result_t<F, const K&, const V&>>, V> gr) const {
  using KR = std::decay_t<std::invoke_result_t<F, const K&, const V&>>;
  return kgrouped_stream<KR, V>(select_key(f), std::move(gr));
}

template <class K, class V>
template <class VT, class F>
auto kstream<K, V>::join(const ktable<K, VT>& table_in, F joiner) const {
  using VR = std::decay_t<std::invoke_result_t<F, const V&, const VT&>>;
  auto table = table_in.materialize();
  auto input = repartitioned_if_needed(g_->next_name("KSTREAM-JOIN"), ks_, vs_);
  int n = detail::add_processor(*g_, "KSTREAM-JOIN", {input.node()},
                                detail::ops::stream_table_join(table.queryable_store_name(), detail::erase(ks_),
                                                               detail::erase(table.value_serde()),
                                                               [joiner](const std::any&, const std::any& l, const std::any& r) {
                                                                 return std::any(VR(joiner(detail::value_of<V>(l), *std::any_cast<VT>(&r))));
                                                               }, false),
                                {table.queryable_store_name()});
  if (!ks_.valid()) g_->nodes[n].build_error = detail::missing_serde_error("key", "stream-table join");
  return kstream<K, VR>(g_, n, ks_, default_serde<VR>(), false);
}

template <class K, class V>
template <class VT, class F>
auto kstream<K, V>::left_join(const ktable<K, VT>& table_in, F joiner) const {
  using VR = std::decay_t<std::invoke_result_t<F, const V&, const std::optional<VT>&>>;
  auto table = table_in.materialize();
  auto input = repartitioned_if_needed(g_->next_name("KSTREAM-JOIN"), ks_, vs_);
  int n = detail::add_processor(*g_, "KSTREAM-LEFTJOIN", {input.node()},
                                detail::ops::stream_table_join(table.queryable_store_name(), detail::erase(ks_),
                                                               detail::erase(table.value_serde()),
                                                               [joiner](const std::any&, const std::any& l, const std::any& r) {
                                                                 const VT* rv = std::any_cast<VT>(&r);
                                                                 return std::any(VR(joiner(detail::value_of<V>(l), rv ? std::optional<VT>(*rv) : std::nullopt)));
                                                               }, true),
                                {table.queryable_store_name()});
  if (!ks_.valid()) g_->nodes[n].build_error = detail::missing_serde_error("key", "stream-table join");
  return kstream<K, VR>(g_, n, ks_, default_serde<VR>(), false);
}

template <class K, class V>
template <class VO, class F>
auto kstream<K, V>::stream_join(const kstream<K, VO>& other_in, F f, join_windows w, detail::ops::join_kind kind) const {
  using VR = detail::joiner_result_t<F, V, VO>;
  auto self = repartitioned_if_needed(g_->next_name("KSTREAM-JOINTHIS"), ks_, vs_);
  auto other = other_in.repartitioned_if_needed(g_->next_name("KSTREAM-JOINOTHER"), other_in.key_serde(), other_in.value_serde());
  std::string this_store = g_->next_name("KSTREAM-JOINTHIS-STORE");
  std::string other_store = g_->next_name("KSTREAM-JOINOTHER-STORE");
  int64_t retention = w.before_ms + w.after_ms + w.grace_ms + 1;
  detail::store_spec s1{this_store, detail::store_type::window, true, true, retention};
  detail::store_spec s2{other_store, detail::store_type::window, true, true, retention};
  detail::add_store(*g_, s1);
  detail::add_store(*g_, s2);
  std::vector<std::string> stores{this_store, other_store};
  // Left and outer joins hold records without a match in a shared, logged store until their
  // window closes (Kafka Streams' outer join store since 3.1); see ops/stream_stream_join.cc.
  std::string outer_store;
  if (kind != detail::ops::join_kind::inner) {
    outer_store = g_->next_name("KSTREAM-OUTERSHARED-STORE");
    detail::store_spec s3;  // key-value (compacted changelog), persistent, logged
    s3.name = outer_store;
    detail::add_store(*g_, s3);
    stores.push_back(outer_store);
  }
  auto jf = [f, k = static_cast<int>(kind)](const std::any&, const std::any& l, const std::any& r) mutable {
    return detail::call_joiner<VR, V, VO>(f, k, l, r);
  };
  auto kse = detail::erase(ks_);
  auto vse = detail::erase(vs_);
  auto ose = detail::erase(other_in.value_serde());
  int l = detail::add_processor(*g_, "KSTREAM-JOINTHIS", {self.node()},
                                detail::ops::stream_stream_join(this_store, other_store, outer_store, kse, vse, ose, w, jf, kind, true),
                                stores);
  join_windows mirrored{w.after_ms, w.before_ms, w.grace_ms};
  int r = detail::add_processor(*g_, "KSTREAM-JOINOTHER", {other.node()},
                                detail::ops::stream_stream_join(other_store, this_store, outer_store, kse, ose, vse, mirrored, jf, kind, false),
                                stores);
  int m = detail::add_processor(*g_, "KSTREAM-MERGE", {l, r}, detail::ops::passthrough());
  if (!ks_.valid() || !vs_.valid() || !other_in.value_serde().valid())
    g_->nodes[m].build_error = detail::missing_serde_error("key or value", "stream-stream join");
  return kstream<K, VR>(g_, m, ks_, default_serde<VR>(), false);
}

}  // namespace eddy::streams
