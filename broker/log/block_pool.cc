#include "broker/log/block_pool.h"

#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace eddy::broker::log::block_pool {

namespace {

constexpr std::size_t class_count = max_pooled / min_pooled;

struct pool {
  std::mutex mu;
  std::array<std::vector<void*>, class_count> free;  // index: block size / min_pooled - 1
  std::size_t idle = 0;
};

pool& the_pool() {
  static pool* p = new pool;  // never destroyed: blocks may be freed during exit
  return *p;
}

bool pooled(std::size_t bytes) { return bytes >= min_pooled && bytes <= max_pooled; }
std::size_t class_of(std::size_t bytes) { return (bytes + min_pooled - 1) / min_pooled - 1; }
std::size_t block_size(std::size_t cls) { return (cls + 1) * min_pooled; }

void* raw_allocate(std::size_t bytes) { return ::operator new(bytes, std::align_val_t(alignment)); }
void raw_free(void* p) noexcept { ::operator delete(p, std::align_val_t(alignment)); }

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes < min_pooled) return ::operator new(bytes == 0 ? 1 : bytes);  // small: the C library does well
  if (!pooled(bytes)) return raw_allocate(bytes);
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
  return raw_allocate(block_size(cls));
}

void deallocate(void* ptr, std::size_t bytes) noexcept {
  if (ptr == nullptr) return;
  if (bytes < min_pooled) return ::operator delete(ptr);
  if (pooled(bytes)) {
    std::size_t cls = class_of(bytes);
    pool& p = the_pool();
    std::lock_guard lk(p.mu);
    if (p.idle + block_size(cls) <= idle_limit) {
      try {
        p.free[cls].push_back(ptr);
        p.idle += block_size(cls);
        return;
      } catch (const std::bad_alloc&) {
        // no room to remember it: free it below
      }
    }
  }
  raw_free(ptr);
}

std::shared_ptr<std::uint8_t> shared(std::size_t bytes) {
  auto* b = static_cast<std::uint8_t*>(allocate(bytes));
  return std::shared_ptr<std::uint8_t>(b, [bytes](std::uint8_t* q) { deallocate(q, bytes); });
}

void trim() {
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  for (auto& list : p.free) {
    for (void* b : list) raw_free(b);
    list.clear();
  }
  p.idle = 0;
}

std::size_t idle_bytes() {
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  return p.idle;
}

}  // namespace eddy::broker::log::block_pool
