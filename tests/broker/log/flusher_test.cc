#include "broker/log/flusher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

TEST(flusher, completes_in_order_and_groups_fsyncs) {
  testing::temp_dir d;
  auto f = file::open(d.path() / "data", true);
  ASSERT_TRUE(f.ok());
  std::mutex mu;
  std::vector<int> order;
  std::uint64_t rounds = 0;
  {
    flusher fl;
    for (int i = 0; i < 200; ++i) {
      std::uint8_t byte = std::uint8_t(i);
      ASSERT_TRUE((*f)->pwrite({&byte, 1}, std::uint64_t(i)).ok());
      // Every other request carries no file: it must still wait for the earlier fsyncs.
      flusher::request r;
      if (i % 2 == 0) r.files.push_back(*f);
      if (i == 0) r.directories.push_back(d.path());
      r.done = [&, i](protocol::error_code ec) {
        EXPECT_EQ(ec, protocol::error_code::none);
        std::lock_guard lk(mu);
        order.push_back(i);
      };
      fl.submit(std::move(r));
    }
    // The destructor drains: every callback has run when it returns.
    rounds = 0;
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lk(mu);
        if (order.size() == 200) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    rounds = fl.rounds();
  }
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[std::size_t(i)], i);
  EXPECT_LT(rounds, 200u);  // group commit: fewer fsync rounds than requests
}

TEST(flusher, destructor_runs_pending_callbacks) {
  int called = 0;
  {
    flusher fl;
    for (int i = 0; i < 10; ++i) fl.submit({{}, {}, [&](protocol::error_code) { ++called; }});
  }
  EXPECT_EQ(called, 10);
}

}  // namespace
}  // namespace eddy::broker::log
