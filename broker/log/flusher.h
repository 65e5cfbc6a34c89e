// Background fsync with group commit, for log.flush.strict=true (and for the periodic
// flush.ms / flush.messages policy, so the event loop never blocks on a disk).
//
// The event loop submits requests: "make these files (and directories) durable, then call
// `done`". The flusher thread takes every request queued since its last round, fsyncs each
// distinct file once, then runs the callbacks of that round in submission order. Requests
// are completed strictly in FIFO order across rounds, so a request whose data is already
// covered by an in-flight fsync (submitted with no files) still completes only after that
// fsync: a producer's ack can never overtake the fsync of its own data.
//
// Thread-safety: submit() may be called from any thread. Callbacks run on the flusher
// thread; the caller posts them back to its event loop. The destructor drains the queue
// (every pending callback is called) and joins the thread.
//
// Example:
//   flusher f;
//   f.submit({{seg_file}, {}, [](protocol::error_code e) { post_to_loop(e); }});
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/log/file.h"

namespace eddy::broker::log {

// Called once the data is durable (error_code::none) or fsync failed (kafka_storage_error).
using sync_callback = std::function<void(protocol::error_code)>;

class flusher {
 public:
  struct request {
    std::vector<std::shared_ptr<file>> files;
    std::vector<std::filesystem::path> directories;
    sync_callback done;  // may be empty (periodic flush)
  };

  flusher();
  ~flusher();
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  void submit(request r);
  // Number of fsync rounds run so far (tests check group commit with it).
  std::uint64_t rounds() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<request> queue_;
  bool stopping_ = false;
  std::uint64_t rounds_ = 0;
  bool broken_ = false;  // flusher thread only
  std::thread thread_;
};

}  // namespace eddy::broker::log
