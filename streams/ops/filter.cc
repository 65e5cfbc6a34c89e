// filter / filter_not: forwards records whose predicate holds (or, negated, fails).
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct filter_node final : node {
  kv_predicate pred;
  bool negate;
  filter_node(kv_predicate p, bool n) : pred(std::move(p)), negate(n) {}
  void process(const any_record& r) override {
    if (pred(r.key, r.value) != negate) ctx_->forward(r);
  }
};
}  // namespace

node_factory filter(kv_predicate pred, bool negate) {
  return [pred, negate] { return std::make_unique<filter_node>(pred, negate); };
}
}  // namespace eddy::streams::detail::ops
