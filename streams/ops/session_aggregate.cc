// session_aggregate: session-window aggregation. A record at t joins every session of its
// key that ends at or after t - gap and starts at or before t + gap; those sessions are
// merged (merger) into one [min start, max end] session, the old ones are deleted (forwarded
// as change(old, null)) and the merged one forwarded as change(null, new). Records whose
// merged session already closed (end < stream time - grace) are dropped.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct session_aggregate_node final : node {
  std::string store_name;
  any_serde ks, as;
  session_windows w;
  initializer init_fn;
  aggregator adder, merger;
  windowed_key_maker make_key;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value() || r.timestamp < 0) return;
    std::string kb = ks.serialize(r.key);
    int64_t ts = r.timestamp;
    // Raw key bytes through identity serdes: the typed view's layout is key | end | start.
    session_store<std::string, std::string> sessions(*store, serdes::string(), serdes::string());
    auto found = sessions.find_sessions(kb, ts - w.gap_ms, ts + w.gap_ms);
    window merged{ts, ts};
    for (auto& [win, v] : found) {
      merged.start = std::min(merged.start, win.start);
      merged.end = std::max(merged.end, win.end);
    }
    if (merged.end < ctx_->stream_time() - w.grace_ms) return;  // late
    std::any agg = init_fn();
    for (auto& [win, v] : found) {
      std::any old = as.deserialize(v);
      agg = merger(r.key, agg, old);
      sessions.remove(kb, win);
      ctx_->forward({make_key(r.key, win), change{std::move(old), {}}, r.timestamp, r.hdrs});
    }
    agg = adder(r.key, r.value, agg);
    sessions.put(kb, merged, as.serialize(agg));
    ctx_->forward({make_key(r.key, merged), change{{}, std::move(agg)}, r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory session_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, session_windows windows,
                               initializer init, aggregator adder, aggregator merger, windowed_key_maker make_key) {
  return [=] {
    auto n = std::make_unique<session_aggregate_node>();
    n->store_name = store;
    n->ks = key_serde;
    n->as = agg_serde;
    n->w = windows;
    n->init_fn = init;
    n->adder = adder;
    n->merger = merger;
    n->make_key = make_key;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
