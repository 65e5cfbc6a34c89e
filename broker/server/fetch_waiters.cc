#include "broker/server/fetch_waiters.h"

#include <boost/asio/post.hpp>
#include <vector>

namespace eddy::broker {

void fetch_waiters::add(attempt_fn attempt, std::chrono::milliseconds max_wait) {
  std::uint64_t id = next_id_++;
  auto& w = waiters_[id];
  w.attempt = std::move(attempt);
  w.timer = std::make_unique<boost::asio::steady_timer>(io_, max_wait);
  w.timer->async_wait([this, id](boost::system::error_code ec) {
    if (!ec) finish(id, true);
  });
}

void fetch_waiters::notify() {
  if (pass_scheduled_ || waiters_.empty()) return;
  pass_scheduled_ = true;
  boost::asio::post(io_, [this] { run_pass(); });
}

void fetch_waiters::run_pass() {
  pass_scheduled_ = false;
  std::vector<std::uint64_t> ids;
  ids.reserve(waiters_.size());
  for (auto& [id, w] : waiters_) ids.push_back(id);
  for (auto id : ids) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    if (it->second.attempt(false)) {
      it->second.timer->cancel();
      waiters_.erase(it);
    }
  }
}

void fetch_waiters::finish(std::uint64_t id, bool timed_out) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  auto attempt = std::move(it->second.attempt);
  waiters_.erase(it);
  attempt(timed_out);
}

void fetch_waiters::expire_all() {
  while (!waiters_.empty()) finish(waiters_.begin()->first, true);
}

}  // namespace eddy::broker
