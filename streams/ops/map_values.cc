// map_values: replaces the value, keeping key, timestamp and headers.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct map_values_node final : node {
  value_mapper fn;
  explicit map_values_node(value_mapper f) : fn(std::move(f)) {}
  void process(const any_record& r) override { ctx_->forward({r.key, fn(r.key, r.value), r.timestamp, r.hdrs}); }
};
}  // namespace

node_factory map_values(value_mapper fn) {
  return [fn] { return std::make_unique<map_values_node>(fn); };
}
}  // namespace eddy::streams::detail::ops
