// flat_map_values: zero or more values per input record, same key.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
using fmv = std::function<std::vector<std::any>(const std::any&, const std::any&)>;
struct flat_map_values_node final : node {
  fmv fn;
  explicit flat_map_values_node(fmv f) : fn(std::move(f)) {}
  void process(const any_record& r) override {
    for (auto& v : fn(r.key, r.value)) ctx_->forward({r.key, std::move(v), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory flat_map_values(fmv fn) {
  return [fn] { return std::make_unique<flat_map_values_node>(fn); };
}
}  // namespace eddy::streams::detail::ops
