// windowed_aggregate: time-window (tumbling/hopping) aggregation into a window store.
//
// A record at time t belongs to every window [s, s + size) with s aligned to the advance
// (s = k * advance) and s <= t < s + size. Windows already closed (end <= stream time -
// grace) drop the record. Each update forwards change(old, new) keyed by windowed<K>; windows
// older than the store's retention are deleted as the key is touched again.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct windowed_aggregate_node final : node {
  std::string store_name;
  any_serde ks, as;
  time_windows w;
  initializer init_fn;
  aggregator adder;
  windowed_key_maker make_key;
  int64_t retention = 0;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value() || r.timestamp < 0) return;
    std::string kb = ks.serialize(r.key);
    int64_t ts = r.timestamp;
    int64_t close = ctx_->stream_time() - w.grace_ms;
    int64_t first = ts - ts % w.advance_ms;
    for (int64_t start = first; start >= 0 && start > ts - w.size_ms; start -= w.advance_ms) {
      int64_t end = start + w.size_ms;
      if (end <= close) continue;  // late: the window has closed
      std::string key = kb + be64(start);
      auto old = store->get(key);
      std::any ov = old ? as.deserialize(*old) : std::any();
      std::any nv = ov.has_value() ? adder(r.key, r.value, ov) : init_fn ? adder(r.key, r.value, init_fn()) : r.value;
      store->put(key, as.serialize(nv));
      ctx_->forward({make_key(r.key, window{start, end}), change{std::move(ov), std::move(nv)}, r.timestamp, r.hdrs});
    }
    // Expire this key's windows that fell out of retention.
    int64_t expire_before = ctx_->stream_time() - std::max(retention, w.size_ms + w.grace_ms);
    if (expire_before > 0) {
      std::vector<std::string> dead;
      store->range(kb + be64(0), kb + be64(expire_before), [&](std::string_view k, std::string_view) {
        if (k.size() == kb.size() + 8) dead.emplace_back(k);
        return true;
      });
      for (auto& k : dead) store->put(k, std::nullopt);
    }
  }
};
}  // namespace

node_factory windowed_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, time_windows windows,
                                initializer init, aggregator adder, windowed_key_maker make_key, int64_t retention_ms) {
  return [=] {
    auto n = std::make_unique<windowed_aggregate_node>();
    n->store_name = store;
    n->ks = key_serde;
    n->as = agg_serde;
    n->w = windows;
    if (n->w.advance_ms <= 0) n->w.advance_ms = n->w.size_ms;
    n->init_fn = init;
    n->adder = adder;
    n->make_key = make_key;
    n->retention = retention_ms;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
