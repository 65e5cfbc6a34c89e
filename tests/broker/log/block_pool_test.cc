#include "broker/log/block_pool.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace eddy::broker::log {
namespace {

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % block_pool::alignment == 0; }

TEST(block_pool, large_blocks_are_aligned_and_used_again) {
  block_pool::trim();  // whatever earlier tests left idle
  void* a = block_pool::allocate(1000000);
  ASSERT_TRUE(aligned(a));
  std::memset(a, 1, 1000000);
  block_pool::deallocate(a, 1000000);
  // Any size of the same 64 KiB class gets the same block back.
  void* b = block_pool::allocate(1000000 + 500);
  EXPECT_EQ(a, b);
  block_pool::deallocate(b, 1000000 + 500);
  // Sizes above the classes and below them work too.
  for (std::size_t n : {std::size_t(1), std::size_t(4000), block_pool::max_pooled + 1, std::size_t(40) << 20}) {
    void* p = block_pool::allocate(n);
    ASSERT_NE(p, nullptr);
    if (n >= block_pool::min_pooled) {
      EXPECT_TRUE(aligned(p)) << n;
    }
    std::memset(p, 2, n);
    block_pool::deallocate(p, n);
  }
}

TEST(block_pool, idle_blocks_stay_under_the_limit) {
  block_pool::trim();
  std::vector<void*> held;
  const std::size_t n = 1 << 20;
  for (std::size_t i = 0; i < 2 * block_pool::idle_limit / n; ++i) held.push_back(block_pool::allocate(n));
  for (void* p : held) block_pool::deallocate(p, n);
  EXPECT_LE(block_pool::idle_bytes(), block_pool::idle_limit);
  EXPECT_GE(block_pool::idle_bytes(), block_pool::idle_limit / 2);
  block_pool::trim();
  EXPECT_EQ(block_pool::idle_bytes(), 0u);
}

TEST(block_pool, shared_blocks_go_back_when_released) {
  block_pool::trim();
  const std::size_t n = 3 << 20;
  std::uint8_t* first;
  {
    auto b = block_pool::shared(n);
    first = b.get();
    ASSERT_TRUE(aligned(first));
    auto copy = b;  // owners share it
  }
  auto again = block_pool::shared(n);
  EXPECT_EQ(again.get(), first);
}

// Whether this kernel takes MADV_HUGEPAGE advice (built with transparent huge pages; the
// advice is taken whatever /sys/kernel/mm/transparent_hugepage/enabled says).
bool kernel_takes_huge_page_advice() {
  void* p = ::mmap(nullptr, block_pool::huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = ::madvise(p, block_pool::huge_page, MADV_HUGEPAGE) == 0;
  ::munmap(p, block_pool::huge_page);
  return ok;
}

// The VmFlags line of the mapping holding `p`, from /proc/self/smaps.
std::string vm_flags_of(const void* p) {
  auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') inside = lo <= at && at < hi;
    else if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return {};
}

TEST(block_pool, megabyte_blocks_pair_up_in_huge_page_chunks) {
  block_pool::trim();
  const std::size_t n = 1000000;  // a librdkafka produce frame: one 1 MiB block
  void* a = block_pool::allocate(n);
  void* b = block_pool::allocate(n);
  auto ua = reinterpret_cast<std::uintptr_t>(a), ub = reinterpret_cast<std::uintptr_t>(b);
  // Both halves of one 2 MiB-aligned chunk, advised to use transparent huge pages.
  EXPECT_EQ(ua % block_pool::huge_page, 0u);
  EXPECT_EQ(ub, ua + (1u << 20));
  const bool thp = kernel_takes_huge_page_advice();
  EXPECT_EQ(vm_flags_of(a).find(" hg") != std::string::npos, thp) << vm_flags_of(a);
  std::memset(a, 1, n);
  std::memset(b, 2, n);
  // The chunk is idle only once both blocks are back.
  block_pool::deallocate(a, n);
  EXPECT_EQ(block_pool::idle_bytes(), 0u);
  EXPECT_EQ(static_cast<std::uint8_t*>(b)[n - 1], 2);
  block_pool::deallocate(b, n);
  EXPECT_EQ(block_pool::idle_bytes(), block_pool::huge_page);
  // An idle chunk serves any carved class: eight 256 KiB blocks fill it.
  std::vector<void*> quarter;
  for (int i = 0; i < 8; ++i) quarter.push_back(block_pool::allocate(256 * 1024));
  EXPECT_EQ(block_pool::idle_bytes(), 0u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(quarter[i]), ua + i * 256 * 1024u);
  void* ninth = block_pool::allocate(256 * 1024);  // a second chunk
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ninth) % block_pool::huge_page, 0u);
  // Freed out of order, a freed slot is used again before a new chunk is made.
  block_pool::deallocate(quarter[3], 256 * 1024);
  void* again = block_pool::allocate(256 * 1024);
  EXPECT_TRUE(again == quarter[3] || reinterpret_cast<std::uintptr_t>(again) / block_pool::huge_page ==
                                         reinterpret_cast<std::uintptr_t>(ninth) / block_pool::huge_page);
  block_pool::deallocate(again, 256 * 1024);
  for (int i = 0; i < 8; ++i) {
    if (i != 3) block_pool::deallocate(quarter[i], 256 * 1024);
  }
  block_pool::deallocate(ninth, 256 * 1024);
  EXPECT_EQ(block_pool::idle_bytes(), 2 * block_pool::huge_page);
  block_pool::trim();
}

TEST(block_pool, blocks_above_a_megabyte_take_huge_pages_when_little_is_wasted) {
  block_pool::trim();
  // 1.9 MiB: one huge page (5% wasted). 1.1 MiB: a huge page would waste 45%, so plain
  // pages, still 4 KiB-aligned.
  const std::size_t big = 1900 * 1024, odd = 1100 * 1024;
  void* a = block_pool::allocate(big);
  void* b = block_pool::allocate(odd);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % block_pool::huge_page, 0u);
  EXPECT_EQ(vm_flags_of(a).find(" hg") != std::string::npos, kernel_takes_huge_page_advice());
  EXPECT_TRUE(aligned(b));
  EXPECT_EQ(vm_flags_of(b).find(" hg"), std::string::npos);
  std::memset(a, 3, big);
  std::memset(b, 4, odd);
  block_pool::deallocate(a, big);
  block_pool::deallocate(b, odd);
  EXPECT_EQ(block_pool::idle_bytes(), block_pool::huge_page + 1152 * 1024);  // whole spans
  block_pool::trim();
}

}  // namespace
}  // namespace eddy::broker::log
