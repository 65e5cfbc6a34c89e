// stream_stream_join: one side of a windowed join (the DSL adds one node per side; both use
// the same stores). Each record is stored in this side's window store (key | timestamp -> list
// of values) and joined with the other side's records of the same key within
// [ts - before, ts + after] (the right side's node gets the windows mirrored). Output
// timestamp = max of both. Stored records older than stream time - (before + after + grace)
// are deleted. List layout: repeated (4-byte BE length | value bytes).
//
// Records without a match (left join: left side only; outer join: both sides) are not emitted
// at once, as Kafka Streams does since 3.1 (KAFKA-10847): a partner may still arrive while the
// record's window is open, and an eager (record, null) result would then be followed by the
// joined one. They wait in a third, shared "outer" store instead:
//   key   = timestamp (8 bytes BE) | side (0 = left, 1 = right) | key bytes
//   value = list of values (layout above; records of one side with the same key and timestamp)
// so that a scan from the start visits them in timestamp order. An entry is deleted when a
// record of the other side matches it (the matching record names its key and timestamp), and
// emitted with a null other side, at its own timestamp, once its window has closed: stream time
// > ts + after + grace for left-side records, ts + before + grace for right-side ones (a left
// record is matched by right records up to ts + after, a right record by left records up to
// ts + before). Like Kafka, closed entries are emitted while processing records, before the
// record's own join. A record whose window is already closed when it arrives (out of order)
// is emitted at once. The outer store is logged like the window stores, so it is restored
// with them and its changes commit in the same transaction.
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

void append_to_list(kv_bytes_store& s, const std::string& key, const std::string& vb) {
  std::string list = s.get(key).value_or("");
  list += serdes::int32().serialize(static_cast<int32_t>(vb.size())) + vb;
  s.put(key, list);
}

// Outer store key of a record: timestamp | side | key bytes.
std::string outer_key(int64_t ts, bool left_side, const std::string& kb) {
  return be64(ts) + std::string(1, left_side ? '\0' : '\1') + kb;
}

struct stream_stream_join_node final : node {
  std::string this_name, other_name, outer_name;
  any_serde ks, this_vs, other_vs;
  join_windows w;
  joiner fn;
  join_kind kind = join_kind::inner;
  bool this_is_left = true;
  kv_bytes_store* mine = nullptr;
  kv_bytes_store* theirs = nullptr;
  kv_bytes_store* outer = nullptr;  // left and outer joins only
  int64_t scanned_at = -1;          // stream time of this node's last scan for closed entries

  void init(node_context& ctx) override {
    node::init(ctx);
    mine = &ctx.store(this_name);
    theirs = &ctx.store(other_name);
    if (!outer_name.empty()) outer = &ctx.store(outer_name);
  }
  // Whether records of a side are emitted with a null other side when they find no match.
  bool wants_unmatched(bool left_side) const {
    return kind == join_kind::outer || (kind == join_kind::left && left_side);
  }
  // How far after its timestamp a record of a side can still be matched: w is this node's
  // (mirrored for the right node), so w.after_ms is this side's reach, w.before_ms the other's.
  int64_t reach(bool left_side) const { return left_side == this_is_left ? w.after_ms : w.before_ms; }
  bool window_closed(int64_t ts, bool left_side) const {
    return ctx_->stream_time() > ts + reach(left_side) + w.grace_ms;
  }
  void forward_joined(const std::any& key, const std::any& left, const std::any& right, int64_t ts, const headers& h) {
    ctx_->forward({key, fn(key, left, right), ts, h});
  }
  void emit(const any_record& r, const std::any& mine_v, const std::any& other_v, int64_t ts) {
    if (this_is_left) forward_joined(r.key, mine_v, other_v, ts, r.hdrs);
    else forward_joined(r.key, other_v, mine_v, ts, r.hdrs);
  }

  // Emits (value, null) for the outer store's entries whose window has closed, in timestamp
  // order, and deletes them. The scan stops after the latest timestamp that can have closed
  // (the side with the shorter reach); it runs once per stream-time advance of this node
  // (nothing closes while stream time stands still). Headers: the held record's are not
  // kept, so these results carry none (Kafka gives them the triggering record's).
  void emit_closed_unmatched() {
    int64_t st = ctx_->stream_time();
    if (st <= scanned_at) return;
    scanned_at = st;
    int64_t end = st - std::min(w.before_ms, w.after_ms) - w.grace_ms;  // closed entries have ts < end
    if (end <= 0) return;
    std::vector<std::pair<std::string, std::string>> due;
    outer->range(be64(0), be64(end), [&](std::string_view k, std::string_view v) {
      if (k.size() < 9) return true;
      if (window_closed(read_be64(k.substr(0, 8)), k[8] == '\0')) due.emplace_back(k, v);
      return true;
    });
    for (auto& [k, v] : due) {
      outer->put(k, std::nullopt);
      int64_t ts = read_be64(std::string_view(k).substr(0, 8));
      bool left_side = k[8] == '\0';
      std::any key = ks.deserialize(std::string_view(k).substr(9));
      const any_serde& vs = left_side == this_is_left ? this_vs : other_vs;
      for (auto vb : split_list(v)) {
        if (left_side) forward_joined(key, vs.deserialize(vb), std::any(), ts, {});
        else forward_joined(key, std::any(), vs.deserialize(vb), ts, {});
      }
    }
  }

  void process(const any_record& r) override {
    if (!r.key.has_value() || !r.value.has_value() || r.timestamp < 0) return;
    if (outer) emit_closed_unmatched();
    std::string kb = ks.serialize(r.key);
    int64_t ts = r.timestamp;
    std::string vb = this_vs.serialize(r.value);
    append_to_list(*mine, kb + be64(ts), vb);
    bool matched = false;
    std::vector<int64_t> matched_ts;  // timestamps of the other side's records this one joined
    theirs->range(kb + be64(std::max<int64_t>(0, ts - w.before_ms)), kb + be64(ts + w.after_ms) + std::string(1, '\0'),
                  [&](std::string_view k, std::string_view v) {
                    if (k.size() != kb.size() + 8) return true;
                    int64_t ots = read_be64(k.substr(kb.size()));
                    for (auto ov : split_list(v)) {
                      matched = true;
                      emit(r, r.value, other_vs.deserialize(ov), std::max(ts, ots));
                    }
                    matched_ts.push_back(ots);
                    return true;
                  });
    // The other side's records just joined are no longer unmatched: drop them from the outer
    // store so that they are not emitted with a null later.
    if (outer && wants_unmatched(!this_is_left))
      for (int64_t ots : matched_ts) {
        std::string ok = outer_key(ots, !this_is_left, kb);
        if (outer->get(ok)) outer->put(ok, std::nullopt);
      }
    if (!matched && wants_unmatched(this_is_left)) {
      if (window_closed(ts, this_is_left)) emit(r, r.value, std::any(), ts);  // no partner can come any more
      else append_to_list(*outer, outer_key(ts, this_is_left, kb), vb);
    }
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

node_factory stream_stream_join(std::string this_store, std::string other_store, std::string outer_store,
                                any_serde key_serde, any_serde this_value_serde, any_serde other_value_serde,
                                join_windows windows, joiner fn, join_kind kind, bool this_is_left) {
  return [=] {
    auto n = std::make_unique<stream_stream_join_node>();
    n->this_name = this_store;
    n->other_name = other_store;
    n->outer_name = kind == join_kind::inner ? std::string() : outer_store;
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
