// block_pool: large memory blocks that are used again instead of being handed back to the
// kernel, for the broker's big short-lived buffers: request frames (see
// broker/server/request_context.h, frame_buffer) and disk reads for fetches (see
// segment::read_shared).
//
// With the C library's allocator, a megabyte buffer freed after its request is often
// returned to the kernel and the next one arrives in fresh pages: a page fault and a
// zeroed page per 4 KiB, which on a virtual machine whose host reclaims freed memory
// costs more than receiving or reading the bytes. The log's tail cache makes this the
// common case, since it keeps frames for a while and lets them go in a stream. The pool
// keeps freed blocks by size class (multiples of 64 KiB up to 16 MiB) and hands them out
// again; at most `idle_limit` bytes wait idle, the rest go back to the kernel. Smaller
// blocks than 64 KiB are plain allocations (a small request frame needs nothing more).
//
// Pooled blocks live in transparent huge pages (2 MiB) where the kernel grants them
// (madvise mode is enough): blocks up to 1 MiB are carved from 2 MiB-aligned chunks, two
// megabyte frames to a chunk; larger ones get whole huge pages when that wastes at most a
// quarter of the block, else plain pages. An O_DIRECT write or read of a frame then pins
// one page instead of 256 and hands the device one segment instead of 256 (254 per
// request here, so a megabyte took two requests): the writer thread's CPU per gigabyte
// fell by about a third. A chunk goes back (to the idle chunks, or to the kernel) once
// all its blocks are freed. Every block of 64 KiB or more is aligned to 4 KiB (O_DIRECT
// reads go straight into them). Memory comes from mmap, not the C library's heap.
//
// Thread-safety: any thread (a mutex guards the free lists); blocks are usually freed on
// the event loop, sometimes on the writer or cleaner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace eddy::broker::log::block_pool {

inline constexpr std::size_t alignment = 4096;
inline constexpr std::size_t min_pooled = 64 * 1024;
inline constexpr std::size_t max_pooled = 16 * 1024 * 1024;
inline constexpr std::size_t idle_limit = 64 * 1024 * 1024;
inline constexpr std::size_t huge_page = 2 * 1024 * 1024;

// A block of at least `bytes` bytes, aligned to `alignment` when `bytes` >= min_pooled;
// throws std::bad_alloc.
void* allocate(std::size_t bytes);
// Gives back a block from allocate(`bytes`) (the same `bytes`).
void deallocate(void* p, std::size_t bytes) noexcept;
// A block that goes back to the pool when the last owner lets go.
std::shared_ptr<std::uint8_t> shared(std::size_t bytes);
// Bytes of pooled blocks waiting to be used again (tests, diagnostics).
std::size_t idle_bytes();
// Gives every idle block back to the kernel (tests; memory pressure).
void trim();

}  // namespace eddy::broker::log::block_pool
