// peek / foreach: runs an action per record; peek also forwards it.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct peek_node final : node {
  kv_action fn;
  bool fwd;
  peek_node(kv_action f, bool forward) : fn(std::move(f)), fwd(forward) {}
  void process(const any_record& r) override {
    fn(r.key, r.value);
    if (fwd) ctx_->forward(r);
  }
};
}  // namespace

node_factory peek(kv_action fn, bool forward) {
  return [fn, forward] { return std::make_unique<peek_node>(fn, forward); };
}
}  // namespace eddy::streams::detail::ops
