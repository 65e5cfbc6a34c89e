// table_map_values: maps both sides of each change; deletions stay deletions.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_map_values_node final : node {
  value_mapper fn;
  void process(const any_record& r) override {
    auto& c = std::any_cast<const change&>(r.value);
    change out{c.old_value.has_value() ? fn(r.key, c.old_value) : std::any(),
               c.new_value.has_value() ? fn(r.key, c.new_value) : std::any()};
    ctx_->forward({r.key, std::move(out), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_map_values(value_mapper fn) {
  return [=] {
    auto n = std::make_unique<table_map_values_node>();
    n->fn = fn;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
