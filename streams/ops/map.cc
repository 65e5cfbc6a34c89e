// map: replaces key and value (the key change makes later aggregations repartition).
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct map_node final : node {
  kv_mapper fn;
  explicit map_node(kv_mapper f) : fn(std::move(f)) {}
  void process(const any_record& r) override {
    auto [k, v] = fn(r.key, r.value);
    ctx_->forward({std::move(k), std::move(v), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory map(kv_mapper fn) {
  return [fn] { return std::make_unique<map_node>(fn); };
}
}  // namespace eddy::streams::detail::ops
