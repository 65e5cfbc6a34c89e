// passthrough: forwards every record unchanged (sources, merge, branch children).
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct passthrough_node final : node {
  void process(const any_record& r) override { ctx_->forward(r); }
};
}  // namespace

node_factory passthrough() {
  return [] { return std::make_unique<passthrough_node>(); };
}
}  // namespace eddy::streams::detail::ops
