// processor: the low-level Processor API. A processor receives records one at a time, may
// read and write named state stores, schedule punctuators (on stream time or wall-clock
// time) and forward records (with their timestamps and headers) to its children.
//
// Plug one in with kstream::process(supplier, {"store-a", ...}) after declaring its stores
// with stream_builder::add_state_store(stores::key_value("store-a")).
//
// Thread-safety: each task gets its own processor instance (the supplier is called once per
// task); a processor is only ever called from its task's stream thread.
//
// Example:
//   struct dedup : processor<std::string, std::string, std::string, std::string> {
//     void init(processor_context<std::string, std::string>& ctx) override {
//       ctx_ = &ctx;
//       seen_.emplace(ctx.get_key_value_store<std::string, int64_t>("seen"));
//     }
//     void process(const record<std::string, std::string>& r) override {
//       if (seen_->put_if_absent(r.key, r.timestamp)) ctx_->forward(r);
//     }
//     processor_context<std::string, std::string>* ctx_ = nullptr;
//     std::optional<key_value_store<std::string, int64_t>> seen_;
//   };
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "eddy/streams/detail/graph.h"
#include "eddy/streams/state_stores.h"

namespace eddy::streams {

template <class K, class V>
struct record {
  K key{};
  V value{};
  int64_t timestamp = 0;
  headers hdrs;

  template <class K2, class V2>
  record<K2, V2> with(K2 k, V2 v) const {
    return {std::move(k), std::move(v), timestamp, hdrs};
  }
};

template <class KOut, class VOut>
class processor_context {
 public:
  explicit processor_context(detail::node_context& c) : c_(&c) {}

  void forward(const record<KOut, VOut>& r) { c_->forward(to_any(r)); }
  void forward_to(std::string_view child, const record<KOut, VOut>& r) { c_->forward_to(child, to_any(r)); }

  template <class K, class V>
  key_value_store<K, V> get_key_value_store(std::string_view name, serde<K> ks = default_serde<K>(),
                                            serde<V> vs = default_serde<V>()) {
    return {c_->store(name), std::move(ks), std::move(vs)};
  }
  template <class K, class V>
  window_store<K, V> get_window_store(std::string_view name, serde<K> ks = default_serde<K>(),
                                      serde<V> vs = default_serde<V>()) {
    return {c_->store(name), std::move(ks), std::move(vs)};
  }
  template <class K, class V>
  session_store<K, V> get_session_store(std::string_view name, serde<K> ks = default_serde<K>(),
                                        serde<V> vs = default_serde<V>()) {
    return {c_->store(name), std::move(ks), std::move(vs)};
  }

  // fn(time) runs every interval_ms of stream time (driven by records) or wall-clock time.
  void schedule(std::chrono::milliseconds interval, punctuation_type type, std::function<void(int64_t)> fn) {
    c_->schedule(interval.count(), type, std::move(fn));
  }
  int64_t stream_time() const { return c_->stream_time(); }
  int64_t wall_clock_ms() const { return c_->wall_clock_ms(); }
  const std::string& topic() const { return c_->origin().topic; }
  int32_t partition() const { return c_->origin().partition; }
  int64_t offset() const { return c_->origin().offset; }
  int32_t task_partition() const { return c_->task_partition(); }
  const std::string& application_id() const { return c_->application_id(); }

 private:
  static detail::any_record to_any(const record<KOut, VOut>& r) { return {r.key, r.value, r.timestamp, r.hdrs}; }
  detail::node_context* c_;
};

template <class KIn, class VIn, class KOut, class VOut>
class processor {
 public:
  virtual ~processor() = default;
  virtual void init(processor_context<KOut, VOut>& ctx) {}
  virtual void process(const record<KIn, VIn>& r) = 0;
  virtual void close() {}
};

template <class KIn, class VIn, class KOut, class VOut>
using processor_supplier = std::function<std::unique_ptr<processor<KIn, VIn, KOut, VOut>>()>;

namespace detail {

// Adapts a typed processor to the runtime's node interface.
template <class KIn, class VIn, class KOut, class VOut>
class processor_node final : public node {
 public:
  explicit processor_node(std::unique_ptr<processor<KIn, VIn, KOut, VOut>> p) : p_(std::move(p)) {}
  void init(node_context& ctx) override {
    node::init(ctx);
    typed_ctx_ = std::make_unique<processor_context<KOut, VOut>>(ctx);
    p_->init(*typed_ctx_);
  }
  void process(const any_record& r) override {
    p_->process(record<KIn, VIn>{value_of<KIn>(r.key), value_of<VIn>(r.value), r.timestamp, r.hdrs});
  }
  void close() override { p_->close(); }

 private:
  std::unique_ptr<processor<KIn, VIn, KOut, VOut>> p_;
  std::unique_ptr<processor_context<KOut, VOut>> typed_ctx_;
};

}  // namespace detail
}  // namespace eddy::streams
