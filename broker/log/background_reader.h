// background_reader: one thread ("eddy-reader") that does the disk part of fetch reads
// (partition_log::read_planned), so that a consumer catching up on old data does not hold
// up the event loop, and with it every producer, for the device's time (an O_DIRECT read of
// a megabyte waits for the device for about half a millisecond to a millisecond here).
//
// A task runs on the reader thread and returns what then runs on the event loop (through
// `post`), such as filling in and sending a fetch response. Tasks run one at a time, in
// submission order. The destructor drops the tasks not started and the completions not
// yet run, lets the task in flight finish, and joins.
//
// Thread-safety: submit() on the event loop.
//
// Example:
//   background_reader r([&](std::function<void()> f) { boost::asio::post(io, std::move(f)); });
//   r.submit([plan] { auto got = partition_log::read_planned(plan, true);
//                     return [got] { /* on the loop */ }; });
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace eddy::broker::log {

class background_reader {
 public:
  using post_fn = std::function<void(std::function<void()>)>;
  using task_fn = std::function<std::function<void()>()>;

  explicit background_reader(post_fn post);
  ~background_reader();
  background_reader(const background_reader&) = delete;
  background_reader& operator=(const background_reader&) = delete;

  void submit(task_fn task);

 private:
  void run();

  post_fn post_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // loop only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task_fn> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eddy::broker::log
