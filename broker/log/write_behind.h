// Write-behind for large appends: one thread that performs queued log writes in FIFO
// order, so the event loop goes on receiving, validating and answering while the device
// works (an O_DIRECT write of 1 MB waits for the device for about half a millisecond
// here, time the loop otherwise spends idle).
//
// The log still assigns offsets, positions and index entries on the loop when it
// appends; only the write of the bytes moves here. What a queued write means for the
// rest of the broker is partition_log's business (see partition_log.h, "Write-behind"):
// reads stop at the high watermark, which only covers completed writes, and a producer's
// acknowledgement waits until its batch is written.
//
// A job is a write function run on the writer thread and a completion posted to the
// owner's event loop (with the write's outcome) after it. Jobs run strictly in
// submission order and their completions are posted in the same order.
//
// Merging: a job's write may take over the jobs queued right behind it (write_body::absorb),
// so that the appends of one partition that queued up while the device was busy go out as
// one larger write (up to `max_merge_bytes`): fewer system calls, device requests and
// thread wake-ups per byte. The absorbed jobs' completions still run, in order, with the
// merged write's outcome.
//
// Back-pressure: submit() blocks while more than `max_queued_bytes` are queued, so a
// fast producer cannot pile up memory faster than the disk takes it.
//
// Thread-safety: submit(), wait() and completed() are for one thread (the event loop);
// write functions run on the writer thread; completions run wherever `post` sends them.
// The destructor runs every queued job (their completions are still posted) and joins.
//
// Example:
//   write_behind w([&](std::function<void()> f) { boost::asio::post(io, std::move(f)); });
//   auto t = w.submit(bytes.size(), [=] { return fd->pwrite(bytes, pos); },
//                     [](std::uint64_t ticket, const result<void>& r) { /* on the loop */ });
//   w.wait(t);  // blocks until that write (and every earlier one) has run
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "broker/log/result.h"

namespace eddy::broker::log {

// What a queued job writes.
class write_body {
 public:
  virtual ~write_body() = default;
  virtual result<void> write() = 0;
  // Called on the writer thread before write(): take `next` (the job queued right behind
  // this one) into this write when its bytes follow on; true when taken, and next.write()
  // is then never called. The default takes nothing.
  virtual bool absorb(write_body& next) {
    (void)next;
    return false;
  }
};

class write_behind {
 public:
  using post_fn = std::function<void(std::function<void()>)>;
  using write_fn = std::function<result<void>()>;
  using completion_fn = std::function<void(std::uint64_t ticket, const result<void>&)>;

  explicit write_behind(post_fn post, std::size_t max_queued_bytes = 64u << 20, std::size_t max_merge_bytes = 8u << 20);
  ~write_behind();
  write_behind(const write_behind&) = delete;
  write_behind& operator=(const write_behind&) = delete;

  // Queues a write of about `bytes` bytes; returns its ticket (1, 2, ...).
  std::uint64_t submit(std::size_t bytes, std::unique_ptr<write_body> body, completion_fn done);
  // The same for a write that merges with nothing.
  std::uint64_t submit(std::size_t bytes, write_fn write, completion_fn done);
  // Blocks until the job with `ticket` and every earlier one have run. Their completions
  // are posted but may not have run yet.
  void wait(std::uint64_t ticket);
  // Highest ticket whose write has run.
  std::uint64_t completed() const;

 private:
  struct job {
    std::uint64_t ticket;
    std::size_t bytes;
    std::unique_ptr<write_body> body;
    completion_fn done;
  };
  void run();

  post_fn post_;
  std::size_t max_queued_bytes_;
  std::size_t max_merge_bytes_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits for jobs
  std::condition_variable done_cv_;  // submit/wait wait for progress
  std::deque<job> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t next_ticket_ = 1;
  std::uint64_t completed_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eddy::broker::log
