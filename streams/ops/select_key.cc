// select_key: computes a new key from key and value.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct select_key_node final : node {
  value_mapper fn;
  explicit select_key_node(value_mapper f) : fn(std::move(f)) {}
  void process(const any_record& r) override { ctx_->forward({fn(r.key, r.value), r.value, r.timestamp, r.hdrs}); }
};
}  // namespace

node_factory select_key(value_mapper fn) {
  return [fn] { return std::make_unique<select_key_node>(fn); };
}
}  // namespace eddy::streams::detail::ops
