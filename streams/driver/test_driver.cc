// The topology test driver: tasks over in-memory topics, no broker.
#include "eddy/streams/test_driver.h"

#include <stdexcept>

#include <fmt/format.h>

#include "streams/runtime/murmur2.h"
#include "streams/runtime/physical_topology.h"
#include "streams/runtime/task.h"
#include "streams/state/memory_store.h"

namespace eddy::streams {

struct test_driver::impl final : runtime::record_sink {
  streams_config config;
  runtime::physical_topology topo;
  std::map<std::string, int> user_partitions;
  std::map<std::string, std::vector<raw_record>> topics;  // all partitions, in write order
  std::map<std::string, size_t> read_cursor;               // per topic, for read_raw
  std::map<runtime::task_id, std::unique_ptr<runtime::task>> tasks;
  std::map<std::string, int64_t> next_offset;  // topic:partition -> next offset
  int64_t wall_clock = 0;
  std::vector<std::tuple<std::string, int32_t, raw_record>> pending;  // written to source topics, not yet routed

  int32_t partitions_of(const std::string& topic) override {
    if (auto it = topo.internal_topics.find(topic); it != topo.internal_topics.end()) return it->second.partitions;
    auto it = user_partitions.find(topic);
    return it == user_partitions.end() ? 1 : it->second;
  }

  void send(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
            const std::optional<std::string>& value, int64_t ts, const headers& hdrs) override {
    int32_t n = partitions_of(topic);
    if (partition < 0) partition = key ? runtime::partition_for_key(*key, n) : 0;
    if (partition >= n) throw std::out_of_range(fmt::format("partition {} of topic {} with {} partitions", partition, topic, n));
    raw_record r{key, value, ts, hdrs, partition, next_offset[topic + ":" + std::to_string(partition)]++};
    topics[topic].push_back(r);
    if (topo.sources.count(topic)) pending.emplace_back(topic, partition, r);
  }

  void route_and_process() {
    while (!pending.empty()) {
      auto batch = std::move(pending);
      pending.clear();
      for (auto& [topic, partition, r] : batch) {
        auto sub = topo.sources.at(topic).first;
        auto& t = tasks.at({sub, partition});
        t->enqueue(topic, partition, r.offset, r.key, r.value, r.timestamp, r.hdrs);
        std::string error;
        while (t->process_next(error)) {
        }
        if (!error.empty()) throw std::runtime_error(error);
      }
    }
    for (auto& [id, t] : tasks) {
      t->seal_stores();
      t->commit_stores([&](const std::string& topic, int32_t p) { return next_offset[topic + ":" + std::to_string(p)] - 1; });
    }
  }
};

test_driver::test_driver(topology t, streams_config config, std::map<std::string, int> partitions)
    : impl_(std::make_unique<impl>()) {
  impl_->config = std::move(config);
  if (impl_->config.application_id().empty()) impl_->config.set("application.id", "test-driver");
  impl_->user_partitions = std::move(partitions);
  impl_->topo = runtime::build_physical(t.graph(), impl_->config.application_id());
  auto err = runtime::assign_partitions(impl_->topo, [this](const std::string& topic) -> std::optional<int> {
    auto it = impl_->user_partitions.find(topic);
    return it == impl_->user_partitions.end() ? 1 : it->second;
  });
  if (!err.empty()) throw std::invalid_argument(err);
  runtime::task_env env;
  env.topo = &impl_->topo;
  env.config = &impl_->config;
  env.sink = impl_.get();
  env.open_store = [](const detail::store_spec&, runtime::task_id, std::string&) {
    return std::make_unique<state::memory_store>();
  };
  env.wall_clock = [this] { return impl_->wall_clock; };
  for (auto& sub : impl_->topo.subs) {
    for (int p = 0; p < impl_->topo.tasks_per_sub[sub.id]; ++p) {
      auto task = std::make_unique<runtime::task>(runtime::task_id{sub.id, p}, env);
      if (auto e = task->open_stores(); !e.empty()) throw std::runtime_error(e);
      task->init_processors();
      impl_->tasks[{sub.id, p}] = std::move(task);
    }
  }
}

test_driver::~test_driver() {
  for (auto& [id, t] : impl_->tasks) t->close();
}

void test_driver::pipe_raw(const std::string& topic, std::optional<std::string> key, std::optional<std::string> value,
                           int64_t timestamp, headers hdrs) {
  if (!impl_->topo.sources.count(topic))
    throw std::invalid_argument(fmt::format("topic \"{}\" is not a source topic of this topology", topic));
  impl_->send(topic, -1, key, value, timestamp, hdrs);
  impl_->route_and_process();
}

std::vector<raw_record> test_driver::read_raw(const std::string& topic) {
  auto& all = impl_->topics[topic];
  auto& cur = impl_->read_cursor[topic];
  std::vector<raw_record> out(all.begin() + static_cast<long>(cur), all.end());
  cur = all.size();
  return out;
}

std::vector<raw_record> test_driver::topic_contents(const std::string& topic) const {
  auto it = impl_->topics.find(topic);
  return it == impl_->topics.end() ? std::vector<raw_record>{} : it->second;
}

void test_driver::advance_wall_clock_time(int64_t ms) {
  impl_->wall_clock += ms;
  for (auto& [id, t] : impl_->tasks) t->punctuate_wall_clock();
  impl_->route_and_process();
}

int64_t test_driver::wall_clock_time() const { return impl_->wall_clock; }

kv_bytes_store* test_driver::store(const std::string& name, int32_t partition) {
  auto it = impl_->topo.store_sub.find(name);
  if (it == impl_->topo.store_sub.end()) return nullptr;
  auto t = impl_->tasks.find({it->second, partition});
  return t == impl_->tasks.end() ? nullptr : t->second->store(name);
}

int test_driver::partitions_of_store(const std::string& name) const {
  auto it = impl_->topo.store_sub.find(name);
  return it == impl_->topo.store_sub.end() ? 0 : impl_->topo.tasks_per_sub[it->second];
}

const std::string& test_driver::application_id() const { return impl_->topo.app_id; }

}  // namespace eddy::streams
