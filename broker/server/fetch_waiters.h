// fetch_waiters: long-poll fetches (and anything else) waiting for new data.
//
// A waiter is a function attempt(timed_out) that returns true once it has answered. It is
// retried after every append (notify(), coalesced into one pass per loop turn) and called
// with timed_out = true at its deadline, when it must answer with what it has.
//
// Thread-safety: event-loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace eddy::broker {

class fetch_waiters {
 public:
  using attempt_fn = std::function<bool(bool timed_out)>;

  explicit fetch_waiters(boost::asio::io_context& io) : io_(io) {}
  void add(attempt_fn attempt, std::chrono::milliseconds max_wait);
  void notify();
  // Answers every waiter now (shutdown).
  void expire_all();
  std::size_t size() const { return waiters_.size(); }

 private:
  struct waiter {
    attempt_fn attempt;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void run_pass();
  void finish(std::uint64_t id, bool timed_out);

  boost::asio::io_context& io_;
  std::map<std::uint64_t, waiter> waiters_;
  std::uint64_t next_id_ = 1;
  bool pass_scheduled_ = false;
};

}  // namespace eddy::broker
