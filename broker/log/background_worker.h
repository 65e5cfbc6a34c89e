// background_worker: one thread that runs blocking file work off the event loop, one task
// at a time, in submission order. The log manager has two: "eddy-reader" does the disk
// part of fetch reads (partition_log::read_planned), so that a consumer catching up on old
// data does not hold up the event loop, and with it every producer, for the device's time
// (an O_DIRECT read of a megabyte waits about half a millisecond to a millisecond here);
// "eddy-admin" creates the files of new partitions (about a millisecond each: files,
// fsyncs), so that a CreateTopics of hundreds of partitions does not either.
//
// A task runs on the worker thread and returns what then runs on the event loop (through
// `post`). The destructor drops the tasks not started and the completions not yet run,
// lets the task in flight finish, and joins.
//
// Thread-safety: submit() on the event loop; queued() anywhere.
//
// Example:
//   background_worker r("eddy-reader", [&](std::function<void()> f) { boost::asio::post(io, std::move(f)); });
//   r.submit([plan] { auto got = partition_log::read_planned(plan, true);
//                     return [got] { /* on the loop */ }; });
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace eddy::broker::log {

class background_worker {
 public:
  using post_fn = std::function<void(std::function<void()>)>;
  using task_fn = std::function<std::function<void()>()>;

  // `name`: the thread's name (at most 15 characters), e.g. "eddy-reader".
  background_worker(std::string name, post_fn post);
  ~background_worker();
  background_worker(const background_worker&) = delete;
  background_worker& operator=(const background_worker&) = delete;

  void submit(task_fn task);
  // Tasks submitted and not started yet (tests, diagnostics; any thread).
  std::size_t queued() const;

 private:
  void run();

  std::string name_;
  post_fn post_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // loop only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task_fn> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eddy::broker::log
