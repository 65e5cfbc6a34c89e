#include "broker/txn/state_log.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace eddy::broker::txn {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("eddy-state-log-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
};

std::vector<std::uint8_t> rec(std::string s) { return {s.begin(), s.end()}; }

TEST(state_log, reopen_without_close_keeps_records_and_cuts_torn_tail) {
  temp_dir d;
  auto p = d.path / "state.log";
  {
    state_log s;
    ASSERT_TRUE(s.open(p));
    ASSERT_TRUE(s.append(rec("one"), false));
    ASSERT_TRUE(s.append(rec("two"), true));
    // no close(): simulates kill -9 (the destructor only closes the descriptor)
  }
  auto whole = fs::file_size(p);
  {
    // A torn third record: header plus part of the payload.
    std::ofstream out(p, std::ios::binary | std::ios::app);
    const char torn[] = {0, 0, 0, 10, 1, 2, 3, 4, 'x', 'y'};
    out.write(torn, sizeof torn);
  }
  state_log s;
  auto r = s.open(p);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], rec("one"));
  EXPECT_EQ((*r)[1], rec("two"));
  EXPECT_EQ(s.truncated_bytes(), 10u);
  EXPECT_EQ(fs::file_size(p), whole);
  ASSERT_TRUE(s.append(rec("three"), true));
  state_log again;
  EXPECT_EQ(again.open(p)->size(), 3u);
}

TEST(state_log, corrupt_record_stops_replay_there) {
  temp_dir d;
  auto p = d.path / "state.log";
  {
    state_log s;
    ASSERT_TRUE(s.open(p));
    ASSERT_TRUE(s.append(rec("good"), true));
    ASSERT_TRUE(s.append(rec("flipped"), true));
  }
  {
    std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(8 + 4 + 8 + 2);
    f.put('X');
  }
  state_log s;
  auto r = s.open(p);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], rec("good"));
}

TEST(state_log, rewrite_replaces_content_atomically) {
  temp_dir d;
  auto p = d.path / "state.log";
  state_log s;
  ASSERT_TRUE(s.open(p));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.append(rec("r" + std::to_string(i)), false));
  ASSERT_TRUE(s.rewrite({rec("a"), rec("b")}));
  ASSERT_TRUE(s.append(rec("c"), true));
  state_log again;
  auto r = again.open(p);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[2], rec("c"));
  EXPECT_FALSE(fs::exists(d.path / "state.log.tmp"));
}

}  // namespace
}  // namespace eddy::broker::txn
