#include "broker/log/block_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
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

}  // namespace
}  // namespace eddy::broker::log
