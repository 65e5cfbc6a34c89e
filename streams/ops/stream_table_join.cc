// stream_table_join: each stream record looks up the table's current row for its key
// (inner: drop when absent; left: join with a null table value). Table updates never
// trigger output: only the stream side drives the join.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct stream_table_join_node final : node {
  std::string store_name;
  any_serde ks, tvs;
  joiner fn;
  bool left = false;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value()) return;
    auto row = store->get(ks.serialize(r.key));
    if (row) ctx_->forward({r.key, fn(r.key, r.value, tvs.deserialize(*row)), r.timestamp, r.hdrs});
    else if (left) ctx_->forward({r.key, fn(r.key, r.value, std::any()), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory stream_table_join(std::string table_store, any_serde key_serde, any_serde table_value_serde, joiner fn, bool left) {
  return [=] {
    auto n = std::make_unique<stream_table_join_node>();
    n->store_name = table_store;
    n->ks = key_serde;
    n->tvs = table_value_serde;
    n->fn = fn;
    n->left = left;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
