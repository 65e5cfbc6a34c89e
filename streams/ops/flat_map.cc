// flat_map: zero or more (key, value) records per input record.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
using fm = std::function<std::vector<std::pair<std::any, std::any>>(const std::any&, const std::any&)>;
struct flat_map_node final : node {
  fm fn;
  explicit flat_map_node(fm f) : fn(std::move(f)) {}
  void process(const any_record& r) override {
    for (auto& [k, v] : fn(r.key, r.value)) ctx_->forward({std::move(k), std::move(v), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory flat_map(fm fn) {
  return [fn] { return std::make_unique<flat_map_node>(fn); };
}
}  // namespace eddy::streams::detail::ops
