#include "streams/runtime/task.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "eddy/streams/detail/ops.h"
#include "streams/ops/change_codec.h"
#include "streams/ops/sink.h"

namespace eddy::streams::runtime {

// The node_context each operator instance sees: forwards to the node's children.
struct task::node_ctx final : detail::node_context {
  task* t = nullptr;
  std::vector<std::pair<std::string, detail::node*>> children;

  void forward(const detail::any_record& rec) override {
    for (auto& [name, child] : children) child->process(rec);
  }
  void forward_to(std::string_view child, const detail::any_record& rec) override {
    for (auto& [name, c] : children)
      if (name == child) return c->process(rec);
    throw std::invalid_argument(fmt::format("forward_to: no child named \"{}\"", child));
  }
  kv_bytes_store& store(std::string_view name) override {
    if (auto* s = t->store(std::string(name))) return *s;
    throw std::invalid_argument(fmt::format("store \"{}\" is not connected to this processor", name));
  }
  void schedule(int64_t interval_ms, punctuation_type type, std::function<void(int64_t)> fn) override {
    int64_t now = type == punctuation_type::wall_clock_time ? wall_clock_ms() : std::max<int64_t>(t->stream_time_, 0);
    t->schedules_.push_back({std::max<int64_t>(interval_ms, 1), type, std::move(fn), now + interval_ms});
  }
  int64_t stream_time() const override { return t->stream_time_; }
  int64_t wall_clock_ms() const override { return t->env_.wall_clock(); }
  const detail::record_origin& origin() const override { return t->origin_; }
  int32_t task_partition() const override { return t->id_.partition; }
  int32_t subtopology() const override { return t->id_.sub; }
  const std::string& application_id() const override { return t->env_.topo->app_id; }
  const detail::any_record* current() const override { return t->current_; }
};

task::task(task_id id, task_env env) : id_(id), env_(std::move(env)) {
  on_deser_error_ = env_.config->deserialization_handler_or_default();
}

task::~task() = default;

std::string task::open_stores() {
  auto& sub = env_.topo->subs[id_.sub];
  for (auto& name : sub.stores) {
    auto& spec = env_.topo->g->stores.at(name);
    std::string error;
    auto base = env_.open_store(spec, id_, error);
    if (!base) return error;
    std::string changelog = spec.logged ? env_.topo->changelog_topic(name) : std::string();
    auto* sink = env_.sink;
    stores_.push_back(std::make_unique<state::store_stack>(
        spec, std::move(base), changelog, id_.partition,
        [sink](const std::string& topic, int32_t p, std::string_view k, std::optional<std::string_view> v, int64_t ts) {
          sink->send(topic, p, std::string(k), v ? std::optional<std::string>(std::string(*v)) : std::nullopt, ts, {});
        },
        [this] { return current_ ? current_->timestamp : std::max<int64_t>(stream_time_, 0); }));
  }
  return {};
}

std::vector<state::store_stack*> task::stores() {
  std::vector<state::store_stack*> out;
  for (auto& s : stores_) out.push_back(s.get());
  return out;
}

state::store_stack* task::store(const std::string& name) {
  for (auto& s : stores_)
    if (s->spec().name == name) return s.get();
  return nullptr;
}

void task::init_processors() {
  auto& g = *env_.topo->g;
  auto& sub = env_.topo->subs[id_.sub];
  for (int id : sub.nodes) {
    auto& spec = g.nodes[id];
    if (spec.kind == detail::node_kind::source) nodes_[id] = detail::ops::passthrough()();
    else if (spec.kind == detail::node_kind::sink)
      nodes_[id] = ops::make_sink(spec.sink, spec.sink.chooser ? std::string() : env_.topo->resolve(spec.sink.topic), *env_.sink);
    else nodes_[id] = spec.factory();
  }
  for (int id : sub.nodes) {
    auto ctx = std::make_unique<node_ctx>();
    ctx->t = this;
    for (int c : env_.topo->children[id]) ctx->children.emplace_back(g.nodes[c].name, nodes_.at(c).get());
    ctxs_[id] = std::move(ctx);
  }
  // Children first, so a parent initialised later may forward to initialised children.
  for (auto it = sub.nodes.rbegin(); it != sub.nodes.rend(); ++it) nodes_[*it]->init(*ctxs_[*it]);
  initialized_ = true;
}

void task::enqueue(const std::string& topic, int32_t partition, int64_t offset, std::optional<std::string> key,
                   std::optional<std::string> value, int64_t timestamp, headers hdrs) {
  auto tp = std::make_pair(topic, partition);
  if (env_.config->extractor) {
    consumed_record_info info{topic, partition, offset, timestamp, key ? &*key : nullptr, value ? &*value : nullptr};
    auto pt = partition_time_.count(tp) ? partition_time_[tp] : -1;
    timestamp = env_.config->extractor(info, pt);
  }
  partition_time_[tp] = std::max(partition_time_.count(tp) ? partition_time_[tp] : -1, timestamp);
  queues_[tp].push_back({offset, std::move(key), std::move(value), timestamp, std::move(hdrs)});
  ++buffered_;
}

bool task::process_next(std::string& error) {
  if (buffered_ == 0) return false;
  std::deque<buffered_record>* best = nullptr;
  const std::pair<std::string, int32_t>* best_tp = nullptr;
  for (auto& [tp, q] : queues_) {
    if (q.empty()) continue;
    if (!best || q.front().timestamp < best->front().timestamp) {
      best = &q;
      best_tp = &tp;
    }
  }
  buffered_record r = std::move(best->front());
  best->pop_front();
  --buffered_;
  auto [src_sub, src_node] = env_.topo->sources.at(best_tp->first);
  auto& spec = env_.topo->g->nodes[src_node].source;
  origin_ = {best_tp->first, best_tp->second, r.offset};
  consumed_[*best_tp] = r.offset + 1;
  detail::any_record rec;
  rec.timestamp = r.timestamp;
  rec.hdrs = std::move(r.hdrs);
  try {
    if (r.key) rec.key = spec.key_serde.deserialize(*r.key);
    if (r.value) {
      if (spec.carries_changes) rec.value = ops::decode_change(*r.value, spec.value_serde);
      else rec.value = spec.value_serde.deserialize(*r.value);
    }
  } catch (const std::exception& e) {
    consumed_record_info info{best_tp->first, best_tp->second, r.offset, r.timestamp, r.key ? &*r.key : nullptr,
                              r.value ? &*r.value : nullptr};
    if (on_deser_error_(info, e.what()) == handler_response::skip) return true;
    error = fmt::format("deserialization of {}-{}@{} failed: {}", best_tp->first, best_tp->second, r.offset, e.what());
    return false;
  }
  if (r.timestamp < 0) return true;  // Kafka drops records with an invalid timestamp
  stream_time_ = std::max(stream_time_, r.timestamp);
  try {
    current_ = &rec;
    nodes_.at(src_node)->process(rec);
    current_ = nullptr;
    for (size_t i = 0; i < schedules_.size(); ++i) {
      if (schedules_[i].type != punctuation_type::stream_time || stream_time_ < schedules_[i].next) continue;
      schedules_[i].next = stream_time_ + schedules_[i].interval;
      schedules_[i].fn(stream_time_);
    }
  } catch (const std::exception& e) {
    current_ = nullptr;
    error = fmt::format("processing {}-{}@{} in task {} failed: {}", best_tp->first, best_tp->second, r.offset, id_.str(),
                        e.what());
    return false;
  }
  return true;
}

void task::punctuate_wall_clock() {
  int64_t now = env_.wall_clock();
  for (size_t i = 0; i < schedules_.size(); ++i) {
    if (schedules_[i].type != punctuation_type::wall_clock_time || now < schedules_[i].next) continue;
    schedules_[i].next = now + schedules_[i].interval;
    schedules_[i].fn(now);
  }
}

void task::seal_stores() {
  for (auto& s : stores_) s->seal();
}

void task::commit_stores(const std::function<int64_t(const std::string&, int32_t)>& last_changelog_offset) {
  for (auto& s : stores_)
    s->commit_sealed(s->changelog_topic().empty() ? -1 : last_changelog_offset(s->changelog_topic(), s->partition()));
}

void task::flush_stores() {
  for (auto& s : stores_) s->flush();
}

void task::abort() {
  for (auto& s : stores_) s->abort();
  queues_.clear();
  buffered_ = 0;
}

void task::reset() {
  abort();
  close();
  schedules_.clear();
  consumed_.clear();
  nodes_.clear();
  ctxs_.clear();
  init_processors();
}

void task::close() {
  if (initialized_)
    for (auto& [id, n] : nodes_) n->close();
  initialized_ = false;
  flush_stores();
}

}  // namespace eddy::streams::runtime
