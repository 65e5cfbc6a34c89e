#include "broker/log/write_behind.h"

namespace eddy::broker::log {

write_behind::write_behind(post_fn post, std::size_t max_queued_bytes)
    : post_(std::move(post)), max_queued_bytes_(max_queued_bytes), thread_([this] { run(); }) {}

write_behind::~write_behind() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

std::uint64_t write_behind::submit(std::size_t bytes, write_fn write, completion_fn done) {
  std::unique_lock lk(mu_);
  // Back-pressure: one job may always be queued, however large.
  done_cv_.wait(lk, [&] { return queued_bytes_ + bytes <= max_queued_bytes_ || queue_.empty(); });
  std::uint64_t ticket = next_ticket_++;
  queue_.push_back(job{ticket, bytes, std::move(write), std::move(done)});
  queued_bytes_ += bytes;
  lk.unlock();
  work_cv_.notify_one();
  return ticket;
}

void write_behind::wait(std::uint64_t ticket) {
  std::unique_lock lk(mu_);
  done_cv_.wait(lk, [&] { return completed_ >= ticket; });
}

std::uint64_t write_behind::completed() const {
  std::lock_guard lk(mu_);
  return completed_;
}

void write_behind::run() {
  while (true) {
    job j;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    result<void> r = j.write();
    {
      std::lock_guard lk(mu_);
      queued_bytes_ -= j.bytes;
      completed_ = j.ticket;
    }
    done_cv_.notify_all();
    if (j.done) post_([done = std::move(j.done), t = j.ticket, r = std::move(r)] { done(t, r); });
  }
}

}  // namespace eddy::broker::log
