// table_aggregate: aggregation of a re-grouped table: subtracts a row's old value, adds its
// new value, forwards change(old aggregate, new aggregate).
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_aggregate_node final : node {
  std::string store_name;
  any_serde ks, as;
  initializer init_fn;
  aggregator adder, subtractor;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value()) return;
    auto& c = std::any_cast<const change&>(r.value);
    std::string kb = ks.serialize(r.key);
    auto old = store->get(kb);
    std::any ov = old ? as.deserialize(*old) : std::any();
    std::any agg = ov.has_value() ? ov : init_fn();
    if (c.old_value.has_value()) agg = subtractor(r.key, c.old_value, agg);
    if (c.new_value.has_value()) agg = adder(r.key, c.new_value, agg);
    store->put(kb, as.serialize(agg));
    ctx_->forward({r.key, change{std::move(ov), std::move(agg)}, r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, initializer init,
                             aggregator adder, aggregator subtractor) {
  return [=] {
    auto n = std::make_unique<table_aggregate_node>();
    n->store_name = store;
    n->ks = key_serde;
    n->as = agg_serde;
    n->init_fn = init;
    n->adder = adder;
    n->subtractor = subtractor;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
