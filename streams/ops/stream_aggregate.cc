// stream_aggregate: count / reduce / aggregate of a grouped stream into a key-value store;
// forwards change(old aggregate, new aggregate) on every update. Records with a null key or
// value are skipped, as in Kafka Streams.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct stream_aggregate_node final : node {
  std::string store_name;
  any_serde ks, as;
  initializer init_fn;
  aggregator adder;
  kv_bytes_store* store = nullptr;
  void init_store(node_context& ctx) { store = &ctx.store(store_name); }
  void init(node_context& ctx) override {
    node::init(ctx);
    init_store(ctx);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value()) return;
    std::string kb = ks.serialize(r.key);
    auto old = store->get(kb);
    std::any ov = old ? as.deserialize(*old) : std::any();
    std::any nv;
    if (ov.has_value()) nv = adder(r.key, r.value, ov);
    else if (init_fn) nv = adder(r.key, r.value, init_fn());
    else nv = r.value;  // reduce: the first value is the aggregate
    store->put(kb, as.serialize(nv));
    ctx_->forward({r.key, change{std::move(ov), std::move(nv)}, r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory stream_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, initializer init, aggregator adder) {
  return [=] {
    auto n = std::make_unique<stream_aggregate_node>();
    n->store_name = store;
    n->ks = key_serde;
    n->as = agg_serde;
    n->init_fn = init;
    n->adder = adder;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
