#include "eddy/streams/streams_app.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "streams/runtime/internal_topics.h"
#include "streams/runtime/stream_thread.h"

namespace eddy::streams {

const char* to_string(app_state s) {
  switch (s) {
    case app_state::created: return "CREATED";
    case app_state::rebalancing: return "REBALANCING";
    case app_state::running: return "RUNNING";
    case app_state::pending_shutdown: return "PENDING_SHUTDOWN";
    case app_state::not_running: return "NOT_RUNNING";
    case app_state::error: return "ERROR";
  }
  return "?";
}

struct streams_app::impl {
  topology topo;
  runtime::app_context ctx;
  std::vector<std::unique_ptr<runtime::stream_thread>> threads;
  mutable std::mutex mu;
  std::condition_variable cv;
  app_state st = app_state::created;
  std::string fatal_error;
  std::function<void(app_state, app_state)> listener;

  explicit impl(topology t) : topo(std::move(t)) {}

  void set_state(app_state to) {
    app_state from;
    {
      std::lock_guard lk(mu);
      from = st;
      if (from == to) return;
      st = to;
    }
    cv.notify_all();
    if (listener) listener(from, to);
  }

  // RUNNING once every thread has its assignment and restored its tasks; REBALANCING while one
  // is rebalancing (as Kafka Streams). Never leaves error or the shutdown states.
  std::vector<bool> thread_running;
  void on_thread_state(int index, bool running) {
    app_state from, to;
    {
      std::lock_guard lk(mu);
      thread_running.at(index) = running;
      bool all = std::all_of(thread_running.begin(), thread_running.end(), [](bool b) { return b; });
      from = st;
      if (from != app_state::running && from != app_state::rebalancing) return;
      to = all ? app_state::running : app_state::rebalancing;
      if (from == to) return;
      st = to;
    }
    cv.notify_all();
    if (listener) listener(from, to);
  }
};

streams_app::streams_app(topology t, streams_config config) : impl_(std::make_unique<impl>(std::move(t))) {
  impl_->ctx.config = std::move(config);
}

streams_app::~streams_app() { close(); }

status streams_app::start() {
  auto& ctx = impl_->ctx;
  if (auto e = ctx.config.validate(true); !e.empty()) return status::error(e);
  ctx.topo = runtime::build_physical(impl_->topo.graph(), ctx.config.application_id());
  std::string err;
  ctx.process_id = runtime::load_or_create_process_id(ctx.config, err);
  if (!err.empty()) return status::error(err);
  if (auto e = runtime::prepare_topics(ctx); !e.empty()) return status::error(e);
  ctx.on_fatal = [this](const std::string& e) {
    {
      std::lock_guard lk(impl_->mu);
      if (impl_->fatal_error.empty()) impl_->fatal_error = e;
    }
    impl_->set_state(app_state::error);
  };
  impl_->thread_running.assign(ctx.config.num_stream_threads(), false);
  ctx.on_thread_state = [this](int index, bool running) { impl_->on_thread_state(index, running); };
  impl_->set_state(app_state::rebalancing);
  for (int i = 0; i < ctx.config.num_stream_threads(); ++i)
    impl_->threads.push_back(std::make_unique<runtime::stream_thread>(ctx, i));
  for (auto& t : impl_->threads) t->start();
  return status::success();
}

status streams_app::run() {
  if (auto s = start(); !s.ok) return s;
  std::unique_lock lk(impl_->mu);
  impl_->cv.wait(lk, [&] { return impl_->st == app_state::error || impl_->st == app_state::pending_shutdown ||
                                   impl_->st == app_state::not_running; });
  std::string e = impl_->fatal_error;
  lk.unlock();
  close();
  return e.empty() ? status::success() : status::error(e);
}

void streams_app::close() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->st == app_state::not_running || impl_->st == app_state::created) {
      impl_->st = app_state::not_running;
      impl_->cv.notify_all();
      return;
    }
  }
  if (impl_->st != app_state::error) impl_->set_state(app_state::pending_shutdown);
  for (auto& t : impl_->threads) t->request_stop();
  for (auto& t : impl_->threads) t->join();
  impl_->threads.clear();
  bool failed;
  {
    std::lock_guard lk(impl_->mu);
    failed = impl_->st == app_state::error;
  }
  if (!failed) impl_->set_state(app_state::not_running);
  else {
    std::lock_guard lk(impl_->mu);
    impl_->cv.notify_all();
  }
}

app_state streams_app::state() const {
  std::lock_guard lk(impl_->mu);
  return impl_->st;
}

void streams_app::set_state_listener(std::function<void(app_state, app_state)> fn) { impl_->listener = std::move(fn); }
int64_t streams_app::processed_records() const { return impl_->ctx.processed; }
int64_t streams_app::commits() const { return impl_->ctx.commits; }

}  // namespace eddy::streams
