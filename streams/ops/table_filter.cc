// table_filter: rows failing the predicate become deletions; a row that stops matching is
// forwarded as (old, null) so downstream tables remove it.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_filter_node final : node {
  kv_predicate pred;
  bool negate;
  std::any keep(const std::any& k, const std::any& v) const {
    if (!v.has_value() || pred(k, v) == negate) return {};
    return v;
  }
  void process(const any_record& r) override {
    auto& c = std::any_cast<const change&>(r.value);
    change out{keep(r.key, c.old_value), keep(r.key, c.new_value)};
    if (!out.old_value.has_value() && !out.new_value.has_value()) return;
    ctx_->forward({r.key, std::move(out), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_filter(kv_predicate pred, bool negate) {
  return [=] {
    auto n = std::make_unique<table_filter_node>();
    n->pred = pred;
    n->negate = negate;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
