// frame_pool: memory for large request frames that is used again instead of being handed
// back to the kernel.
//
// A produce request of a megabyte lives on after its response: the log's tail cache keeps
// it (see broker/log/tail_cache.h) so that consumers at the tail read it from memory. With
// the C library's allocator, the frames that cache lets go are returned to the kernel and
// every new frame arrives in fresh pages: a page fault and a zeroed page per 4 KiB, which
// here (a virtual machine whose host reclaims freed memory) costs more than receiving the
// bytes. The pool keeps freed blocks of 64 KiB and more, by size class (multiples of
// 64 KiB up to 16 MiB), and hands them out again; at most `idle_limit` bytes wait idle,
// the rest go back to the C library. Smaller and larger requests use the C library
// directly.
//
// frame_allocator is a standard allocator over the pool (stateless: all instances share
// the process-wide pool), used by frame_buffer.
//
// Thread-safety: allocate/deallocate may be called from any thread (a mutex guards the
// free lists); frames are usually freed on the event loop, sometimes on the writer thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eddy::broker {

namespace frame_pool {
inline constexpr std::size_t min_pooled = 64 * 1024;
inline constexpr std::size_t max_pooled = 16 * 1024 * 1024;
inline constexpr std::size_t idle_limit = 64 * 1024 * 1024;
void* allocate(std::size_t bytes);
void deallocate(void* p, std::size_t bytes);
// Bytes of pooled blocks waiting to be used again (tests, diagnostics).
std::size_t idle_bytes();
}  // namespace frame_pool

template <class T>
struct frame_allocator {
  using value_type = T;
  frame_allocator() noexcept = default;
  template <class U>
  frame_allocator(const frame_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(frame_pool::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { frame_pool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const frame_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const frame_allocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace eddy::broker
