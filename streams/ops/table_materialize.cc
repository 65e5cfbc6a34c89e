// table_materialize: keeps the latest value per key in a store and forwards change(old, new).
// Input is either a plain stream (stream -> table) or table changes; records with a null key
// are dropped, a null value deletes the row.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_materialize_node final : node {
  std::string store_name;
  any_serde ks, vs;
  bool from_stream;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value()) return;
    std::any nv = from_stream ? r.value : std::any_cast<const change&>(r.value).new_value;
    std::string kb = ks.serialize(r.key);
    auto old = store->get(kb);
    std::any ov = old ? vs.deserialize(*old) : std::any();
    if (nv.has_value()) store->put(kb, vs.serialize(nv));
    else if (old) store->put(kb, std::nullopt);
    else return;  // deleting a missing row changes nothing
    ctx_->forward({r.key, change{std::move(ov), std::move(nv)}, r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_materialize(std::string store, any_serde key_serde, any_serde value_serde, bool from_stream) {
  return [=] {
    auto n = std::make_unique<table_materialize_node>();
    n->store_name = store;
    n->ks = key_serde;
    n->vs = value_serde;
    n->from_stream = from_stream;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
