// table_table_join: one side of a table-table join. A change on this side is joined with the
// other table's current row; both the old and the new result are computed so downstream
// tables see change(old result, new result). Inner joins need both rows, left joins the left
// row, outer joins either.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_table_join_node final : node {
  std::string other_name;
  any_serde ks, other_vs;
  joiner fn;
  join_kind kind = join_kind::inner;
  bool this_is_left = true;
  kv_bytes_store* other = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    other = &ctx.store(other_name);
  }
  std::any result(const std::any& k, const std::any& l, const std::any& r) const {
    if (l.has_value() && r.has_value()) return fn(k, l, r);
    if (l.has_value() && kind != join_kind::inner) return fn(k, l, r);
    if (r.has_value() && kind == join_kind::outer) return fn(k, l, r);
    return {};
  }
  std::any joined(const std::any& k, const std::any& mine, const std::any& theirs) const {
    return this_is_left ? result(k, mine, theirs) : result(k, theirs, mine);
  }
  void process(const any_record& r) override {
    if (!r.key.has_value()) return;
    auto& c = std::any_cast<const change&>(r.value);
    auto row = other->get(ks.serialize(r.key));
    std::any theirs = row ? other_vs.deserialize(*row) : std::any();
    change out{joined(r.key, c.old_value, theirs), joined(r.key, c.new_value, theirs)};
    if (!out.old_value.has_value() && !out.new_value.has_value()) return;
    ctx_->forward({r.key, std::move(out), r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_table_join(std::string other_store, any_serde key_serde, any_serde other_value_serde, joiner fn,
                              join_kind kind, bool this_is_left) {
  return [=] {
    auto n = std::make_unique<table_table_join_node>();
    n->other_name = other_store;
    n->ks = key_serde;
    n->other_vs = other_value_serde;
    n->fn = fn;
    n->kind = kind;
    n->this_is_left = this_is_left;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
