#include "broker/log/block_pool.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace eddy::broker::log::block_pool {

namespace {

constexpr std::size_t class_count = max_pooled / min_pooled;
constexpr std::size_t max_slots = huge_page / min_pooled;  // 32: one bit each in a chunk's mask

std::size_t class_of(std::size_t bytes) { return (bytes + min_pooled - 1) / min_pooled - 1; }
std::size_t block_size(std::size_t cls) { return (cls + 1) * min_pooled; }
bool pooled(std::size_t bytes) { return bytes >= min_pooled && bytes <= max_pooled; }
bool carved(std::size_t bytes) { return bytes >= min_pooled && bytes <= huge_page / 2; }
std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// The mapping a block of `bytes` (above huge_page / 2) gets: whole huge pages when that
// wastes at most a quarter of the block, else whole 4 KiB pages.
std::size_t span_of(std::size_t bytes) {
  std::size_t in_huge = round_up(bytes, huge_page);
  return (in_huge - bytes) * 4 <= bytes ? in_huge : round_up(bytes, alignment);
}

// Anonymous memory straight from the kernel (not the C library's heap, whose trimming
// thresholds would shift under these sizes). `huge`: aligned to huge_page and advised to
// use transparent huge pages.
void* map(std::size_t len, bool huge) {
  if (!huge) {
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  // Over-map by one huge page and cut the unaligned ends off.
  void* raw = ::mmap(nullptr, len + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<std::uintptr_t>(raw);
  auto aligned = round_up(start, huge_page);
  if (aligned > start) ::munmap(raw, aligned - start);
  std::size_t tail = start + len + huge_page - (aligned + len);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + len), tail);
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, len, MADV_HUGEPAGE);  // advice only: where THP is off, plain pages serve
  return p;
}
void unmap(void* p, std::size_t len) noexcept { ::munmap(p, len); }

// One huge page carved into equal slots of one class.
struct chunk {
  std::uintptr_t base = 0;
  std::size_t cls = 0;
  std::uint32_t slots = 0;
  std::uint32_t free_mask = 0;  // bit i: slot i is free
  std::size_t index = 0;        // position in its class's `partial` list while listed
};

struct pool {
  std::mutex mu;
  // Blocks above huge_page / 2, by class, waiting to be used again.
  std::array<std::vector<void*>, class_count> free;
  // Chunks of each carved class with at least one free and one used slot.
  std::array<std::vector<chunk*>, class_count> partial;
  // Chunks with every slot free, for any class.
  std::vector<void*> empty_chunks;
  std::unordered_map<std::uintptr_t, chunk> chunks;  // by base address
  std::size_t idle = 0;  // bytes of `free` blocks' spans and of empty chunks
};

pool& the_pool() {
  static pool* p = new pool;  // never destroyed: blocks may be freed during exit
  return *p;
}

void unlist(std::vector<chunk*>& list, chunk& c) {
  list[c.index] = list.back();
  list[c.index]->index = c.index;
  list.pop_back();
}

void* carve(pool& p, std::size_t cls) {
  auto& list = p.partial[cls];
  chunk* c = nullptr;
  if (!list.empty()) {
    c = list.back();
  } else {
    void* base;
    if (!p.empty_chunks.empty()) {
      base = p.empty_chunks.back();
      p.empty_chunks.pop_back();
      p.idle -= huge_page;
    } else {
      base = map(huge_page, true);
    }
    try {
      chunk& fresh = p.chunks[reinterpret_cast<std::uintptr_t>(base)];
      fresh.base = reinterpret_cast<std::uintptr_t>(base);
      fresh.cls = cls;
      fresh.slots = static_cast<std::uint32_t>(huge_page / block_size(cls));
      fresh.free_mask = fresh.slots == max_slots ? ~0u : (1u << fresh.slots) - 1;
      fresh.index = list.size();
      list.push_back(&fresh);
      c = &fresh;
    } catch (const std::bad_alloc&) {
      p.chunks.erase(reinterpret_cast<std::uintptr_t>(base));
      unmap(base, huge_page);
      throw;
    }
  }
  int slot = __builtin_ctz(c->free_mask);
  c->free_mask &= ~(1u << slot);
  if (c->free_mask == 0) unlist(list, *c);
  return reinterpret_cast<void*>(c->base + static_cast<std::size_t>(slot) * block_size(cls));
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes < min_pooled) return ::operator new(bytes == 0 ? 1 : bytes);  // small: the C library does well
  if (!pooled(bytes)) {
    std::size_t span = span_of(bytes);
    return map(span, span % huge_page == 0);
  }
  std::size_t cls = class_of(bytes);
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  if (carved(block_size(cls))) return carve(p, cls);
  auto& list = p.free[cls];
  if (!list.empty()) {
    void* b = list.back();
    list.pop_back();
    p.idle -= span_of(block_size(cls));
    return b;
  }
  std::size_t span = span_of(block_size(cls));
  return map(span, span % huge_page == 0);
}

void deallocate(void* ptr, std::size_t bytes) noexcept {
  if (ptr == nullptr) return;
  if (bytes < min_pooled) return ::operator delete(ptr);
  if (!pooled(bytes)) return unmap(ptr, span_of(bytes));
  std::size_t cls = class_of(bytes);
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  if (carved(block_size(cls))) {
    auto base = reinterpret_cast<std::uintptr_t>(ptr) & ~(huge_page - 1);
    chunk& c = p.chunks.at(base);
    std::size_t slot = (reinterpret_cast<std::uintptr_t>(ptr) - base) / block_size(cls);
    auto& list = p.partial[cls];
    if (c.free_mask == 0) {
      // It was full, so not listed; listing it needs room (a failed push leaves the
      // slot lost to this chunk, never freed twice).
      try {
        c.index = list.size();
        list.push_back(&c);
      } catch (const std::bad_alloc&) {
        return;
      }
    }
    c.free_mask |= 1u << slot;
    std::uint32_t all = c.slots == max_slots ? ~0u : (1u << c.slots) - 1;
    if (c.free_mask != all) return;
    unlist(list, c);
    p.chunks.erase(base);
    if (p.idle + huge_page <= idle_limit) {
      try {
        p.empty_chunks.push_back(reinterpret_cast<void*>(base));
        p.idle += huge_page;
        return;
      } catch (const std::bad_alloc&) {
        // no room to remember it: unmap it below
      }
    }
    unmap(reinterpret_cast<void*>(base), huge_page);
    return;
  }
  std::size_t span = span_of(block_size(cls));
  if (p.idle + span <= idle_limit) {
    try {
      p.free[cls].push_back(ptr);
      p.idle += span;
      return;
    } catch (const std::bad_alloc&) {
      // no room to remember it: unmap it below
    }
  }
  unmap(ptr, span);
}

std::shared_ptr<std::uint8_t> shared(std::size_t bytes) {
  auto* b = static_cast<std::uint8_t*>(allocate(bytes));
  return std::shared_ptr<std::uint8_t>(b, [bytes](std::uint8_t* q) { deallocate(q, bytes); });
}

void trim() {
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  for (std::size_t cls = 0; cls < class_count; ++cls) {
    for (void* b : p.free[cls]) unmap(b, span_of(block_size(cls)));
    p.free[cls].clear();
  }
  for (void* b : p.empty_chunks) unmap(b, huge_page);
  p.empty_chunks.clear();
  p.idle = 0;
}

std::size_t idle_bytes() {
  pool& p = the_pool();
  std::lock_guard lk(p.mu);
  return p.idle;
}

}  // namespace eddy::broker::log::block_pool
