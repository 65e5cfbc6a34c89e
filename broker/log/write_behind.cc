#include "broker/log/write_behind.h"
#include "broker/log/thread_name.h"

#include <utility>
#include <vector>

namespace eddy::broker::log {

namespace {

class function_body final : public write_body {
 public:
  explicit function_body(write_behind::write_fn f) : f_(std::move(f)) {}
  result<void> write() override { return f_(); }

 private:
  write_behind::write_fn f_;
};

}  // namespace

write_behind::write_behind(post_fn post, std::size_t max_queued_bytes, std::size_t max_merge_bytes)
    : post_(std::move(post)),
      max_queued_bytes_(max_queued_bytes),
      max_merge_bytes_(max_merge_bytes),
      thread_([this] { run(); }) {}

write_behind::~write_behind() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

std::uint64_t write_behind::submit(std::size_t bytes, write_fn write, completion_fn done) {
  return submit(bytes, std::make_unique<function_body>(std::move(write)), std::move(done));
}

std::uint64_t write_behind::submit(std::size_t bytes, std::unique_ptr<write_body> body, completion_fn done) {
  std::unique_lock lk(mu_);
  // Back-pressure: one job may always be queued, however large.
  done_cv_.wait(lk, [&] { return queued_bytes_ + bytes <= max_queued_bytes_ || queue_.empty(); });
  std::uint64_t ticket = next_ticket_++;
  queue_.push_back(job{ticket, bytes, std::move(body), std::move(done)});
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
  name_this_thread("eddy-writer");
  std::vector<job> merged;  // the job written, then those it absorbed, in queue order
  while (true) {
    merged.clear();
    std::size_t bytes = 0;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      merged.push_back(std::move(queue_.front()));
      queue_.pop_front();
      bytes = merged.front().bytes;
      while (!queue_.empty() && bytes + queue_.front().bytes <= max_merge_bytes_ &&
             merged.front().body->absorb(*queue_.front().body)) {
        bytes += queue_.front().bytes;
        merged.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    result<void> r = merged.front().body->write();
    {
      std::lock_guard lk(mu_);
      queued_bytes_ -= bytes;
      completed_ = merged.back().ticket;
    }
    done_cv_.notify_all();
    // One post for the whole group: completions run in order on the owner's loop.
    std::vector<std::pair<std::uint64_t, completion_fn>> dones;
    for (auto& j : merged) {
      j.body.reset();  // what a write owns (copies, staging) goes now, on this thread
      if (j.done) dones.emplace_back(j.ticket, std::move(j.done));
    }
    if (!dones.empty())
      post_([dones = std::move(dones), r = std::move(r)] {
        for (auto& [t, done] : dones) done(t, r);
      });
  }
}

}  // namespace eddy::broker::log
