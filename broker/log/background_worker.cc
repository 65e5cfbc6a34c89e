#include "broker/log/background_worker.h"

#include "broker/log/thread_name.h"

namespace eddy::broker::log {

background_worker::background_worker(std::string name, post_fn post)
    : name_(std::move(name)), post_(std::move(post)), thread_([this] { run(); }) {}

background_worker::~background_worker() {
  *alive_ = false;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::size_t background_worker::queued() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void background_worker::submit(task_fn task) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void background_worker::run() {
  name_this_thread(name_.c_str());
  while (true) {
    task_fn task;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    std::function<void()> completion = task();
    post_([alive = alive_, completion = std::move(completion)] {
      if (*alive) completion();  // else the reader (and the logs) went away
    });
  }
}

}  // namespace eddy::broker::log
