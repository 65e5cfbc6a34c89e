// stream_stream_join: one side of a windowed join. Each record is stored in this side's
// window store (key | timestamp -> list of values) and joined with the other side's records
// of the same key within [ts - before, ts + after]. Without a match, left (on the left side)
// and outer joins emit at once with a null other side. Output timestamp = max of both.
// Stored records older than stream time - (before + after + grace) are deleted.
// List layout: repeated (4-byte BE length | value bytes).
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {

std::vector<std::string_view> split_list(std::string_view b) {
  std::vector<std::string_view> out;
  while (b.size() >= 4) {
    auto n = static_cast<size_t>(serdes::int32().deserialize(b.substr(0, 4)));
    out.push_back(b.substr(4, n));
    b.remove_prefix(std::min(b.size(), 4 + n));
  }
  return out;
}

struct stream_stream_join_node final : node {
  std::string this_name, other_name;
  any_serde ks, this_vs, other_vs;
  join_windows w;
  joiner fn;
  join_kind kind = join_kind::inner;
  bool this_is_left = true;
  kv_bytes_store* mine = nullptr;
  kv_bytes_store* theirs = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    mine = &ctx.store(this_name);
    theirs = &ctx.store(other_name);
  }
  void emit(const any_record& r, const std::any& mine_v, const std::any& other_v, int64_t ts) {
    std::any out = this_is_left ? fn(r.key, mine_v, other_v) : fn(r.key, other_v, mine_v);
    ctx_->forward({r.key, std::move(out), ts, r.hdrs});
  }
  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value() || r.timestamp < 0) return;
    std::string kb = ks.serialize(r.key);
    int64_t ts = r.timestamp;
    std::string key = kb + be64(ts);
    std::string vb = this_vs.serialize(r.value);
    std::string list = mine->get(key).value_or("");
    list += serdes::int32().serialize(static_cast<int32_t>(vb.size())) + vb;
    mine->put(key, list);
    bool matched = false;
    theirs->range(kb + be64(std::max<int64_t>(0, ts - w.before_ms)), kb + be64(ts + w.after_ms) + std::string(1, '\0'),
                  [&](std::string_view k, std::string_view v) {
                    if (k.size() != kb.size() + 8) return true;
                    int64_t ots = read_be64(k.substr(kb.size()));
                    for (auto ov : split_list(v)) {
                      matched = true;
                      emit(r, r.value, other_vs.deserialize(ov), std::max(ts, ots));
                    }
                    return true;
                  });
    bool emit_unmatched = kind == join_kind::outer || (kind == join_kind::left && this_is_left);
    if (!matched && emit_unmatched) emit(r, r.value, std::any(), ts);
    int64_t expire_before = ctx_->stream_time() - (w.before_ms + w.after_ms + w.grace_ms);
    if (expire_before > 0) {
      std::vector<std::string> dead;
      mine->range(kb + be64(0), kb + be64(expire_before), [&](std::string_view k, std::string_view) {
        if (k.size() == kb.size() + 8) dead.emplace_back(k);
        return true;
      });
      for (auto& k : dead) mine->put(k, std::nullopt);
    }
  }
};
}  // namespace

node_factory stream_stream_join(std::string this_store, std::string other_store, any_serde key_serde,
                                any_serde this_value_serde, any_serde other_value_serde, join_windows windows, joiner fn,
                                join_kind kind, bool this_is_left) {
  return [=] {
    auto n = std::make_unique<stream_stream_join_node>();
    n->this_name = this_store;
    n->other_name = other_store;
    n->ks = key_serde;
    n->this_vs = this_value_serde;
    n->other_vs = other_value_serde;
    n->w = windows;
    n->fn = fn;
    n->kind = kind;
    n->this_is_left = this_is_left;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
