// suppress_until_window_closes (emit-final): buffers the latest result of each window in a
// logged store keyed by window end | windowed key, and forwards it once stream time reaches
// window end + grace. The buffer is a store, so the exactly-once commit covers it too.
// Buffer value: 1 byte (1 = value, 0 = deletion) | value bytes.
#include "eddy/streams/detail/ops.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams::detail::ops {
namespace {
struct suppress_node final : node {
  std::string store_name;
  any_serde wks, vs;
  std::function<int64_t(const std::any&)> window_end;
  int64_t grace = 0;
  kv_bytes_store* store = nullptr;
  void init(node_context& ctx) override {
    node::init(ctx);
    store = &ctx.store(store_name);
  }
  void process(const any_record& r) override {
    int64_t close = ctx_->stream_time() - grace;
    int64_t end = window_end(r.key);
    if (end > close) {
      auto& c = std::any_cast<const change&>(r.value);
      std::string v = c.new_value.has_value() ? "\x01" + vs.serialize(c.new_value) : std::string("\x00", 1);
      store->put(be64(end) + wks.serialize(r.key), v);
    }
    evict(close, r.timestamp);
  }
  void evict(int64_t close, int64_t ts) {
    if (close < 0) return;
    std::vector<std::pair<std::string, std::string>> due;
    store->range(be64(0), be64(close + 1), [&](std::string_view k, std::string_view v) {
      due.emplace_back(k, v);
      return true;
    });
    for (auto& [k, v] : due) {
      store->put(k, std::nullopt);
      std::any key = wks.deserialize(std::string_view(k).substr(8));
      std::any value = v.size() > 0 && v[0] == 1 ? vs.deserialize(std::string_view(v).substr(1)) : std::any();
      ctx_->forward({std::move(key), change{{}, std::move(value)}, ts, {}});
    }
  }
};
}  // namespace

node_factory suppress_until_window_closes(std::string buffer_store, any_serde windowed_key_serde, any_serde value_serde,
                                          std::function<int64_t(const std::any&)> window_end, int64_t grace_ms) {
  return [=] {
    auto n = std::make_unique<suppress_node>();
    n->store_name = buffer_store;
    n->wks = windowed_key_serde;
    n->vs = value_serde;
    n->window_end = window_end;
    n->grace = grace_ms;
    return n;
  };
}
}  // namespace eddy::streams::detail::ops
