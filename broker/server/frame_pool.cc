#include "broker/server/frame_pool.h"

#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace eddy::broker::frame_pool {

namespace {

constexpr std::size_t class_count = max_pooled / min_pooled;

struct pool {
  std::mutex mu;
  std::array<std::vector<void*>, class_count> free;  // index: size / min_pooled - 1
  std::size_t idle = 0;
};

pool& the_pool() {
  static pool* p = new pool;  // never destroyed: frames may be freed during exit
  return *p;
}

// The size class a request of `bytes` is served from, and its block size.
std::size_t class_of(std::size_t bytes) { return (bytes + min_pooled - 1) / min_pooled - 1; }
std::size_t block_size(std::size_t cls) { return (cls + 1) * min_pooled; }

bool pooled(std::size_t bytes) { return bytes >= min_pooled && bytes <= max_pooled; }

}  // namespace

void* allocate(std::size_t bytes) {
  if (!pooled(bytes)) return ::operator new(bytes);
  std::size_t cls = class_of(bytes);
  pool& p = the_pool();
  {
    std::lock_guard lk(p.mu);
    auto& list = p.free[cls];
    if (!list.empty()) {
      void* b = list.back();
      list.pop_back();
      p.idle -= block_size(cls);
      return b;
    }
  }
  return ::operator new(block_size(cls));
}

void deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  if (!pooled(bytes)) return ::operator delete(ptr);
  std::size_t cls = class_of(bytes);
  pool& p = the_pool();
  {
    std::lock_guard lk(p.mu);
    if (p.idle + block_size(cls) <= idle_limit) {
      p.free[cls].push_back(ptr);
      p.idle += block_size(cls);
      return;
    }
  }
  ::operator delete(ptr);
}

std::size_t idle_bytes() {
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  return p.idle;
}

}  // namespace eddy::broker::frame_pool
