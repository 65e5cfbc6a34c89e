// branch (split): each record goes to the first branch whose predicate holds, else to the
// default branch if there is one.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct branch_node final : node {
  std::vector<kv_predicate> preds;
  std::vector<std::string> children;
  std::string fallback;
  void process(const any_record& r) override {
    for (size_t i = 0; i < preds.size(); ++i)
      if (preds[i](r.key, r.value)) return ctx_->forward_to(children[i], r);
    if (!fallback.empty()) ctx_->forward_to(fallback, r);
  }
};
}  // namespace

node_factory branch(std::vector<kv_predicate> preds, std::vector<std::string> children, std::string default_child) {
  return [=] {
    auto n = std::make_unique<branch_node>();
    n->preds = preds;
    n->children = children;
    n->fallback = default_child;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
