#include "broker/log/flusher.h"
#include "broker/log/thread_name.h"

#include <algorithm>
#include <cstdio>

namespace eddy::broker::log {

flusher::flusher() : thread_([this] { run(); }) {}

flusher::~flusher() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void flusher::submit(request r) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

std::uint64_t flusher::rounds() const {
  std::lock_guard lk(mu_);
  return rounds_;
}

void flusher::run() {
  name_this_thread("eddy-flusher");
  while (true) {
    std::deque<request> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    // One fsync per distinct file for the whole round: this is the group commit.
    std::vector<file*> files;
    std::vector<std::filesystem::path> dirs;
    for (auto& r : batch) {
      for (auto& f : r.files) files.push_back(f.get());
      for (auto& d : r.directories) dirs.push_back(d);
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    std::vector<file*> failed;
    for (file* f : files)
      if (auto r = f->sync(); !r) {
        std::fprintf(stderr, "eddy log flusher: %s\n", r.error().message.c_str());
        failed.push_back(f);
      }
    std::vector<std::filesystem::path> failed_dirs;
    for (auto& d : dirs)
      if (auto r = sync_directory(d); !r) {
        std::fprintf(stderr, "eddy log flusher: %s\n", r.error().message.c_str());
        failed_dirs.push_back(d);
      }
    {
      std::lock_guard lk(mu_);
      ++rounds_;
    }
    // After a failed fsync the kernel may have dropped the dirty pages: nothing written
    // before can be promised durable any more, so every later request fails too (Kafka
    // takes the log directory offline in this case).
    if (!failed.empty() || !failed_dirs.empty()) broken_ = true;
    for (auto& r : batch) {
      if (!r.done) continue;
      bool ok = !broken_;
      for (auto& f : r.files)
        if (std::find(failed.begin(), failed.end(), f.get()) != failed.end()) ok = false;
      for (auto& d : r.directories)
        if (std::find(failed_dirs.begin(), failed_dirs.end(), d) != failed_dirs.end()) ok = false;
      r.done(ok ? protocol::error_code::none : protocol::error_code::kafka_storage_error);
    }
  }
}

}  // namespace eddy::broker::log
