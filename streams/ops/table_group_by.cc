// table_group_by: re-keys a table's changes for a table aggregation. The old row is sent as a
// subtraction under its (old) new key, the new row as an addition under its new key; both go
// through the repartition topic as change records.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_group_by_node final : node {
  kv_mapper fn;
  void process(const any_record& r) override {
    auto& c = std::any_cast<const change&>(r.value);
    if (c.old_value.has_value()) {
      auto [k, v] = fn(r.key, c.old_value);
      ctx_->forward({std::move(k), change{std::move(v), {}}, r.timestamp, r.hdrs});
    }
    if (c.new_value.has_value()) {
      auto [k, v] = fn(r.key, c.new_value);
      ctx_->forward({std::move(k), change{{}, std::move(v)}, r.timestamp, r.hdrs});
    }
  }
};
}  // namespace

node_factory table_group_by(kv_mapper fn) {
  return [=] {
    auto n = std::make_unique<table_group_by_node>();
    n->fn = fn;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
